//! The block table: the executor's run state of every block — one partition of one node's
//! value (Spark's BlockManager; an unpartitioned node has one block).
//!
//! Owns, per block: the resident value and the bytes charged for it, its last measured
//! footprint, pins by running tasks, the recorded tasks that still have to read it, whether it
//! has existed in this run, the stored object known to hold it (of this run or an earlier one)
//! and what the run learned about that object; per node, how many of its blocks exist; the set
//! of resident blocks; and the objects this run wrote or used (spills are deleted when the run
//! completes). Not
//! responsible for the recipe or graph of a node ([`crate::plan`]), for charging the budget
//! (the executor does, through [`crate::memory::Accountant`]) or for reading and writing
//! objects ([`crate::store`]).

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::memory::Footprint;
use crate::plan::{BlockId, Node, NodeId, Policy, Value};
use crate::store::{BlockKey, ObjectInfo, ObjectKind};

/// The run state of one block.
#[derive(Default)]
pub(crate) struct Block {
    /// Recorded tasks that read this block and have not run yet (it is kept while any is left).
    pub(crate) readers: u32,
    /// The block has existed (computed or loaded) in this run.
    pub(crate) done: bool,
    /// The value, when resident.
    pub(crate) value: Option<Value>,
    /// Charged (resident-estimate) bytes of the value while resident: for a value whose buffers
    /// can be shared (Arrow), the bytes of the buffers no other resident value held when it was
    /// admitted.
    pub(crate) charged: u64,
    /// The charge goes through the shared-buffer ledger (released by it, not by `charged`).
    pub(crate) shared: bool,
    /// Last measured footprint of the value.
    pub(crate) footprint: Option<Footprint>,
    /// Pins by running steps (each held by a [`Pin`] guard).
    pub(crate) pins: PinCount,
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

/// Every block, the resident set and the objects of this run.
#[derive(Default)]
pub(crate) struct Blocks {
    blocks: FxHashMap<BlockId, Block>,
    /// Blocks that exist, per node (a node is done when all its blocks are).
    done: FxHashMap<NodeId, u32>,
    /// Blocks whose value is resident, in record order.
    resident: BTreeSet<BlockId>,
    /// Objects this run wrote or used, by key, with their current kind.
    objects: FxHashMap<BlockKey, ObjectKind>,
}

/// How many running tasks pin a block. Shared with the [`Pin`] guards, so a task's pins go away
/// when its prepared form is dropped — admitted, failed, or abandoned on any error path.
#[derive(Debug, Default)]
pub(crate) struct PinCount(Option<Arc<AtomicU32>>);

impl PinCount {
    /// No running task holds the block.
    pub(crate) fn is_free(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|n| n.load(Ordering::Acquire) == 0)
    }

    /// Pin the block until the returned guard is dropped.
    pub(crate) fn pin(&mut self) -> Pin {
        let count = self.0.get_or_insert_with(|| Arc::new(AtomicU32::new(0)));
        count.fetch_add(1, Ordering::AcqRel);
        Pin(Arc::clone(count))
    }
}

/// One running task's pin of a block: keeps the value resident (never evicted, never freed)
/// until dropped.
#[derive(Debug)]
pub(crate) struct Pin(Arc<AtomicU32>);

impl Drop for Pin {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An empty block, for nodes the table does not hold.
static EMPTY: Block = Block {
    readers: 0,
    done: false,
    value: None,
    charged: 0,
    shared: false,
    footprint: None,
    pins: PinCount(None),
    stored: None,
    probed: false,
    stored_by_earlier_run: false,
    object_was_corrupt: false,
};

impl Blocks {
    /// Block `id` (an empty one when the table has none yet).
    pub(crate) fn get(&self, id: BlockId) -> &Block {
        self.blocks.get(&id).unwrap_or(&EMPTY)
    }

    /// Block `id`, made when missing.
    pub(crate) fn get_mut(&mut self, id: BlockId) -> &mut Block {
        self.blocks.entry(id).or_default()
    }

    /// A node with `count` blocks left the DAG: forget them; returns those that were resident,
    /// with their partition.
    pub(crate) fn remove_node(&mut self, node: NodeId, count: u32) -> Vec<(u32, Block)> {
        self.done.remove(&node);
        let mut resident = Vec::new();
        for part in 0..count {
            let id = BlockId::new(node, part);
            self.resident.remove(&id);
            if let Some(b) = self.blocks.remove(&id)
                && b.value.is_some()
            {
                resident.push((part, b));
            }
        }
        resident
    }

    /// Block `id` exists now; returns whether this is the first time and, if so, whether it was
    /// the last of its node's `count` blocks to exist.
    pub(crate) fn mark_done(&mut self, id: BlockId, count: u32) -> (bool, bool) {
        let b = self.get_mut(id);
        if b.done {
            return (false, false);
        }
        b.done = true;
        let done = self.done.entry(id.node).or_default();
        *done += 1;
        (true, *done >= count)
    }

    /// One recorded task that reads `id` will (`+1`) or no longer will (`-1`) read it.
    pub(crate) fn add_reader(&mut self, id: BlockId, delta: i32) {
        let b = self.get_mut(id);
        b.readers = b.readers.saturating_add_signed(delta);
    }

    /// `id`'s value is resident now.
    pub(crate) fn mark_resident(&mut self, id: BlockId) {
        self.resident.insert(id);
    }

    /// `id`'s value is no longer resident.
    pub(crate) fn mark_gone(&mut self, id: BlockId) {
        self.resident.remove(&id);
    }

    /// Blocks whose value is resident, in record order.
    pub(crate) fn resident(&self) -> impl Iterator<Item = BlockId> + '_ {
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

    /// The spill and exchange objects this run wrote or used: deleted when it completes.
    pub(crate) fn temporary_objects(&self) -> Vec<(BlockKey, ObjectKind)> {
        self.objects
            .iter()
            .filter(|(_, kind)| matches!(kind, ObjectKind::Spill | ObjectKind::Exchange))
            .map(|(k, kind)| (*k, *kind))
            .collect()
    }

    /// The key of block `id` in the shared-buffer ledger.
    pub(crate) fn ledger_key(id: BlockId) -> u64 {
        ((id.node.0 as u64) << 32) | u64::from(id.part)
    }

    /// Whether recomputing some block of `node` may still be needed (so its parents must be
    /// kept). An object of an earlier run is trusted only once it has been read back and
    /// verified.
    pub(crate) fn needs_lineage(&self, node: &Node) -> bool {
        (0..node.blocks()).any(|part| {
            let b = self.get(BlockId::new(node.id, part));
            let verified = b.done || !b.stored_by_earlier_run;
            let trusted_object = b.stored.is_some() && verified;
            let spills_on_eviction = b.value.is_some() && node.policy != Policy::Cache;
            !(trusted_object || spills_on_eviction)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_hold_a_block_until_their_guards_are_dropped() {
        let mut blocks = Blocks::default();
        let id = BlockId::new(NodeId(3), 1);
        assert!(blocks.get(id).pins.is_free());
        let first = blocks.get_mut(id).pins.pin();
        let second = blocks.get_mut(id).pins.pin();
        assert!(!blocks.get(id).pins.is_free());
        drop(first);
        assert!(!blocks.get(id).pins.is_free(), "one pin is left");
        // A task's pins travel with it to a worker thread and are dropped there.
        std::thread::spawn(move || drop(second)).join().unwrap();
        assert!(blocks.get(id).pins.is_free());
    }
}
