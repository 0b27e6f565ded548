//! The seed workload (`shared/workloads/seed.md`) written with the hand-held builder API, i.e.
//! without the macros: generate → 20 adjust steps → aggregate over steps 5, 10, 15, 20.
//!
//! ```text
//! cargo run --release -p stepstone --example seed_builder -- \
//!     --rows 2000000 --budget 384MiB --every 10 --checkpoint-dir /tmp/seed --fresh
//! ```
//! The last line of stdout is one JSON object with the checksum and the run's figures.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use serde::{Deserialize, Serialize};
use stepstone::{Budget, Event, Footprint, MemSize, Policy, RunConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    id: u64,
    key: u32,
    value: f64,
    tag: String,
}

impl MemSize for Row {
    fn add_heap(&self, acc: &mut Footprint) {
        self.tag.add_heap(acc);
    }
}

fn generate(rows: u64) -> Vec<Row> {
    (0..rows)
        .map(|id| Row {
            id,
            key: (id % 1000) as u32,
            value: id as f64 * 0.5,
            tag: format!("t{}", id % 97),
        })
        .collect()
}

fn adjust(prev: &[Row], i: u32) -> Vec<Row> {
    prev.iter()
        .map(|r| Row {
            id: r.id,
            key: r.key,
            value: r.value * 1.0001 + f64::from(i),
            tag: r.tag.clone(),
        })
        .collect()
}

/// Per-key sums over the parts, keys ascending. Parts arrive one at a time (lazy inputs), so
/// the four datasets never need to be resident together.
fn aggregate<'a>(
    parts: impl IntoIterator<
        Item = Result<stepstone::plan::Part<'a, Vec<Row>>, stepstone::plan::ArgError>,
    >,
) -> Result<Vec<(u32, f64)>, stepstone::plan::ArgError> {
    let mut sums: HashMap<u32, f64> = HashMap::new();
    for part in parts {
        for r in part?.iter() {
            *sums.entry(r.key).or_insert(0.0) += r.value;
        }
    }
    let mut out: Vec<(u32, f64)> = sums.into_iter().collect();
    out.sort_by_key(|(k, _)| *k);
    Ok(out)
}

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
    if let Some(k) = cli.crash_after_step {
        config = config.observer(move |event| {
            if let Event::StepStored { seq, .. } = event
                && *seq == k
            {
                std::process::abort();
            }
        });
    }
    let rows = cli.rows;
    let started = Instant::now();
    let outcome = stepstone::run(&config, |p| {
        let module = module_path!();
        let mut current = p
            .step("generate")
            .module(module)
            .code("generate-v1")
            .param(&rows)
            .run(move |_| Ok(generate(rows)));
        let mut kept = Vec::new();
        for i in 1..=20u32 {
            current = p
                .step("adjust")
                .module(module)
                .code("adjust-v1")
                .param(&i)
                .input(&current)
                .run(move |a| Ok(adjust(a.get::<Vec<Row>>(0)?, i)));
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
            .run(move |a| Ok(aggregate(a.parts::<Vec<Row>>(0, n))?)))
    });
    match outcome {
        Ok(outcome) => {
            let checksum: f64 = outcome.value.iter().map(|(_, v)| v).sum();
            let r = &outcome.report;
            let line = serde_json::json!({
                "checksum": checksum,
                "seconds": started.elapsed().as_secs_f64(),
                "tracked_peak_bytes": r.tracked_peak_bytes,
                "rss_peak_bytes": r.rss_peak_bytes,
                "budget_bytes": r.budget_bytes,
                "spilled_bytes": r.totals.spilled_bytes,
                "reloaded_bytes": r.totals.reloaded_bytes,
                "checkpoints_written": r.totals.checkpoints_written,
                "steps_executed": r.totals.steps_executed,
                "steps_reused": r.totals.steps_reused,
                "steps_skipped": r.totals.steps_skipped,
                "run_id": r.run_id,
            });
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}
