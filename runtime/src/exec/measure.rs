//! How much an admitted value is charged: a sampled estimate, replaced by exact walks as soon as
//! the process's RSS shows memory the charges do not explain.
//!
//! An exact [`crate::memory::MemSize`] walk reads every element of a dataset — for the seed's
//! 2-million-row outputs a pass over ~100 MB after each step: 5 % of a run with no memory
//! pressure and 7 % of the quota run (perf). A sampled estimate (1,024 evenly spaced elements,
//! scaled) costs microseconds and is exact for rows that are alike, but can miss a few outsized
//! elements. The check is the quota's own measure: after each admission the runtime compares
//! the RSS grown since the run started with what it accounts for — the charged bytes plus the
//! freed memory malloc may still keep — and when RSS exceeds that by more than a slack
//! (1/16 of the budget, at least 8 MiB) every resident estimate is walked exactly
//! ([`Executor::refine_estimates`]). A sample can thus under-charge by at most about the slack
//! before the charges are made exact.

use std::any::Any;

use super::executor::Executor;
use crate::memory::{Footprint, current_rss};
use crate::plan::{BlockId, ValueOps};

/// The least RSS the charges may leave unexplained before estimates are walked exactly.
const MIN_SLACK: u64 = 8 << 20;

impl Executor {
    /// The footprint to charge for `value` being admitted now (then call
    /// [`Executor::refine_estimates`] once it is charged).
    pub(crate) fn measure(&mut self, ops: &ValueOps, value: &(dyn Any + Send + Sync)) -> Footprint {
        let estimate = (ops.estimate)(value);
        if estimate.is_sampled() {
            self.heap.has_estimates = true;
        }
        estimate
    }

    /// Whether the process's RSS is accounted for: grown since the run started by no more than
    /// the charged bytes, the freed memory malloc may keep, and the slack.
    fn rss_explained(&self) -> bool {
        let memory = &self.services.memory;
        let budget = memory.budget().bytes();
        let accounted = memory
            .tracked()
            .saturating_add(self.heap.freed_since_trim)
            .saturating_add((budget / 16).max(MIN_SLACK));
        current_rss().saturating_sub(self.heap.rss_at_start) <= accounted
    }

    /// When RSS shows memory the charges do not explain, replace every resident estimate by its
    /// exact footprint. Called after each admission. `ops_of` gives a resident node's value
    /// operations (from the lineage).
    pub(crate) fn refine_estimates(&mut self, ops_of: impl Fn(BlockId) -> Option<ValueOps>) {
        if !self.heap.has_estimates || self.rss_explained() {
            return;
        }
        self.heap.has_estimates = false;
        let estimated: Vec<BlockId> = self
            .blocks
            .resident()
            .filter(|id| {
                self.blocks
                    .get(*id)
                    .footprint
                    .is_some_and(|f| f.is_sampled())
            })
            .collect();
        tracing::debug!(
            values = estimated.len(),
            "RSS exceeds the charged bytes: walking estimated values exactly"
        );
        for id in estimated {
            if let Some(ops) = ops_of(id) {
                self.make_exact(id, &ops);
            }
        }
    }

    /// Walk `id`'s resident value exactly if its footprint is an estimate; the charge and the
    /// report row follow.
    fn make_exact(&mut self, id: BlockId, ops: &ValueOps) {
        let b = self.blocks.get_mut(id);
        let (Some(footprint), Some(value)) = (b.footprint, b.value.as_ref()) else {
            return;
        };
        // A shared-buffer charge is exact already (the buffers' sizes).
        if !footprint.is_sampled() || b.shared {
            return;
        }
        let exact = (ops.footprint)(&**value);
        let before = b.charged;
        b.charged = exact.resident;
        b.footprint = Some(exact);
        let memory = &self.services.memory;
        if exact.resident > before {
            memory.charge(exact.resident - before);
        } else {
            memory.release(before - exact.resident);
        }
        let event = crate::report::StepEvent::Remeasured {
            estimate: footprint,
            exact,
        };
        self.services.log.record(id.node.0, event);
    }
}
