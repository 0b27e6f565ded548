//! The example of the README ("A pipeline") compiles as written (its `main` is not run here:
//! it would need `--rows`).
#![deny(warnings)]

use stepstone::prelude::*;

#[derive(Clone, Serialize, Deserialize, MemSize)]
pub struct Row { pub id: u64, pub key: u32, pub value: f64, pub tag: String }

#[step]                              // by-value args are parameters (part of the fingerprint)
fn generate(rows: u64) -> Vec<Row> {
    (0..rows).map(|id| Row { id, key: (id % 1000) as u32, value: id as f64 * 0.5, tag: format!("t{}", id % 97) }).collect()
}

#[step]                              // &T args are upstream datasets
fn adjust(prev: &Vec<Row>, i: u32) -> Vec<Row> {
    prev.iter().map(|r| Row { value: r.value * 1.0001 + i as f64, ..r.clone() }).collect()
}

#[step(checkpoint)]                  // durable boundary, reused by later runs
fn total(last: &Vec<Row>) -> f64 { last.iter().map(|r| r.value).sum() }

#[pipeline(budget = "384 MiB", checkpoint_every = 10)]
fn seed(p: &mut Pipeline, rows: u64) -> Result<Handle<f64>> {
    let mut cur = generate(p, rows);
    for i in 1..=20 {
        cur = adjust(p, &cur, i);    // records a node; nothing runs yet
    }
    Ok(total(p, &cur))
}

#[allow(dead_code)]
fn real_main() -> std::process::ExitCode { seed::main() }   // --budget, --checkpoint-dir, --fresh, --jobs, --rows …

fn main() {
    let _ = real_main;
}
