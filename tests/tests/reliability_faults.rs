//! Rows 2, 3, 4 and 6 of the reliability matrix, on whole pipeline runs over the fault-injecting
//! backend (`FaultFs`), SQLite-style: count the writes, syncs, renames and creates of a clean
//! run of a small chain (checkpoints and spills), then for every n fail the n-th one (EIO, and
//! ENOSPC for writes). After each faulted run: every visible object verifies and no temp file
//! is left (a crash between data write and commit); then a simulated power loss (unsynced data
//! dropped, or torn) keeps every checkpoint the run announced as stored; and a normal run on the
//! same directory gives the right answer. Also: a real ENOSPC from `/dev/full`.

mod reliability_util;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use reliability_util::{chain, chain_expected, tmp_files, verify_all};
use stepstone::store::fault::{FaultError, FaultFs, FaultOp, PowerLoss};
use stepstone::store::{BlockKey, LocalFs, ObjectKind, Store};
use stepstone::{Event, Fingerprint, RunConfig};
use stepstone_tests::config;

const ROWS: usize = 3_000;
const STEPS: u64 = 9;
/// Small enough that the kept datasets (adjust 3, 6, 9) spill; adjust 4 and 8 are checkpoints.
const BUDGET: &str = "80KiB";

fn faulty(dir: &Path, fs: &FaultFs, jobs: usize) -> RunConfig {
    config(dir, BUDGET)
        .jobs(jobs)
        .checkpoint_every(Some(4))
        .backend(Arc::new(fs.clone()))
}

/// Run the chain on `fs`; returns the result (as text on error) and the fingerprints of the
/// checkpoint steps the run announced as stored (`Event::StepStored` comes after the durable
/// write).
fn run_on(
    dir: &Path,
    fs: &FaultFs,
    checkpoints: &BTreeSet<usize>,
    jobs: usize,
) -> (Result<u64, String>, Vec<Fingerprint>) {
    let stored = Arc::new(Mutex::new(Vec::new()));
    let seen = stored.clone();
    let checkpoints = checkpoints.clone();
    let cfg = faulty(dir, fs, jobs).observer(move |e| {
        if let Event::StepStored {
            seq, fingerprint, ..
        } = e
            && checkpoints.contains(seq)
            && let Ok(mut v) = seen.lock()
        {
            v.push(*fingerprint);
        }
    });
    let result = stepstone::run(&cfg, |p| Ok(chain(p, ROWS, STEPS)))
        .map(|o| o.value)
        .map_err(|e| stepstone::error_chain(&e));
    let stored = stored.lock().map(|v| v.clone()).unwrap_or_default();
    (result, stored)
}

/// A clean run: its op counts and the seqs of its checkpoint steps.
fn clean_run(jobs: usize) -> (FaultFs, BTreeSet<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultFs::new(Arc::new(LocalFs));
    let out = stepstone::run(&faulty(dir.path(), &fs, jobs), |p| {
        Ok(chain(p, ROWS, STEPS))
    })
    .unwrap();
    assert_eq!(out.value, chain_expected(ROWS, STEPS));
    assert!(out.report.totals.spills_written > 0, "the chain must spill");
    assert!(out.report.totals.checkpoints_written >= 3, "and checkpoint");
    let checkpoints = out
        .report
        .steps
        .iter()
        .filter(|s| s.policy == stepstone::Policy::Checkpoint)
        .map(|s| s.seq)
        .collect();
    (fs, checkpoints)
}

/// Every run report in the directory is absent or complete JSON.
fn reports_parse(dir: &Path) {
    for report in stepstone_tests::files_under(&dir.join("runs"), "report.json") {
        let bytes = std::fs::read(&report).unwrap();
        serde_json::from_slice::<stepstone::RunReport>(&bytes)
            .unwrap_or_else(|e| panic!("{} is not a complete report: {e}", report.display()));
    }
}

/// Fail the n-th `op` with `error`, then check the three promises. Returns whether the run
/// failed.
fn fault_then_check(
    op: FaultOp,
    n: u64,
    error: FaultError,
    loss: PowerLoss,
    ckpts: &BTreeSet<usize>,
    jobs: usize,
) -> bool {
    let what = format!("{op:?} #{n} → {error:?}, then {loss:?}, {jobs} jobs");
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultFs::new(Arc::new(LocalFs));
    fs.fail(op, n, error);
    let (result, announced) = run_on(dir.path(), &fs, ckpts, jobs);
    match &result {
        Ok(v) => assert_eq!(
            *v,
            chain_expected(ROWS, STEPS),
            "{what}: a run that succeeds is right"
        ),
        Err(text) => {
            let errno = match error {
                FaultError::NoSpace => "No space left on device",
                FaultError::Io => "Input/output error",
            };
            assert!(
                text.contains(errno),
                "{what}: the error names the cause: {text}"
            );
        }
    }
    // Crash between data write and commit: only complete objects are visible, no temp file.
    verify_all(dir.path(), false);
    assert_eq!(
        tmp_files(dir.path()),
        Vec::<std::path::PathBuf>::new(),
        "{what}"
    );
    reports_parse(dir.path());
    // Power loss: what was announced as a stored checkpoint survives, every visible
    // checkpoint verifies.
    fs.power_loss(loss).unwrap();
    verify_all(dir.path(), true);
    reports_parse(dir.path());
    let store = Store::open_read_only(dir.path()).unwrap();
    for fp in announced {
        let info = store
            .verify(BlockKey {
                fingerprint: fp,
                part: 0,
            })
            .unwrap_or_else(|e| panic!("{what}: announced checkpoint {fp} lost: {e}"));
        assert_eq!(info.kind, ObjectKind::Checkpoint, "{what}");
    }
    drop(store);
    // The next normal run resumes and gives the right answer.
    let again = stepstone::run(&config(dir.path(), BUDGET).checkpoint_every(Some(4)), |p| {
        Ok(chain(p, ROWS, STEPS))
    })
    .unwrap_or_else(|e| {
        panic!(
            "{what}: the next run failed: {}",
            stepstone::error_chain(&e)
        )
    });
    assert_eq!(again.value, chain_expected(ROWS, STEPS), "{what}");
    verify_all(dir.path(), false);
    result.is_err()
}

/// Loop n over every `op` of a clean run.
fn every_op(op: FaultOp, errors: &[FaultError], loss: PowerLoss, jobs: usize) {
    let (clean, ckpts) = clean_run(jobs);
    let total = clean.count(op);
    assert!(
        total >= 3,
        "{op:?}: a checkpointing run does several ({total})"
    );
    let mut failed = 0;
    for n in 1..=total {
        for &error in errors {
            failed += usize::from(fault_then_check(op, n, error, loss, &ckpts, jobs));
        }
    }
    println!(
        "{op:?}: {total} points × {} errors, {failed} failed runs",
        errors.len()
    );
    assert!(failed > 0, "{op:?}: some fault must fail the run");
}

#[test]
fn crash_or_power_loss_at_every_write_keeps_old_or_new_state() {
    every_op(
        FaultOp::Write,
        &[FaultError::Io, FaultError::NoSpace],
        PowerLoss::DropUnsynced,
        1,
    );
}

#[test]
fn crash_or_power_loss_at_every_sync_keeps_old_or_new_state() {
    every_op(FaultOp::Sync, &[FaultError::Io], PowerLoss::DropUnsynced, 1);
}

/// The same loops with two parallel jobs (steps run on workers; the order of I/O may vary from
/// run to run, the promises may not).
#[test]
fn crash_or_power_loss_at_every_write_and_sync_with_two_jobs_keeps_old_or_new_state() {
    every_op(
        FaultOp::Write,
        &[FaultError::Io],
        PowerLoss::DropUnsynced,
        2,
    );
    every_op(FaultOp::Sync, &[FaultError::Io], PowerLoss::DropUnsynced, 2);
}

#[test]
fn crash_or_power_loss_at_every_rename_and_create_keeps_old_or_new_state() {
    every_op(
        FaultOp::Rename,
        &[FaultError::Io],
        PowerLoss::DropUnsynced,
        1,
    );
    every_op(
        FaultOp::Create,
        &[FaultError::NoSpace],
        PowerLoss::DropUnsynced,
        1,
    );
}

#[test]
fn torn_unsynced_writes_at_every_sync_are_caught_and_recomputed() {
    for seed in [3, 11] {
        every_op(
            FaultOp::Sync,
            &[FaultError::Io],
            PowerLoss::TearUnsynced(seed),
            1,
        );
    }
}

#[test]
fn enospc_at_every_write_names_path_and_bytes_and_a_later_run_resumes() {
    let (clean, ckpts) = clean_run(1);
    let mut named = 0;
    for n in 1..=clean.count(FaultOp::Write) {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new(Arc::new(LocalFs));
        fs.fail(FaultOp::Write, n, FaultError::NoSpace);
        let (result, _) = run_on(dir.path(), &fs, &ckpts, 1);
        assert_eq!(
            tmp_files(dir.path()),
            Vec::<std::path::PathBuf>::new(),
            "write #{n}"
        );
        if let Err(text) = result
            && text.contains(".Checkpoint.")
        {
            // A failed checkpoint write: the temp file, the object it was for, the size, the fix.
            for part in ["write ", "/tmp/", "bytes", "/objects/", "free disk space"] {
                assert!(
                    text.contains(part),
                    "write #{n}: `{part}` missing from: {text}"
                );
            }
            named += 1;
        }
        let again = stepstone::run(&config(dir.path(), BUDGET).checkpoint_every(Some(4)), |p| {
            Ok(chain(p, ROWS, STEPS))
        })
        .unwrap();
        assert_eq!(again.value, chain_expected(ROWS, STEPS), "write #{n}");
    }
    assert!(named > 0, "some write hits a checkpoint");
}

#[test]
fn a_checkpoint_dir_under_dev_full_fails_with_a_clear_error() {
    let err = stepstone::run(&config(Path::new("/dev/full/checkpoints"), "1MiB"), |p| {
        Ok(p.step("x").code("1").run(|_| Ok(1u64)))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(text.contains("/dev/full/checkpoints"), "{text}");
    assert!(text.contains("Not a directory"), "{text}");
}

/// Old state intact: a completed run's checkpoints survive a crash (and a power loss) at every
/// write and sync of a later, longer run on the same directory — the first pipeline is then
/// served entirely from its stored result.
#[test]
fn a_crash_at_every_op_of_a_later_run_leaves_the_earlier_run_intact() {
    let later_steps = STEPS + 6;
    let count = |op: FaultOp| {
        let dir = tempfile::tempdir().unwrap();
        stepstone::run(&config(dir.path(), BUDGET).checkpoint_every(Some(4)), |p| {
            Ok(chain(p, ROWS, STEPS))
        })
        .unwrap();
        let fs = FaultFs::new(Arc::new(LocalFs));
        stepstone::run(&faulty(dir.path(), &fs, 1), |p| {
            Ok(chain(p, ROWS, later_steps))
        })
        .unwrap();
        fs.count(op)
    };
    for op in [FaultOp::Write, FaultOp::Sync] {
        for n in 1..=count(op) {
            let dir = tempfile::tempdir().unwrap();
            let plain = || config(dir.path(), BUDGET).checkpoint_every(Some(4));
            stepstone::run(&plain(), |p| Ok(chain(p, ROWS, STEPS))).unwrap();
            let fs = FaultFs::new(Arc::new(LocalFs));
            fs.fail(op, n, FaultError::Io);
            let _ = stepstone::run(&faulty(dir.path(), &fs, 1), |p| {
                Ok(chain(p, ROWS, later_steps))
            });
            fs.power_loss(PowerLoss::DropUnsynced).unwrap();
            verify_all(dir.path(), true);
            let old = stepstone::run(&plain(), |p| Ok(chain(p, ROWS, STEPS))).unwrap();
            assert_eq!(old.value, chain_expected(ROWS, STEPS), "{op:?} #{n}");
            assert_eq!(
                old.report.totals.steps_executed, 0,
                "{op:?} #{n}: the earlier run's result is still stored"
            );
            let new = stepstone::run(&plain(), |p| Ok(chain(p, ROWS, later_steps))).unwrap();
            assert_eq!(new.value, chain_expected(ROWS, later_steps), "{op:?} #{n}");
        }
    }
}
