//! A node's recipe: everything needed to compute its output or put it back into the DAG —
//! name, fingerprint, policy, value operations, parents, partitioning and the compute closure.
//!
//! Owned by the lineage while the node is recorded ([`super::Node`] holds one) and by the
//! retired table once truncation took the node out or a durable checkpoint cut its lineage
//! (`retired.rs`). Not responsible for the graph state of a recorded node (live handles,
//! pending children, done: `lineage.rs`) nor for the run state of its value (the executor's
//! block table).

use super::identity::Salts;
use super::partition::ReadRule;
use super::value::{Compute, ValueOps};
use super::{Fingerprint, NodeId, Policy};

/// See the module docs.
pub(crate) struct Recipe {
    pub(crate) name: String,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) policy: Policy,
    /// Steps since the last checkpoint along the longest chain (for `checkpoint_every`).
    pub(crate) since_checkpoint: u32,
    pub(crate) ops: ValueOps,
    pub(crate) parents: Vec<NodeId>,
    /// Parents from this index on are lazy inputs (loaded on demand while the step runs).
    pub(crate) lazy_from: usize,
    /// Tasks (partitions of the output; 1 when unpartitioned).
    pub(crate) partitions: u32,
    /// Blocks each task makes (1, or a shuffle split's bucket count).
    pub(crate) fanout: u32,
    /// Which parent blocks a task reads.
    pub(crate) rule: ReadRule,
    /// Per-task identity salts of a node partitioned over files (see `identity.rs`).
    pub(crate) salts: Salts,
    /// `None` once lineage is truncated.
    pub(crate) compute: Option<Compute>,
}

impl Recipe {
    /// Cut this recipe's lineage: its parents and compute closure move into the returned copy
    /// (the rest is copied), and this one keeps neither.
    pub(crate) fn take_lineage(&mut self) -> Recipe {
        Recipe {
            name: self.name.clone(),
            parents: std::mem::take(&mut self.parents),
            compute: self.compute.take(),
            salts: self.salts.clone(),
            ..*self
        }
    }

    /// A copy without lineage (no parents, no closure): a parent put back into the DAG lazily,
    /// restored itself only when it must be computed.
    pub(crate) fn without_lineage(&self) -> Recipe {
        Recipe {
            name: self.name.clone(),
            parents: Vec::new(),
            lazy_from: 0,
            compute: None,
            salts: self.salts.clone(),
            ..*self
        }
    }

    /// How many blocks the output is (tasks × fanout).
    pub(crate) fn blocks(&self) -> u32 {
        self.partitions.saturating_mul(self.fanout)
    }

    /// Whether the output is more than one block.
    pub(crate) fn is_partitioned(&self) -> bool {
        self.blocks() > 1
    }
}
