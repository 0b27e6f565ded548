//! Arrow batches through the executor: under a budget far below the data they are spilled as
//! Arrow IPC files and reloaded by mmap with the same answer; a second run reuses the
//! checkpoints; a corrupted Arrow object (stale or matching checksum) is recomputed. The
//! shuffle of batches by key columns is in `arrow_shuffle/`.

mod arrow_shuffle;

use std::sync::Arc;

use stepstone::arrow::Batch;
use stepstone::arrow::arrow_array::{Float64Array, UInt32Array};
use stepstone::{Handle, Pipeline, Policy};
use stepstone_tests::{Counter, config, files_under};

const ROWS: u32 = 100_000;

/// source → 8 derived batches (each replaces `value`) → sum of every batch's values.
fn pipeline(p: &mut Pipeline, counter: &Counter) -> Handle<f64> {
    let c = counter.clone();
    let mut current = p.step("source").code("1").run(move |_| {
        c.hit("source");
        Ok(Batch::try_from_columns([
            ("key", Arc::new(UInt32Array::from_iter_values(0..ROWS)) as _),
            (
                "value",
                Arc::new(Float64Array::from_iter_values((0..ROWS).map(f64::from))) as _,
            ),
        ])?)
    });
    let mut all = vec![current.clone()];
    for i in 1..=8u32 {
        let c = counter.clone();
        let policy = if i % 4 == 0 {
            Policy::Checkpoint
        } else {
            Policy::MemoryAndDisk
        };
        current = p
            .step("derive")
            .code("1")
            .param(&i)
            .policy(policy)
            .input(&current)
            .run(move |a| {
                c.hit("derive");
                let prev = a.get::<Batch>(0)?;
                let v = prev
                    .column_as::<Float64Array>("value")
                    .ok_or("no value column")?;
                let next =
                    Float64Array::from_iter_values(v.values().iter().map(|x| x + f64::from(i)));
                Ok(prev.with_column("value", Arc::new(next))?)
            });
        all.push(current.clone());
    }
    let n = all.len();
    p.step("total")
        .code("1")
        .policy(Policy::Checkpoint)
        .lazy_inputs(&all)
        .run(move |a| {
            let mut sum = 0.0;
            for b in a.parts::<Batch>(0, n) {
                let b = b?;
                sum += b
                    .column_as::<Float64Array>("value")
                    .ok_or("no value")?
                    .values()
                    .iter()
                    .sum::<f64>();
            }
            Ok(sum)
        })
}

fn expected() -> f64 {
    let base: f64 = (0..ROWS).map(f64::from).sum();
    (0..=8u32)
        .map(|k| base + f64::from(ROWS) * f64::from(k * (k + 1) / 2))
        .sum()
}

#[test]
fn batches_spill_as_ipc_reload_by_mmap_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    // Every batch is ~1.2 MiB as tracked (shared columns counted per value), nine of them: a
    // 4 MiB budget forces spills; the total reads them one at a time (lazy inputs).
    let counter = Counter::default();
    let out = stepstone::run(&config(dir.path(), "4MiB"), |p| Ok(pipeline(p, &counter))).unwrap();
    assert!(
        (out.value - expected()).abs() < 1e-6 * expected(),
        "{} vs {}",
        out.value,
        expected()
    );
    let spilled = out.report.totals.spilled_bytes;
    assert!(
        spilled > 0,
        "the budget forces spills: {:?}",
        out.report.totals
    );
    assert!(out.report.totals.reloaded_bytes > 0);
    // Completed: spills are gone; the two batch checkpoints are plain Arrow IPC files, the
    // total (an f64) a postcard object.
    let objects = files_under(&dir.path().join("objects"), "");
    let arrow = objects
        .iter()
        .filter(|f| std::fs::read(f).unwrap().starts_with(b"ARROW1"))
        .count();
    assert_eq!((objects.len(), arrow), (3, 2), "{objects:?}");
    let again = Counter::default();
    let out = stepstone::run(&config(dir.path(), "4MiB"), |p| Ok(pipeline(p, &again))).unwrap();
    assert!((out.value - expected()).abs() < 1e-6 * expected());
    assert_eq!(
        again.get("source"),
        0,
        "upstream of the checkpoints never runs"
    );
}

#[test]
fn a_corrupt_arrow_checkpoint_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    stepstone::run(&config(dir.path(), "64MiB"), |p| Ok(pipeline(p, &counter))).unwrap();
    for f in files_under(&dir.path().join("objects"), "") {
        let mut bytes = std::fs::read(&f).unwrap();
        if !bytes.starts_with(b"ARROW1") {
            std::fs::remove_file(&f).unwrap(); // the total: recompute it from the batches
            continue;
        }
        let at = bytes.len() / 2;
        bytes[at] ^= 0x5a; // a data byte of the body: the checksum no longer matches
        std::fs::write(&f, bytes).unwrap();
    }
    let again = Counter::default();
    let out = stepstone::run(&config(dir.path(), "64MiB"), |p| Ok(pipeline(p, &again))).unwrap();
    assert!((out.value - expected()).abs() < 1e-6 * expected());
    assert!(
        again.get("derive") > 0,
        "the corrupt checkpoints were recomputed"
    );
    let corrupt: Vec<_> = out
        .report
        .steps
        .iter()
        .filter(|s| s.reason.contains("corrupt"))
        .collect();
    assert!(!corrupt.is_empty(), "the report names the corrupt objects");
}
