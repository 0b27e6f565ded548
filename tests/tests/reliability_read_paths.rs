//! Row 19 of the reliability matrix: a stored object that fails verification on *any* read path
//! (eager input, lazy `Parts` input, reload after a spill, resume from an earlier run, a
//! checkpoint whose lineage this run already cut) is reported, deleted and recomputed in the
//! same run, which gives the right answer; the run fails only when nothing can rebuild the
//! value, and then says so.

mod reliability_util;

use std::path::Path;
use std::process::{Command, Output};

use reliability_util::{Rng, SEED, reports, seed_checksum as checksum_of};
use stepstone::report::RunReport;
use stepstone::{Event, Handle, Pipeline, Policy};
use stepstone_tests::{Block, Counter, config, files_under};

fn seed_run(dir: &Path, extra: &[&str]) -> Output {
    Command::new(SEED)
        .args(["--rows", "200000", "--budget", "40MiB", "--every", "10"])
        .arg("--checkpoint-dir")
        .arg(dir)
        .arg("--no-progress")
        .args(extra)
        .output()
        .expect("spawn the seed binary")
}

/// The newest run report of `dir`.
fn latest_report(dir: &Path) -> RunReport {
    reports(dir).pop().flatten().expect("a run report")
}

/// Flip one byte at a random position of every object file; returns their fingerprints.
fn corrupt_every_object(dir: &Path, rng: &mut Rng) -> Vec<String> {
    let mut fps = Vec::new();
    for path in files_under(&dir.join("objects"), "") {
        let mut bytes = std::fs::read(&path).expect("read object");
        let at = rng.range(0, bytes.len() as u64) as usize;
        bytes[at] ^= 0x5A;
        std::fs::write(&path, &bytes).expect("write object");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        fps.push(name.split('.').next().unwrap_or_default().to_string());
    }
    fps.sort();
    fps
}

/// Fingerprints of the steps the report has a `corrupt` event for.
fn reported_corrupt(report: &RunReport) -> Vec<String> {
    let mut fps: Vec<String> = report
        .events
        .iter()
        .filter(|e| e.kind == "corrupt")
        .filter_map(|e| report.steps.iter().find(|s| s.seq == e.seq))
        .map(|s| s.fingerprint.to_hex())
        .collect();
    fps.sort();
    fps.dedup();
    fps
}

fn assert_close(a: f64, b: f64) {
    assert!(((a - b) / b).abs() < 1e-9, "checksum {a} != {b}");
}

#[test]
fn every_object_of_a_finished_seed_run_corrupted_is_rebuilt_in_the_same_run() {
    let seed = reliability_util::seed("finished_seed_run", 19);
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let first = seed_run(dir.path(), &[]);
    let expected = checksum_of(&first);
    // A completed run keeps its checkpoints: steps 10 and 20 (read lazily by the aggregate) and
    // the aggregate itself (the output, read eagerly).
    let corrupted = corrupt_every_object(dir.path(), &mut rng);
    assert_eq!(
        corrupted.len(),
        3,
        "checkpoints of steps 10, 20 and the aggregate"
    );
    let second = seed_run(dir.path(), &[]);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_close(checksum_of(&second), expected);
    let report = latest_report(dir.path());
    assert_eq!(
        reported_corrupt(&report),
        corrupted,
        "each corrupt object is named"
    );
    for fp in &corrupted {
        let row = report
            .steps
            .iter()
            .find(|s| s.fingerprint.to_hex() == *fp)
            .unwrap();
        assert!(
            row.reason.contains("corrupt"),
            "{}: {}",
            row.name,
            row.reason
        );
    }
    // The rebuilt objects verify: a third run reuses the aggregate and executes nothing.
    let third = seed_run(dir.path(), &[]);
    assert_close(checksum_of(&third), expected);
    assert_eq!(latest_report(dir.path()).totals.steps_executed, 0);
}

#[test]
fn every_partition_object_of_a_finished_partitioned_run_corrupted_is_rebuilt_in_the_same_run() {
    let seed = reliability_util::seed("finished_partitioned_run", 19);
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let first = seed_run(dir.path(), &["--partitions", "4"]);
    let expected = checksum_of(&first);
    // Four partitions of the checkpoints of steps 10 and 20, and the aggregate.
    let corrupted = corrupt_every_object(dir.path(), &mut rng);
    assert_eq!(corrupted.len(), 9, "{corrupted:?}");
    let second = seed_run(dir.path(), &["--partitions", "4"]);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_close(checksum_of(&second), expected);
    let report = latest_report(dir.path());
    let mut partitions: Vec<(usize, u32)> = report
        .events
        .iter()
        .filter(|e| e.kind == "corrupt")
        .filter_map(|e| Some((e.seq, e.partition?)))
        .collect();
    partitions.sort_unstable();
    partitions.dedup();
    let expected_blocks: Vec<(usize, u32)> = [10usize, 20]
        .iter()
        .flat_map(|s| (0..4).map(move |p| (*s, p)))
        .collect();
    assert_eq!(
        partitions, expected_blocks,
        "each corrupt partition is named"
    );
    let third = seed_run(dir.path(), &["--partitions", "4"]);
    assert_close(checksum_of(&third), expected);
    assert_eq!(latest_report(dir.path()).totals.steps_executed, 0);
}

#[test]
fn corrupt_spills_and_checkpoints_of_a_crashed_seed_run_are_rebuilt() {
    let seed = reliability_util::seed("crashed_seed_run", 20);
    let mut rng = Rng::new(seed);
    let reference = tempfile::tempdir().unwrap();
    let expected = checksum_of(&seed_run(reference.path(), &[]));
    let dir = tempfile::tempdir().unwrap();
    // Abort right after step 20 is stored: its spills (steps 5 and 15, evicted under the budget)
    // and checkpoints (10, 20) are left for the resume.
    let crashed = seed_run(dir.path(), &["--crash-after-step", "20"]);
    assert!(!crashed.status.success());
    let corrupted = corrupt_every_object(dir.path(), &mut rng);
    assert!(
        corrupted.len() >= 3,
        "spills and checkpoints left: {corrupted:?}"
    );
    let resumed = seed_run(dir.path(), &[]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_close(checksum_of(&resumed), expected);
    let report = latest_report(dir.path());
    assert_eq!(reported_corrupt(&report), corrupted);
}

/// `a` (large) → `b` checkpoint → `c` → … → `last`; the final step reads `b` again, eagerly or
/// lazily, long after `b`'s lineage was cut. The observer flips a byte of `b`'s object right
/// after it was committed, so the final read fails verification.
fn cut_then_read(p: &mut Pipeline, lazy: bool, counter: &Counter) -> Handle<u64> {
    let c = counter.clone();
    let a = p.step("a").code("1").run(move |_| {
        c.hit("a");
        Ok(Block::new(60_000, 1))
    });
    let c = counter.clone();
    let b = p
        .step("b")
        .code("1")
        .policy(Policy::Checkpoint)
        .input(&a)
        .run(move |x| {
            c.hit("b");
            Ok(x.get::<Block>(0)?.plus(1))
        });
    let mut cur = b.clone();
    for i in 0..6u64 {
        cur = p
            .step("c")
            .code("1")
            .param(&i)
            .input(&cur)
            .run(move |x| Ok(x.get::<Block>(0)?.plus(i)));
    }
    let last = p.step("last").code("1");
    if lazy {
        last.lazy_inputs(&[b, cur]).run(|x| {
            let mut total = 0u64;
            for part in x.parts::<Block>(0, 2) {
                total = total.wrapping_add(part?.sum());
            }
            Ok(total)
        })
    } else {
        last.input(&b).input(&cur).run(|x| {
            Ok(x.get::<Block>(0)?
                .sum()
                .wrapping_add(x.get::<Block>(1)?.sum()))
        })
    }
}

fn corrupt_on_commit(dir: &Path, step: &'static str) -> impl Fn(&Event) + Send + Sync + 'static {
    let dir = dir.to_path_buf();
    move |event| {
        if let Event::StepStored {
            step: name,
            fingerprint,
            ..
        } = event
            && name == step
        {
            for path in files_under(&dir.join("objects"), &fingerprint.to_hex()) {
                let mut bytes = std::fs::read(&path).unwrap();
                let at = bytes.len() - 3;
                bytes[at] ^= 0xFF;
                std::fs::write(&path, bytes).unwrap();
            }
        }
    }
}

fn expected_cut_then_read() -> u64 {
    let b = Block::new(60_000, 1).plus(1);
    let mut cur = b.clone();
    for i in 0..6u64 {
        cur = cur.plus(i);
    }
    b.sum().wrapping_add(cur.sum())
}

fn check_cut_then_read(lazy: bool) {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    // Room for about two blocks: `b` is dropped (it has its checkpoint) long before the end.
    let config = config(dir.path(), "1400KiB").observer(corrupt_on_commit(dir.path(), "b"));
    let out = stepstone::run(&config, |p| Ok(cut_then_read(p, lazy, &counter)))
        .unwrap_or_else(|e| panic!("run failed: {}", stepstone::error_chain(&e)));
    assert_eq!(out.value, expected_cut_then_read());
    assert_eq!(counter.get("b"), 2, "b rebuilt once");
    assert_eq!(counter.get("a"), 2, "a re-planned from the source");
    let kinds: Vec<&str> = out.report.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"corrupt"), "{kinds:?}");
    assert!(kinds.contains(&"restore"), "{kinds:?}");
}

#[test]
fn a_checkpoint_corrupted_after_its_lineage_was_cut_is_rebuilt_for_an_eager_input() {
    check_cut_then_read(false);
}

#[test]
fn a_checkpoint_corrupted_after_its_lineage_was_cut_is_rebuilt_for_a_lazy_input() {
    check_cut_then_read(true);
}

#[test]
fn a_corrupt_object_nothing_can_rebuild_fails_the_run_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    // `first` is checkpointed, then forgotten behind far more than 4,096 retired steps; its object
    // is corrupted when committed, so the final read cannot be served by anything.
    let config = config(dir.path(), "1600KiB")
        .checkpoint_every(Some(100))
        .observer(corrupt_on_commit(dir.path(), "first"));
    let result = stepstone::run(&config, |p| {
        let first = p
            .step("first")
            .code("1")
            .policy(Policy::Checkpoint)
            .run(|_| Ok(Block::new(100_000, 1)));
        let mut cur = p.step("tiny").code("1").param(&0u32).run(|_| Ok(0u64));
        for i in 1..12_000u32 {
            cur = p
                .step("tiny")
                .code("1")
                .param(&i)
                .input(&cur)
                .run(|x| Ok(*x.get::<u64>(0)? + 1));
        }
        // Admitting `big` evicts `first` (it has its checkpoint), so `end` must read it back.
        let big = p
            .step("big")
            .code("1")
            .input(&cur)
            .run(|x| Ok(Block::new(120_000, *x.get::<u64>(0)?)));
        let small = p
            .step("small")
            .code("1")
            .input(&big)
            .run(|x| Ok(x.get::<Block>(0)?.sum()));
        Ok(p.step("end")
            .code("1")
            .input(&first)
            .input(&small)
            .run(|x| Ok(x.get::<Block>(0)?.sum() + x.get::<u64>(1)?)))
    });
    let error = match result {
        Err(error) => error,
        Ok(out) => {
            let events: Vec<_> = out
                .report
                .events
                .iter()
                .filter(|e| e.step != "tiny")
                .collect();
            panic!("the run succeeded although nothing can rebuild `first`: {events:?}");
        }
    };
    let error = stepstone::error_chain(&error);
    assert!(error.contains("step `first`"), "{error}");
    assert!(error.contains("nothing can rebuild it"), "{error}");
}

// Issue 21, item 3: only a verified mismatch may delete a stored object. An I/O error while
// reading one (a permission error, a full scratch disk where an object is downloaded to be
// mapped; an S3 outage is in `s3_store.rs`) fails the run naming the object and the OS error,
// and leaves the object for the next run, which reuses it.

mod read_errors {
    use std::path::Path;
    use std::sync::Arc;

    use stepstone::arrow::Batch;
    use stepstone::arrow::arrow_array::UInt64Array;
    use stepstone::report::{RunStatus, StepStatus};
    use stepstone::store::{Backend, LocalFs};
    use stepstone::{Handle, Pipeline, Policy};
    use stepstone_tests::read_faults::ReadFaults;
    use stepstone_tests::{Block, config, files_under};

    use super::latest_report;

    const ROWS: u64 = 60_000;

    /// `make` (a checkpoint: a postcard `Block` or an Arrow `Batch`) → `sum` (not stored, so a
    /// second run must read `make`'s checkpoint back).
    fn pipeline(p: &mut Pipeline, arrow: bool) -> Handle<u64> {
        if arrow {
            let make = p
                .step("make")
                .code("1")
                .policy(Policy::Checkpoint)
                .run(|_| {
                    Ok(Batch::try_from_columns([(
                        "x",
                        Arc::new(UInt64Array::from_iter_values(0..ROWS)) as _,
                    )])?)
                });
            p.step("sum").code("1").input(&make).run(|a| {
                let b = a.get::<Batch>(0)?;
                let x = b.column_as::<UInt64Array>("x").ok_or("no column x")?;
                Ok(x.values().iter().sum::<u64>())
            })
        } else {
            let make = p
                .step("make")
                .code("1")
                .policy(Policy::Checkpoint)
                .run(|_| Ok(Block::new(ROWS as usize, 0)));
            p.step("sum")
                .code("1")
                .input(&make)
                .run(|a| Ok(a.get::<Block>(0)?.sum()))
        }
    }

    fn run(dir: &Path, arrow: bool, backend: Option<Arc<dyn Backend>>) -> stepstone::Result<u64> {
        let mut cfg = config(dir, "64MiB");
        if let Some(backend) = backend {
            cfg = cfg.backend(backend);
        }
        stepstone::run(&cfg, |p| Ok(pipeline(p, arrow))).map(|out| out.value)
    }

    /// The failed run named `parts`, the object is still there, and the next run reuses it.
    fn assert_kept_and_reused(dir: &Path, arrow: bool, error: &stepstone::Error, parts: &[&str]) {
        let text = stepstone::error_chain(error);
        for part in parts {
            assert!(text.contains(part), "`{part}` missing from: {text}");
        }
        assert_eq!(latest_report(dir).status, RunStatus::Failed);
        assert_eq!(
            files_under(&dir.join("objects"), "").len(),
            1,
            "the checkpoint was kept: {text}"
        );
        let expected = if arrow {
            (0..ROWS).sum::<u64>()
        } else {
            Block::new(ROWS as usize, 0).sum()
        };
        assert_eq!(run(dir, arrow, None).expect("the next run"), expected);
        let report = latest_report(dir);
        let make = report.steps.iter().find(|s| s.name == "make").unwrap();
        assert_eq!(make.status, StepStatus::Reused, "{report:?}");
        assert!(!report.events.iter().any(|e| e.kind == "corrupt"));
    }

    #[test]
    fn a_permission_error_on_a_checkpoint_keeps_it_for_both_codecs() {
        for arrow in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            run(dir.path(), arrow, None).expect("first run");
            let denied = ReadFaults::new(Arc::new(LocalFs)).failing(libc::EACCES);
            let error = run(dir.path(), arrow, Some(Arc::new(denied))).unwrap_err();
            assert_kept_and_reused(
                dir.path(),
                arrow,
                &error,
                &["Permission denied", "/objects/", "kept", "`make`"],
            );
        }
    }

    /// A 64 KiB tmpfs mounted at `dir` for the test's lifetime (`None`, loudly, where mounting
    /// is not allowed; under CI that is a failure).
    struct Tmpfs(std::path::PathBuf);

    impl Tmpfs {
        fn mount(dir: &Path) -> Option<Tmpfs> {
            std::fs::create_dir_all(dir).unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let ci = std::env::var("CI").is_ok_and(|v| v == "true");
                assert!(
                    !ci,
                    "CI=true and a 64 KiB tmpfs cannot be mounted (needs root)"
                );
                eprintln!("\n!!! SKIPPING the full-scratch-disk test: cannot mount a tmpfs here\n");
                return None;
            }
            Some(Tmpfs(dir.to_path_buf()))
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    #[test]
    fn a_full_scratch_disk_while_downloading_an_arrow_object_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), true, None).expect("first run");
        let scratch = tempfile::tempdir().unwrap();
        let Some(_tmpfs) = Tmpfs::mount(scratch.path()) else {
            return;
        };
        let full = ReadFaults::new(Arc::new(LocalFs)).downloading_into(scratch.path());
        let error = run(dir.path(), true, Some(Arc::new(full))).unwrap_err();
        assert_kept_and_reused(
            dir.path(),
            true,
            &error,
            &[
                "No space left on device",
                "download for mapping",
                "/objects/",
            ],
        );
    }
}
