//! The seed pipeline written with the macros, and the `seed` example's `main` (shared with the
//! test crate's `seed` binary, which the signal and corruption tests run).

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use stepstone::RunArgs;
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
    run: RunArgs,
    /// Rows generated.
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// Partitions of every dataset (1: unpartitioned); each step runs once per partition.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    partitions: u32,
    /// Checkpoint every N steps along the chain (0: off) [default: the attribute's 10]
    #[arg(long)]
    every: Option<u32>,
    /// Abort the process right after step K's output is stored (0 = generate).
    #[arg(long)]
    crash_after_step: Option<usize>,
    /// Abort the process right after partition P of step K is stored (`K:P`).
    #[arg(long, value_name = "K:P")]
    crash_after_partition: Option<String>,
}

/// The example's `main`: flags, run, the JSON line; exit 0, 1, 2, or 130 / 143 when SIGINT /
/// SIGTERM stopped the run.
pub(crate) fn main() -> ExitCode {
    stepstone::init_logging();
    let cli = Cli::parse();
    let mut config = match RunConfig::resolve(&cli.run, &seed::defaults()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            return ExitCode::from(2);
        }
    };
    if let Some(every) = cli.every {
        config = config.checkpoint_every(Some(every));
    }
    config = common::crash_after(config, cli.crash_after_step);
    config = common::crash_after_partition(config, cli.crash_after_partition.as_deref());
    let started = Instant::now();
    common::finish(seed::run(&config, cli.rows, cli.partitions), started)
}
