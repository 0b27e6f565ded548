//! Retired lineage: the recipes of nodes that truncation took out of the DAG (or whose parent
//! edges a durable checkpoint cut), kept so that a checkpoint found corrupt later in the same
//! run can be rebuilt from what is still stored, or from the sources.
//!
//! Owns: one [`Recipe`] per retired node, newest [`RETIRED_CAP`] only (oldest dropped first),
//! so a 100,000-step loop stays bounded in memory. Not responsible for: deciding when to
//! truncate ([`super::Lineage::truncate`]) or re-running anything (the executor asks
//! [`super::Lineage::restore`] and then computes as usual).

use std::collections::BTreeMap;

use super::identity::Salts;
use super::lineage::Node;
use super::partition::ReadRule;
use super::value::{Compute, ValueOps};
use super::{Fingerprint, NodeId, Policy};

/// Retired nodes kept at most; beyond it the oldest recipes are forgotten, and a corrupt
/// checkpoint that needs one of them fails the run with a clear "nothing can rebuild it".
pub(crate) const RETIRED_CAP: usize = 4_096;

/// Everything needed to put a node back into the DAG (no value, no stored object).
pub(crate) struct Recipe {
    pub(crate) name: String,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) policy: Policy,
    pub(crate) since_checkpoint: u32,
    pub(crate) ops: ValueOps,
    pub(crate) parents: Vec<NodeId>,
    pub(crate) lazy_from: usize,
    pub(crate) partitions: u32,
    pub(crate) fanout: u32,
    pub(crate) rule: ReadRule,
    pub(crate) salts: Salts,
    pub(crate) compute: Option<Compute>,
}

impl Recipe {
    /// The recipe of a node leaving the DAG: its fields move, nothing is copied.
    fn from_removed(node: Node) -> Recipe {
        Recipe {
            name: node.name,
            fingerprint: node.fingerprint,
            policy: node.policy,
            since_checkpoint: node.since_checkpoint,
            ops: node.ops,
            parents: node.parents,
            lazy_from: node.lazy_from,
            partitions: node.partitions,
            fanout: node.fanout,
            rule: node.rule,
            salts: node.salts,
            compute: node.compute,
        }
    }

    /// The recipe of a node staying in the DAG whose lineage is cut: its parents and closure
    /// move here (the node loses them anyway), its name is copied.
    fn from_cut(node: &mut Node) -> Recipe {
        Recipe {
            name: node.name.clone(),
            fingerprint: node.fingerprint,
            policy: node.policy,
            since_checkpoint: node.since_checkpoint,
            ops: node.ops,
            parents: std::mem::take(&mut node.parents),
            lazy_from: node.lazy_from,
            partitions: node.partitions,
            fanout: node.fanout,
            rule: node.rule,
            salts: node.salts.clone(),
            compute: node.compute.take(),
        }
    }
}

/// The retired recipes, by node (boxed: the map moves entries as it grows, a recipe is large).
#[derive(Default)]
pub(crate) struct Retired {
    recipes: BTreeMap<NodeId, Box<Recipe>>,
}

impl Retired {
    /// Cut `node`'s lineage (its parents and compute closure are dropped from the DAG), keeping
    /// them here. A node already cut keeps its first entry, which has the closure.
    pub(crate) fn cut(&mut self, node: &mut Node) {
        if node.compute.is_none() && self.recipes.contains_key(&node.id) {
            node.parents.clear();
            return;
        }
        let id = node.id;
        self.insert(id, Recipe::from_cut(node));
    }

    /// Keep the recipe of a node truncation removed from the DAG (its value is released by the
    /// caller first). A node cut earlier keeps that entry, which has the closure.
    pub(crate) fn removed(&mut self, node: Node) {
        if node.compute.is_none() && self.recipes.contains_key(&node.id) {
            return;
        }
        let id = node.id;
        self.insert(id, Recipe::from_removed(node));
    }

    fn insert(&mut self, id: NodeId, recipe: Recipe) {
        self.recipes.insert(id, Box::new(recipe));
        while self.recipes.len() > RETIRED_CAP {
            self.recipes.pop_first();
        }
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Recipe> {
        self.recipes.get(&id).map(|r| &**r)
    }
}
