//! A very long lineage: `--steps` tiny steps in a loop with `checkpoint_every = --every`.
//! Reports microseconds per step and the process RSS at 10 % and 90 % of the run (flat RSS means
//! lineage truncation keeps the DAG bounded), and the RSS at every tenth of the run. The report
//! keeps its first 10,000 step rows one by one (then folds them), so RSS still grows a little up
//! to step 10,000; run on a tmpfs (`--checkpoint-dir /dev/shm/…`) to separate the checkpoints'
//! fsync cost from the per-step cost.
//!
//! ```text
//! cargo run --release -p stepstone --example long_lineage -- --steps 100000 --every 100
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Parser;
use stepstone::{Event, RunConfig};

#[derive(Debug, Parser)]
struct Cli {
    /// Steps in the loop.
    #[arg(long, default_value_t = 100_000)]
    steps: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 100)]
    every: u32,
    /// Checkpoint directory.
    #[arg(long, default_value = "/tmp/stepstone-long-lineage")]
    checkpoint_dir: std::path::PathBuf,
    /// Parallel steps at most.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let steps = cli.steps;
    let rss_10 = Arc::new(AtomicU64::new(0));
    let rss_90 = Arc::new(AtomicU64::new(0));
    let deciles: Arc<[AtomicU64; 10]> = Arc::new(Default::default());
    let (r10, r90, dec) = (
        Arc::clone(&rss_10),
        Arc::clone(&rss_90),
        Arc::clone(&deciles),
    );
    let config = RunConfig::new("long-lineage")
        .budget("64MiB".parse().unwrap_or(stepstone::Budget::DEFAULT))
        .checkpoint_dir(&cli.checkpoint_dir)
        .fresh(true)
        .jobs(cli.jobs)
        .checkpoint_every(Some(cli.every))
        .observer(move |event| {
            if let Event::StepStored { seq, .. } = event {
                let seq = *seq as u64;
                if steps >= 10 && seq > 0 && seq.is_multiple_of(steps / 10) {
                    let k = (seq / (steps / 10)) as usize - 1;
                    if let Some(slot) = dec.get(k) {
                        slot.store(stepstone::memory::current_rss(), Ordering::Relaxed);
                    }
                }
                if seq == steps / 10 {
                    r10.store(stepstone::memory::current_rss(), Ordering::Relaxed);
                } else if seq == steps * 9 / 10 {
                    r90.store(stepstone::memory::current_rss(), Ordering::Relaxed);
                }
            }
        });
    let started = Instant::now();
    let result = stepstone::run(&config, |p| {
        let mut x = p.step("start").code("1").run(|_| Ok(1u64));
        for i in 0..steps {
            x = p.step("next").code("1").param(&i).input(&x).run(move |a| {
                Ok(a.get::<u64>(0)?
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(i))
            });
        }
        Ok(x)
    });
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(out) => {
            let line = serde_json::json!({
                "steps": steps,
                "value": out.value,
                "seconds": seconds,
                "us_per_step": seconds * 1e6 / steps as f64,
                "checkpoints_written": out.report.totals.checkpoints_written,
                "rss_at_10pct_bytes": rss_10.load(Ordering::Relaxed),
                "rss_at_90pct_bytes": rss_90.load(Ordering::Relaxed),
                "rss_peak_bytes": out.report.rss_peak_bytes,
                "rss_mib_by_tenth": deciles
                    .iter()
                    .map(|r| (r.load(Ordering::Relaxed) as f64 / 1048576.0 * 10.0).round() / 10.0)
                    .collect::<Vec<f64>>(),
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
