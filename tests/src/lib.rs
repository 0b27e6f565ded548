//! Shared helpers for the workspace test suite (ui, scaffold, crash, resume, reliability).
//!
//! The tests themselves live in `tests/tests/*.rs`, one file per behaviour area. The helpers
//! here build small pipelines by hand (the builder API) so runtime behaviour is tested without
//! the macros.

pub mod read_faults;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use stepstone::{Budget, Footprint, Handle, MemSize, Pipeline, Policy, RunConfig};

/// A dataset of `u64`s with a label (one heap allocation for the numbers, one for the label).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// The numbers.
    pub data: Vec<u64>,
    /// A label.
    pub label: String,
}

impl MemSize for Block {
    fn add_heap(&self, acc: &mut Footprint) {
        self.data.add_heap(acc);
        self.label.add_heap(acc);
    }
}

impl Block {
    /// `n` numbers starting at `start`.
    pub fn new(n: usize, start: u64) -> Block {
        Block {
            data: (start..start + n as u64).collect(),
            label: format!("block-{start}"),
        }
    }
    /// Sum of the numbers (wrapping).
    pub fn sum(&self) -> u64 {
        self.data.iter().fold(0u64, |a, b| a.wrapping_add(*b))
    }
    /// A new block with `k` added to every number.
    pub fn plus(&self, k: u64) -> Block {
        Block {
            data: self.data.iter().map(|x| x.wrapping_add(k)).collect(),
            label: self.label.clone(),
        }
    }
}

/// Counts how many times each labelled step body ran (shared with `'static` step closures).
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<Mutex<HashMap<String, usize>>>);

impl Counter {
    /// Record one execution of `label`.
    pub fn hit(&self, label: &str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(label.to_string()).or_insert(0) += 1;
        }
    }
    /// Executions of `label`.
    pub fn get(&self, label: &str) -> usize {
        self.0
            .lock()
            .map(|m| m.get(label).copied().unwrap_or(0))
            .unwrap_or(0)
    }
    /// Total executions.
    pub fn total(&self) -> usize {
        self.0.lock().map(|m| m.values().sum()).unwrap_or(0)
    }
}

/// A quiet configuration for tests.
pub fn config(dir: &Path, budget: &str) -> RunConfig {
    let budget: Budget = budget.parse().unwrap_or(Budget::DEFAULT);
    RunConfig::new("test")
        .budget(budget)
        .checkpoint_dir(dir)
        .jobs(1)
}

/// Files under `dir` (recursively) whose path contains `part`.
pub fn files_under(dir: &Path, part: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(part) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The `chain` pipeline (binary `chain` and in-process reliability tests): generate, `steps`
/// adjust steps (every 3rd kept for the end; each sleeps `sleep`), a fold over the kept datasets
/// (last kept first, so the earlier ones must be held until the chain ends), a checkpointed
/// result. With `checkpoint_every` some adjust steps are checkpoints; under a small budget the
/// kept datasets spill.
pub fn chain_pipeline(
    p: &mut Pipeline,
    rows: usize,
    steps: u64,
    sleep: std::time::Duration,
) -> Handle<u64> {
    chain_pipeline_panicking(p, rows, steps, sleep, None)
}

/// [`chain_pipeline`] whose adjust step `panic_at` (1-based) panics with
/// `"adjust {i} refused its input"` (the panic tests; the panic is not part of any fingerprint,
/// so a run without it reuses what the panicking run stored).
pub fn chain_pipeline_panicking(
    p: &mut Pipeline,
    rows: usize,
    steps: u64,
    sleep: std::time::Duration,
    panic_at: Option<u64>,
) -> Handle<u64> {
    let mut cur = p
        .step("generate")
        .code("1")
        .param(&rows)
        .run(move |_| Ok(Block::new(rows, 3)));
    let mut kept = Vec::new();
    for i in 1..=steps {
        cur = p
            .step("adjust")
            .code("1")
            .param(&i)
            .input(&cur)
            .run(move |a| {
                std::thread::sleep(sleep);
                if panic_at == Some(i) {
                    panic!("adjust {i} refused its input");
                }
                Ok(a.get::<Block>(0)?.plus(i))
            });
        if i % 3 == 0 {
            kept.push(cur.clone());
        }
    }
    kept.push(cur);
    let mut acc = p.step("fold").code("1").param(&0u32).run(|_| Ok(0u64));
    for (i, block) in kept.iter().rev().enumerate() {
        let step = p
            .step("fold")
            .code("1")
            .param(&(i as u32 + 1))
            .input(&acc)
            .input(block);
        acc = step.run(|a| Ok(a.get::<u64>(0)?.wrapping_add(a.get::<Block>(1)?.sum())));
    }
    p.step("result")
        .code("1")
        .policy(Policy::Checkpoint)
        .input(&acc)
        .run(|a| Ok(*a.get::<u64>(0)?))
}
