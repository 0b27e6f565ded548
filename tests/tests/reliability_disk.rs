//! Rows 6 (a real ENOSPC from `/dev/full`), 7 (short writes; EFBIG under `ulimit -f`), 8 (EIO
//! on fsync, never retried) and 9 (spills failing under memory pressure) of the reliability
//! matrix.

mod reliability_util;

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use reliability_util::{CHAIN, chain, chain_expected, run_chain, sum_of, tmp_files, verify_all};
use stepstone::store::fault::{FaultError, FaultFs, FaultOp};
use stepstone::store::{Backend, DirEntry, LocalFs, LockHandle, ReadFile, WriteFile};
use stepstone_tests::{config, files_under};

/// The local file system, except that checkpoint temp files are opened on `/dev/full`, where
/// every write fails with the kernel's own ENOSPC.
#[derive(Debug)]
struct DevFull;

impl Backend for DevFull {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        if path.to_string_lossy().contains(".Checkpoint.") {
            return Ok(Box::new(OpenOptions::new().write(true).open("/dev/full")?));
        }
        LocalFs.create(path)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        LocalFs.open_read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        LocalFs.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        LocalFs.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        LocalFs.remove_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        LocalFs.sync_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        LocalFs.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        LocalFs.list_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        LocalFs.exists(path)
    }
    fn lock(&self, path: &Path, wait: bool) -> io::Result<Option<Box<dyn LockHandle>>> {
        LocalFs.lock(path, wait)
    }
}

const ROWS: usize = 3_000;
const STEPS: u64 = 9;

#[test]
fn a_checkpoint_written_to_dev_full_fails_naming_path_bytes_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "80KiB")
        .checkpoint_every(Some(4))
        .backend(Arc::new(DevFull));
    let err = stepstone::run(&cfg, |p| Ok(chain(p, ROWS, STEPS))).unwrap_err();
    let text = stepstone::error_chain(&err);
    for part in [
        "No space left on device",
        "/tmp/",
        "bytes",
        "/objects/",
        "free disk space",
    ] {
        assert!(text.contains(part), "`{part}` missing from: {text}");
    }
    assert_eq!(tmp_files(dir.path()), Vec::<PathBuf>::new());
    verify_all(dir.path(), false);
    // Issue 21, item 9: the step whose checkpoint failed is `failed` in the report and the
    // summary's count, not `executed` with "0 failed".
    let failed = reliability_util::reports(dir.path())
        .pop()
        .flatten()
        .expect("a report");
    assert_eq!(failed.totals.steps_failed, 1, "{:?}", failed.totals);
    let row = failed
        .steps
        .iter()
        .find(|s| s.status == stepstone::report::StepStatus::Failed)
        .expect("a failed row");
    assert_eq!(row.reason, "its checkpoint could not be written");
    let again = stepstone::run(
        &config(dir.path(), "80KiB").checkpoint_every(Some(4)),
        |p| Ok(chain(p, ROWS, STEPS)),
    )
    .unwrap();
    assert_eq!(again.value, chain_expected(ROWS, STEPS));
}

/// `chain` in a child shell with the file-size limit `kib` KiB and SIGXFSZ ignored, so an
/// oversized write is a short write followed by EFBIG instead of a signal.
fn chain_under_ulimit_f(dir: &Path, kib: u64, args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
        .arg(CHAIN)
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn efbig_under_ulimit_f_fails_cleanly_and_commits_nothing_truncated() {
    let args = ["--rows", "20000", "--steps", "12", "--every", "3"];
    let expected = chain_expected(20_000, 12);
    // Objects are ~60 KB of postcard varints: every limit cuts them (1 KiB even the header).
    for kib in [1, 16, 40] {
        let dir = tempfile::tempdir().unwrap();
        let out = chain_under_ulimit_f(dir.path(), kib, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "limit {kib} KiB: a clean failure: {stderr}"
        );
        assert!(
            stderr.contains("File too large"),
            "limit {kib} KiB: {stderr}"
        );
        assert!(stderr.contains("/tmp/"), "names the temp file: {stderr}");
        assert_eq!(tmp_files(dir.path()), Vec::<PathBuf>::new());
        // Nothing truncated is committed.
        for info in verify_all(dir.path(), false) {
            assert!(info.file_len <= kib * 1024, "{info:?}");
        }
        let out = run_chain(dir.path(), &args);
        assert_eq!(sum_of(&out), expected, "limit {kib} KiB: the later run");
    }
}

#[test]
fn short_writes_everywhere_still_give_the_right_answer() {
    // Every write accepts at most half its bytes: the store must loop until all are written.
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultFs::new(Arc::new(LocalFs));
    fs.short_writes(true);
    let cfg = config(dir.path(), "80KiB")
        .checkpoint_every(Some(4))
        .backend(Arc::new(fs.clone()));
    let out = stepstone::run(&cfg, |p| Ok(chain(p, ROWS, STEPS))).unwrap();
    assert_eq!(out.value, chain_expected(ROWS, STEPS));
    assert!(out.report.totals.spills_written > 0 && out.report.totals.checkpoints_written > 0);
    assert!(!verify_all(dir.path(), false).is_empty());
    let again = stepstone::run(
        &config(dir.path(), "80KiB").checkpoint_every(Some(4)),
        |p| Ok(chain(p, ROWS, STEPS)),
    )
    .unwrap();
    assert_eq!(again.value, out.value);
    assert!(
        again.report.totals.steps_reused > 0,
        "the checkpoints are reused"
    );
}

#[test]
fn eio_on_a_checkpoint_fsync_fails_it_without_retrying_that_file() {
    for first_only in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new(Arc::new(LocalFs));
        if first_only {
            // The first checkpoint fsync: find its index in a clean run's sync log.
            let clean_dir = tempfile::tempdir().unwrap();
            let clean = FaultFs::new(Arc::new(LocalFs));
            let cfg = config(clean_dir.path(), "80KiB")
                .checkpoint_every(Some(4))
                .backend(Arc::new(clean.clone()));
            stepstone::run(&cfg, |p| Ok(chain(p, ROWS, STEPS))).unwrap();
            let log = clean.sync_log();
            let n = log
                .iter()
                .position(|p| p.to_string_lossy().contains(".Checkpoint."))
                .unwrap();
            fs.fail(FaultOp::Sync, n as u64 + 1, FaultError::Io);
        } else {
            fs.fail_matching(FaultOp::Sync, ".Checkpoint.", FaultError::Io);
        }
        let cfg = config(dir.path(), "80KiB")
            .checkpoint_every(Some(4))
            .backend(Arc::new(fs.clone()));
        let err = stepstone::run(&cfg, |p| Ok(chain(p, ROWS, STEPS))).unwrap_err();
        let text = stepstone::error_chain(&err);
        assert!(
            text.contains("fsync") && text.contains("Input/output error"),
            "{text}"
        );
        // No file was fsync'd twice: a failed fsync is never retried on the same file.
        let log = fs.sync_log();
        let files: Vec<&PathBuf> = log
            .iter()
            .filter(|p| p.to_string_lossy().contains(".tmp"))
            .collect();
        let mut unique = files.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            files.len(),
            unique.len(),
            "a file was synced twice: {log:?}"
        );
        // The failed checkpoint is not committed; nothing is left in tmp/.
        assert_eq!(tmp_files(dir.path()), Vec::<PathBuf>::new());
        let visible = verify_all(dir.path(), false);
        assert!(
            visible
                .iter()
                .all(|i| i.kind != stepstone::store::ObjectKind::Checkpoint),
            "{visible:?}"
        );
        let again = stepstone::run(
            &config(dir.path(), "80KiB").checkpoint_every(Some(4)),
            |p| Ok(chain(p, ROWS, STEPS)),
        )
        .unwrap();
        assert_eq!(again.value, chain_expected(ROWS, STEPS));
    }
}

#[test]
fn spills_failing_with_enospc_stay_within_budget_and_recompute_from_lineage() {
    let (rows, steps) = (6_000, 15);
    let roomy_dir = tempfile::tempdir().unwrap();
    let roomy = stepstone::run(&config(roomy_dir.path(), "64MiB"), |p| {
        Ok(chain(p, rows, steps))
    })
    .unwrap();
    assert_eq!(roomy.report.totals.spills_written, 0);

    for jobs in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new(Arc::new(LocalFs));
        fs.fail_matching(FaultOp::Write, ".Spill.", FaultError::NoSpace);
        // 48 KB per dataset, six kept ones: the data is ~6× the budget.
        let cfg = config(dir.path(), "150KiB")
            .jobs(jobs)
            .backend(Arc::new(fs.clone()));
        let tight = stepstone::run(&cfg, |p| Ok(chain(p, rows, steps))).unwrap();
        assert_eq!(tight.value, roomy.value, "same result as without spilling");
        assert_eq!(tight.value, chain_expected(rows, steps));
        let r = &tight.report;
        assert!(
            r.tracked_peak_bytes <= r.budget_bytes,
            "tracked peak {} > budget {}",
            r.tracked_peak_bytes,
            r.budget_bytes
        );
        assert_eq!(r.totals.spills_written, 0, "every spill failed");
        assert!(
            r.events.iter().any(|e| e.kind == "drop"),
            "values were dropped"
        );
        assert!(
            r.steps.iter().any(|s| s.executions > 1),
            "dropped values were recomputed from lineage"
        );
        assert_eq!(tmp_files(dir.path()), Vec::<PathBuf>::new());
        assert!(files_under(&dir.path().join("objects"), "").len() <= 1);
    }
}

#[test]
fn orphans_of_a_crashed_run_are_cleaned_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_chain(dir.path(), &["--rows", "2000", "--steps", "6"]);
    let expected = sum_of(&out);
    // What a crashed run leaves behind: temp files, a run's persist folder.
    std::fs::write(
        dir.path().join("tmp/0123.0.Spill.999-1.tmp"),
        b"half an object",
    )
    .unwrap();
    std::fs::write(dir.path().join("tmp/run-report.json.999-2.tmp"), b"{\"half").unwrap();
    let persist = dir.path().join("runs/crashed-run/persist");
    std::fs::create_dir_all(&persist).unwrap();
    std::fs::write(persist.join("0123.0"), b"x").unwrap();
    let out = run_chain(dir.path(), &["--rows", "2000", "--steps", "6"]);
    assert_eq!(sum_of(&out), expected);
    assert_eq!(tmp_files(dir.path()), Vec::<PathBuf>::new());
    assert!(
        !persist.exists(),
        "the persist folder of a dead run is removed"
    );
}

/// Issue 21, item 5: a step reading many datasets lazily (`Parts`) whose inputs must spill to
/// fit, on a full disk: the run fails saying the spill failed and why (the disk is full), not
/// "input #0 could not be loaded: no stored object".
#[test]
fn lazy_inputs_whose_spills_fail_on_a_full_disk_name_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultFs::new(Arc::new(LocalFs));
    fs.fail_matching(FaultOp::Write, ".Spill.", FaultError::NoSpace);
    let cfg = config(dir.path(), "150KiB").backend(Arc::new(fs));
    let err = stepstone::run(&cfg, |p| {
        // Six 48 KB datasets read one at a time by `total`: together 2× the budget.
        let parts: Vec<_> = (0..6u64)
            .map(|i| {
                p.step("part")
                    .code("1")
                    .param(&i)
                    .run(move |_| Ok(stepstone_tests::Block::new(6_000, i)))
            })
            .collect();
        let n = parts.len();
        Ok(p.step("total").code("1").lazy_inputs(&parts).run(move |a| {
            let mut sum = 0;
            for b in a.parts::<stepstone_tests::Block>(0, n) {
                sum += b?.sum();
            }
            Ok(sum)
        }))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    for part in [
        "spill failed",
        "No space left on device",
        "`part`",
        "--spill-dir",
    ] {
        assert!(text.contains(part), "`{part}` missing from: {text}");
    }
    assert!(!text.contains("no stored object"), "{text}");
    assert_eq!(tmp_files(dir.path()), Vec::<PathBuf>::new());
}

/// Issue 21, item 9: `--report PATH` in a folder that does not exist fails before any step runs
/// (it used to be found unwritable only after the whole run).
#[test]
fn an_unwritable_report_path_fails_before_the_run_starts() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static RAN: AtomicBool = AtomicBool::new(false);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "64MiB");
    let report = dir.path().join("no-such-folder/report.json");
    cfg.report_path = Some(report.clone());
    let err = stepstone::run(&cfg, |p| {
        Ok(p.step("work").code("1").run(|_| {
            RAN.store(true, Ordering::SeqCst);
            Ok(1u64)
        }))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(
        text.contains("--report") && text.contains("no-such-folder"),
        "{text}"
    );
    assert!(!RAN.load(Ordering::SeqCst), "no step ran");
    assert!(!report.exists());
}
