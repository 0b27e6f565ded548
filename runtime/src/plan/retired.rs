//! Retired lineage: the recipes of nodes that truncation took out of the DAG (or whose parent
//! edges a durable checkpoint cut), kept so that a checkpoint found corrupt later in the same
//! run can be rebuilt from what is still stored, or from the sources.
//!
//! Owns: one [`Recipe`] per retired node, newest [`RETIRED_CAP`] only (oldest dropped first),
//! so a 100,000-step loop stays bounded in memory. Not responsible for: deciding when to
//! truncate ([`super::Lineage::truncate`]) or re-running anything (the executor asks
//! [`super::Lineage::restore`] and then computes as usual).

use std::collections::BTreeMap;

use super::NodeId;
use super::recipe::Recipe;

/// Retired nodes kept at most; beyond it the oldest recipes are forgotten, and a corrupt
/// checkpoint that needs one of them fails the run with a clear "nothing can rebuild it".
pub(crate) const RETIRED_CAP: usize = 4_096;

/// The retired recipes, by node (boxed: the map moves entries as it grows, a recipe is large).
#[derive(Default)]
pub(crate) struct Retired {
    recipes: BTreeMap<NodeId, Box<Recipe>>,
}

impl Retired {
    /// Cut the lineage of node `id` (its parents and compute closure leave its `recipe`),
    /// keeping them here. A node already cut keeps its first entry, which has the closure.
    pub(crate) fn cut(&mut self, id: NodeId, recipe: &mut Recipe) {
        if recipe.compute.is_none() && self.recipes.contains_key(&id) {
            recipe.parents.clear();
            return;
        }
        self.insert(id, recipe.take_lineage());
    }

    /// Keep the recipe of node `id`, which truncation removed from the DAG (its value is
    /// released by the caller first). A node cut earlier keeps that entry, which has the
    /// closure.
    pub(crate) fn removed(&mut self, id: NodeId, recipe: Recipe) {
        if recipe.compute.is_none() && self.recipes.contains_key(&id) {
            return;
        }
        self.insert(id, recipe);
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
