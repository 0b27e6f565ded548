//! One step's life: prepare (inputs resident and pinned, lazy inputs ready, budget checked,
//! room made), run the body (on this thread or a worker), finish (admit the output, check the
//! budget, write per policy, notify).

use std::time::Instant;

use super::ExecError;
use super::lazy::{LazyLoad, StoreSource};
use super::panics::{Caught, catch_step};
use super::pipeline::Pipeline;
use crate::memory::Accountant;
use crate::plan::{Args, BoxError, Compute, LazySlot, NodeId, Value};
use crate::report::StepStatus;
use crate::store::Store;

/// A step ready to run: everything its body needs, owned, so it can move to a worker.
pub(crate) struct Prepared {
    pub(crate) id: NodeId,
    name: String,
    seq: usize,
    compute: Compute,
    values: Vec<Value>,
    lazy: Vec<NodeId>,
    slots: Vec<LazySlot>,
    objects: Vec<Option<(crate::store::ObjectInfo, crate::plan::ValueOps)>>,
    pub(crate) pinned: Vec<NodeId>,
    inputs_bytes: u64,
    /// Bytes charged for the output while the step runs (released when it finishes).
    pub(crate) reserved: u64,
    /// A source step no earlier output tells the size of: it must run alone.
    pub(crate) size_unknown: bool,
}

/// What running a prepared step produced.
pub(crate) struct Ran {
    /// The body's result, or where and why it panicked.
    result: Result<Result<Value, BoxError>, Caught>,
    seconds: f64,
    loads: Vec<LazyLoad>,
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

impl Pipeline {
    /// Compute `id` now on this thread (again, when a lazy input turned out corrupt and was
    /// rebuilt: see [`Finished::Retry`]).
    pub(crate) fn compute_node(&mut self, id: NodeId) -> crate::Result<()> {
        let mut retries = 0usize;
        loop {
            self.check_stop()?;
            let prepared = self
                .prepare(id, true)?
                .ok_or(ExecError::UnknownOutput(id.0))?;
            let ran = prepared.run(&self.store, &self.memory);
            match self.finish(prepared, ran, &mut retries)? {
                Finished::Done => return Ok(()),
                Finished::Retry => continue,
            }
        }
    }

    /// Prepare `id` to run. With `force` false, returns `Ok(None)` (and holds nothing) when the
    /// step's inputs and output estimate do not fit now — the caller waits for running steps.
    pub(crate) fn prepare(&mut self, id: NodeId, force: bool) -> crate::Result<Option<Prepared>> {
        self.restore_lineage(id)?;
        let (name, seq, parents, compute, hint, reusable, lazy_from) = match self.lineage.get(id) {
            Some(n) => {
                // What the output will cost: known from an earlier computation or object of this
                // node, else from the last output of a step with the same name. Of it, small
                // allocations can reuse memory malloc kept from earlier frees (an object's
                // header does not tell, so none is assumed then).
                let measured = n
                    .footprint
                    .or_else(|| self.output_history.get(&n.name).copied());
                let hint = n
                    .footprint
                    .map(|f| f.resident)
                    .or(n.stored.as_ref().map(|s| s.footprint.resident))
                    .or(measured.map(|f| f.resident));
                let reusable = match (n.footprint, &n.stored, measured) {
                    (None, Some(_), _) | (_, _, None) => 0,
                    (_, _, Some(f)) => super::scheduler::small_part(f.resident, Some(f)),
                };
                (
                    n.name.clone(),
                    n.id.0,
                    n.parents.clone(),
                    n.compute.clone(),
                    hint,
                    reusable,
                    n.lazy_from,
                )
            }
            None => return Err(ExecError::UnknownOutput(id.0).into()),
        };
        let Some(compute) = compute else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        let (eager, lazy) = parents.split_at(lazy_from.min(parents.len()));
        let distinct = super::scheduler::dedup(eager);
        if !force {
            // Other steps are running and hold their inputs: admit this one only if what it
            // will load and produce fits now, before loading anything. A source step whose
            // output size nobody knows yet (no inputs to estimate from) waits to run alone.
            if hint.is_none() && parents.is_empty() {
                return Ok(None);
            }
            let need = self.admission_need(&distinct, lazy, hint);
            self.make_room_for(need, reusable);
            if !self.memory.fits(need) {
                return Ok(None);
            }
        }
        // Inputs whose sizes are known (resident, or stored with their footprint) that cannot
        // fit together fail the step before anything is loaded.
        let known_inputs: u64 = distinct.iter().map(|p| self.known_size(*p)).sum();
        let budget = self.memory.budget().bytes();
        if known_inputs > budget {
            self.fail_row(id, "inputs do not fit the budget");
            return Err(ExecError::StepTooLarge {
                step: name,
                inputs_bytes: known_inputs,
                output_bytes: None,
                budget_bytes: budget,
            }
            .into());
        }
        let mut pinned = self.pin_inputs(&distinct)?;
        let lazy_largest = match self.prepare_lazy(lazy, &mut pinned) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.unpin(&pinned);
                return Err(e);
            }
        };
        let charged: u64 = distinct
            .iter()
            .filter_map(|p| self.lineage.get(*p))
            .map(|n| n.charged)
            .sum();
        let inputs_bytes = charged + lazy_largest;
        let budget = self.memory.budget().bytes();
        if inputs_bytes > budget {
            self.unpin(&pinned);
            self.fail_row(id, "inputs do not fit the budget");
            return Err(ExecError::StepTooLarge {
                step: name,
                inputs_bytes,
                output_bytes: None,
                budget_bytes: budget,
            }
            .into());
        }
        // Unknown output size: guess the eager inputs' size (lazy inputs are read, not copied).
        let estimate = hint.unwrap_or(charged).min(budget - inputs_bytes);
        self.make_room_for(estimate + lazy_largest, reusable);
        if !force && !self.memory.fits(estimate + lazy_largest) {
            self.unpin(&pinned);
            return Ok(None);
        }
        self.memory.charge(estimate);
        let values = eager
            .iter()
            .filter_map(|p| self.lineage.get(*p).and_then(|n| n.value.clone()))
            .collect();
        let (slots, objects) = self.lazy_slots(lazy);
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

    /// A node to compute whose lineage a durable checkpoint cut (its object turned out
    /// unreadable): put its recipe and missing parents back, or fail saying nothing can rebuild
    /// it.
    fn restore_lineage(&mut self, id: NodeId) -> crate::Result<()> {
        let Some(node) = self.lineage.get(id) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        if node.compute.is_some() {
            return Ok(());
        }
        let (name, seq) = (node.name.clone(), id.0);
        match self.lineage.restore(id) {
            Ok(()) => {
                self.rows.reopen(seq);
                self.event("restore", &name, seq, 0);
                Ok(())
            }
            Err(why) => {
                self.fail_row(
                    id,
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

    /// A value's size as far as it is known without loading it (0 when unknown).
    fn known_size(&self, id: NodeId) -> u64 {
        match self.lineage.get(id) {
            Some(n) if n.value.is_some() => n.charged,
            Some(n) => n
                .footprint
                .map(|f| f.resident)
                .or(n.stored.as_ref().map(|s| s.footprint.resident))
                .unwrap_or(0),
            None => 0,
        }
    }

    /// Bytes a step will add when it starts: inputs to load (value + transient payload), the
    /// largest lazy input, and the output estimate.
    fn admission_need(&self, eager: &[NodeId], lazy: &[NodeId], output_hint: Option<u64>) -> u64 {
        let cost = |id: &NodeId| -> (u64, u64) {
            match self.lineage.get(*id) {
                Some(n) if n.value.is_some() => (0, n.charged),
                Some(n) => {
                    let size = n
                        .footprint
                        .map(|f| f.resident)
                        .or(n.stored.as_ref().map(|s| s.footprint.resident));
                    let transient = n.stored.as_ref().map_or(0, |s| s.raw_len);
                    (size.unwrap_or(0) + transient, size.unwrap_or(0))
                }
                None => (0, 0),
            }
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

    /// Admit what a step produced (or record its failure). `retries` counts the runs of this
    /// step that were discarded because a lazy input could not be read.
    pub(crate) fn finish(
        &mut self,
        prepared: Prepared,
        ran: Ran,
        retries: &mut usize,
    ) -> crate::Result<Finished> {
        let Prepared {
            id,
            name,
            seq,
            values,
            slots,
            lazy,
            pinned,
            inputs_bytes,
            reserved,
            ..
        } = prepared;
        drop(values);
        drop(slots);
        self.memory.release(reserved);
        let unreadable = self.record_lazy_loads(&lazy, ran.loads);
        self.unpin(&pinned);
        // A lazy input that failed verification was forgotten: whatever the body made of the
        // error, its result is discarded and the step runs again once that input is rebuilt.
        // Each retry forgets at least one object, so the count is bounded by the lazy inputs.
        if let Some(why) = unreadable {
            *retries += 1;
            if *retries <= lazy.len() + 1 {
                return Ok(Finished::Retry);
            }
            self.fail_row(
                id,
                "a lazy input could not be read back, even after rebuilding it",
            );
            return Err(ExecError::Lost {
                step: name,
                seq,
                why,
            }
            .into());
        }
        let value = match ran.result {
            Ok(Ok(v)) => v,
            Ok(Err(source)) => {
                self.fail_row(id, "the step returned an error");
                return Err(ExecError::StepFailed {
                    step: name,
                    seq,
                    source,
                }
                .into());
            }
            Err(caught) => {
                self.fail_row(id, "the step panicked");
                return Err(ExecError::StepPanicked {
                    step: name,
                    seq,
                    location: caught.location,
                    message: caught.message,
                }
                .into());
            }
        };
        if let Err(source) = self.check_content(id, &value) {
            self.fail_row(id, &source.to_string());
            return Err(ExecError::StepFailed {
                step: name,
                seq,
                source,
            }
            .into());
        }
        let Some(node) = self.lineage.get_mut(id) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        let ops = node.ops;
        let footprint = self.measure(&ops, &*value);
        let Some(node) = self.lineage.get_mut(id) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        let node_was_corrupt = node.object_was_corrupt;
        node.value = Some(value);
        node.charged = footprint.resident;
        node.footprint = Some(footprint);
        self.resident.insert(id);
        self.memory.charge(footprint.resident);
        self.note_allocated(footprint);
        self.output_history.insert(name.clone(), footprint);
        let (fresh, corrupt) = (self.config.fresh, node_was_corrupt);
        if let Some(row) = self.rows.get_mut(seq) {
            row.status = StepStatus::Executed;
            row.executions += 1;
            row.seconds += ran.seconds;
            row.output_bytes = footprint.requested;
            row.output_resident_bytes = footprint.resident;
            if row.executions > 1 {
                row.reason = format!("recomputed from lineage ({} times)", row.executions);
            } else if !corrupt {
                row.reason = if fresh {
                    "--fresh".into()
                } else {
                    match self
                        .previous
                        .as_ref()
                        .and_then(|(run, steps)| Some((run, steps.get(&seq)?)))
                    {
                        Some((run, before)) => why_changed(run, before, row),
                        None => crate::report::content_reason(None, row)
                            .unwrap_or_else(|| "no stored object".into()),
                    }
                };
            }
        }
        self.refine_estimates();
        let footprint = self
            .lineage
            .get(id)
            .and_then(|n| n.footprint)
            .unwrap_or(footprint);
        let budget = self.memory.budget().bytes();
        if inputs_bytes + footprint.resident > budget {
            self.fail_row(id, "inputs plus output exceed the budget");
            return Err(ExecError::StepTooLarge {
                step: name,
                inputs_bytes,
                output_bytes: Some(footprint.resident),
                budget_bytes: budget,
            }
            .into());
        }
        self.lineage.mark_done(id);
        self.apply_policy(id)?;
        self.notify_stored(id);
        Ok(Finished::Done)
    }
}

/// How [`Pipeline::finish`] left a step.
#[must_use]
pub(crate) enum Finished {
    /// The output is admitted (and written per its policy).
    Done,
    /// A lazy input was unreadable and has been forgotten: prepare and run the step again.
    Retry,
}

/// Why a step whose earlier run recorded it at the same position is computed again.
fn why_changed(
    run: &str,
    before: &crate::report::StepReport,
    now: &crate::report::StepReport,
) -> String {
    if before.name != now.name {
        return "no stored object".into();
    }
    if let Some(why) = crate::report::content_reason(Some(before), now) {
        return why;
    }
    if before.fingerprint == now.fingerprint {
        return format!("no stored object (run {run} computed it but did not keep it)");
    }
    let mut what = Vec::new();
    if before.code != now.code {
        what.push("its code (or version)");
    }
    if before.params_hash != now.params_hash {
        what.push("its parameters");
    }
    if before.output_type != now.output_type {
        what.push("its output type");
    }
    if before.parents != now.parents {
        what.push("an upstream step");
    }
    if what.is_empty() {
        what.push("its module path or the storage format");
    }
    format!("stale: {} changed since run {run}", what.join(" and "))
}
