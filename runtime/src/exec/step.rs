//! One task's life up to its body: prepare (inputs resident and pinned, lazy inputs ready,
//! budget checked, room made) and run the body (on this thread or a worker). What follows —
//! admitting the output — is `admit.rs`.
//!
//! A [`Prepared`] task owns everything its body needs, so it can move to a worker thread that
//! sees only the store and the accountant.

use std::time::Instant;

use super::ExecError;
use super::admit::Finished;
use super::executor::Executor;
use super::lazy::{LazyLoad, StoreSource};
use super::panics::{Caught, catch_step};
use super::residency::small_part;
use crate::memory::Accountant;
use crate::plan::{Args, BoxError, Compute, LazySlot, Lineage, NodeId, Value, dedup};
use crate::store::Store;

/// A step ready to run: everything its body needs, owned, so it can move to a worker.
pub(crate) struct Prepared {
    pub(crate) id: NodeId,
    pub(crate) name: String,
    pub(crate) seq: usize,
    pub(crate) compute: Compute,
    pub(crate) values: Vec<Value>,
    pub(crate) lazy: Vec<NodeId>,
    pub(crate) slots: Vec<LazySlot>,
    pub(crate) objects: Vec<Option<(crate::store::ObjectInfo, crate::plan::ValueOps)>>,
    pub(crate) pinned: Vec<NodeId>,
    pub(crate) inputs_bytes: u64,
    /// Bytes charged for the output while the step runs (released when it finishes).
    pub(crate) reserved: u64,
    /// A source step no earlier output tells the size of: it must run alone.
    pub(crate) size_unknown: bool,
}

/// What running a prepared step produced.
pub(crate) struct Ran {
    /// The body's result, or where and why it panicked.
    pub(crate) result: Result<Result<Value, BoxError>, Caught>,
    pub(crate) seconds: f64,
    pub(crate) loads: Vec<LazyLoad>,
}

impl Prepared {
    /// Run the body. Needs only the store and the accountant (for lazy inputs).
    pub(crate) fn run(&self, store: &Store, memory: &Accountant) -> Ran {
        let source = StoreSource::new(store, memory, self.objects.clone());
        let started = Instant::now();
        let result = {
            let _span = tracing::info_span!("step", name = %self.name, seq = self.seq).entered();
            catch_step(|| {
                (self.compute)(&Args {
                    step: &self.name,
                    values: &self.values,
                    lazy: &self.slots,
                    source: Some(&source),
                })
            })
        };
        Ran {
            result,
            seconds: started.elapsed().as_secs_f64(),
            loads: source.into_loads(),
        }
    }
}

impl Executor {
    /// Compute `id` now on this thread (again, when a lazy input turned out corrupt and was
    /// rebuilt: see [`Finished::Retry`]).
    pub(crate) fn compute_node(&mut self, lineage: &mut Lineage, id: NodeId) -> crate::Result<()> {
        let mut retries = 0usize;
        loop {
            self.check_stop()?;
            let prepared = self
                .prepare(lineage, id, true)?
                .ok_or(ExecError::UnknownOutput(id.0))?;
            let ran = prepared.run(&self.services.store, &self.services.memory);
            match self.finish(lineage, prepared, ran, &mut retries)? {
                Finished::Done => return Ok(()),
                Finished::Retry => continue,
            }
        }
    }

    /// Prepare `id` to run. With `force` false, returns `Ok(None)` (and holds nothing) when the
    /// step's inputs and output estimate do not fit now — the caller waits for running steps.
    pub(crate) fn prepare(
        &mut self,
        lineage: &mut Lineage,
        id: NodeId,
        force: bool,
    ) -> crate::Result<Option<Prepared>> {
        self.restore_lineage(lineage, id)?;
        let Some(n) = lineage.get(id) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        let b = self.blocks.get(id);
        // What the output will cost: known from an earlier computation or object of this node,
        // else from the last output of a step with the same name. Of it, small allocations can
        // reuse memory malloc kept from earlier frees (an object's header does not tell, so none
        // is assumed then).
        let measured = b
            .footprint
            .or_else(|| self.output_history.get(&n.name).copied());
        let hint = b
            .footprint
            .map(|f| f.resident)
            .or(b.stored.as_ref().map(|s| s.footprint.resident))
            .or(measured.map(|f| f.resident));
        let reusable = match (b.footprint, &b.stored, measured) {
            (None, Some(_), _) | (_, _, None) => 0,
            (_, _, Some(f)) => small_part(f.resident, Some(f)),
        };
        let (name, seq, parents, lazy_from) =
            (n.name.clone(), id.0, n.parents.clone(), n.lazy_from);
        let Some(compute) = n.compute.clone() else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        let (eager, lazy) = parents.split_at(lazy_from.min(parents.len()));
        let distinct = dedup(eager);
        if !force {
            // Other steps are running and hold their inputs: admit this one only if what it
            // will load and produce fits now, before loading anything. A source step whose
            // output size nobody knows yet (no inputs to estimate from) waits to run alone.
            if hint.is_none() && parents.is_empty() {
                return Ok(None);
            }
            let need = self.admission_need(&distinct, lazy, hint);
            self.make_room_for(lineage, need, reusable);
            if !self.services.memory.fits(need) {
                return Ok(None);
            }
        }
        // Inputs whose sizes are known (resident, or stored with their footprint) that cannot
        // fit together fail the step before anything is loaded.
        let known_inputs: u64 = distinct
            .iter()
            .map(|p| self.blocks.get(*p).known_size())
            .sum();
        let budget = self.services.memory.budget().bytes();
        if known_inputs > budget {
            return Err(self.too_large(seq, name, known_inputs));
        }
        let mut pinned = self.pin_inputs(lineage, &distinct)?;
        let lazy_largest = match self.prepare_lazy(lineage, lazy, &mut pinned) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.unpin(&pinned);
                return Err(e);
            }
        };
        let charged: u64 = distinct.iter().map(|p| self.blocks.get(*p).charged).sum();
        let inputs_bytes = charged + lazy_largest;
        if inputs_bytes > budget {
            self.unpin(&pinned);
            return Err(self.too_large(seq, name, inputs_bytes));
        }
        // Unknown output size: guess the eager inputs' size (lazy inputs are read, not copied).
        let estimate = hint.unwrap_or(charged).min(budget - inputs_bytes);
        self.make_room_for(lineage, estimate + lazy_largest, reusable);
        if !force && !self.services.memory.fits(estimate + lazy_largest) {
            self.unpin(&pinned);
            return Ok(None);
        }
        self.services.memory.charge(estimate);
        let values = eager
            .iter()
            .filter_map(|p| self.blocks.get(*p).value.clone())
            .collect();
        let (slots, objects) = self.lazy_slots(lineage, lazy);
        Ok(Some(Prepared {
            id,
            name,
            seq,
            compute,
            values,
            lazy: lazy.to_vec(),
            slots,
            objects,
            pinned,
            inputs_bytes,
            reserved: estimate,
            size_unknown: hint.is_none() && parents.is_empty(),
        }))
    }

    /// Step `seq`'s inputs alone exceed the budget: its row fails, and the error says so.
    fn too_large(&mut self, seq: usize, step: String, inputs_bytes: u64) -> crate::Error {
        self.services.log.fail(seq, "inputs do not fit the budget");
        ExecError::StepTooLarge {
            step,
            inputs_bytes,
            output_bytes: None,
            budget_bytes: self.services.memory.budget().bytes(),
        }
        .into()
    }

    /// Make each input resident and pin it for the running step.
    pub(crate) fn pin_inputs(
        &mut self,
        lineage: &mut Lineage,
        inputs: &[NodeId],
    ) -> crate::Result<Vec<NodeId>> {
        let mut pinned = Vec::with_capacity(inputs.len());
        for &p in inputs {
            if let Err(e) = self.ensure_resident(lineage, p) {
                self.unpin(&pinned);
                return Err(e);
            }
            if lineage.get(p).is_some() {
                self.blocks.get_mut(p).pins += 1;
                pinned.push(p);
            }
        }
        Ok(pinned)
    }

    /// Release the pins of a step that ended.
    pub(crate) fn unpin(&mut self, pinned: &[NodeId]) {
        for p in pinned {
            let b = self.blocks.get_mut(*p);
            b.pins = b.pins.saturating_sub(1);
        }
    }

    /// Make `id`'s value resident: it is, or load its object, or recompute it from lineage.
    pub(crate) fn ensure_resident(
        &mut self,
        lineage: &mut Lineage,
        id: NodeId,
    ) -> crate::Result<()> {
        if lineage.get(id).is_none() {
            return Err(ExecError::UnknownOutput(id.0).into());
        }
        let b = self.blocks.get(id);
        if b.value.is_some() {
            return Ok(());
        }
        if b.stored.is_some() || (!b.probed && self.probe_earlier(lineage, id)) {
            match self.load(lineage, id) {
                Ok(()) => return Ok(()),
                Err(why) => self.forget_object(lineage, id, &why),
            }
        }
        self.compute_node(lineage, id)
    }

    /// A node to compute whose lineage a durable checkpoint cut (its object turned out
    /// unreadable): put its recipe and missing parents back, or fail saying nothing can rebuild
    /// it.
    fn restore_lineage(&mut self, lineage: &mut Lineage, id: NodeId) -> crate::Result<()> {
        let Some(node) = lineage.get(id) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        if node.compute.is_some() {
            return Ok(());
        }
        let (name, seq) = (node.name.clone(), id.0);
        let log = &mut self.services.log;
        match lineage.restore(id) {
            Ok(_) => {
                log.reopen_row(seq);
                log.event("restore", &name, seq, 0);
                Ok(())
            }
            Err(why) => {
                log.fail(
                    seq,
                    "its stored object is unreadable and nothing can rebuild it",
                );
                Err(ExecError::Lost {
                    step: name,
                    seq,
                    why,
                }
                .into())
            }
        }
    }

    /// Bytes a step will add when it starts: inputs to load (value + transient payload), the
    /// largest lazy input, and the output estimate.
    fn admission_need(&self, eager: &[NodeId], lazy: &[NodeId], output_hint: Option<u64>) -> u64 {
        let cost = |id: &NodeId| -> (u64, u64) {
            let b = self.blocks.get(*id);
            if b.value.is_some() {
                return (0, b.charged);
            }
            let size = b
                .footprint
                .map(|f| f.resident)
                .or(b.stored.as_ref().map(|s| s.footprint.resident))
                .unwrap_or(0);
            let transient = b.stored.as_ref().map_or(0, |s| s.raw_len);
            (size + transient, size)
        };
        let loads: u64 = eager.iter().map(|p| cost(p).0).sum();
        let inputs: u64 = eager.iter().map(|p| cost(p).1).sum();
        let lazy_largest = lazy
            .iter()
            .map(|p| cost(p).0.max(cost(p).1))
            .max()
            .unwrap_or(0);
        loads + lazy_largest + output_hint.unwrap_or(inputs)
    }
}
