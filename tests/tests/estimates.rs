//! Sizes far from and near the budget: far from it a long dataset is charged a sampled
//! estimate (not walked element by element), near it every value is walked exactly, and memory
//! a sample missed is found through the process's RSS and charged before the run goes on.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use stepstone::{Footprint, MemSize};
use stepstone_tests::config;

static FAR_WALKS: AtomicUsize = AtomicUsize::new(0);
static NEAR_WALKS: AtomicUsize = AtomicUsize::new(0);

/// An element that counts how often a size walk visits it (in `WALKS`).
macro_rules! counted {
    ($name:ident, $walks:ident) => {
        #[derive(Debug, Clone, Serialize, Deserialize)]
        struct $name(u64);
        impl MemSize for $name {
            fn add_heap(&self, _acc: &mut Footprint) {
                $walks.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
}
counted!(FarItem, FAR_WALKS);
counted!(NearItem, NEAR_WALKS);

const ROWS: u64 = 100_000;

#[test]
fn far_from_the_budget_a_long_dataset_is_sampled() {
    let dir = tempfile::tempdir().unwrap();
    let out = stepstone::run(
        &config(dir.path(), "64GiB").checkpoint_every(Some(0)),
        |p| {
            let rows = p
                .step("rows")
                .code("1")
                .run(|_| Ok((0..ROWS).map(FarItem).collect::<Vec<_>>()));
            Ok(p.step("count")
                .code("1")
                .input(&rows)
                .run(|a| Ok(a.get::<Vec<FarItem>>(0)?.len() as u64)))
        },
    )
    .unwrap();
    assert_eq!(out.value, ROWS);
    let walks = FAR_WALKS.load(Ordering::Relaxed);
    assert!(
        walks < 2 * stepstone::memory::SAMPLE,
        "{walks} elements walked"
    );
    // The elements are alike, so the estimate is the exact size.
    let row = &out.report.steps[0];
    assert_eq!(row.output_bytes, 24 + 8 * ROWS);
}

#[test]
fn near_the_budget_every_element_is_walked() {
    let dir = tempfile::tempdir().unwrap();
    // 800 KB of rows under a 1 MiB budget: past half of it.
    let out = stepstone::run(&config(dir.path(), "1MiB").checkpoint_every(Some(0)), |p| {
        let rows = p
            .step("rows")
            .code("1")
            .run(|_| Ok((0..ROWS).map(NearItem).collect::<Vec<_>>()));
        Ok(p.step("count")
            .code("1")
            .input(&rows)
            .run(|a| Ok(a.get::<Vec<NearItem>>(0)?.len() as u64)))
    })
    .unwrap();
    assert_eq!(out.value, ROWS);
    assert!(NEAR_WALKS.load(Ordering::Relaxed) >= ROWS as usize);
}

#[test]
fn memory_a_sample_missed_is_charged_once_rss_passes_half_the_budget() {
    const MIB: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    // `hidden`: 100,000 one-byte strings and, at index 1 (between sample points), a 64 MiB one.
    // Its estimate is ~6 MB. `big` then fills 240 MiB: the charged total stays under half of
    // the 512 MiB budget, but RSS passes it, so `hidden` must be walked exactly.
    let out = stepstone::run(
        &config(dir.path(), "512MiB").checkpoint_every(Some(0)),
        |p| {
            let hidden = p.step("hidden").code("1").run(|_| {
                let mut v: Vec<String> = (0..ROWS).map(|_| String::from("a")).collect();
                v[1] = "x".repeat(64 * MIB);
                Ok(v)
            });
            let big = p.step("big").code("1").run(|_| Ok(vec![1u8; 240 * MIB]));
            Ok(p.step("sizes")
                .code("1")
                .input(&hidden)
                .input(&big)
                .run(|a| {
                    let hidden = a
                        .get::<Vec<String>>(0)?
                        .iter()
                        .map(String::len)
                        .sum::<usize>();
                    Ok(hidden + a.get::<Vec<u8>>(1)?.len())
                }))
        },
    )
    .unwrap();
    assert_eq!(out.value, 64 * MIB + ROWS as usize - 1 + 240 * MIB);
    let hidden = &out.report.steps[0];
    assert_eq!(hidden.name, "hidden");
    assert!(
        hidden.output_resident_bytes >= 64 * MIB as u64,
        "charged {} for a value holding a 64 MiB string",
        hidden.output_resident_bytes
    );
    assert!(out.report.tracked_peak_bytes >= 304 * MIB as u64);
    assert!(out.report.tracked_peak_bytes <= out.report.budget_bytes);
}
