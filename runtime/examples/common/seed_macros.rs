//! The seed pipeline written with the macros, and the `seed` example's `main` (shared with the
//! test crate's `seed` binary, which the signal and corruption tests run).

use std::process::ExitCode;

use clap::Parser;
use stepstone::plan::{ArgError, Parts};
use stepstone::prelude::*;

#[path = "seed.rs"]
mod common;
use common::Row;

/// The rows of one partition (of `parts.count()`): ids `parts.range(rows)`.
#[step]
fn generate(rows: u64, parts: Partitions) -> Vec<Row> {
    common::generate_range(parts.range(rows))
}

#[step]
fn adjust(prev: &Vec<Row>, i: u32) -> Vec<Row> {
    common::adjust_rows(prev, i)
}

/// Per-key sums over the parts, keys ascending. `Parts` are lazy inputs: they arrive one at a
/// time, so the four datasets never need to be resident together.
#[step(checkpoint)]
fn aggregate(parts: Parts<'_, '_, Vec<Row>>) -> Result<Vec<(u32, f64)>, ArgError> {
    common::sum_per_key(parts)
}

/// generate → 20 adjust steps → aggregate over steps 5, 10, 15 and 20. With `partitions` > 1
/// every step runs once per partition and the aggregate reads the partitions one at a time.
#[pipeline(budget = "384MiB", checkpoint_every = 10)]
fn seed(
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

/// seed: the seed workload (generate, 20 adjust steps, an aggregate over steps 5/10/15/20)
/// under a memory budget, checkpointed and resumable.
#[derive(Debug, Parser)]
#[command(name = "seed")]
struct Cli {
    #[command(flatten)]
    seed: common::SeedFlags,
}

/// The example's `main`: flags, run, the JSON line; exit 0, 1, 2, or 130 / 143 when SIGINT /
/// SIGTERM stopped the run.
pub(crate) fn main() -> ExitCode {
    stepstone::init_logging();
    let cli = Cli::parse();
    common::run_seed(&cli.seed, &seed::defaults(), seed::run)
}
