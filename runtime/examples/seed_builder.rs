//! The seed workload (`shared/workloads/seed.md`) written with the hand-held builder API, i.e.
//! without the macros: generate → 20 adjust steps → aggregate over steps 5, 10, 15, 20.
//!
//! ```text
//! cargo run --release -p stepstone --example seed_builder -- \
//!     --rows 2000000 --budget 384MiB --every 10 --checkpoint-dir /tmp/seed --fresh
//! ```
//! The last line of stdout is one JSON object with the checksum and the run's figures.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use stepstone::{Budget, Policy, RunConfig};

#[path = "common/seed.rs"]
mod common;
use common::Row;

#[derive(Debug, Parser)]
struct Cli {
    /// Rows generated.
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// Memory budget.
    #[arg(long, default_value = "384MiB")]
    budget: Budget,
    /// Checkpoint every N steps along the chain (0: off).
    #[arg(long, default_value_t = 10)]
    every: u32,
    /// Checkpoint directory.
    #[arg(long, default_value = ".stepstone")]
    checkpoint_dir: std::path::PathBuf,
    /// Ignore stored objects of earlier runs.
    #[arg(long)]
    fresh: bool,
    /// Abort the process right after step K's output is stored (0 = generate).
    #[arg(long)]
    crash_after_step: Option<usize>,
    /// Partitions of every dataset (1: unpartitioned); each step runs once per partition.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    partitions: u32,
    /// Parallel steps at most [default: number of cores].
    #[arg(long)]
    jobs: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    stepstone::init_logging();
    let mut config = RunConfig::new("seed")
        .budget(cli.budget)
        .checkpoint_dir(&cli.checkpoint_dir)
        .fresh(cli.fresh)
        .checkpoint_every(Some(cli.every));
    if let Some(jobs) = cli.jobs {
        config = config.jobs(jobs);
    }
    config.print_summary = true;
    config = common::crash_after(config, cli.crash_after_step);
    let (rows, partitions) = (cli.rows, cli.partitions);
    let started = Instant::now();
    let outcome = stepstone::run(&config, |p| {
        let module = module_path!();
        let mut current = p
            .step("generate")
            .module(module)
            .code("generate-v1")
            .param(&rows)
            .partitions(partitions)
            .run(move |a| Ok(common::generate_range(a.partition().range(rows))));
        let mut kept = Vec::new();
        for i in 1..=20u32 {
            current = p
                .step("adjust")
                .module(module)
                .code("adjust-v1")
                .param(&i)
                .input(&current)
                .run(move |a| Ok(common::adjust_rows(a.get::<Vec<Row>>(0)?, i)));
            if i % 5 == 0 {
                kept.push(current.clone());
            }
        }
        let n = kept.len();
        Ok(p.step("aggregate")
            .module(module)
            .code("aggregate-v1")
            .policy(Policy::Checkpoint)
            .lazy_inputs(&kept)
            .run(move |a| Ok(common::sum_per_key(a.parts::<Vec<Row>>(0, n))?)))
    });
    common::finish(outcome, started)
}
