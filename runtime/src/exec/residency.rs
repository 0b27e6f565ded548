//! Residency: keeping the charged bytes within the budget. Belady eviction (the resident value
//! whose next planned use is farthest goes first), spill-or-drop of the victim, freeing values
//! the moment nothing can use them, and handing freed memory back to the OS when the heap
//! would otherwise take the process past the budget.
//!
//! Works on the heap bookkeeping (`heap.rs`): a value whose buffers other resident values may
//! share (an Arrow batch derived by replacing one column) is charged only the buffers no
//! resident value holds, and dropping it frees only those no other resident value still holds.
//! The victim choice is [`crate::memory::choose_victim`]'s; the charges are the accountant's.

use super::blocks::Blocks;
use super::executor::Executor;
use super::heap::{Heap, TRIM_AFTER};
use crate::memory::{Candidate, Footprint, choose_victim, release_free_memory};
use crate::plan::{BlockId, Lineage, Policy, Value, ValueOps};
use crate::store::ObjectKind;

impl Executor {
    /// Block `id` now holds `value` (of `footprint`): charge it — its footprint, or, when its
    /// type's buffers can be shared, the bytes of the buffers no resident value held yet.
    /// Returns the charge.
    pub(crate) fn charge_value(
        &mut self,
        id: BlockId,
        ops: &ValueOps,
        value: &Value,
        footprint: Footprint,
    ) -> u64 {
        let (charge, shared) = match ops.buffers {
            Some(list) => {
                let buffers = list(&**value);
                (
                    self.heap.buffers.admit(Blocks::ledger_key(id), &buffers),
                    true,
                )
            }
            None => (footprint.resident, false),
        };
        let b = self.blocks.get_mut(id);
        b.charged = charge;
        b.shared = shared;
        self.services.memory.charge(charge);
        self.heap.allocated(footprint);
        charge
    }

    /// The bytes block `id`'s value frees when it leaves memory (for shared buffers: those no
    /// other resident value holds), taken out of the ledger.
    pub(crate) fn uncharge(heap: &mut Heap, id: BlockId, shared: bool, charged: u64) -> u64 {
        if shared {
            heap.buffers.release(Blocks::ledger_key(id))
        } else {
            charged
        }
    }

    /// What evicting block `id` would free now.
    fn freed_by_evicting(&self, id: BlockId) -> u64 {
        let b = self.blocks.get(id);
        if b.shared {
            self.heap.buffers.freed_if_dropped(Blocks::ledger_key(id))
        } else {
            b.charged
        }
    }

    /// Evict until `extra` more bytes fit (as far as unpinned values allow).
    pub(crate) fn make_room(&mut self, lineage: &Lineage, extra: u64) {
        self.make_room_for(lineage, extra, 0);
    }

    /// [`Executor::make_room`] for `extra` bytes of which `reusable` are expected as small
    /// allocations (malloc serves those from chunks freed earlier before the heap grows).
    pub(crate) fn make_room_for(&mut self, lineage: &Lineage, extra: u64, reusable: u64) {
        while !self.services.memory.fits(extra) {
            let candidates: Vec<Candidate<BlockId>> = self
                .blocks
                .resident()
                .filter_map(|id| {
                    let b = self.blocks.get(id);
                    (b.pins.is_free() && b.value.is_some()).then(|| Candidate {
                        block: id,
                        next_use: self.schedule.next_use(id),
                        bytes: self.freed_by_evicting(id),
                    })
                })
                .collect();
            let Some(victim) = choose_victim(candidates) else {
                break;
            };
            self.evict(lineage, victim.block);
        }
        // Trimming hands freed chunks back to the OS so RSS follows the tracked bytes, but it
        // costs a heap walk and fresh page faults when the memory is reused: trim only when
        // what malloc keeps (small chunks freed and not reused since; large allocations were
        // unmapped when freed) plus what comes next, less what can reuse it, could take the
        // process past the budget.
        // With worker threads, a value freed here may sit in another thread's malloc arena,
        // where the next allocation (on another thread) cannot reuse it: count on no reuse.
        let reusable = if self.config.jobs > 1 { 0 } else { reusable };
        let memory = &self.services.memory;
        let kept = self.heap.freed_since_trim;
        let predicted = memory
            .tracked()
            .saturating_add(kept)
            .saturating_add(extra)
            .saturating_sub(kept.min(reusable));
        if kept >= TRIM_AFTER && predicted > memory.budget().bytes() {
            self.heap.freed_since_trim = 0;
            release_free_memory();
        }
    }

    /// Free block `id`'s value if nothing can use it any more.
    pub(crate) fn release_if_dead(&mut self, lineage: &Lineage, id: BlockId) {
        let Some(n) = lineage.get(id.node) else {
            return;
        };
        let b = self.blocks.get(id);
        let dead = b.value.is_some()
            && b.pins.is_free()
            && b.readers == 0
            && !n.is_live()
            // Targets keep a planned use at the end of the schedule.
            && !self.schedule.is_used(id);
        if dead {
            self.drop_value(id);
        }
    }

    /// Remove the value from memory (the caller made sure it is stored or not needed).
    pub(crate) fn drop_value(&mut self, id: BlockId) {
        let b = self.blocks.get_mut(id);
        if b.value.take().is_some() {
            let (charged, shared, footprint) = (b.charged, b.shared, b.footprint);
            b.charged = 0;
            b.shared = false;
            let bytes = Self::uncharge(&mut self.heap, id, shared, charged);
            self.services.memory.release(bytes);
            self.heap.freed(bytes, footprint);
        }
        self.blocks.mark_gone(id);
    }

    /// Evict a victim: keep it on disk unless it is `cache` (or dead), then drop it.
    fn evict(&mut self, lineage: &Lineage, id: BlockId) {
        let Some(n) = lineage.get(id.node) else {
            return;
        };
        let b = self.blocks.get(id);
        let needs_copy = b.stored.is_none()
            && n.policy != Policy::Cache
            && (n.is_live() || b.readers > 0 || self.schedule.next_use(id) != u64::MAX);
        if needs_copy && let Err(e) = self.write_object(lineage, id, ObjectKind::Spill) {
            let recomputable = n.compute.is_some();
            tracing::warn!(error = %e, recomputable, "spill failed; the value will be recomputed from lineage if needed");
            self.spill_failure = Some(crate::error_chain(&e));
            if !recomputable {
                // Keep it resident: dropping it would lose data. The budget check at the next
                // step reports the pressure.
                return;
            }
        }
        let bytes = self.blocks.get(id).charged;
        self.block_event(lineage, "drop", id, bytes);
        self.drop_value(id);
    }
}
