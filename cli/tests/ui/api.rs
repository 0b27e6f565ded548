//! `/api/runs` and `/api/runs/{id}` against real runs: a local directory with a failed and a
//! completed run, a partitioned run's task times, and the same endpoints over S3 (SeaweedFS).

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::ops_util::{completed_dir, demo_run, failed_dir};
use crate::util::{UiServer, config, in_ci, partitioned_run, skip};

fn names(steps: &Value) -> Vec<&str> {
    steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

#[test]
fn the_endpoints_describe_a_failed_and_a_completed_seed_run() {
    let dir = failed_dir();
    let completed = demo_run(dir.path(), false).unwrap();
    let ui = UiServer::start(&dir.path().display().to_string(), &[]);

    let runs = ui.json("/api/runs");
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (newest, oldest) = (&runs[0], &runs[1]);
    assert_eq!(newest["id"], completed.run_id.as_str());
    assert_eq!(newest["status"], "completed");
    assert_eq!(oldest["status"], "failed");
    assert_eq!(newest["pipeline"], "ops-demo");
    assert_eq!(newest["budget_bytes"], 900 * 1024);
    assert_eq!(newest["steps_executed"], completed.totals.steps_executed);
    assert_eq!(newest["steps_reused"], completed.totals.steps_reused);
    assert_eq!(newest["steps_failed"], 0);
    assert_eq!(newest["tracked_peak_bytes"], completed.tracked_peak_bytes);
    assert_eq!(oldest["steps_failed"], 1);

    let failed = ui.json("/api/runs?status=failed");
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["id"], oldest["id"]);
    assert_eq!(ui.json("/api/runs?status=running"), serde_json::json!([]));

    let run = ui.json(&format!("/api/runs/{}", completed.run_id));
    assert_eq!(run["status"], "completed");
    let steps = &run["report"]["steps"];
    assert_eq!(
        names(steps),
        ["source", "widen", "filler", "filler2", "boundary", "report"]
    );
    assert_eq!(
        run["report"]["totals"]["steps_executed"],
        completed.totals.steps_executed
    );
    // The layout: one box per step, one edge per parent link.
    let layout = &run["layout"];
    assert_eq!(layout["nodes"].as_array().unwrap().len(), 6);
    let links: usize = completed.steps.iter().map(|s| s.parents.len()).sum();
    assert_eq!(layout["edges"].as_array().unwrap().len(), links);
    let boundary = &steps[4];
    assert!(boundary["checkpoint"].is_string(), "{boundary}");
    // A child box sits below its parent's.
    let y = |i: usize| layout["nodes"][i]["y"].as_u64().unwrap();
    assert!(y(1) > y(0) && y(4) > y(3) && y(5) > y(4));

    let failed_run = ui.json(&format!("/api/runs/{}", oldest["id"].as_str().unwrap()));
    assert_eq!(failed_run["status"], "failed");
    let error = failed_run["notable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "error")
        .unwrap_or_else(|| panic!("no error event: {}", failed_run["notable"]));
    assert_eq!(error["step"], "report");
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("the warehouse is down"),
        "{error}"
    );

    // Pages and assets; everything else is a 404.
    assert_eq!(ui.get(&format!("/runs/{}", completed.run_id)).status, 200);
    assert_eq!(ui.get("/").status, 200);
    assert_eq!(ui.get("/assets/run.js").status, 200);
    for unknown in [
        "/runs/nope",
        "/api/runs/nope",
        "/assets/nope.js",
        "/nope",
        "/api",
    ] {
        assert_eq!(ui.get(unknown).status, 404, "{unknown}");
    }
}

#[test]
fn a_partitioned_run_serves_its_task_times() {
    let dir = tempfile::tempdir().unwrap();
    let report = partitioned_run(&config("ui-parts", dir.path()));
    // The runtime wrote the task times beside the report (a run this short writes no live.json:
    // the first comes after 500 ms).
    let run_dir = dir.path().join("runs").join(&report.run_id);
    assert!(run_dir.join("tasks.json").is_file());

    let ui = UiServer::start(&dir.path().display().to_string(), &[]);
    let run = ui.json(&format!("/api/runs/{}", report.run_id));
    let square = report.steps_named("square").next().unwrap().seq;
    let tasks = run["tasks"]["tasks"].as_array().unwrap();
    let mut parts: Vec<u64> = tasks
        .iter()
        .filter(|t| t["seq"] == square)
        .map(|t| t["partition"].as_u64().unwrap())
        .collect();
    parts.sort_unstable();
    assert_eq!(parts, [0, 1, 2, 3], "{tasks:?}");
    assert!(tasks.iter().all(|t| t["seconds"].as_f64().unwrap() >= 0.0));
    assert_eq!(run["report"]["steps"][square]["partitions"], 4);
}

/// The S3 settings of the server `.ci/run` started, if any.
fn s3_settings() -> Option<Vec<(&'static str, String)>> {
    let endpoint = std::env::var("STEPSTONE_TEST_S3_ENDPOINT").ok()?;
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    Some(vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", var("AWS_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY", var("AWS_SECRET_ACCESS_KEY")),
        ("STEPSTONE_S3_RETRY_SECS", "5".into()),
    ])
}

#[test]
fn the_endpoints_read_runs_on_s3() {
    let Some(settings) = s3_settings() else {
        if in_ci() {
            panic!("CI=true but STEPSTONE_TEST_S3_ENDPOINT is not set: .ci/run starts SeaweedFS");
        }
        skip(
            "the_endpoints_read_runs_on_s3",
            "STEPSTONE_TEST_S3_ENDPOINT is not set (.ci/run starts SeaweedFS and sets it)",
        );
        return;
    };
    let url = format!("s3://stepstone/ui-{}-{}", std::process::id(), line!());
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let backend = stepstone::store::S3Backend::open_with_settings(&url, None, &pairs)
        .expect("an S3 backend on the test server");
    let report = partitioned_run(&config("ui-s3", Path::new(&url)).backend(Arc::new(backend)));

    let ui = UiServer::start(&url, &settings);
    let runs = ui.json("/api/runs");
    assert_eq!(runs[0]["id"], report.run_id.as_str());
    assert_eq!(runs[0]["status"], "completed");
    assert_eq!(runs[0]["pipeline"], "ui-s3");
    let run = ui.json(&format!("/api/runs/{}", report.run_id));
    assert_eq!(names(&run["report"]["steps"]), ["src", "square", "total"]);
    assert_eq!(run["layout"]["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(run["tasks"]["tasks"].as_array().unwrap().len(), 8);
    assert_eq!(ui.get(&format!("/runs/{}", report.run_id)).status, 200);
}

#[cfg(target_os = "linux")]
#[test]
fn open_starts_the_desktop_browser_on_the_page() {
    use std::os::unix::fs::PermissionsExt;
    let dir = completed_dir();
    // A stand-in `xdg-open` first on PATH records what it was asked to open.
    let bin = tempfile::tempdir().unwrap();
    let opened = bin.path().join("opened");
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1\" > {}\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ui = UiServer::start_with(
        &dir.path().display().to_string(),
        &["--open"],
        &[("PATH", path)],
    );
    let started = std::time::Instant::now();
    while !opened.exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let url = std::fs::read_to_string(&opened).unwrap_or_default();
    assert_eq!(url.trim(), ui.url("/"));
}
