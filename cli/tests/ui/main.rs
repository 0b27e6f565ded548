//! `stepstone ui` against real runs: the JSON endpoints (local and S3), hostile report data
//! and URLs, the page rendered by a real headless browser, and a run followed live.
//!
//! One test binary (`cargo test -p stepstone-cli --test ui`), one module per area.

#[path = "../ops_util/mod.rs"]
mod ops_util;

mod api;
mod browser;
mod hostile;
mod live;
mod util;
