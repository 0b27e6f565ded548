//! Real runs for `stepstone ui` to show: `demo DIR` (a small partitioned ETL run twice, the
//! second time reusing its checkpoints, under a budget tight enough to spill), or `bench DIR`
//! (1,000 steps × 16 partitions, for bench/ui.sh).
//!
//! `cargo run --release -p stepstone-cli --example ui_runs -- demo /tmp/ui-demo`

use std::path::Path;

use stepstone::{Budget, Handle, Pipeline, Policy, RunConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(dir)) = (args.get(1), args.get(2)) else {
        return Err("usage: ui_runs demo|bench DIR".into());
    };
    let dir = Path::new(dir);
    match mode.as_str() {
        "demo" => {
            demo(dir, "1")?;
            demo(dir, "2")?;
        }
        "bench" => bench(dir)?,
        other => return Err(format!("unknown mode `{other}`: demo or bench").into()),
    }
    Ok(())
}

fn config(name: &str, dir: &Path, budget: &str) -> Result<RunConfig, Box<dyn std::error::Error>> {
    Ok(RunConfig::new(name)
        .budget(budget.parse::<Budget>()?)
        .checkpoint_dir(dir)
        .jobs(1))
}

/// `read_orders` (8 partitions) → `parse` → `clean` → `daily_totals` (checkpoint) →
/// `top_customers` (with `customers`) → `report`. The second run changes `report`'s
/// code: everything up to the checkpoint is reused.
fn demo(dir: &Path, report_code: &'static str) -> Result<(), Box<dyn std::error::Error>> {
    let rows = 2_000_000u64;
    stepstone::run(
        &config("orders-daily", dir, "12MiB")?,
        move |p: &mut Pipeline| -> stepstone::Result<Handle<u64>> {
            let orders = p
                .step("read_orders")
                .code("1")
                .partitions(8)
                .param(&rows)
                .run(move |a| Ok(a.partition().range(rows).collect::<Vec<u64>>()));
            let parsed = p.step("parse").code("1").input(&orders).run(|a| {
                std::thread::sleep(std::time::Duration::from_millis(30));
                Ok(a.get::<Vec<u64>>(0)?
                    .iter()
                    .map(|v| v * 3)
                    .collect::<Vec<u64>>())
            });
            let clean = p.step("clean").code("1").input(&parsed).run(|a| {
                Ok(a.get::<Vec<u64>>(0)?
                    .iter()
                    .filter(|v| *v % 7 != 0)
                    .copied()
                    .collect::<Vec<u64>>())
            });
            let customers = p
                .step("customers")
                .code("1")
                .run(|_| Ok((0..500_000u64).collect::<Vec<u64>>()));
            let totals = p
                .step("daily_totals")
                .code("1")
                .policy(Policy::Checkpoint)
                .lazy_inputs(&[clean])
                .run(|a| {
                    let mut sum = 0u64;
                    for part in a.parts::<Vec<u64>>(0, 1) {
                        sum = sum.wrapping_add(part?.iter().sum::<u64>());
                    }
                    Ok(vec![sum; 1000])
                });
            let top = p
                .step("top_customers")
                .code("1")
                .input(&totals)
                .input(&customers)
                .run(|a| {
                    let n = a.get::<Vec<u64>>(1)?.len() as u64;
                    Ok(a.get::<Vec<u64>>(0)?.iter().take(10).sum::<u64>() + n)
                });
            Ok(p.step("report")
                .code(report_code)
                .input(&totals)
                .input(&top)
                .run(|a| Ok(a.get::<Vec<u64>>(0)?[0] ^ *a.get::<u64>(1)?)))
        },
    )?;
    Ok(())
}

/// Ten chains of 100 steps, each step 16 partitions: 1,000 steps, 16,000 tasks.
fn bench(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    stepstone::run(
        &config("ui-bench", dir, "256MiB")?,
        |p: &mut Pipeline| -> stepstone::Result<Handle<u64>> {
            let mut ends = Vec::new();
            for chain in 0..10u64 {
                let mut last = p
                    .step(&format!("source_{chain}"))
                    .code("1")
                    .partitions(16)
                    .param(&chain)
                    .run(move |a| Ok(a.partition().range(1_600).collect::<Vec<u64>>()));
                for i in 1..100u64 {
                    let policy = if i % 25 == 0 {
                        Policy::Checkpoint
                    } else {
                        Policy::MemoryAndDisk
                    };
                    last = p
                        .step(&format!("chain_{chain}_step_{i}"))
                        .code("1")
                        .policy(policy)
                        .input(&last)
                        .run(|a| {
                            Ok(a.get::<Vec<u64>>(0)?
                                .iter()
                                .map(|v| v + 1)
                                .collect::<Vec<u64>>())
                        });
                }
                ends.push(last);
            }
            Ok(p.step("total").code("1").lazy_inputs(&ends).run(|a| {
                let mut sum = 0u64;
                for input in 0..10 {
                    for part in a.parts::<Vec<u64>>(input, 1) {
                        sum = sum.wrapping_add(part?.iter().sum::<u64>());
                    }
                }
                Ok(sum)
            }))
        },
    )?;
    Ok(())
}
