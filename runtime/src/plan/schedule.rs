//! The schedule of one materialization: which tasks to run for the requested targets, inputs
//! first, and when each block is used (for Belady eviction and freeing dead values).
//!
//! Owns: the order of tasks (one node × one partition each, expanded here from the one-node-
//! per-step lineage) and the planned uses of each block (schedule positions, ascending; a
//! target's blocks are last used at the end of the schedule). Built from the lineage alone plus
//! an `available` answer per block (the executor's: resident or stored), so planning never
//! touches memory or the store itself.

use std::collections::VecDeque;

use rustc_hash::{FxHashMap, FxHashSet};

use super::partition::{BlockId, Task, task_reads};
use super::{Lineage, NodeId};

/// The tasks of one materialization, in order, and the planned uses of every block they read.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// Tasks to run, inputs first.
    pub(crate) tasks: Vec<Task>,
    /// The blocks each task reads (same order as `tasks`, without repeats).
    pub(crate) reads: Vec<Vec<BlockId>>,
    uses: FxHashMap<BlockId, VecDeque<u64>>,
}

/// Why a schedule cannot be built: a target or parent the lineage does not hold.
#[derive(Debug)]
pub(crate) struct UnknownNode(pub(crate) NodeId);

impl Schedule {
    /// The tasks to run for the blocks `targets` (every block of a node being materialized; a
    /// worker's segment outputs), inputs first. A block for which `available` says yes (a
    /// resident value or a valid stored object) is a leaf: the tasks behind it are not planned.
    pub(crate) fn build(
        lineage: &Lineage,
        targets: &[BlockId],
        mut available: impl FnMut(BlockId) -> bool,
    ) -> Result<Schedule, UnknownNode> {
        let mut tasks = Vec::new();
        let mut reads_of: Vec<Vec<BlockId>> = Vec::new();
        let mut expanded_reads: FxHashMap<Task, Vec<BlockId>> = FxHashMap::default();
        let mut seen: FxHashSet<Task> = FxHashSet::default();
        let mut stack: Vec<(Task, bool)> = Vec::new();
        let mut need = |block: BlockId, stack: &mut Vec<(Task, bool)>| -> Result<(), UnknownNode> {
            let node = lineage.get(block.node).ok_or(UnknownNode(block.node))?;
            if !available(block) {
                let task = Task {
                    node: block.node,
                    index: block.part / node.fanout.max(1),
                };
                stack.push((task, false));
            }
            Ok(())
        };
        for block in targets.iter().rev() {
            need(*block, &mut stack)?;
        }
        while let Some((task, expanded)) = stack.pop() {
            if expanded {
                tasks.push(task);
                reads_of.push(expanded_reads.remove(&task).unwrap_or_default());
                continue;
            }
            if !seen.insert(task) {
                continue;
            }
            stack.push((task, true));
            let reads = task_reads(lineage, task);
            // Partition-major: the inputs of partition 0 (of every input) are made first, so a
            // partition's chain of steps runs before the next partition's (a block is read by
            // its next step while still resident, not reloaded after all partitions ran).
            let all: Vec<BlockId> = dedup(&reads.all().collect::<Vec<_>>());
            let mut wanted = all.clone();
            expanded_reads.insert(task, all);
            wanted.sort_by_key(|b| b.part);
            wanted.reverse();
            for block in wanted {
                let producer = lineage.get(block.node).map(|n| Task {
                    node: block.node,
                    index: block.part / n.fanout.max(1),
                });
                if producer.is_none_or(|p| !seen.contains(&p)) {
                    need(block, &mut stack)?;
                }
            }
        }
        let mut uses: FxHashMap<BlockId, VecDeque<u64>> = FxHashMap::default();
        for (pos, reads) in reads_of.iter().enumerate() {
            for block in reads {
                uses.entry(*block).or_default().push_back(pos as u64);
            }
        }
        let end = tasks.len() as u64;
        for block in targets {
            uses.entry(*block).or_default().push_back(end);
        }
        Ok(Schedule {
            tasks,
            reads: reads_of,
            uses,
        })
    }

    /// The next planned use of `block` (`u64::MAX`: none in this schedule).
    pub(crate) fn next_use(&self, block: BlockId) -> u64 {
        match self.uses.get(&block).and_then(|u| u.front()) {
            Some(pos) => *pos,
            None => u64::MAX,
        }
    }

    /// The planned uses of `block` not consumed yet (schedule positions; the end of the
    /// schedule for a target).
    pub(crate) fn uses(&self, block: BlockId) -> Vec<u64> {
        self.uses
            .get(&block)
            .map(|u| u.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Whether the schedule still plans a use of `block`.
    pub(crate) fn is_used(&self, block: BlockId) -> bool {
        self.uses.get(&block).is_some_and(|u| !u.is_empty())
    }

    /// The task at position `pos` is done: its uses of `reads` are consumed.
    pub(crate) fn consume(&mut self, pos: usize, reads: &[BlockId]) {
        for b in reads {
            if let Some(uses) = self.uses.get_mut(b) {
                while uses.front().is_some_and(|u| *u <= pos as u64) {
                    uses.pop_front();
                }
            }
        }
    }
}

/// Below this many ids a linear scan beats hashing.
const DEDUP_SCAN_MAX: usize = 16;

/// `ids` without repeats, in first-seen order. Linear in `ids` (a task of a 100,000-partition
/// shuffle reads 100,000 blocks: a quadratic scan took minutes there).
pub(crate) fn dedup<T: Eq + std::hash::Hash + Copy>(ids: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(ids.len());
    if ids.len() <= DEDUP_SCAN_MAX {
        for id in ids {
            if !out.contains(id) {
                out.push(*id);
            }
        }
        return out;
    }
    let mut seen = rustc_hash::FxHashSet::with_capacity_and_hasher(ids.len(), Default::default());
    out.extend(ids.iter().copied().filter(|id| seen.insert(*id)));
    out
}
