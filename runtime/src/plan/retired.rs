//! Retired lineage: the recipes of nodes that truncation took out of the DAG (or whose parent
//! edges a durable checkpoint cut), kept so that a checkpoint found corrupt later in the same
//! run can be rebuilt from what is still stored, or from the sources.
//!
//! Owns: one [`Recipe`] per retired node, newest [`RETIRED_CAP`] only (oldest dropped first),
//! so a 100,000-step loop stays bounded in memory. Not responsible for: deciding when to
//! truncate ([`super::Lineage::truncate`]) or re-running anything (the executor asks
//! [`super::Lineage::restore`] and then computes as usual).

use std::collections::BTreeMap;

use super::lineage::Node;
use super::value::{Compute, ValueOps};
use super::{Fingerprint, NodeId, Policy};

/// Retired nodes kept at most; beyond it the oldest recipes are forgotten, and a corrupt
/// checkpoint that needs one of them fails the run with a clear "nothing can rebuild it".
pub(crate) const RETIRED_CAP: usize = 16_384;

/// Everything needed to put a node back into the DAG (no value, no stored object).
pub(crate) struct Recipe {
    pub(crate) name: String,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) policy: Policy,
    pub(crate) since_checkpoint: u32,
    pub(crate) ops: ValueOps,
    pub(crate) parents: Vec<NodeId>,
    pub(crate) lazy_from: usize,
    pub(crate) compute: Option<Compute>,
}

impl Recipe {
    fn of(node: &Node) -> Recipe {
        Recipe {
            name: node.name.clone(),
            fingerprint: node.fingerprint,
            policy: node.policy,
            since_checkpoint: node.since_checkpoint,
            ops: node.ops,
            parents: node.parents.clone(),
            lazy_from: node.lazy_from,
            compute: node.compute.clone(),
        }
    }
}

/// The retired recipes, by node.
#[derive(Default)]
pub(crate) struct Retired {
    recipes: BTreeMap<NodeId, Recipe>,
}

impl Retired {
    /// Keep `node`'s recipe before its parents or compute closure are dropped. A node already
    /// retired with its closure keeps that entry (a cut checkpoint later removed from the DAG).
    pub(crate) fn keep(&mut self, node: &Node) {
        if node.compute.is_none() && self.recipes.contains_key(&node.id) {
            return;
        }
        self.recipes.insert(node.id, Recipe::of(node));
        while self.recipes.len() > RETIRED_CAP {
            self.recipes.pop_first();
        }
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Recipe> {
        self.recipes.get(&id)
    }
}
