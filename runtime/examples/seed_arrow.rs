//! The seed workload (`shared/workloads/seed.md`) with Arrow batches: the same computation,
//! flags and JSON line as `seed`, each dataset a [`Batch`] of columns `id`, `key`, `value`,
//! `tag`; each step derives a batch replacing only `value` (the other columns are shared with
//! the step before, not copied), spills and checkpoints are Arrow IPC files, reloads map them.
//!
//! ```text
//! cargo run --release -p stepstone --example seed_arrow -- \
//!     --rows 2000000 --budget 384MiB --every 10 --checkpoint-dir /tmp/seed-arrow --fresh
//! ```
//! Flags: the standard run flags (`--budget`, `--checkpoint-dir`, `--fresh`, `--jobs`, …) plus
//! `--rows N`, `--every N` (0: off) and `--crash-after-step K`. The last line of stdout is one
//! JSON object with the checksum and the run's figures.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use stepstone::BoxError;
use stepstone::arrow::Batch;
use stepstone::arrow::arrow_array::{Float64Array, StringArray, UInt32Array, UInt64Array};
use stepstone::plan::Parts;
use stepstone::prelude::*;

#[path = "common/seed.rs"]
mod common;

/// A step's failure: a column missing or of the wrong type.
fn missing(what: &str) -> BoxError {
    format!("the batch has no {what} column").into()
}

/// The rows of one partition (of `parts.count()`): ids `parts.range(rows)`.
#[step]
fn generate(rows: u64, parts: Partitions) -> Result<Batch, BoxError> {
    let ids = parts.range(rows);
    let tags: Vec<String> = (0..97).map(|t| format!("t{t}")).collect();
    Ok(Batch::try_from_columns([
        (
            "id",
            Arc::new(UInt64Array::from_iter_values(ids.clone())) as _,
        ),
        (
            "key",
            Arc::new(UInt32Array::from_iter_values(
                ids.clone().map(|id| (id % 1000) as u32),
            )) as _,
        ),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(
                ids.clone().map(|id| id as f64 * 0.5),
            )) as _,
        ),
        (
            "tag",
            Arc::new(StringArray::from_iter_values(
                ids.map(|id| &tags[(id % 97) as usize]),
            )) as _,
        ),
    ])?)
}

#[step]
fn adjust(prev: &Batch, i: u32) -> Result<Batch, BoxError> {
    let value = prev
        .column_as::<Float64Array>("value")
        .ok_or_else(|| missing("f64 `value`"))?;
    let step = f64::from(i);
    let next = Float64Array::from_iter_values(value.values().iter().map(|v| v * 1.0001 + step));
    Ok(prev.with_column("value", Arc::new(next))?)
}

/// Per-key sums over the parts (lazy inputs, one resident at a time), keys ascending.
#[step(checkpoint)]
fn aggregate(parts: Parts<'_, '_, Batch>) -> Result<Vec<(u32, f64)>, BoxError> {
    let mut sums: Vec<Option<f64>> = Vec::new();
    for part in parts {
        let part = part?;
        let keys = part
            .column_as::<UInt32Array>("key")
            .ok_or_else(|| missing("u32 `key`"))?;
        let values = part
            .column_as::<Float64Array>("value")
            .ok_or_else(|| missing("f64 `value`"))?;
        for (k, v) in keys.values().iter().zip(values.values().iter()) {
            let k = *k as usize;
            if k >= sums.len() {
                sums.resize(k + 1, None);
            }
            *sums[k].get_or_insert(0.0) += v;
        }
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .filter_map(|(k, s)| s.map(|s| (k as u32, s)))
        .collect())
}

/// generate → 20 adjust steps → aggregate over steps 5, 10, 15 and 20; with `partitions` > 1
/// every step runs once per partition and the aggregate reads the partitions one at a time.
#[pipeline(budget = "384MiB", checkpoint_every = 10)]
fn seed_arrow(
    p: &mut Pipeline,
    #[default(2_000_000)] rows: u64,
    #[default(1)] partitions: u32,
) -> Result<Handle<Vec<(u32, f64)>>> {
    let mut current = generate(p, rows, Partitions::new(partitions));
    let mut kept = Vec::new();
    for i in 1..=20u32 {
        current = adjust(p, &current, i);
        if i % 5 == 0 {
            kept.push(current.clone());
        }
    }
    Ok(aggregate(p, &kept))
}

/// seed_arrow: the seed workload on Arrow batches under a memory budget, checkpointed and
/// resumable.
#[derive(Debug, Parser)]
#[command(name = "seed_arrow")]
struct Cli {
    #[command(flatten)]
    seed: common::SeedFlags,
}

fn main() -> ExitCode {
    stepstone::init_logging();
    let cli = Cli::parse();
    common::run_seed(&cli.seed, &seed_arrow::defaults(), seed_arrow::run)
}
