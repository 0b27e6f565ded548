//! Admitting what a task produced: release its reservation and pins, account its lazy loads,
//! turn a failure or panic into the step's error, check its inputs did not change, charge and
//! record the output, check the budget, then store it per policy and notify.

use super::ExecError;
use super::executor::Executor;
use super::objects::ReadFailure;
use super::task::{Prepared, Ran};
use crate::plan::{BlockId, Buckets, Lineage, Value};
use crate::report::StepEvent;

/// How [`Executor::finish`] left a step.
#[must_use]
pub(crate) enum Finished {
    /// The output is admitted (and written per its policy).
    Done,
    /// A lazy input was unreadable and has been forgotten: prepare and run the step again.
    Retry,
}

impl Executor {
    /// Admit what a step produced (or record its failure). `retries` counts the runs of this
    /// step that were discarded because a lazy input could not be read.
    pub(crate) fn finish(
        &mut self,
        lineage: &mut Lineage,
        prepared: Prepared,
        ran: Ran,
        retries: &mut usize,
    ) -> crate::Result<Finished> {
        let Prepared {
            task,
            partition,
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
        drop(reserved);
        let id = task.node;
        let unreadable = self.record_lazy_loads(lineage, &lazy, ran.loads);
        drop(pinned);
        // A lazy input that failed verification was forgotten: whatever the body made of the
        // error, its result is discarded and the step runs again once that input is rebuilt.
        // Each retry forgets at least one object, so the count is bounded by the lazy inputs.
        if let Some((input, failure)) = unreadable {
            let why = match failure {
                ReadFailure::Io(why) => return Err(self.unreadable(lineage, input, why).into()),
                ReadFailure::Invalid(why) => why,
            };
            *retries += 1;
            if *retries <= lazy.len() + 1 {
                return Ok(Finished::Retry);
            }
            self.services.log.fail(
                seq,
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
                self.services.log.fail(seq, "the step returned an error");
                return Err(ExecError::StepFailed {
                    step: name,
                    seq,
                    source,
                }
                .into());
            }
            Err(caught) => {
                self.services.log.fail(seq, "the step panicked");
                return Err(ExecError::StepPanicked {
                    step: name,
                    seq,
                    location: caught.location,
                    message: caught.message,
                }
                .into());
            }
        };
        if let Err(source) = self.check_content(lineage, id, &value) {
            self.services.log.fail(seq, &source.to_string());
            return Err(ExecError::StepFailed {
                step: name,
                seq,
                source,
            }
            .into());
        }
        let Some((ops, fanout)) = lineage.get(id).map(|n| (n.ops, n.fanout.max(1))) else {
            return Err(ExecError::UnknownOutput(id.0).into());
        };
        // A shuffle split makes one block per bucket; every other task makes one.
        let values: Vec<Value> = if fanout > 1 {
            match value.downcast::<Buckets>() {
                Ok(buckets) => match std::sync::Arc::try_unwrap(buckets) {
                    Ok(Buckets(values)) if values.len() == fanout as usize => values,
                    _ => return Err(ExecError::UnknownOutput(id.0).into()),
                },
                Err(_) => return Err(ExecError::UnknownOutput(id.0).into()),
            }
        } else {
            vec![value]
        };
        let mut total = crate::memory::Footprint::default();
        let mut corrupt = false;
        let mut recomputed = false;
        let blocks: Vec<BlockId> = Self::task_blocks(lineage, task).collect();
        for (block, value) in blocks.iter().zip(values) {
            let footprint = self.measure(&ops, &*value);
            self.charge_value(*block, &ops, &value, footprint);
            let b = self.blocks.get_mut(*block);
            corrupt |= b.object_was_corrupt;
            recomputed |= b.done;
            b.value = Some(value);
            b.footprint = Some(footprint);
            self.blocks.mark_resident(*block);
            total = total.plus(footprint);
        }
        let footprint = total;
        self.output_history.insert(name.clone(), footprint);
        let fresh = self.config.fresh;
        let log = &mut self.services.log;
        let part = (partition.index(), partition.count());
        log.live_task_time(seq, &name, part, ran.seconds);
        log.record(
            seq,
            StepEvent::Executed {
                seconds: ran.seconds,
                recomputed,
                after_corrupt: corrupt,
                footprint,
                fresh,
            },
        );
        self.refine_estimates(|b| lineage.get(b.node).map(|n| n.ops));
        // What the output added (buffers shared with resident inputs are not counted again).
        let resident: u64 = blocks.iter().map(|b| self.blocks.get(*b).charged).sum();
        let budget = self.services.memory.budget().bytes();
        if inputs_bytes + resident > budget {
            self.services
                .log
                .fail(seq, "inputs plus output exceed the budget");
            let partitioned = lineage.get(id).is_some_and(|n| n.is_partitioned());
            return Err(ExecError::StepTooLarge {
                step: name,
                partition: partitioned.then_some((partition.index(), partition.count())),
                inputs_bytes,
                output_bytes: Some(resident),
                budget_bytes: budget,
            }
            .into());
        }
        for block in blocks {
            self.block_done(lineage, block);
            self.apply_policy(lineage, block)?;
            self.notify_stored(lineage, block);
        }
        Ok(Finished::Done)
    }
}
