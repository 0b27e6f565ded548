//! The seed workload (`shared/workloads/seed.md`) written with the macros: the same computation,
//! flags and JSON line as `seed_builder.rs`, with `#[step]`/`#[pipeline]` doing the wiring.
//!
//! ```text
//! cargo run --release -p stepstone --example seed -- \
//!     --rows 2000000 --budget 384MiB --every 10 --checkpoint-dir /tmp/seed --fresh
//! ```
//! Flags: the standard run flags of every pipeline (`--budget`, `--checkpoint-dir`, `--fresh`,
//! `--jobs`, `--report`, …) plus `--rows N`, `--every N` (overrides `checkpoint_every`; 0: off)
//! and `--crash-after-step K` (abort right after step K's output is stored; 0 = generate).
//! The last line of stdout is one JSON object with the checksum and the run's figures.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use stepstone::plan::{ArgError, Parts};
use stepstone::prelude::*;
use stepstone::{Event, RunArgs};

#[derive(Debug, Clone, Serialize, Deserialize, MemSize)]
struct Row {
    id: u64,
    key: u32,
    value: f64,
    tag: String,
}

#[step]
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

#[step]
fn adjust(prev: &Vec<Row>, i: u32) -> Vec<Row> {
    prev.iter()
        .map(|r| Row {
            id: r.id,
            key: r.key,
            value: r.value * 1.0001 + f64::from(i),
            tag: r.tag.clone(),
        })
        .collect()
}

/// Per-key sums over the parts, keys ascending. `Parts` are lazy inputs: they arrive one at a
/// time, so the four datasets never need to be resident together.
#[step(checkpoint)]
fn aggregate(parts: Parts<'_, '_, Vec<Row>>) -> Result<Vec<(u32, f64)>, ArgError> {
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

/// generate → 20 adjust steps → aggregate over steps 5, 10, 15 and 20.
#[pipeline(budget = "384MiB", checkpoint_every = 10)]
fn seed(p: &mut Pipeline, #[default(2_000_000)] rows: u64) -> Result<Handle<Vec<(u32, f64)>>> {
    let mut current = generate(p, rows);
    let mut kept = Vec::new();
    for i in 1..=20u32 {
        current = adjust(p, &current, i);
        if i % 5 == 0 {
            kept.push(current.clone());
        }
    }
    Ok(aggregate(p, &kept))
}

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    /// Rows generated.
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// Checkpoint every N steps along the chain (0: off) [default: the attribute's 10]
    #[arg(long)]
    every: Option<u32>,
    /// Abort the process right after step K's output is stored (0 = generate).
    #[arg(long)]
    crash_after_step: Option<usize>,
}

fn main() -> ExitCode {
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
    if let Some(k) = cli.crash_after_step {
        config = config.observer(move |event| {
            if let Event::StepStored { seq, .. } = event
                && *seq == k
            {
                std::process::abort();
            }
        });
    }
    let started = Instant::now();
    match seed::run(&config, cli.rows) {
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
