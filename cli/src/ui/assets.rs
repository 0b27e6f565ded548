//! The page's files, compiled into the binary: nothing is fetched from anywhere else, so the
//! page works offline and what it runs is what was reviewed.

/// The runs list page.
pub(crate) const RUNS_HTML: &str = include_str!("assets/runs.html");
/// A run's page.
pub(crate) const RUN_HTML: &str = include_str!("assets/run.html");

/// `/assets/{name}`: content type and body.
pub(crate) fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    let js = "text/javascript; charset=utf-8";
    match name {
        "ui.css" => Some(("text/css; charset=utf-8", include_str!("assets/ui.css"))),
        "common.js" => Some((js, include_str!("assets/common.js"))),
        "runs.js" => Some((js, include_str!("assets/runs.js"))),
        "run.js" => Some((js, include_str!("assets/run.js"))),
        "charts.js" => Some((js, include_str!("assets/charts.js"))),
        _ => None,
    }
}
