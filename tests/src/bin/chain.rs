//! A small chain pipeline for process-level tests (crash, kill -9, resume): generate, `--steps`
//! adjust steps (every 3rd kept for the end: long-range uses), checkpoint every `--every`, then
//! a fold that sums the kept datasets one at a time. `--abort-after K` aborts the
//! process right after step K's output is stored; `--sleep-ms N` makes every adjust step sleep
//! N ms (lock tests need a run that holds the directory for a while; the sleep is not part of
//! any fingerprint); `--wait` waits for the directory's lock instead of failing; `--jobs N` runs
//! up to N steps at once (default 1); `--panic-at K` makes adjust step K panic; `--signals`
//! handles SIGINT / SIGTERM as pipeline binaries do (stop at a safe point, exit 130 / 143).
//! Prints one JSON line: the sum and the totals.

use std::process::ExitCode;

use stepstone::Event;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> ExitCode {
    let Some(dir) = arg("--dir") else {
        eprintln!(
            "usage: chain --dir DIR [--rows N] [--steps N] [--every N] [--budget SIZE] [--abort-after K] [--sleep-ms N] [--wait] [--jobs N] [--panic-at K] [--signals]"
        );
        return ExitCode::from(2);
    };
    let rows: usize = arg("--rows").and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let steps: u64 = arg("--steps").and_then(|s| s.parse().ok()).unwrap_or(20);
    let every: u32 = arg("--every").and_then(|s| s.parse().ok()).unwrap_or(5);
    let budget = arg("--budget").unwrap_or_else(|| "400KiB".into());
    let sleep = std::time::Duration::from_millis(
        arg("--sleep-ms").and_then(|s| s.parse().ok()).unwrap_or(0),
    );
    let mut config = stepstone_tests::config(dir.as_ref(), &budget).checkpoint_every(Some(every));
    config.wait_for_lock = std::env::args().any(|a| a == "--wait");
    if let Some(jobs) = arg("--jobs").and_then(|s| s.parse::<usize>().ok()) {
        config = config.jobs(jobs.max(1));
    }
    if let Some(k) = arg("--abort-after").and_then(|s| s.parse::<usize>().ok()) {
        config = config.observer(move |e| {
            if let Event::StepStored { seq, .. } = e
                && *seq == k
            {
                std::process::abort();
            }
        });
    }
    config.handle_signals = std::env::args().any(|a| a == "--signals");
    let panic_at = arg("--panic-at").and_then(|s| s.parse::<u64>().ok());
    let result = stepstone::run(&config, |p| {
        Ok(stepstone_tests::chain_pipeline_panicking(
            p, rows, steps, sleep, panic_at,
        ))
    });
    match result {
        Ok(out) => {
            let executed: Vec<usize> = out
                .report
                .steps
                .iter()
                .filter(|s| s.status == stepstone::report::StepStatus::Executed)
                .map(|s| s.seq)
                .collect();
            println!(
                "{{\"sum\":{},\"steps_executed\":{},\"steps_reused\":{},\"executed\":{:?}}}",
                out.value,
                out.report.totals.steps_executed,
                out.report.totals.steps_reused,
                executed
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            ExitCode::from(e.interrupted_by().map_or(1, stepstone::exec::exit_code))
        }
    }
}
