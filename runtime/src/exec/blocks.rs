//! The block table: the executor's run state of every node's value (Spark's BlockManager, here
//! one block per node; partitioned datasets make it one per node × partition).
//!
//! Owns, per node in the lineage: the resident value and the bytes charged for it, its last
//! measured footprint, pins by running steps, the stored object known to hold it (of this run
//! or an earlier one) and what the run learned about that object; the set of resident nodes;
//! and the objects this run wrote or used (spills are deleted when the run completes). Not
//! responsible for the recipe or graph of a node ([`crate::plan`]), for charging the budget
//! (the executor does, through [`crate::memory::Accountant`]) or for reading and writing
//! objects ([`crate::store`]).

use std::collections::{BTreeSet, HashMap};

use crate::memory::Footprint;
use crate::plan::{Node, NodeId, Policy, Value};
use crate::store::{BlockKey, ObjectInfo, ObjectKind};

/// The run state of one node's value.
#[derive(Default)]
pub(crate) struct Block {
    /// The value, when resident.
    pub(crate) value: Option<Value>,
    /// Charged (resident-estimate) bytes of the value while resident.
    pub(crate) charged: u64,
    /// Last measured footprint of the value.
    pub(crate) footprint: Option<Footprint>,
    /// Pins by running steps.
    pub(crate) pins: u32,
    /// A valid object known to hold this node's value.
    pub(crate) stored: Option<ObjectInfo>,
    /// The store has been asked for an object of an earlier run.
    pub(crate) probed: bool,
    /// The stored object comes from an earlier run.
    pub(crate) stored_by_earlier_run: bool,
    /// An object of this node turned out unreadable in this run (the report says so).
    pub(crate) object_was_corrupt: bool,
}

impl Block {
    /// The value exists now (resident or stored).
    pub(crate) fn is_present(&self) -> bool {
        self.value.is_some() || self.stored.is_some()
    }

    /// The value's size as far as it is known without loading it (0 when unknown).
    pub(crate) fn known_size(&self) -> u64 {
        if self.value.is_some() {
            return self.charged;
        }
        self.footprint
            .map(|f| f.resident)
            .or(self.stored.as_ref().map(|s| s.footprint.resident))
            .unwrap_or(0)
    }
}

/// Every node's block, the resident set and the objects of this run.
#[derive(Default)]
pub(crate) struct Blocks {
    blocks: HashMap<NodeId, Block>,
    /// Nodes whose value is resident, in record order.
    resident: BTreeSet<NodeId>,
    /// Objects this run wrote or used, by key, with their current kind.
    objects: HashMap<BlockKey, ObjectKind>,
}

/// An empty block, for nodes the table does not hold.
static EMPTY: Block = Block {
    value: None,
    charged: 0,
    footprint: None,
    pins: 0,
    stored: None,
    probed: false,
    stored_by_earlier_run: false,
    object_was_corrupt: false,
};

impl Blocks {
    /// The block of `id` (an empty one when the node has none yet).
    pub(crate) fn get(&self, id: NodeId) -> &Block {
        self.blocks.get(&id).unwrap_or(&EMPTY)
    }

    /// The block of `id`, made when missing.
    pub(crate) fn get_mut(&mut self, id: NodeId) -> &mut Block {
        self.blocks.entry(id).or_default()
    }

    /// A node left the DAG: forget its block.
    pub(crate) fn remove(&mut self, id: NodeId) -> Option<Block> {
        self.resident.remove(&id);
        self.blocks.remove(&id)
    }

    /// `id`'s value is resident now.
    pub(crate) fn mark_resident(&mut self, id: NodeId) {
        self.resident.insert(id);
    }

    /// `id`'s value is no longer resident.
    pub(crate) fn mark_gone(&mut self, id: NodeId) {
        self.resident.remove(&id);
    }

    /// Nodes whose value is resident, in record order.
    pub(crate) fn resident(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.resident.iter().copied()
    }

    /// Note an object this run wrote or found; returns whether it was already known.
    pub(crate) fn note_object(&mut self, key: BlockKey, kind: ObjectKind) -> bool {
        self.objects.insert(key, kind).is_some()
    }

    /// Whether this run wrote or used the object `key`.
    pub(crate) fn knows_object(&self, key: &BlockKey) -> bool {
        self.objects.contains_key(key)
    }

    /// An object is gone (deleted as unreadable).
    pub(crate) fn forget_object(&mut self, key: &BlockKey) {
        self.objects.remove(key);
    }

    /// Keys of the spill objects this run wrote or used.
    pub(crate) fn spills(&self) -> Vec<BlockKey> {
        self.objects
            .iter()
            .filter(|(_, kind)| **kind == ObjectKind::Spill)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Whether recomputing `node` may still be needed (so its parents must be kept). An object
    /// of an earlier run is trusted only once it has been read back and verified.
    pub(crate) fn needs_lineage(&self, node: &Node) -> bool {
        let b = self.get(node.id);
        let verified = node.done || !b.stored_by_earlier_run;
        let trusted_object = b.stored.is_some() && verified;
        let spills_on_eviction = b.value.is_some() && node.policy != Policy::Cache;
        !(trusted_object || spills_on_eviction)
    }
}
