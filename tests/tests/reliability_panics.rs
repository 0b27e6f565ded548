//! Row 20 of the reliability matrix: a step body that panics — on the scheduler thread or on a
//! worker (`--jobs 2`) — fails the run cleanly: status `failed`, the step's name, the panic's
//! message and location in the error and the report, exit 1 for a binary, every finished
//! checkpoint durable and reused by the next run.

mod reliability_util;

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use reliability_util::{chain_cmd, chain_expected, sum_of};
use stepstone::report::{RunStatus, StepStatus};
use stepstone::{Handle, Pipeline};
use stepstone_tests::{Block, chain_pipeline_panicking, config};

const ROWS: usize = 2_000;
const STEPS: u64 = 12;

#[test]
fn a_panic_on_the_scheduler_thread_fails_the_run_and_keeps_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "400KiB").checkpoint_every(Some(5));
    let zero = std::time::Duration::ZERO;
    let result = stepstone::run(&config, |p| {
        Ok(chain_pipeline_panicking(p, ROWS, STEPS, zero, Some(7)))
    });
    let Err(error) = result else {
        panic!("the run succeeded although adjust 7 panicked");
    };
    let text = stepstone::error_chain(&error);
    assert!(
        text.starts_with("step `adjust` (#7) panicked at tests/src/lib.rs:"),
        "{text}"
    );
    assert!(text.ends_with(": adjust 7 refused its input"), "{text}");
    // The report was written, with the failure on the step's row.
    let store = stepstone::store::Store::open_read_only(dir.path()).unwrap();
    let run = store.list_runs().unwrap().pop().unwrap();
    let bytes = store.read_run_file(&run, "report.json").unwrap().unwrap();
    let report: stepstone::RunReport = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or("")
            .contains("panicked at")
    );
    let row = report.steps.iter().find(|s| s.seq == 7).unwrap();
    assert_eq!(row.status, StepStatus::Failed);
    assert_eq!(row.reason, "the step panicked");
    assert!(
        report.totals.checkpoints_written >= 1,
        "step 5 was checkpointed"
    );
    // The next run (no panic) resumes from step 5's checkpoint.
    let out = stepstone::run(&config, |p| {
        Ok(chain_pipeline_panicking(p, ROWS, STEPS, zero, None))
    })
    .unwrap_or_else(|e| panic!("{}", stepstone::error_chain(&e)));
    assert_eq!(out.value, chain_expected(ROWS, STEPS));
    // Step 5's checkpoint is reused, and step 4 (needed only through it) never runs again
    // (steps 1–3 do: step 3's output is kept for the fold and was only in memory).
    let status = |seq: usize| {
        out.report
            .steps
            .iter()
            .find(|s| s.seq == seq)
            .unwrap()
            .status
    };
    assert_eq!(status(5), StepStatus::Reused);
    assert_eq!(status(4), StepStatus::Skipped);
}

/// `src` → `left` (panics) and `right`, side by side, → `join`.
fn diamond(p: &mut Pipeline, thread: Arc<Mutex<Option<ThreadId>>>) -> Handle<u64> {
    let src = p.step("src").code("1").run(|_| Ok(Block::new(1_000, 1)));
    let left = p.step("left").code("1").input(&src).run(move |x| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if let Ok(mut t) = thread.lock() {
            *t = Some(std::thread::current().id());
        }
        let b = x.get::<Block>(0)?;
        if b.sum() > 0 {
            panic!("left cannot take {} rows", b.data.len());
        }
        Ok(b.plus(1))
    });
    let right = p.step("right").code("1").input(&src).run(|x| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        Ok(x.get::<Block>(0)?.plus(2))
    });
    p.step("join")
        .code("1")
        .input(&left)
        .input(&right)
        .run(|x| Ok(x.get::<Block>(0)?.sum() + x.get::<Block>(1)?.sum()))
}

#[test]
fn a_panic_on_a_worker_thread_fails_the_run_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "64MiB").jobs(2);
    let thread = Arc::new(Mutex::new(None));
    let result = stepstone::run(&config, |p| Ok(diamond(p, Arc::clone(&thread))));
    let Err(error) = result else {
        panic!("the run succeeded although `left` panicked");
    };
    let text = stepstone::error_chain(&error);
    assert!(
        text.contains("step `left` (#1) panicked at tests/tests/reliability_panics.rs:"),
        "{text}"
    );
    assert!(text.ends_with(": left cannot take 1000 rows"), "{text}");
    let ran_on = thread.lock().unwrap().expect("left ran");
    assert_ne!(ran_on, std::thread::current().id(), "left ran on a worker");
}

#[test]
fn a_panicking_binary_exits_1_with_the_step_and_location_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--rows", "2000", "--steps", "12", "--every", "5"];
    let out = chain_cmd(dir.path(), &flags)
        .args(["--panic-at", "7"])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: step `adjust` (#7) panicked at tests/src/lib.rs:"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("thread 'main' panicked"),
        "no raw panic output: {stderr}"
    );
    let again = chain_cmd(dir.path(), &flags).output().unwrap();
    assert_eq!(sum_of(&again), chain_expected(2_000, 12));
    let line = String::from_utf8_lossy(&again.stdout);
    let executed: serde_json::Value =
        serde_json::from_str(line.lines().last().unwrap_or("")).unwrap();
    let executed: Vec<u64> = executed["executed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    // Step 5's checkpoint was kept: neither it nor step 4 (needed only through it) runs again.
    assert!(
        !executed.contains(&4) && !executed.contains(&5),
        "resumed from step 5: {executed:?}"
    );
    assert!(executed.contains(&7), "{executed:?}");
}
