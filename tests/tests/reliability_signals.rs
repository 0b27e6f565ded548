//! Row 21 of the reliability matrix: SIGINT / SIGTERM stop a run at its next safe point —
//! between steps, or abandoning the object being written — with the report written (status
//! `interrupted`), the summary printed, exit 130 / 143, never a partial object at a final path;
//! a second signal exits at once; the next run resumes with the right answer.

mod reliability_util;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reliability_util::{
    Rng, SEED, chain_cmd, chain_expected, reports, seed_checksum as checksum_of, sum_of, tmp_files,
    verify_all,
};
use serde::{Deserialize, Serialize};
use stepstone::report::RunStatus;
use stepstone::{Footprint, MemSize, Policy};
use stepstone_tests::{config, files_under};

fn seed_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(SEED);
    cmd.args(["--rows", "100000", "--budget", "24MiB", "--every", "10"])
        .arg("--checkpoint-dir")
        .arg(dir)
        .arg("--no-progress");
    cmd
}

/// `chain` with `flags`, handling signals, its output captured.
fn spawn_chain(dir: &Path, flags: &[&str]) -> Child {
    chain_cmd(dir, flags)
        .arg("--signals")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chain")
}

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // `kill` through libc is the only way to send a signal from std; the pid is our own
    // child, not yet reaped, so it cannot name another process.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

#[test]
fn sigterm_and_sigint_at_random_moments_of_the_seed_stop_cleanly_and_resume() {
    let seed = reliability_util::seed("signals", 21);
    let mut rng = Rng::new(seed);
    let reference = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let expected = checksum_of(&seed_cmd(reference.path()).output().unwrap());
    let full = started.elapsed().as_millis() as u64;
    let mut interrupted = 0;
    for round in 0..10 {
        let (sig, code) = if round % 2 == 0 {
            (libc::SIGTERM, 143)
        } else {
            (libc::SIGINT, 130)
        };
        let dir = tempfile::tempdir().unwrap();
        let child = seed_cmd(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.range(20, full.max(40))));
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {} // finished before the signal came
            Some(c) if c == code => {
                interrupted += 1;
                assert!(stderr.contains("the run was interrupted by"), "{stderr}");
                assert!(
                    stderr.contains("executed,"),
                    "the summary is printed: {stderr}"
                );
                let last = reports(dir.path()).pop().flatten().expect("a report");
                assert_eq!(last.status, RunStatus::Interrupted);
            }
            other => panic!("round {round}: exit {other:?}; stderr: {stderr}"),
        }
        // Nothing half-written at a final path; no temp file left behind.
        verify_all(dir.path(), false);
        assert!(
            tmp_files(dir.path()).is_empty(),
            "{:?}",
            tmp_files(dir.path())
        );
        let again = seed_cmd(dir.path()).output().unwrap();
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        let got = checksum_of(&again);
        assert!(
            ((got - expected) / expected).abs() < 1e-9,
            "round {round}: {got} != {expected}"
        );
    }
    println!("{interrupted} of 10 runs were interrupted (the others finished first)");
    assert!(
        interrupted >= 5,
        "only {interrupted} of 10 runs were interrupted"
    );
}

#[test]
fn a_signal_during_a_long_step_stops_after_it_and_the_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--rows",
        "2000",
        "--steps",
        "6",
        "--every",
        "2",
        "--sleep-ms",
        "300",
    ];
    let child = spawn_chain(dir.path(), &flags);
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = reports(dir.path()).pop().flatten().expect("a report");
    assert_eq!(last.status, RunStatus::Interrupted);
    assert!(
        last.totals.steps_executed >= 2,
        "the steps before the signal finished"
    );
    let again = chain_cmd(
        dir.path(),
        &["--rows", "2000", "--steps", "6", "--every", "2"],
    )
    .output()
    .unwrap();
    assert_eq!(sum_of(&again), chain_expected(2_000, 6));
    let reused = reports(dir.path())
        .pop()
        .flatten()
        .unwrap()
        .totals
        .steps_reused;
    assert!(
        reused >= 1,
        "the rerun resumed from what the interrupted run stored"
    );
}

#[test]
fn a_second_sigint_exits_at_once_and_the_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--rows",
        "2000",
        "--steps",
        "3",
        "--every",
        "1",
        "--sleep-ms",
        "2000",
    ];
    let child = spawn_chain(dir.path(), &flags);
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It did not wait for the step to end at a safe point: no report was written.
    assert!(reports(dir.path()).iter().all(Option::is_none));
    let again = chain_cmd(
        dir.path(),
        &["--rows", "2000", "--steps", "3", "--every", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(sum_of(&again), chain_expected(2_000, 3));
}

/// The stop flag is process-wide: the tests that raise it in this process run one at a time
/// (another's `run` would reset it, or be stopped by it).
static IN_PROCESS_STOP: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_stop_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    IN_PROCESS_STOP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether [`StopsMidWrite`] asks for a stop while it is serialized.
static STOP_MID_WRITE: AtomicBool = AtomicBool::new(true);

/// Numbers whose serialization asks the run to stop halfway through (as a signal arriving while
/// the checkpoint is written would).
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct StopsMidWrite(Vec<u64>);

impl Serialize for StopsMidWrite {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (i, x) in self.0.iter().enumerate() {
            if i == self.0.len() / 2 && STOP_MID_WRITE.load(Ordering::SeqCst) {
                stepstone::exec::request_stop(libc::SIGTERM);
            }
            seq.serialize_element(x)?;
        }
        seq.end()
    }
}

impl MemSize for StopsMidWrite {
    fn add_heap(&self, acc: &mut Footprint) {
        self.0.add_heap(acc);
    }
}

#[test]
fn a_stop_during_a_checkpoint_write_abandons_the_object() {
    let _one = one_stop_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "64MiB");
    let build = |p: &mut stepstone::Pipeline| {
        let big = p
            .step("big")
            .code("1")
            .policy(Policy::Checkpoint)
            .run(|_| Ok(StopsMidWrite((0..400_000).collect())));
        Ok(p.step("sum")
            .code("1")
            .input(&big)
            .run(|x| Ok(x.get::<StopsMidWrite>(0)?.0.iter().sum::<u64>())))
    };
    let Err(error) = stepstone::run(&config, build) else {
        panic!("the run finished although a stop was asked for during the checkpoint write");
    };
    assert_eq!(error.interrupted_by(), Some(libc::SIGTERM), "{error}");
    let last = reports(dir.path()).pop().flatten().expect("a report");
    assert_eq!(last.status, RunStatus::Interrupted);
    let fp = last
        .steps
        .iter()
        .find(|s| s.name == "big")
        .unwrap()
        .fingerprint;
    assert!(files_under(&dir.path().join("objects"), &fp.to_hex()).is_empty());
    assert!(
        tmp_files(dir.path()).is_empty(),
        "{:?}",
        tmp_files(dir.path())
    );
    // The next run starts clean (the stop request is forgotten) and resumes.
    STOP_MID_WRITE.store(false, Ordering::SeqCst);
    let out = stepstone::run(&config, build).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.value, (0..400_000u64).sum::<u64>());
}

/// Issue 21, item 2: a stop asked for while an Arrow IPC object is written (every `Batch` spill
/// or checkpoint) abandons the object and stops the run — it used to spin forever, because the
/// stop guard's error had the kind `Interrupted`, which `write_all` retries.
#[test]
fn a_stop_during_an_arrow_checkpoint_write_stops_the_run_within_seconds() {
    let _one = one_stop_at_a_time();
    use std::sync::Arc;
    use stepstone::arrow::Batch;
    use stepstone::arrow::arrow_array::UInt64Array;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (done, finished) = std::sync::mpsc::channel();
    // The run goes on a thread so that a hang fails this test instead of the whole suite.
    std::thread::spawn(move || {
        let config = config(&root, "256MiB");
        let result = stepstone::run(&config, |p| {
            let big = p.step("big").code("1").policy(Policy::Checkpoint).run(|_| {
                // As a SIGTERM arriving while the step's output is written.
                stepstone::exec::request_stop(libc::SIGTERM);
                Ok(Batch::try_from_columns([(
                    "x",
                    Arc::new(UInt64Array::from_iter_values(0..2_000_000)) as _,
                )])?)
            });
            Ok(p.step("rows")
                .code("1")
                .input(&big)
                .run(|x| Ok(x.get::<Batch>(0)?.num_rows() as u64)))
        });
        let _ = done.send(result.map(|out| out.value).map_err(|e| e.interrupted_by()));
    });
    let result = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the run did not stop within 20 s of a stop asked for during an Arrow write");
    assert_eq!(result, Err(Some(libc::SIGTERM)));
    let last = reports(dir.path()).pop().flatten().expect("a report");
    assert_eq!(last.status, RunStatus::Interrupted);
    assert!(
        tmp_files(dir.path()).is_empty(),
        "{:?}",
        tmp_files(dir.path())
    );
    verify_all(dir.path(), false);
}

/// Issue 21, item 8: a stop asked for while a large plan is being recorded ends the recording
/// and fails the run as interrupted before any step executes.
#[test]
fn a_stop_while_recording_fails_the_run_as_interrupted_before_any_step() {
    let _one = one_stop_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "64MiB");
    let error = stepstone::run(&config, |p| {
        let mut h = p.step("start").code("1").run(|_| Ok(0u64));
        for i in 0..10_000u64 {
            if i == 100 {
                stepstone::exec::request_stop(libc::SIGINT);
            }
            h = p
                .step("next")
                .code("1")
                .param(&i)
                .input(&h)
                .run(|a| Ok(*a.get::<u64>(0)? + 1));
        }
        Ok(h)
    })
    .expect_err("the run was asked to stop while recording");
    assert_eq!(error.interrupted_by(), Some(libc::SIGINT), "{error}");
    let last = reports(dir.path()).pop().flatten().expect("a report");
    assert_eq!(last.status, RunStatus::Interrupted);
    assert_eq!(last.totals.steps_executed, 0);
    assert!(
        last.steps.len() <= 101,
        "recording stopped: {} rows",
        last.steps.len()
    );
}
