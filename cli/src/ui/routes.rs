//! The routes: two pages (the runs, one run), their assets, and the JSON endpoints behind them.
//!
//! | path | answer |
//! |---|---|
//! | `/` | the runs page |
//! | `/runs/{id}` | a run's page (404 when there is no such run) |
//! | `/assets/{name}` | the page's CSS and JavaScript, from the binary |
//! | `/api/runs[?status=S]` | every run's summary, newest first, as JSON |
//! | `/api/runs/{id}` | a run: report, live progress, task times, lineage layout, events |
//!
//! Anything else is a 404. Store reads run on the blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::assets;
use super::guard::{Guard, guard};
use super::runs::Runs;

/// The application.
pub(crate) fn router(runs: Arc<Runs>, guard_state: Guard) -> Router {
    Router::new()
        .route("/", get(runs_page))
        .route("/runs/{id}", get(run_page))
        .route("/assets/{name}", get(asset))
        .route("/api/runs", get(api_runs))
        .route("/api/runs/{id}", get(api_run))
        .fallback(not_found)
        .with_state(runs)
        .layer(axum::middleware::from_fn_with_state(guard_state, guard))
}

/// A run id as the store writes them: letters, digits, `.`, `_`, `-`, not starting with `.`.
fn is_run_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn runs_page() -> Response {
    html(assets::RUNS_HTML)
}

async fn run_page(State(runs): State<Arc<Runs>>, Path(id): Path<String>) -> Response {
    if !is_run_id(&id) {
        return not_found().await;
    }
    let known = blocking(move || runs.ids().map(|ids| ids.contains(&id))).await;
    match known {
        Ok(true) => html(assets::RUN_HTML),
        Ok(false) => not_found().await,
        Err(e) => failure(e),
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::asset(&name) {
        Some((content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => not_found().await,
    }
}

/// `?status=failed`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
}

async fn api_runs(State(runs): State<Arc<Runs>>, Query(query): Query<ListQuery>) -> Response {
    let listed = blocking(move || runs.list(query.status.as_deref())).await;
    match listed {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => failure(e),
    }
}

async fn api_run(State(runs): State<Arc<Runs>>, Path(id): Path<String>) -> Response {
    if !is_run_id(&id) {
        return not_found().await;
    }
    match blocking(move || runs.view(&id)).await {
        Ok(Some(bytes)) => (
            [(header::CONTENT_TYPE, "application/json")],
            bytes.as_ref().clone(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such run").into_response(),
        Err(e) => failure(e),
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: this server has / (the runs), /runs/ID, /api/runs and /api/runs/ID",
    )
        .into_response()
}

/// A store read that failed: 502 with the error chain (it names the directory and the fix).
fn failure(error: anyhow::Error) -> Response {
    (StatusCode::BAD_GATEWAY, format!("{error:#}")).into_response()
}

/// Run a blocking store read on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("reading the store failed unexpectedly: {e}"))?
}
