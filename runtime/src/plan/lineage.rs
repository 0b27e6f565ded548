//! The lineage DAG: recorded nodes, their parents, and truncation.
//!
//! Owns the recorded nodes: each one's recipe (name, fingerprint, policy, parents, compute
//! closure) and its graph state (live handles, pending children, sink, done). Not the run state
//! of a node's value — resident or stored, charged bytes, pins: that is the executor's block
//! table (`exec/blocks.rs`).
//!
//! Nodes live in a map keyed by [`NodeId`] so truncated ones are really freed (a 100,000-step
//! loop keeps only the nodes still reachable). A node is kept while a handle to it is alive, it
//! is an unfinished sink, or a kept node still needs it as lineage (which the executor decides:
//! a node needs its lineage while it has neither a trusted stored object nor a resident value
//! that eviction would spill).

use std::collections::HashSet;

use rustc_hash::FxHashMap;
use std::sync::Weak;

use super::recipe::Recipe;
use super::retired::{RETIRED_CAP, Retired};
use super::{Fingerprint, NodeId};

/// One recorded step invocation: its [`Recipe`] and its graph state. Field access reaches the
/// recipe's fields through `Deref` (`node.name`, `node.parents`).
pub(crate) struct Node {
    pub(crate) id: NodeId,
    pub(crate) recipe: Recipe,
    pub(crate) live: Weak<()>,
    /// Recorded children whose output does not exist yet.
    pub(crate) pending_children: u32,
    pub(crate) sink: bool,
    /// The output has existed (computed or loaded) in this run.
    pub(crate) done: bool,
}

impl std::ops::Deref for Node {
    type Target = Recipe;
    fn deref(&self) -> &Recipe {
        &self.recipe
    }
}

impl std::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Recipe {
        &mut self.recipe
    }
}

impl Node {
    /// A node made from `recipe`, not run yet.
    pub(crate) fn fresh(id: NodeId, recipe: Recipe, live: Weak<()>, sink: bool) -> Node {
        Node {
            id,
            recipe,
            live,
            pending_children: 0,
            sink,
            done: false,
        }
    }

    pub(crate) fn is_live(&self) -> bool {
        self.live.strong_count() > 0
    }
}

/// The DAG of one run.
#[derive(Default)]
pub(crate) struct Lineage {
    nodes: FxHashMap<NodeId, Node>,
    next_id: usize,
    /// Recipes of nodes truncation removed or cut, for rebuilding a corrupt checkpoint.
    retired: Retired,
}

impl Lineage {
    pub(crate) fn next_id(&mut self) -> NodeId {
        let id = NodeId(self.next_id);
        self.next_id += 1;
        id
    }

    pub(crate) fn insert(&mut self, node: Node) {
        for parent in &node.parents {
            if let Some(p) = self.nodes.get_mut(parent) {
                p.pending_children += 1;
            }
        }
        self.nodes.insert(node.id, node);
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// Give `id` its final fingerprint (content-addressed nodes learn theirs when execution
    /// starts).
    pub(crate) fn set_fingerprint(&mut self, id: NodeId, fingerprint: Fingerprint) {
        if let Some(n) = self.nodes.get_mut(&id) {
            n.fingerprint = fingerprint;
        }
    }

    /// Mark `id`'s output as existing for the first time: its parents have one pending child
    /// fewer.
    pub(crate) fn mark_done(&mut self, id: NodeId) {
        let parents = match self.nodes.get_mut(&id) {
            Some(n) if !n.done => {
                n.done = true;
                n.parents.clone()
            }
            _ => return,
        };
        for p in parents {
            if let Some(p) = self.nodes.get_mut(&p) {
                p.pending_children = p.pending_children.saturating_sub(1);
            }
        }
    }

    /// A durable checkpoint: the node no longer needs its parents (its recipe is retired).
    pub(crate) fn cut(&mut self, id: NodeId) {
        if let Some(n) = self.nodes.get_mut(&id) {
            self.retired.cut(id, &mut n.recipe);
        }
    }

    /// Give `id` (in the DAG, its lineage cut) its compute closure and parents back from the
    /// retired recipes, re-inserting parents that truncation removed (without values; they are
    /// loaded from the store or computed, restoring their own parents the same way, when the
    /// executor needs them). Returns the parents put back, or why not when a recipe is gone.
    pub(crate) fn restore(&mut self, id: NodeId) -> Result<Vec<NodeId>, String> {
        let recipe = self
            .retired
            .get(id)
            .ok_or("the steps it was computed from are no longer known to this run")?;
        let compute = recipe
            .compute
            .clone()
            .ok_or("its lineage was cut before this run knew it")?;
        let parents = recipe.parents.clone();
        let missing = parents
            .iter()
            .find(|p| !self.nodes.contains_key(p) && self.retired.get(**p).is_none());
        if let Some(p) = missing {
            return Err(format!(
                "the recipe of its input step #{} was forgotten (more than {} steps ago)",
                p.0, RETIRED_CAP
            ));
        }
        let mut returned = Vec::new();
        for p in &parents {
            if self.nodes.contains_key(p) {
                continue;
            }
            let Some(r) = self.retired.get(*p) else {
                continue;
            };
            // Parents come back lazily: restored themselves when they must be computed.
            let node = Node::fresh(*p, r.without_lineage(), Weak::new(), false);
            self.nodes.insert(*p, node);
            returned.push(*p);
        }
        let lazy_from = self.retired.get(id).map_or(0, |r| r.lazy_from);
        if let Some(n) = self.nodes.get_mut(&id) {
            n.compute = Some(compute);
            n.parents = parents;
            n.lazy_from = lazy_from;
        }
        Ok(returned)
    }

    /// Truncate: remove every node that no root can reach through nodes that need lineage (as
    /// `needs_lineage` says), and cut the parent edges (and compute closures) of kept nodes whose
    /// parents were removed. `release` sees each removed node first (to release its value);
    /// then its recipe is retired.
    pub(crate) fn truncate(
        &mut self,
        extra_roots: &[NodeId],
        needs_lineage: impl Fn(&Node) -> bool,
        mut release: impl FnMut(&Node),
    ) {
        let mut keep: HashSet<NodeId> = HashSet::new();
        let mut stack: Vec<NodeId> = Vec::new();
        for n in self.nodes.values() {
            if n.is_live() || (n.sink && !n.done) {
                stack.push(n.id);
            }
        }
        stack.extend(
            extra_roots
                .iter()
                .copied()
                .filter(|id| self.nodes.contains_key(id)),
        );
        while let Some(id) = stack.pop() {
            if !keep.insert(id) {
                continue;
            }
            if let Some(n) = self.nodes.get(&id)
                && needs_lineage(n)
            {
                stack.extend(n.parents.iter().copied().filter(|p| !keep.contains(p)));
            }
        }
        let removed_ids: Vec<NodeId> = self
            .nodes
            .keys()
            .copied()
            .filter(|id| !keep.contains(id))
            .collect();
        let mut removed = Vec::with_capacity(removed_ids.len());
        for id in removed_ids {
            if let Some(node) = self.nodes.remove(&id) {
                removed.push(node);
            }
        }
        if !removed.is_empty() {
            for n in self.nodes.values_mut() {
                if n.parents.iter().any(|p| !keep.contains(p)) {
                    self.retired.cut(n.id, &mut n.recipe);
                }
            }
            // Removed nodes that never produced output no longer hold their parents back.
            for n in &removed {
                if !n.done {
                    for p in &n.parents {
                        if let Some(p) = self.nodes.get_mut(p) {
                            p.pending_children = p.pending_children.saturating_sub(1);
                        }
                    }
                }
            }
        }
        for node in removed {
            release(&node);
            self.retired.removed(node.id, node.recipe);
        }
    }
}
