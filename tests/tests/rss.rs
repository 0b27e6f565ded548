//! The quota is about resident memory: the process's peak RSS (the kernel's high-water mark,
//! reset when the run starts) stays within the budget plus a fixed overhead, also when memory
//! freed by evictions cannot be reused by what comes next. One test per binary, so no other
//! test's memory is in the figure.

use stepstone::report::StepStatus;
use stepstone_tests::config;

const MIB: u64 = 1 << 20;

/// 400,000 strings of 20 bytes: ~22 MB charged, all of it small allocations that malloc keeps
/// in its free lists when the dataset is freed.
fn strings(seed: u64) -> Vec<String> {
    (0..400_000u64)
        .map(|i| format!("{:020}", i ^ seed))
        .collect()
}

#[test]
fn peak_rss_stays_within_the_budget_when_freed_memory_cannot_be_reused() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 64 * MIB;
    let out = stepstone::run(
        &config(dir.path(), "64MiB").checkpoint_every(Some(0)),
        |p| {
            // Phase 1: a chain of string datasets, all needed at the end: spilled and freed.
            let mut cur_strings = p.step("strings").code("1").run(|_| Ok(strings(0)));
            let mut kept = vec![cur_strings.clone()];
            for i in 1..4u64 {
                cur_strings = p
                    .step("strings")
                    .code("1")
                    .param(&i)
                    .input(&cur_strings)
                    .run(move |a| Ok(strings(i ^ a.get::<Vec<String>>(0)?.len() as u64)));
                kept.push(cur_strings.clone());
            }
            // A small value allocated after them and kept to the end sits above them in the heap,
            // so malloc cannot give their memory back by shrinking the heap.
            let pin = p
                .step("pin")
                .code("1")
                .input(&cur_strings)
                .run(|_| Ok(vec![String::from("pin"); 16]));
            // Phase 2: one large buffer per step (each its own mmap): the small chunks freed in
            // phase 1 cannot serve them, so RSS holds only if they are handed back to the OS.
            let mut cur = p
                .step("numbers")
                .code("1")
                .input(&pin)
                .run(|_| Ok((0..3_000_000u64).collect::<Vec<u64>>()));
            for i in 1..=6u64 {
                cur = p
                    .step("plus")
                    .code("1")
                    .param(&i)
                    .input(&cur)
                    .run(move |a| {
                        Ok(a.get::<Vec<u64>>(0)?
                            .iter()
                            .map(|x| x + i)
                            .collect::<Vec<u64>>())
                    });
            }
            let n = kept.len();
            Ok(p.step("total")
                .code("1")
                .input(&cur)
                .input(&pin)
                .lazy_inputs(&kept)
                .run(move |a| {
                    let mut total = a.get::<Vec<u64>>(0)?.iter().sum::<u64>();
                    total += a.get::<Vec<String>>(1)?.len() as u64;
                    for part in a.parts::<Vec<String>>(0, n) {
                        total += part?.iter().map(|s| s.len() as u64).sum::<u64>();
                    }
                    Ok(total)
                }))
        },
    )
    .unwrap();
    let numbers: u64 = (0..3_000_000u64).map(|x| x + 21).sum();
    assert_eq!(out.value, numbers + 16 + 4 * 400_000 * 20);
    let r = &out.report;
    assert!(r.steps.iter().all(|s| s.status == StepStatus::Executed));
    assert!(
        r.totals.spilled_bytes > 0,
        "the string datasets must be spilled"
    );
    assert!(r.tracked_peak_bytes <= budget);
    if r.rss_peak_bytes > 0 {
        // 24 MiB: the test binary, the runtime, and one load's read buffer.
        assert!(
            r.rss_peak_bytes <= budget + 24 * MIB,
            "peak RSS {} MiB over a {} MiB budget",
            r.rss_peak_bytes / MIB,
            budget / MIB
        );
    }
}
