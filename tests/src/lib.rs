//! Shared helpers for the workspace test suite (ui, scaffold, crash, resume, reliability).
//!
//! The tests themselves live in `tests/tests/*.rs`, one file per behaviour area. The helpers
//! here build small pipelines by hand (the builder API) so runtime behaviour is tested without
//! the macros.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use stepstone::{Budget, Footprint, MemSize, RunConfig};

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
