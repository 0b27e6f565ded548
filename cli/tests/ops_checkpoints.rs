//! `stepstone checkpoints ls | inspect | verify | gc` on the directories of real runs.

mod ops_util;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ops_util::{
    cli, code, completed_dir, demo_run, failed_dir, object_files, per_file_run, redact, stderr,
    stdout, write_part,
};

#[test]
fn ls_lists_the_checkpoint_with_its_step_size_and_run() {
    let dir = completed_dir();
    let out = cli(dir.path(), &["checkpoints", "ls"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("boundary"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("checkpoint") && line.contains("KiB"),
        "{line}"
    );
    insta::assert_snapshot!("checkpoints_ls", redact(&text, dir.path()));

    let json = cli(dir.path(), &["checkpoints", "ls", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    insta::assert_json_snapshot!("checkpoints_ls_json", rows, {
        "[].fingerprint" => "[FP]", "[].path" => "[PATH]", "[].run" => "[RUN]", "[].age_seconds" => "[AGE]"
    });
}

#[test]
fn ls_after_a_failed_run_shows_spills_and_the_checkpoint() {
    let dir = failed_dir();
    let out = cli(dir.path(), &["checkpoints", "ls", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["step"].as_str().unwrap_or("-"),
                r["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(kinds.contains(&("boundary", "checkpoint")), "{kinds:?}");
    assert!(kinds.contains(&("widen", "spill")), "{kinds:?}");
}

#[test]
fn inspect_shows_header_fields_and_the_runs_that_used_it() {
    let dir = completed_dir();
    demo_run(dir.path(), false).unwrap(); // a second run reuses the checkpoint
    let ls = cli(dir.path(), &["checkpoints", "ls", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&ls.stdout).unwrap();
    let fp = rows[0]["fingerprint"].as_str().unwrap().to_string();

    let out = cli(dir.path(), &["checkpoints", "inspect", &fp[..8]]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::assert_snapshot!("checkpoints_inspect", redact(&stdout(&out), dir.path()));

    let json = cli(dir.path(), &["checkpoints", "inspect", &fp, "--json"]);
    let view: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let statuses: Vec<&str> = view["used_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["executed", "reused"]);
    assert_eq!(view["payload_check"].as_str().unwrap().get(..2), Some("ok"));

    let missing = cli(
        dir.path(),
        &["checkpoints", "inspect", "ffffffffffffffffffffffffffffffff"],
    );
    assert_eq!(code(&missing), 1);
    assert!(
        stderr(&missing).contains("checkpoints ls"),
        "{}",
        stderr(&missing)
    );
    let bad = cli(dir.path(), &["checkpoints", "inspect", "xyz"]);
    assert_eq!(code(&bad), 2, "not hex is a usage error");
}

#[test]
fn verify_passes_then_names_an_object_with_one_flipped_byte() {
    let dir = failed_dir();
    let ok = cli(dir.path(), &["checkpoints", "verify"]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    assert!(stderr(&ok).contains("all good"), "{}", stderr(&ok));

    let victim = object_files(dir.path()).pop().unwrap();
    let path = dir.path().join(&victim);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let bad = cli(dir.path(), &["checkpoints", "verify"]);
    assert_eq!(code(&bad), 1);
    assert!(
        stdout(&bad).contains(&format!("BAD  {victim}")),
        "{}",
        stdout(&bad)
    );
    assert!(stdout(&bad).contains("checksum"), "{}", stdout(&bad));
    assert!(stderr(&bad).contains("1 of"), "{}", stderr(&bad));
}

#[test]
fn gc_keeps_a_failed_runs_spills_then_frees_them_after_a_successful_run() {
    let dir = failed_dir();
    let before = object_files(dir.path());
    assert!(before.len() >= 2, "a checkpoint and spills: {before:?}");

    // Latest run failed: its spills are what a resume needs.
    let gc = cli(dir.path(), &["checkpoints", "gc"]);
    assert_eq!(code(&gc), 0, "{}", stderr(&gc));
    assert_eq!(object_files(dir.path()), before, "{}", stdout(&gc));

    // The resume completes, reusing the checkpoint; the spills of skipped steps stay behind.
    let report = demo_run(dir.path(), false).unwrap();
    let boundary = report.steps_named("boundary").next().unwrap();
    let left = object_files(dir.path());
    assert!(left.len() >= 2, "{left:?}");

    let dry = cli(dir.path(), &["checkpoints", "gc", "--dry-run", "--json"]);
    let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(object_files(dir.path()), left, "dry run deletes nothing");
    let freed = plan["freed_objects"].as_u64().unwrap();
    assert_eq!(freed as usize, left.len() - 1);
    assert!(
        plan["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["kind"] == "spill")
    );

    let young = cli(dir.path(), &["checkpoints", "gc", "--older-than", "7d"]);
    assert_eq!(code(&young), 0);
    assert_eq!(object_files(dir.path()), left, "nothing is a week old");

    let gc = cli(dir.path(), &["checkpoints", "gc"]);
    assert_eq!(code(&gc), 0, "{}", stderr(&gc));
    assert!(
        stdout(&gc).contains(&format!("freed {freed} objects")),
        "{}",
        stdout(&gc)
    );
    let kept = object_files(dir.path());
    let fp = boundary.fingerprint.to_hex();
    assert_eq!(kept, [format!("objects/{}/{fp}.0", &fp[..2])]);

    // A resume needs nothing more: the next run reuses the checkpoint and executes only `report`.
    let again = demo_run(dir.path(), false).unwrap();
    assert_eq!(again.totals.steps_executed, 1, "{:?}", again.totals);
}

#[test]
fn gc_keep_runs_removes_old_report_folders_only() {
    let dir = completed_dir();
    demo_run(dir.path(), false).unwrap();
    demo_run(dir.path(), false).unwrap();
    let gc = cli(dir.path(), &["checkpoints", "gc", "--keep-runs", "1"]);
    assert_eq!(code(&gc), 0, "{}", stderr(&gc));
    assert!(stdout(&gc).contains("and 2 run folders"), "{}", stdout(&gc));
    assert_eq!(
        std::fs::read_dir(dir.path().join("runs")).unwrap().count(),
        1
    );
    assert_eq!(object_files(dir.path()).len(), 1, "the checkpoint stays");
}

#[test]
fn gc_refuses_while_a_run_holds_the_lock() {
    let dir = completed_dir();
    let _run = stepstone::store::Store::open(dir.path(), "holder", Default::default()).unwrap();
    let gc = cli(dir.path(), &["checkpoints", "gc"]);
    assert_eq!(code(&gc), 1);
    assert!(stderr(&gc).contains("is using it"), "{}", stderr(&gc));
    assert!(
        stderr(&gc).contains(&format!("pid {}", std::process::id())),
        "{}",
        stderr(&gc)
    );
}

#[test]
fn a_missing_directory_is_an_error_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(&dir.path().join("nope"), &["checkpoints", "ls"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("pass --dir"), "{}", stderr(&out));
}

#[test]
fn gc_keeps_everything_when_a_later_run_left_no_report() {
    let dir = failed_dir();
    demo_run(dir.path(), false).unwrap();
    let before = object_files(dir.path());
    // A run killed after the completed one (numbered after it): its folder exists, its
    // report does not.
    std::fs::create_dir(dir.path().join("runs").join("r999999-99991231T235959Z-1-0")).unwrap();
    let gc = cli(dir.path(), &["checkpoints", "gc"]);
    assert_eq!(code(&gc), 0, "{}", stderr(&gc));
    assert!(
        stderr(&gc).contains("keeping every object: run r999999-99991231T235959Z-1-0"),
        "{}",
        stderr(&gc)
    );
    assert_eq!(object_files(dir.path()), before);
}

/// `freed_objects` of `checkpoints gc --json --keep-runs 1` on `dir` (only the latest run's
/// checkpoints are kept).
fn gc_freed(dir: &std::path::Path) -> u64 {
    let gc = cli(dir, &["checkpoints", "gc", "--json", "--keep-runs", "1"]);
    assert_eq!(code(&gc), 0, "{}", stderr(&gc));
    let summary: serde_json::Value = serde_json::from_slice(&gc.stdout).unwrap();
    summary["freed_objects"].as_u64().unwrap()
}

#[test]
fn gc_keeps_the_checkpoints_of_file_partitions_so_a_rerun_recomputes_nothing() {
    let data = tempfile::tempdir().unwrap();
    for i in 0..3 {
        write_part(data.path(), i, 1);
    }
    let dir = tempfile::tempdir().unwrap();
    let bodies = Arc::new(AtomicUsize::new(0));
    let (total, first) = per_file_run(dir.path(), data.path(), &bodies, "1").unwrap();
    assert_eq!(
        bodies.swap(0, Ordering::SeqCst),
        7,
        "3 loads, 3 doubles, 1 total"
    );
    let load = first.steps_named("load").next().unwrap();
    assert_eq!(
        load.object_keys.len(),
        3,
        "one salted key per file: {load:?}"
    );
    let stored = object_files(dir.path());
    assert_eq!(stored.len(), 7, "{stored:?}");

    // Every object is a checkpoint the run just wrote, and `ls` knows which step made it.
    let ls = cli(dir.path(), &["checkpoints", "ls", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&ls.stdout).unwrap();
    assert!(rows.iter().all(|r| r["step"].is_string()), "{rows:?}");
    assert_eq!(gc_freed(dir.path()), 0);
    assert_eq!(object_files(dir.path()), stored);
    let (again, report) = per_file_run(dir.path(), data.path(), &bodies, "1").unwrap();
    assert_eq!(bodies.load(Ordering::SeqCst), 0, "{:?}", report.steps);
    assert_eq!(report.totals.steps_executed, 0, "{:?}", report.totals);
    assert_eq!((total, again), (2 * (0..300).sum::<u64>(), total));

    // One file changes: its partition and the total recompute; gc then frees the stale
    // objects only, and the next run still recomputes nothing.
    write_part(data.path(), 1, 3);
    let (changed, report) = per_file_run(dir.path(), data.path(), &bodies, "1").unwrap();
    assert_eq!(bodies.swap(0, Ordering::SeqCst), 3, "{:?}", report.steps);
    let freed = gc_freed(dir.path());
    assert!(
        freed >= 3,
        "the old file's load, double and the old total: {freed}"
    );
    let (after, report) = per_file_run(dir.path(), data.path(), &bodies, "1").unwrap();
    assert_eq!(bodies.load(Ordering::SeqCst), 0, "{:?}", report.steps);
    assert_eq!(report.totals.steps_executed, 0, "{:?}", report.totals);
    assert_eq!(after, changed);

    // The per-file partitions the changed run reused were kept too: a new `total` reads them
    // back, and no file is read again.
    let (again, report) = per_file_run(dir.path(), data.path(), &bodies, "2").unwrap();
    assert_eq!(
        bodies.load(Ordering::SeqCst),
        1,
        "only total: {:?}",
        report.steps
    );
    assert_eq!(again, changed);
}
