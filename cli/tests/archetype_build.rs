//! Every built-in archetype generates a project that passes its own CI (`.ci/run`: cargo fmt
//! --check, cargo clippy -D warnings, cargo test — its unit tests and its pipeline run under a
//! small budget). The projects share one CARGO_TARGET_DIR so the runtime is compiled once.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{code, run, stderr};

#[test]
fn every_builtin_archetype_builds_and_passes_its_own_ci() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let list = run(&["archetypes", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    for name in names {
        let work = tempfile::tempdir().unwrap();
        let dest = work.path().join(&name);
        let project = format!("gen-{name}");
        let output = run(&[
            "new",
            &project,
            "--archetype",
            &name,
            "--no-input",
            "--dest",
            dest.to_str().unwrap(),
        ]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let started = Instant::now();
        let ci = Command::new("bash")
            .arg(".ci/run")
            .current_dir(&dest)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        eprintln!(
            "{name}: the generated project's .ci/run took {:.1?}",
            started.elapsed()
        );
        assert!(
            ci.status.success(),
            "{name}: .ci/run failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            ci.status,
            String::from_utf8_lossy(&ci.stdout),
            String::from_utf8_lossy(&ci.stderr)
        );
        let tests = String::from_utf8_lossy(&ci.stdout);
        assert!(
            tests.contains("runs_under_a_small_budget_and_resumes_with_the_same_answer ... ok"),
            "{name}: {tests}"
        );
    }
}
