//! The scheduler: plan what the targets need, run it in order, keep the charged bytes within
//! the budget (Belady eviction), free values the moment nothing needs them, truncate lineage.

use std::collections::{HashMap, HashSet, VecDeque};

use super::ExecError;
use super::pipeline::Pipeline;
use crate::memory::{Candidate, Footprint, choose_victim, release_free_memory};
use crate::plan::{NodeId, Policy};
use crate::store::ObjectKind;

/// Freed bytes after which memory is handed back to the OS.
const TRIM_AFTER: u64 = 8 << 20;

impl Pipeline {
    /// Make the values of `targets` exist (resident or stored), computing only what is needed.
    pub(crate) fn materialize(&mut self, targets: &[NodeId]) -> crate::Result<()> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.resolve_pending()?;
        let schedule = self.plan(targets)?;
        self.progress.planned(schedule.len() as u64);
        self.uses = planned_uses(self, &schedule, targets);
        let result = self.run_schedule(&schedule);
        self.uses.clear();
        result?;
        self.truncate(targets);
        Ok(())
    }

    /// Materialize pending checkpoints (keeps the DAG bounded in very long loops).
    pub(crate) fn flush_checkpoints(&mut self) -> crate::Result<()> {
        let targets: Vec<NodeId> = self
            .lineage
            .nodes()
            .filter(|n| {
                n.policy == Policy::Checkpoint && !n.done && (n.is_live() || n.pending_children > 0)
            })
            .map(|n| n.id)
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let mut sorted = targets;
        sorted.sort();
        self.materialize(&sorted)
    }

    fn run_schedule(&mut self, schedule: &[NodeId]) -> crate::Result<()> {
        if self.config.jobs > 1 && schedule.len() > 1 {
            return self.run_parallel(schedule);
        }
        for (pos, &id) in schedule.iter().enumerate() {
            self.check_stop()?;
            // Parents before computing: a checkpoint cuts its lineage as soon as it is durable.
            let parents = self
                .lineage
                .get(id)
                .map(|n| n.parents.clone())
                .unwrap_or_default();
            if !self.is_present(id) {
                self.compute_node(id)?;
            }
            self.after_step(pos, id, &parents);
        }
        Ok(())
    }

    /// A safe point: fail with [`ExecError::Interrupted`] when SIGINT / SIGTERM asked the run to
    /// stop (nothing is half-done here: no step runs, no object is being written).
    pub(crate) fn check_stop(&self) -> crate::Result<()> {
        match super::interrupt::requested() {
            Some(signal) => Err(ExecError::Interrupted { signal }.into()),
            None => Ok(()),
        }
    }

    /// The value exists now (resident or stored).
    pub(crate) fn is_present(&self, id: NodeId) -> bool {
        self.lineage
            .get(id)
            .is_some_and(|n| n.value.is_some() || n.stored.is_some())
    }

    /// Bookkeeping once the node at schedule position `pos` is done: its parents' uses are
    /// consumed, dead values freed, the budget restored.
    pub(crate) fn after_step(&mut self, pos: usize, id: NodeId, parents: &[NodeId]) {
        for p in dedup(parents) {
            if let Some(uses) = self.uses.get_mut(&p) {
                while uses.front().is_some_and(|u| *u <= pos as u64) {
                    uses.pop_front();
                }
            }
            self.release_if_dead(p);
        }
        self.release_if_dead(id);
        self.make_room(0);
        self.memory.sample();
        if self.progress.is_shown() {
            let step = self
                .lineage
                .get(id)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            self.progress.step_done(crate::report::StepProgress {
                step: &step,
                tracked: self.memory.tracked(),
                budget: self.memory.budget().bytes(),
                spilled: self.totals.spilled_bytes,
            });
        }
    }

    /// Nodes to compute for `targets`, parents first. A node with a resident value or a valid
    /// stored object (of this run, or of an earlier one unless `--fresh`) is a leaf: its
    /// ancestors are not planned.
    fn plan(&mut self, targets: &[NodeId]) -> crate::Result<Vec<NodeId>> {
        let mut order = Vec::new();
        let mut seen: HashSet<NodeId> = HashSet::new();
        let mut stack: Vec<(NodeId, bool)> = targets.iter().rev().map(|t| (*t, false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                order.push(id);
                continue;
            }
            if !seen.insert(id) {
                continue;
            }
            if self.lineage.get(id).is_none() {
                return Err(ExecError::UnknownOutput(id.0).into());
            }
            if self.is_available(id) {
                continue;
            }
            let parents = self
                .lineage
                .get(id)
                .map(|n| n.parents.clone())
                .unwrap_or_default();
            stack.push((id, true));
            for p in parents.into_iter().rev() {
                if !seen.contains(&p) {
                    stack.push((p, false));
                }
            }
        }
        Ok(order)
    }

    fn is_available(&mut self, id: NodeId) -> bool {
        match self.lineage.get(id) {
            Some(n) if n.value.is_some() || n.stored.is_some() => true,
            Some(_) => self.probe_earlier(id),
            None => false,
        }
    }

    pub(crate) fn pin_inputs(&mut self, inputs: &[NodeId]) -> crate::Result<Vec<NodeId>> {
        let mut pinned = Vec::with_capacity(inputs.len());
        for &p in inputs {
            if let Err(e) = self.ensure_resident(p) {
                self.unpin(&pinned);
                return Err(e);
            }
            if let Some(n) = self.lineage.get_mut(p) {
                n.pins += 1;
                pinned.push(p);
            }
        }
        Ok(pinned)
    }

    pub(crate) fn unpin(&mut self, pinned: &[NodeId]) {
        for p in pinned {
            if let Some(n) = self.lineage.get_mut(*p) {
                n.pins = n.pins.saturating_sub(1);
            }
        }
    }

    /// Make `id`'s value resident: it is, or load its object, or recompute it from lineage.
    pub(crate) fn ensure_resident(&mut self, id: NodeId) -> crate::Result<()> {
        let Some(node) = self.lineage.get(id) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        if node.value.is_some() {
            return Ok(());
        }
        if node.stored.is_some() || (!node.probed && self.probe_earlier(id)) {
            match self.load(id) {
                Ok(()) => return Ok(()),
                Err(why) => self.forget_object(id, &why),
            }
        }
        self.compute_node(id)
    }

    /// Evict until `extra` more bytes fit (as far as unpinned values allow).
    pub(crate) fn make_room(&mut self, extra: u64) {
        self.make_room_for(extra, 0);
    }

    /// [`Pipeline::make_room`] for `extra` bytes of which `reusable` are expected as small
    /// allocations (malloc serves those from chunks freed earlier before the heap grows).
    pub(crate) fn make_room_for(&mut self, extra: u64, reusable: u64) {
        while !self.memory.fits(extra) {
            let candidates: Vec<Candidate> = self
                .resident
                .iter()
                .filter_map(|id| self.lineage.get(*id))
                .filter(|n| n.pins == 0 && n.value.is_some())
                .map(|n| Candidate {
                    node: n.id,
                    next_use: self.next_use(n.id),
                    bytes: n.charged,
                })
                .collect();
            let Some(victim) = choose_victim(candidates) else {
                break;
            };
            self.evict(victim.node);
        }
        // Trimming hands freed chunks back to the OS so RSS follows the tracked bytes, but it
        // costs a heap walk and fresh page faults when the memory is reused: trim only when
        // what malloc keeps (small chunks freed and not reused since; large allocations were
        // unmapped when freed) plus what comes next, less what can reuse it, could take the
        // process past the budget.
        let kept = self.freed_since_trim;
        let predicted = self
            .memory
            .tracked()
            .saturating_add(kept)
            .saturating_add(extra)
            .saturating_sub(kept.min(reusable));
        if kept >= TRIM_AFTER && predicted > self.memory.budget().bytes() {
            self.freed_since_trim = 0;
            release_free_memory();
        }
    }

    fn next_use(&self, id: NodeId) -> u64 {
        match self.uses.get(&id).and_then(|u| u.front()) {
            Some(pos) => *pos,
            None => u64::MAX,
        }
    }

    /// Free `id`'s value if nothing can use it any more.
    fn release_if_dead(&mut self, id: NodeId) {
        let dead = self.lineage.get(id).is_some_and(|n| {
            n.value.is_some()
                && n.pins == 0
                && n.pending_children == 0
                && !n.is_live()
                // Targets keep a planned use at the end of the schedule.
                && self.uses.get(&id).is_none_or(VecDeque::is_empty)
        });
        if dead {
            self.drop_value(id);
        }
    }

    /// Remove the value from memory (the caller made sure it is stored or not needed).
    pub(crate) fn drop_value(&mut self, id: NodeId) {
        if let Some(n) = self.lineage.get_mut(id)
            && n.value.take().is_some()
        {
            let bytes = n.charged;
            n.charged = 0;
            self.memory.release(bytes);
            self.freed_since_trim += small_part(bytes, n.footprint);
        }
        self.resident.remove(&id);
    }

    /// Evict a victim: keep it on disk unless it is `cache` (or dead), then drop it.
    fn evict(&mut self, id: NodeId) {
        let Some(n) = self.lineage.get(id) else {
            return;
        };
        let needs_copy = n.stored.is_none()
            && n.policy != Policy::Cache
            && (n.is_live() || n.pending_children > 0 || self.next_use(id) != u64::MAX);
        if needs_copy && let Err(e) = self.write_object(id, ObjectKind::Spill) {
            let recomputable = self.lineage.get(id).is_some_and(|n| n.compute.is_some());
            tracing::warn!(error = %e, recomputable, "spill failed; the value will be recomputed from lineage if needed");
            if !recomputable {
                // Keep it resident: dropping it would lose data. The budget check at the next
                // step reports the pressure.
                return;
            }
        }
        let seq = id.0;
        let (name, bytes) = self
            .lineage
            .get(id)
            .map(|n| (n.name.clone(), n.charged))
            .unwrap_or_default();
        self.event("drop", &name, seq, bytes);
        self.drop_value(id);
    }

    /// Truncate lineage after a materialization.
    fn truncate(&mut self, keep: &[NodeId]) {
        self.lineage.truncate(keep, |node| {
            self.rows.finish(node.id.0);
            if node.value.is_some() {
                self.memory.release(node.charged);
                self.freed_since_trim += small_part(node.charged, node.footprint);
            }
            self.resident.remove(&node.id);
        });
    }
}

impl Pipeline {
    /// A value of `footprint` was just allocated: its small allocations came out of what malloc
    /// kept from earlier frees first.
    pub(crate) fn note_allocated(&mut self, footprint: Footprint) {
        let small = small_part(footprint.resident, Some(footprint));
        self.freed_since_trim = self.freed_since_trim.saturating_sub(small);
    }
}

/// Of `charged` bytes, those in small allocations (what malloc keeps in its free lists when
/// they are freed, and can serve small requests from); large ones are `mmap`ed.
pub(crate) fn small_part(charged: u64, footprint: Option<Footprint>) -> u64 {
    charged.saturating_sub(footprint.map_or(0, |f| f.mapped))
}

pub(crate) fn dedup(ids: &[NodeId]) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

fn planned_uses(
    p: &Pipeline,
    schedule: &[NodeId],
    targets: &[NodeId],
) -> HashMap<NodeId, VecDeque<u64>> {
    let mut uses: HashMap<NodeId, VecDeque<u64>> = HashMap::new();
    for (pos, id) in schedule.iter().enumerate() {
        if let Some(n) = p.lineage.get(*id) {
            for parent in dedup(&n.parents) {
                uses.entry(parent).or_default().push_back(pos as u64);
            }
        }
    }
    let end = schedule.len() as u64;
    for t in targets {
        uses.entry(*t).or_default().push_back(end);
    }
    uses
}
