//! The web page of `stepstone ui`: a small HTTP server over a read-only [`Store`](stepstone::store::Store).
//!
//! - `server`: the tokio runtime, the listener, the router, opening a browser;
//! - `guard`: what every request passes first (`..` in a path, a foreign `Host`, methods) and
//!   the headers every answer carries (a strict Content-Security-Policy, the server time);
//! - `routes`: the pages, the assets and the JSON endpoints (`/api/runs`, `/api/runs/{id}`);
//! - `runs`: the runs of the store as the page shows them (summaries, a run's view, caches);
//! - `layout`: the lineage graph laid out in layers for the page to draw;
//! - `assets`: the HTML, CSS and JavaScript, compiled into the binary (the page works offline).
//!
//! Report data reaches the browser only as JSON; the page puts it into the DOM as text
//! (`textContent`, attribute values), never as markup.

mod assets;
mod guard;
mod layout;
mod routes;
mod runs;
mod server;

pub(crate) use server::{ServeOptions, serve};
