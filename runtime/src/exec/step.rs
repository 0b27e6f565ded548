//! One task's life up to its body: prepare (inputs resident and pinned, lazy inputs ready,
//! budget checked, room made) into a [`Prepared`] task (`task.rs`) and run it on this thread.
//! What follows — admitting the output — is `admit.rs`.

use super::ExecError;
use super::admit::Finished;
use super::blocks::Pin;
use super::executor::Executor;
use super::heap::small_part;
use super::objects::ReadFailure;
use super::task::Prepared;
use crate::memory::Reservation;
use crate::plan::{BlockId, Lineage, Partitions, Task, dedup, task_reads};

impl Executor {
    /// Run `task` now on this thread (again, when a lazy input turned out corrupt and was
    /// rebuilt: see [`Finished::Retry`]).
    pub(crate) fn compute_task(&mut self, lineage: &mut Lineage, task: Task) -> crate::Result<()> {
        let mut retries = 0usize;
        loop {
            self.check_stop()?;
            let mut prepared = self
                .prepare(lineage, task, true)?
                .ok_or(ExecError::UnknownOutput(task.node.0))?;
            prepared.read_ahead = self.read_ahead(&prepared);
            let ran = prepared.run(&self.services.store, &self.services.memory);
            match self.finish(lineage, prepared, ran, &mut retries)? {
                Finished::Done => return Ok(()),
                Finished::Retry => continue,
            }
        }
    }

    /// How many lazy loads of `prepared`, a task running alone, may run beside its own: one per
    /// core the run was given beyond the first (`--jobs`; a worker: its spec's `threads`) and
    /// stored lazy input beyond the first, as long as that many more of its largest load fit
    /// the budget now.
    pub(crate) fn read_ahead(&self, prepared: &Prepared) -> usize {
        let cores = match &self.config.worker {
            Some(worker) => worker.spec.threads as usize,
            None => self.config.jobs,
        };
        if cores <= 1 {
            return 0;
        }
        let stored = (prepared.slots.iter())
            .filter(|s| matches!(s, crate::plan::LazySlot::Stored))
            .count();
        let largest = prepared.lazy_largest;
        // The body loads one itself: at most the other stored inputs load beside it.
        let mut width = cores.saturating_sub(1).min(stored.saturating_sub(1));
        while width > 0
            && !self
                .services
                .memory
                .fits(largest.saturating_mul(width as u64 + 1))
        {
            width -= 1;
        }
        width
    }

    /// Prepare `task` to run. With `force` false, returns `Ok(None)` (and holds nothing) when
    /// the task's inputs and output estimate do not fit now — the caller waits for running
    /// tasks.
    pub(crate) fn prepare(
        &mut self,
        lineage: &mut Lineage,
        task: Task,
        force: bool,
    ) -> crate::Result<Option<Prepared>> {
        self.restore_lineage(lineage, task)?;
        let Some(n) = lineage.get(task.node) else {
            return Err(ExecError::UnknownOutput(task.node.0).into());
        };
        // What the output will cost: known from an earlier computation or object of its blocks,
        // else from the last output of a step with the same name. Of it, small allocations can
        // reuse memory malloc kept from earlier frees (an object's header does not tell, so none
        // is assumed then).
        let outputs: Vec<BlockId> = Self::task_blocks(lineage, task).collect();
        let known = |f: &dyn Fn(&super::blocks::Block) -> Option<crate::memory::Footprint>| {
            outputs
                .iter()
                .map(|b| f(self.blocks.get(*b)))
                .try_fold(crate::memory::Footprint::default(), |acc, f| {
                    f.map(|f| acc.plus(f))
                })
        };
        let own = known(&|b| b.footprint);
        let stored = known(&|b| b.stored.as_ref().map(|s| s.footprint));
        let measured = own.or_else(|| self.output_history.get(&n.name).copied());
        let hint = own
            .map(|f| f.resident)
            .or(stored.map(|f| f.resident))
            .or(measured.map(|f| f.resident));
        let reusable = match (own, stored, measured) {
            (None, Some(_), _) | (_, _, None) => 0,
            (_, _, Some(f)) => small_part(f.resident, Some(f)),
        };
        let (name, seq) = (n.name.clone(), task.node.0);
        let partition = Partitions::at(task.index, n.partitions);
        let partitioned = n.is_partitioned();
        let Some(compute) = n.compute.clone() else {
            return Err(ExecError::UnknownOutput(task.node.0).into());
        };
        let reads = task_reads(lineage, task);
        let is_source = reads.eager.is_empty() && reads.lazy.is_empty();
        let distinct = dedup(&reads.eager);
        let too_large = |inputs_bytes: u64| PartitionTooLarge {
            seq,
            step: name.clone(),
            partition: partitioned.then_some(partition),
            inputs_bytes,
        };
        if !force {
            // Other tasks are running and hold their inputs: admit this one only if what it
            // will load and produce fits now, before loading anything. A source task whose
            // output size nobody knows yet (no inputs to estimate from) waits to run alone.
            if hint.is_none() && is_source {
                return Ok(None);
            }
            let need = self.admission_need(&distinct, &reads.lazy, hint);
            self.make_room_for(lineage, need, reusable);
            if !self.services.memory.fits(need) {
                return Ok(None);
            }
        }
        // Inputs whose sizes are known (resident, or stored with their footprint) that cannot
        // fit together fail the task before anything is loaded.
        let known_inputs: u64 = distinct
            .iter()
            .map(|p| self.blocks.get(*p).known_size())
            .sum();
        let budget = self.services.memory.budget().bytes();
        if known_inputs > budget {
            return Err(self.too_large(too_large(known_inputs)));
        }
        // Pins are guards: every early return below drops them.
        let mut pinned = self.pin_inputs(lineage, &distinct)?;
        let lazy_largest = self.prepare_lazy(lineage, &reads.lazy, &mut pinned)?;
        let charged: u64 = distinct.iter().map(|p| self.blocks.get(*p).charged).sum();
        let inputs_bytes = charged + lazy_largest;
        if inputs_bytes > budget {
            drop(pinned);
            return Err(self.too_large(too_large(inputs_bytes)));
        }
        // Unknown output size: guess the eager inputs' size (lazy inputs are read, not copied).
        let estimate = hint.unwrap_or(charged).min(budget - inputs_bytes);
        self.make_room_for(lineage, estimate + lazy_largest, reusable);
        if !force && !self.services.memory.fits(estimate + lazy_largest) {
            return Ok(None);
        }
        let reserved = Reservation::new(&self.services.memory, estimate);
        let values = reads
            .eager
            .iter()
            .filter_map(|p| self.blocks.get(*p).value.clone())
            .collect();
        let (slots, objects) = self.lazy_slots(lineage, &reads.lazy);
        Ok(Some(Prepared {
            task,
            partition,
            name,
            seq,
            compute,
            values,
            lazy: reads.lazy,
            lazy_starts: reads.lazy_starts,
            slots,
            objects,
            pinned,
            inputs_bytes,
            reserved,
            size_unknown: hint.is_none() && is_source,
            lazy_largest,
            read_ahead: 0,
        }))
    }

    /// A task's inputs alone exceed the budget: its row fails, and the error says so.
    fn too_large(&mut self, what: PartitionTooLarge) -> crate::Error {
        self.services
            .log
            .fail(what.seq, "inputs do not fit the budget");
        ExecError::StepTooLarge {
            step: what.step,
            partition: what.partition.map(|p| (p.index(), p.count())),
            inputs_bytes: what.inputs_bytes,
            output_bytes: None,
            budget_bytes: self.services.memory.budget().bytes(),
        }
        .into()
    }

    /// Make each input block resident and pin it for the running task (the pins go when the
    /// returned guards are dropped).
    pub(crate) fn pin_inputs(
        &mut self,
        lineage: &mut Lineage,
        inputs: &[BlockId],
    ) -> crate::Result<Vec<Pin>> {
        let mut pinned = Vec::with_capacity(inputs.len());
        for &p in inputs {
            self.ensure_resident(lineage, p)?;
            if lineage.get(p.node).is_some() {
                pinned.push(self.blocks.get_mut(p).pins.pin());
            }
        }
        Ok(pinned)
    }

    /// Make block `id` resident: it is, or load its object, or recompute it from lineage.
    pub(crate) fn ensure_resident(
        &mut self,
        lineage: &mut Lineage,
        id: BlockId,
    ) -> crate::Result<()> {
        let Some(n) = lineage.get(id.node) else {
            return Err(ExecError::UnknownOutput(id.node.0).into());
        };
        let fanout = n.fanout.max(1);
        let b = self.blocks.get(id);
        if b.value.is_some() {
            return Ok(());
        }
        if b.stored.is_some() || (!b.probed && self.probe_earlier(lineage, id)?) {
            match self.load(lineage, id) {
                Ok(()) => return Ok(()),
                Err(ReadFailure::Invalid(why)) => self.forget_object(lineage, id, &why),
                Err(ReadFailure::Io(why)) => return Err(self.unreadable(lineage, id, why).into()),
            }
        }
        let task = Task {
            node: id.node,
            index: id.part / fanout,
        };
        self.compute_task(lineage, task)?;
        // A task that makes several blocks (a shuffle split) may have had to spill this one to
        // fit the others.
        if self.blocks.get(id).value.is_none() && self.blocks.get(id).stored.is_some() {
            match self.load(lineage, id) {
                Ok(()) => {}
                Err(ReadFailure::Io(why)) => return Err(self.unreadable(lineage, id, why).into()),
                Err(ReadFailure::Invalid(why)) => {
                    return Err(ExecError::Lost {
                        step: lineage
                            .get(id.node)
                            .map(|n| n.name.clone())
                            .unwrap_or_default(),
                        seq: id.node.0,
                        why,
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// A task to run whose node's lineage a durable checkpoint cut (an object turned out
    /// unreadable): put its recipe and missing parents back, or fail saying nothing can rebuild
    /// it.
    fn restore_lineage(&mut self, lineage: &mut Lineage, task: Task) -> crate::Result<()> {
        let Some(node) = lineage.get(task.node) else {
            return Err(ExecError::UnknownOutput(task.node.0).into());
        };
        if node.compute.is_some() {
            return Ok(());
        }
        let (name, seq) = (node.name.clone(), task.node.0);
        let log = &mut self.services.log;
        match lineage.restore(task.node) {
            Ok(_) => {
                log.reopen_row(seq);
                log.event("restore", &name, seq, None, 0);
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

    /// Bytes a task will add when it starts: inputs to load (value + transient payload), the
    /// largest lazy input, and the output estimate.
    fn admission_need(&self, eager: &[BlockId], lazy: &[BlockId], output_hint: Option<u64>) -> u64 {
        let cost = |id: &BlockId| -> (u64, u64) {
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

/// What the budget error of a task names.
struct PartitionTooLarge {
    seq: usize,
    step: String,
    partition: Option<Partitions>,
    inputs_bytes: u64,
}
