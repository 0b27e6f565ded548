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
//! ([`Pipeline::refine_estimates`]). A sample can thus under-charge by at most about the slack
//! before the charges are made exact.

use std::any::Any;

use crate::memory::{Footprint, current_rss};
use crate::plan::{NodeId, ValueOps};

use super::pipeline::Pipeline;

/// The least RSS the charges may leave unexplained before estimates are walked exactly.
const MIN_SLACK: u64 = 8 << 20;

impl Pipeline {
    /// The footprint to charge for `value` being admitted now (then call
    /// [`Pipeline::refine_estimates`] once it is charged).
    pub(crate) fn measure(&mut self, ops: &ValueOps, value: &(dyn Any + Send + Sync)) -> Footprint {
        let estimate = (ops.estimate)(value);
        if estimate.is_sampled() {
            self.has_estimates = true;
        }
        estimate
    }

    /// Whether the process's RSS is accounted for: grown since the run started by no more than
    /// the charged bytes, the freed memory malloc may keep, and the slack.
    fn rss_explained(&self) -> bool {
        let budget = self.memory.budget().bytes();
        let accounted = self
            .memory
            .tracked()
            .saturating_add(self.freed_since_trim)
            .saturating_add((budget / 16).max(MIN_SLACK));
        current_rss().saturating_sub(self.rss_at_start) <= accounted
    }

    /// When RSS shows memory the charges do not explain, replace every resident estimate by its
    /// exact footprint. Called after each admission.
    pub(crate) fn refine_estimates(&mut self) {
        if !self.has_estimates || self.rss_explained() {
            return;
        }
        self.has_estimates = false;
        let estimated: Vec<NodeId> = self
            .resident
            .iter()
            .copied()
            .filter(|id| self.is_estimate(*id))
            .collect();
        tracing::debug!(
            values = estimated.len(),
            "RSS exceeds the charged bytes: walking estimated values exactly"
        );
        for id in estimated {
            self.make_exact(id);
        }
    }

    fn is_estimate(&self, id: NodeId) -> bool {
        self.lineage
            .get(id)
            .and_then(|n| n.footprint)
            .is_some_and(|f| f.is_sampled())
    }

    /// Walk `id`'s resident value exactly if its footprint is an estimate; the charge and the
    /// report row follow.
    fn make_exact(&mut self, id: NodeId) {
        let Some(n) = self.lineage.get_mut(id) else {
            return;
        };
        let (Some(footprint), Some(value)) = (n.footprint, n.value.as_ref()) else {
            return;
        };
        if !footprint.is_sampled() {
            return;
        }
        let exact = (n.ops.footprint)(&**value);
        let before = n.charged;
        n.charged = exact.resident;
        n.footprint = Some(exact);
        if exact.resident > before {
            self.memory.charge(exact.resident - before);
        } else {
            self.memory.release(before - exact.resident);
        }
        if let Some(row) = self.rows.get_mut(id.0) {
            row.output_bytes = exact.requested;
            row.output_resident_bytes = exact.resident;
        }
    }
}
