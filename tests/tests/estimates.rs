//! Sizes: a long dataset is charged a sampled estimate (not walked element by element), far
//! from the budget and near it, as long as the process's RSS is explained by the charges
//! (`estimates_rss.rs` checks what happens when it is not).

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
fn a_long_dataset_of_alike_rows_is_sampled_far_from_the_budget() {
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
fn near_the_budget_alike_rows_are_estimated_and_charged_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // 800 KB of rows under a 1 MiB budget.
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
    let walks = NEAR_WALKS.load(Ordering::Relaxed);
    assert!(
        walks < 2 * stepstone::memory::SAMPLE,
        "{walks} elements walked"
    );
    assert_eq!(out.report.steps[0].output_bytes, 24 + 8 * ROWS);
    assert!(out.report.tracked_peak_bytes <= out.report.budget_bytes);
}
