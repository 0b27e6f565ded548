//! How much an admitted value is charged: a sampled estimate while the run is far from its
//! budget, the exact walk near it.
//!
//! An exact [`crate::memory::MemSize`] walk reads every element of a dataset — for the seed's
//! 2-million-row outputs a pass over ~100 MB after each step, about 5 % of a run with no memory
//! pressure. A sampled estimate (1,024 evenly spaced elements, scaled) costs microseconds and is
//! exact for rows that are alike, but can miss a few outsized elements. So it is used only
//! while both the charged total with it and the process's measured RSS are within half the
//! budget; as soon as either passes half, every resident estimate is replaced by an exact walk
//! ([`Pipeline::refine_estimates`]), and objects are always written with exact figures. The RSS
//! test catches what the sample missed: memory the estimate does not charge still shows there.

use std::any::Any;

use crate::memory::{Footprint, current_rss};
use crate::plan::{NodeId, ValueOps};

use super::pipeline::Pipeline;

impl Pipeline {
    /// The footprint to charge for `value` being admitted now.
    pub(crate) fn measure(&mut self, ops: &ValueOps, value: &(dyn Any + Send + Sync)) -> Footprint {
        let estimate = (ops.estimate)(value);
        if !estimate.is_sampled() {
            return estimate; // every element was walked: it is exact
        }
        if self.far_from_budget(estimate.resident) {
            self.has_estimates = true;
            estimate
        } else {
            (ops.footprint)(value)
        }
    }

    /// Whether `extra` more charged bytes keep the charged total, and the process's RSS,
    /// within half the budget.
    fn far_from_budget(&self, extra: u64) -> bool {
        let half = self.memory.budget().bytes() / 2;
        self.memory.tracked().saturating_add(extra) <= half && current_rss() <= half
    }

    /// Near the budget (past half of it, charged or measured), replace every resident estimate
    /// by its exact footprint. Called after each admission.
    pub(crate) fn refine_estimates(&mut self) {
        if !self.has_estimates || self.far_from_budget(0) {
            return;
        }
        self.has_estimates = false;
        let estimated: Vec<NodeId> = self
            .resident
            .iter()
            .copied()
            .filter(|id| self.is_estimate(*id))
            .collect();
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
    /// report row follow. Returns the (now exact) footprint.
    pub(crate) fn make_exact(&mut self, id: NodeId) -> Option<Footprint> {
        let n = self.lineage.get_mut(id)?;
        let footprint = n.footprint?;
        if !footprint.is_sampled() {
            return Some(footprint);
        }
        let exact = (n.ops.footprint)(&**n.value.as_ref()?);
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
        tracing::debug!(
            node = id.0,
            estimated = footprint.resident,
            exact = exact.resident,
            "estimate replaced by an exact walk"
        );
        Some(exact)
    }
}
