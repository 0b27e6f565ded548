//! The schedule of one materialization: which nodes to compute for the requested targets,
//! parents first, and when each value is used (for Belady eviction and freeing dead values).
//!
//! Owns: the order of tasks and the planned uses of each value (schedule positions, ascending;
//! a target's last use is at the end of the schedule). Built from the lineage alone plus an
//! `available` answer per node (the executor's: resident or stored), so planning never touches
//! memory or the store itself. A task is one node today; partitioned datasets make it one node
//! × one partition, expanded here.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Lineage, NodeId};

/// The tasks of one materialization, in order, and the planned uses of every value they read.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// Nodes to compute, parents first.
    pub(crate) tasks: Vec<NodeId>,
    uses: HashMap<NodeId, VecDeque<u64>>,
}

/// Why a schedule cannot be built: a target or parent the lineage does not hold.
#[derive(Debug)]
pub(crate) struct UnknownNode(pub(crate) NodeId);

impl Schedule {
    /// The nodes to compute for `targets`, parents first. A node for which `available` says yes
    /// (a resident value or a valid stored object) is a leaf: its ancestors are not planned.
    pub(crate) fn build(
        lineage: &Lineage,
        targets: &[NodeId],
        mut available: impl FnMut(NodeId) -> bool,
    ) -> Result<Schedule, UnknownNode> {
        let mut tasks = Vec::new();
        let mut seen: HashSet<NodeId> = HashSet::new();
        let mut stack: Vec<(NodeId, bool)> = targets.iter().rev().map(|t| (*t, false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                tasks.push(id);
                continue;
            }
            if !seen.insert(id) {
                continue;
            }
            let Some(node) = lineage.get(id) else {
                return Err(UnknownNode(id));
            };
            if available(id) {
                continue;
            }
            stack.push((id, true));
            for p in node.parents.iter().rev() {
                if !seen.contains(p) {
                    stack.push((*p, false));
                }
            }
        }
        let mut uses: HashMap<NodeId, VecDeque<u64>> = HashMap::new();
        for (pos, id) in tasks.iter().enumerate() {
            if let Some(n) = lineage.get(*id) {
                for parent in dedup(&n.parents) {
                    uses.entry(parent).or_default().push_back(pos as u64);
                }
            }
        }
        let end = tasks.len() as u64;
        for t in targets {
            uses.entry(*t).or_default().push_back(end);
        }
        Ok(Schedule { tasks, uses })
    }

    /// The next planned use of `id`'s value (`u64::MAX`: none in this schedule).
    pub(crate) fn next_use(&self, id: NodeId) -> u64 {
        match self.uses.get(&id).and_then(|u| u.front()) {
            Some(pos) => *pos,
            None => u64::MAX,
        }
    }

    /// Whether the schedule still plans a use of `id`'s value.
    pub(crate) fn is_used(&self, id: NodeId) -> bool {
        self.uses.get(&id).is_some_and(|u| !u.is_empty())
    }

    /// The task at position `pos` is done: its uses of `parents` are consumed.
    pub(crate) fn consume(&mut self, pos: usize, parents: &[NodeId]) {
        for p in parents {
            if let Some(uses) = self.uses.get_mut(p) {
                while uses.front().is_some_and(|u| *u <= pos as u64) {
                    uses.pop_front();
                }
            }
        }
    }
}

/// `ids` without repeats, in first-seen order.
pub(crate) fn dedup(ids: &[NodeId]) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}
