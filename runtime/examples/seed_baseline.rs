//! The seed workload in plain Rust: no framework, every dataset freed as soon as it is dead,
//! everything in memory. The yardstick for `seed` / `seed_builder` (same checksum).
//!
//! ```text
//! cargo run --release -p stepstone --example seed_baseline -- --rows 2000000 [--idle-thread]
//! ```
//! `--idle-thread` starts one thread that only sleeps: glibc's malloc then takes its arena
//! locks on every call (a single-threaded process skips them), which is what any program with a
//! second thread pays — Stepstone has its RSS sampler and step workers. The difference between
//! the two baselines is that cost alone.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone)]
struct Row {
    id: u64,
    key: u32,
    value: f64,
    tag: String,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    if args.iter().any(|a| a == "--idle-thread") {
        std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(86_400)));
    }
    let started = Instant::now();
    let mut current: Vec<Row> = (0..rows)
        .map(|id| Row {
            id,
            key: (id % 1000) as u32,
            value: id as f64 * 0.5,
            tag: format!("t{}", id % 97),
        })
        .collect();
    let mut kept: Vec<Vec<Row>> = Vec::new();
    for i in 1..=20u32 {
        let next: Vec<Row> = current
            .iter()
            .map(|r| Row {
                id: r.id,
                key: r.key,
                value: r.value * 1.0001 + f64::from(i),
                tag: r.tag.clone(),
            })
            .collect();
        let previous = std::mem::replace(&mut current, next);
        if (i - 1) % 5 == 0 && i > 1 {
            kept.push(previous); // step i-1 is 5, 10 or 15: still needed at the end
        }
    }
    kept.push(current);
    let mut sums: HashMap<u32, f64> = HashMap::new();
    for part in &kept {
        for r in part {
            *sums.entry(r.key).or_insert(0.0) += r.value;
        }
    }
    let mut per_key: Vec<(u32, f64)> = sums.into_iter().collect();
    per_key.sort_by_key(|(k, _)| *k);
    let checksum: f64 = per_key.iter().map(|(_, v)| v).sum();
    let ids: u64 = kept.iter().map(|p| p.last().map_or(0, |r| r.id)).sum();
    println!(
        "{{\"checksum\":{checksum},\"seconds\":{},\"last_ids\":{ids}}}",
        started.elapsed().as_secs_f64()
    );
}
