//! A run in progress: the runtime's live feed (`runs/<id>/live.json`) reaches the API and the
//! page while the run goes on, and its progress advances until the report replaces it.

use std::thread;
use std::time::{Duration, Instant};

use stepstone::{Handle, Pipeline};

use crate::util::{UiServer, browser_dom, config};

/// Steps of the slow chain, and how long each sleeps.
const STEPS: u64 = 30;
const NAP: Duration = Duration::from_millis(300);

#[test]
fn a_running_run_shows_its_progress_advancing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let run = thread::spawn(move || {
        stepstone::run(
            &config("ui-live", &path),
            |p: &mut Pipeline| -> stepstone::Result<Handle<u64>> {
                let mut last = p.step("start").code("1").run(|_| Ok(0u64));
                for i in 1..STEPS {
                    last = p
                        .step(&format!("slow-{i}"))
                        .code("1")
                        .input(&last)
                        .run(|a| {
                            thread::sleep(NAP);
                            Ok(*a.get::<u64>(0)? + 1)
                        });
                }
                Ok(last)
            },
        )
        .map(|o| o.report)
    });
    let started = Instant::now();
    while !dir.path().join("objects").is_dir() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never opened its store"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let ui = UiServer::start(&dir.path().display().to_string(), &[]);

    let mut seen: Vec<u64> = Vec::new();
    let mut running_id = None;
    let mut browser = None;
    while started.elapsed() < Duration::from_secs(60) {
        let runs = ui.json("/api/runs");
        if let Some(newest) = runs.as_array().and_then(|r| r.first()) {
            let id = newest["id"].as_str().unwrap().to_string();
            let view = ui.json(&format!("/api/runs/{id}"));
            match view["status"].as_str() {
                Some("running") => {
                    // The list was read before the view: at a run's very start its live file
                    // may have appeared in between. Read as the view was, it agrees.
                    let listed = ui.json("/api/runs");
                    let newest = &listed[0];
                    assert_eq!(newest["id"], id.as_str());
                    assert_eq!(newest["status"], "running");
                    assert_eq!(newest["pipeline"], "ui-live");
                    let done = view["live"]["tasks_done"].as_u64().unwrap();
                    if seen.last() != Some(&done) {
                        seen.push(done);
                    }
                    running_id = Some(id.clone());
                    if browser.is_none() && seen.len() >= 2 {
                        // The page, loaded while the run goes on (in a thread: polling goes on).
                        let url = ui.url(&format!("/runs/{id}"));
                        browser = Some(thread::spawn(move || {
                            browser_dom("a_running_run_shows_its_progress_advancing (page)", &url)
                        }));
                    }
                }
                Some("completed") if running_id.is_some() => break,
                _ => {}
            }
        }
        thread::sleep(Duration::from_millis(150));
    }
    let report = run.join().unwrap().expect("the slow run completes");
    assert_eq!(running_id.as_deref(), Some(report.run_id.as_str()));
    assert!(seen.len() >= 3, "progress seen while running: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "progress went back: {seen:?}"
    );
    // Once finished, the report replaces the live feed.
    let view = ui.json(&format!("/api/runs/{}", report.run_id));
    assert_eq!(view["status"], "completed");
    assert_eq!(
        view["report"]["steps"].as_array().unwrap().len(),
        STEPS as usize
    );
    assert!(view["live"].is_null());
    let dom = browser.map(|b| b.join().expect("the browser thread"));
    if let Some(Some(dom)) = dom {
        assert!(dom.contains("id=\"live-progress\""), "{dom}");
        assert!(dom.contains("class=\"badge running\""), "{dom}");
        assert!(dom.contains("ui-live"), "{dom}");
    }
}
