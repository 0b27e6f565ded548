//! A partitioned chain pipeline for the process runner's tests (`--runner processes`): the
//! standard run flags plus `--rows N`, `--partitions P`, `--steps S`, `--every N` (checkpoint
//! every N steps), `--sleep-ms N` (every adjust step sleeps: a window to kill workers in),
//! `--fail-at K` (adjust step K returns an error), `--panic-at K` (adjust step K panics),
//! `--slow-first-attempt-ms N` (partition 0's source sleeps N ms in a worker's first attempt),
//! `--sink FILE` (a sink step also writes the total there).
//! Generate → S adjust steps (every 4th kept) → a sum over the kept datasets, one partition at a
//! time. Prints one JSON line: the checksum and the run's figures; exits 0, 1, 2 or 130 / 143.

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;
use stepstone::config::RunArgs;
use stepstone::plan::{ArgError, Parts};
use stepstone::prelude::*;

/// What the flags inject (not part of any fingerprint: the same binary and flags run again
/// give the same plan).
#[derive(Debug, Default, Clone, Copy)]
struct Faults {
    sleep_ms: u64,
    /// Partition 0's source sleeps this long in a worker's first attempt (a straggler for
    /// speculation to overtake).
    slow_first_attempt_ms: u64,
    /// The worker attempt this process runs (0: not a worker).
    attempt: u32,
    fail_at: Option<u32>,
    panic_at: Option<u32>,
}

static FAULTS: OnceLock<Faults> = OnceLock::new();

fn faults() -> Faults {
    FAULTS.get().copied().unwrap_or_default()
}

/// The rows of one partition: `parts.range(rows)`.
#[step]
fn generate(rows: u64, parts: Partitions) -> Vec<u64> {
    let f = faults();
    if f.slow_first_attempt_ms > 0 && f.attempt == 1 && parts.index() == 0 {
        std::thread::sleep(std::time::Duration::from_millis(f.slow_first_attempt_ms));
    }
    parts
        .range(rows)
        .map(|id| id.wrapping_mul(2_654_435_761) % 1_000_003)
        .collect()
}

#[step]
fn adjust(prev: &Vec<u64>, i: u32) -> Result<Vec<u64>, String> {
    let f = faults();
    if f.sleep_ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(f.sleep_ms));
    }
    if f.fail_at == Some(i) {
        return Err(format!("injected failure at adjust step {i}"));
    }
    if f.panic_at == Some(i) {
        panic!("injected panic at adjust step {i}");
    }
    Ok(prev
        .iter()
        .map(|x| (x * 3 + u64::from(i)) % 1_000_003)
        .collect())
}

/// Sum of every kept dataset, read one partition at a time.
#[step(checkpoint)]
fn total(parts: Parts<'_, '_, Vec<u64>>) -> Result<u64, ArgError> {
    let mut sum = 0u64;
    for part in parts {
        let part = part?;
        sum = sum.wrapping_add(part.iter().sum::<u64>());
    }
    Ok(sum)
}

/// A sink: writes the total to `path` (a step with no output value, run before the output).
#[step]
fn write_total(total: &u64, path: String) -> Result<(), String> {
    std::fs::write(&path, total.to_string()).map_err(|e| format!("writing {path}: {e}"))
}

#[pipeline(budget = "64MiB", checkpoint_every = 5)]
fn segments(
    p: &mut Pipeline,
    #[default(40_000)] rows: u64,
    #[default(4)] partitions: u32,
    #[default(12)] steps: u32,
    /// Also write the total to this file, from a sink step ("": no sink).
    #[default(String::new())]
    sink: String,
) -> Result<Handle<u64>> {
    let mut current = generate(p, rows, Partitions::new(partitions));
    let mut kept = Vec::new();
    for i in 1..=steps {
        current = adjust(p, &current, i);
        if i % 4 == 0 || i == steps {
            kept.push(current.clone());
        }
    }
    let total = total(p, &kept);
    if !sink.is_empty() {
        write_total(p, &total, sink);
    }
    Ok(total)
}

/// segments: a partitioned chain for the process runner's tests.
#[derive(Debug, Parser)]
#[command(name = "segments")]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[arg(long, default_value_t = 40_000)]
    rows: u64,
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    #[arg(long, default_value_t = 12)]
    steps: u32,
    /// Checkpoint every N steps (0: off).
    #[arg(long)]
    every: Option<u32>,
    #[arg(long, default_value_t = 0)]
    sleep_ms: u64,
    #[arg(long)]
    fail_at: Option<u32>,
    #[arg(long)]
    panic_at: Option<u32>,
    #[arg(long, default_value_t = 0)]
    slow_first_attempt_ms: u64,
    /// Also write the total to this file, from a sink step (the run then runs two schedules).
    #[arg(long, default_value = "")]
    sink: String,
}

fn main() -> ExitCode {
    stepstone::init_logging();
    let cli = Cli::parse();
    let _ = FAULTS.set(Faults {
        sleep_ms: cli.sleep_ms,
        slow_first_attempt_ms: cli.slow_first_attempt_ms,
        attempt: if cli.run.run_task.is_some() {
            cli.run.attempt.unwrap_or(1)
        } else {
            0
        },
        fail_at: cli.fail_at,
        panic_at: cli.panic_at,
    });
    let mut config = match RunConfig::resolve(&cli.run, &segments::defaults()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            return ExitCode::from(2);
        }
    };
    if let Some(every) = cli.every {
        config = config.checkpoint_every(Some(every));
    }
    match segments::run(&config, cli.rows, cli.partitions, cli.steps, cli.sink) {
        Ok(out) => {
            let r = &out.report;
            let executed: Vec<(usize, u32)> = r
                .steps
                .iter()
                .filter(|s| s.partitions_executed > 0)
                .map(|s| (s.seq, s.partitions_executed))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "checksum": out.value,
                    "run_id": r.run_id,
                    "steps_executed": r.totals.steps_executed,
                    "steps_reused": r.totals.steps_reused,
                    "partitions_executed": executed,
                    "checkpoints_written": r.totals.checkpoints_written,
                })
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            ExitCode::from(e.interrupted_by().map_or(1, stepstone::exec::exit_code))
        }
    }
}
