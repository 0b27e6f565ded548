//! The four policies: memory-and-disk (spill, reuse), cache (dropped, recomputed), persist
//! (run-local copy, deleted at the end), checkpoint (durable, once, reused by later runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use stepstone::report::StepStatus;
use stepstone::{Event, Handle, Pipeline, Policy};
use stepstone_tests::{Block, Counter, config, files_under};

/// `base` (policy under test) is used by `left` immediately and by `right` only after `filler`
/// has forced it out of memory.
fn diamond(p: &mut Pipeline, policy: Policy, counter: &Counter) -> Handle<u64> {
    let c = counter.clone();
    let base = p.step("base").code("1").policy(policy).run(move |_| {
        c.hit("base");
        Ok(Block::new(50_000, 7))
    });
    let left = p
        .step("left")
        .code("1")
        .input(&base)
        .run(|a| Ok(a.get::<Block>(0)?.sum()));
    let filler = p
        .step("filler")
        .code("1")
        .input(&left)
        .run(|a| Ok(Block::new(50_000, *a.get::<u64>(0)?)));
    let filler2 = p
        .step("filler2")
        .code("1")
        .input(&filler)
        .run(|a| Ok(a.get::<Block>(0)?.plus(1)));

    p.step("right")
        .code("1")
        .input(&base)
        .input(&filler2)
        .run(|a| {
            Ok(a.get::<Block>(0)?
                .sum()
                .wrapping_add(a.get::<Block>(1)?.sum()))
        })
}

#[test]
fn cache_values_are_dropped_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    let out = stepstone::run(&config(dir.path(), "900KiB"), |p| {
        Ok(diamond(p, Policy::Cache, &counter))
    })
    .unwrap();
    assert_eq!(
        counter.get("base"),
        2,
        "evicted cache value is recomputed from lineage"
    );
    let base = out.report.steps_named("base").next().unwrap();
    assert_eq!(base.executions, 2);
    assert_eq!(base.spilled_bytes, 0, "cache values never touch the disk");
    let roomy = stepstone::run(&config(tempfile::tempdir().unwrap().path(), "1GiB"), |p| {
        Ok(diamond(p, Policy::Cache, &Counter::default()))
    })
    .unwrap();
    assert_eq!(out.value, roomy.value);
}

#[test]
fn memory_and_disk_values_are_spilled_once_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    let out = stepstone::run(&config(dir.path(), "900KiB"), |p| {
        Ok(diamond(p, Policy::MemoryAndDisk, &counter))
    })
    .unwrap();
    assert_eq!(counter.get("base"), 1);
    let base = out.report.steps_named("base").next().unwrap();
    assert!(
        base.spilled_bytes > 0 && base.reloaded_bytes > 0,
        "{base:?}"
    );
    assert!(
        files_under(&dir.path().join("objects"), "").is_empty(),
        "spills are deleted at the end"
    );
}

#[test]
fn persist_writes_a_run_local_copy_and_deletes_it_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let seen_during_run = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&seen_during_run);
    let cfg = config(dir.path(), "64MiB").observer(move |e| {
        if let Event::StepStored { step, .. } = e
            && step == "base"
            && !files_under(&root.join("runs"), "persist").is_empty()
        {
            seen.store(true, Ordering::SeqCst);
        }
    });
    let counter = Counter::default();
    stepstone::run(&cfg, |p| Ok(diamond(p, Policy::Persist, &counter))).unwrap();
    assert!(
        seen_during_run.load(Ordering::SeqCst),
        "persist copy exists as soon as the step is stored"
    );
    assert!(
        files_under(&dir.path().join("runs"), "persist").is_empty(),
        "and is gone after the run"
    );
    assert!(files_under(&dir.path().join("objects"), "").is_empty());
}

#[test]
fn checkpoints_are_written_once_and_reused_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    let first = stepstone::run(&config(dir.path(), "900KiB"), |p| {
        Ok(diamond(p, Policy::Checkpoint, &counter))
    })
    .unwrap();
    assert_eq!(
        counter.get("base"),
        1,
        "computed once even though it was evicted"
    );
    assert_eq!(first.report.totals.checkpoints_written, 1);
    assert_eq!(
        files_under(&dir.path().join("objects"), "").len(),
        1,
        "the checkpoint stays"
    );

    let again = Counter::default();
    let second = stepstone::run(&config(dir.path(), "900KiB"), |p| {
        Ok(diamond(p, Policy::Checkpoint, &again))
    })
    .unwrap();
    assert_eq!(second.value, first.value);
    assert_eq!(again.get("base"), 0, "reused, not recomputed");
    let base = second.report.steps_named("base").next().unwrap();
    assert_eq!(base.status, StepStatus::Reused);
    assert_eq!(second.report.totals.checkpoints_written, 0);
}
