//! The seed workload's data and computations (`shared/workloads/seed.md`), shared by the
//! `seed` (macros) and `seed_builder` (hand-written builder) examples, plus their common flags'
//! effects and the JSON summary line both print. The criterion benches use its rows too, so
//! each user leaves some items unused.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Instant;

use stepstone::plan::{ArgError, Part};
use stepstone::prelude::*;
use stepstone::{Event, Outcome, PipelineDefaults, RunArgs};

/// One record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, MemSize)]
pub(crate) struct Row {
    pub(crate) id: u64,
    pub(crate) key: u32,
    pub(crate) value: f64,
    pub(crate) tag: String,
}

/// Step 1: `rows` generated rows.
pub(crate) fn generate_rows(rows: u64) -> Vec<Row> {
    generate_range(0..rows)
}

/// Step 1 for one partition: the rows whose ids are in `ids`.
pub(crate) fn generate_range(ids: std::ops::Range<u64>) -> Vec<Row> {
    ids.map(|id| Row {
        id,
        key: (id % 1000) as u32,
        value: id as f64 * 0.5,
        tag: format!("t{}", id % 97),
    })
    .collect()
}

/// Step `i`: a new dataset, every row kept, value adjusted, tag cloned.
pub(crate) fn adjust_rows(prev: &[Row], i: u32) -> Vec<Row> {
    prev.iter()
        .map(|r| Row {
            id: r.id,
            key: r.key,
            value: r.value * 1.0001 + f64::from(i),
            tag: r.tag.clone(),
        })
        .collect()
}

/// Per-key sums over the parts (arriving one at a time), keys ascending.
pub(crate) fn sum_per_key<'a>(
    parts: impl IntoIterator<Item = Result<Part<'a, Vec<Row>>, ArgError>>,
) -> Result<Vec<(u32, f64)>, ArgError> {
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

/// `--crash-after-step K`: abort the process right after step K's output is stored.
pub(crate) fn crash_after(config: RunConfig, step: Option<usize>) -> RunConfig {
    let Some(k) = step else { return config };
    config.observer(move |event| {
        if let Event::StepStored { seq, .. } = event
            && *seq == k
        {
            std::process::abort();
        }
    })
}

/// `--crash-after-partition K:P`: abort the process right after partition P of step K is
/// stored (the other partitions of step K are not all done yet).
pub(crate) fn crash_after_partition(config: RunConfig, at: Option<&str>) -> RunConfig {
    let Some((k, part)) = at.and_then(|s| {
        let (k, p) = s.split_once(':')?;
        Some((k.parse::<usize>().ok()?, p.parse::<u32>().ok()?))
    }) else {
        return config;
    };
    config.observer(move |event| {
        if let Event::PartitionStored { seq, partition, .. } = event
            && (*seq, *partition) == (k, part)
        {
            std::process::abort();
        }
    })
}

/// The end of an example's `main`: the JSON line and exit 0, or the error and exit 1 (130 / 143
/// when SIGINT / SIGTERM stopped the run).
pub(crate) fn finish(
    outcome: stepstone::Result<Outcome<Vec<(u32, f64)>>>,
    started: Instant,
) -> std::process::ExitCode {
    match outcome {
        Ok(outcome) => {
            println!("{}", summary_line(&outcome, started));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            std::process::ExitCode::from(e.interrupted_by().map_or(1, stepstone::exec::exit_code))
        }
    }
}

/// The last line of stdout: one JSON object with the checksum and the run's figures.
pub(crate) fn summary_line(outcome: &Outcome<Vec<(u32, f64)>>, started: Instant) -> String {
    let checksum: f64 = outcome.value.iter().map(|(_, v)| v).sum();
    let r = &outcome.report;
    serde_json::json!({
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
    })
    .to_string()
}

/// The flags of the seed examples written with `#[pipeline]` (`seed`, `seed_arrow`): the
/// standard run flags plus the workload's.
#[derive(Debug, clap::Args)]
pub(crate) struct SeedFlags {
    #[command(flatten)]
    pub(crate) run: RunArgs,
    /// Rows generated.
    #[arg(long, default_value_t = 2_000_000)]
    pub(crate) rows: u64,
    /// Partitions of every dataset (1: unpartitioned); each step runs once per partition.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) partitions: u32,
    /// Checkpoint every N steps along the chain (0: off) [default: the attribute's 10]
    #[arg(long)]
    pub(crate) every: Option<u32>,
    /// Abort the process right after step K's output is stored (0 = generate).
    #[arg(long)]
    pub(crate) crash_after_step: Option<usize>,
    /// Abort the process right after partition P of step K is stored (`K:P`).
    #[arg(long, value_name = "K:P")]
    pub(crate) crash_after_partition: Option<String>,
}

/// A seed example's `main` once its flags are parsed: resolve the run configuration against
/// the pipeline's `defaults`, apply the flags, `run` it (rows, partitions), print the JSON
/// line; exit 0, 1, 2, or 130 / 143 when SIGINT / SIGTERM stopped the run.
pub(crate) fn run_seed(
    flags: &SeedFlags,
    defaults: &PipelineDefaults,
    run: impl FnOnce(&RunConfig, u64, u32) -> stepstone::Result<Outcome<Vec<(u32, f64)>>>,
) -> std::process::ExitCode {
    let mut config = match RunConfig::resolve(&flags.run, defaults) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(every) = flags.every {
        config = config.checkpoint_every(Some(every));
    }
    config = crash_after(config, flags.crash_after_step);
    config = crash_after_partition(config, flags.crash_after_partition.as_deref());
    let started = Instant::now();
    finish(run(&config, flags.rows, flags.partitions), started)
}
