//! Typed execution events: what the executor tells the run log about a step while the run goes
//! on, and the one place ([`RunLog::record`]) that turns them into the step's report row and
//! the run's totals.
//!
//! Owns: the meaning of each event for a row (status, reason, counts, bytes, checkpoint path).
//! The executor never edits a row itself; it says what happened. Not responsible for the memory
//! timeline's events (`RunLog::event`) nor for the live feed (`live.rs`).

use super::{RunLog, StepReport, StepStatus};
use crate::codec::ObjectKind;
use crate::memory::Footprint;
use crate::plan::Fingerprint;

/// Something that happened to one step (by record order `seq`) during the run.
#[derive(Debug)]
pub(crate) enum StepEvent<'a> {
    /// A task of the step ran and its output was admitted (`recomputed`: the output had
    /// existed before in this run, so it was rebuilt from lineage).
    Executed {
        seconds: f64,
        recomputed: bool,
        /// The output was read back from a corrupt object's replacement (its reason is said).
        after_corrupt: bool,
        footprint: Footprint,
        /// `--fresh`: the reason to give when nothing more specific is known.
        fresh: bool,
    },
    /// An estimated output footprint was measured exactly.
    Remeasured {
        estimate: Footprint,
        exact: Footprint,
    },
    /// A block of the step was written as a spill of `bytes` under store key `object`.
    Spilled { bytes: u64, object: Fingerprint },
    /// A block was written as a checkpoint of `bytes` at `path` (partition `part`) under store
    /// key `object`.
    Checkpointed {
        bytes: u64,
        path: String,
        part: u32,
        object: Fingerprint,
    },
    /// A stored block was read back (`first`: the block's first existence in this run, whose
    /// output bytes count now).
    Reloaded {
        bytes: u64,
        first: Option<Footprint>,
    },
    /// An earlier run's object (store key `object`) served a block for the first time: the
    /// step was reused.
    Reused {
        kind: ObjectKind,
        path: String,
        object: Fingerprint,
    },
    /// A stored object of the step failed its checks; the step recomputes.
    Corrupt { why: &'a str },
    /// The step failed.
    Failed { reason: &'a str },
    /// The step's final fingerprint (content-addressed steps learn theirs late), with its
    /// parents' when they are known now.
    Fingerprinted {
        fingerprint: Fingerprint,
        parents: Option<Vec<Fingerprint>>,
    },
    /// The content hash of a content-addressed step's output.
    OutputHash { hash: u128 },
}

impl RunLog {
    /// Fold `event` of step `seq` into its row and the totals: the only place a row changes
    /// while the run goes on.
    pub(crate) fn record(&mut self, seq: usize, event: StepEvent<'_>) {
        match event {
            StepEvent::Spilled { bytes, .. } => {
                self.totals.spills_written += 1;
                self.totals.spilled_bytes += bytes;
            }
            StepEvent::Checkpointed { bytes, .. } => {
                self.totals.checkpoints_written += 1;
                self.totals.checkpoint_bytes += bytes;
            }
            StepEvent::Reloaded { bytes, .. } => self.totals.reloaded_bytes += bytes,
            _ => {}
        }
        if let StepEvent::Executed {
            recomputed: false,
            after_corrupt: false,
            fresh,
            ..
        } = event
            && self.rows.get_mut(seq).is_some_and(|r| r.executions == 0)
        {
            self.apply(seq, event);
            self.explain_execution(seq, fresh);
            return;
        }
        self.apply(seq, event);
    }

    fn apply(&mut self, seq: usize, event: StepEvent<'_>) {
        let Some(row) = self.rows.get_mut(seq) else {
            return;
        };
        match event {
            StepEvent::Executed {
                seconds,
                recomputed,
                footprint,
                ..
            } => {
                row.status = StepStatus::Executed;
                row.executions += 1;
                row.seconds += seconds;
                if recomputed {
                    row.reason = format!("recomputed from lineage ({} times)", row.executions);
                } else {
                    row.partitions_executed += 1;
                    row.output_bytes += footprint.requested;
                    row.output_resident_bytes += footprint.resident;
                }
            }
            StepEvent::Remeasured { estimate, exact } => {
                row.output_bytes =
                    (row.output_bytes + exact.requested).saturating_sub(estimate.requested);
                row.output_resident_bytes =
                    (row.output_resident_bytes + exact.resident).saturating_sub(estimate.resident);
            }
            StepEvent::Spilled { bytes, object } => {
                row.spilled_bytes += bytes;
                note_object_key(row, object);
            }
            StepEvent::Checkpointed {
                path, part, object, ..
            } => {
                if row.checkpoint.is_none() || part == 0 {
                    row.checkpoint = Some(path);
                }
                note_object_key(row, object);
            }
            StepEvent::Reloaded { bytes, first } => {
                row.reloaded_bytes += bytes;
                if let Some(footprint) = first {
                    row.output_bytes += footprint.requested;
                    row.output_resident_bytes += footprint.resident;
                }
            }
            StepEvent::Reused { kind, path, object } => {
                row.partitions_reused += 1;
                note_object_key(row, object);
                if row.status == StepStatus::Skipped {
                    row.status = StepStatus::Reused;
                    row.reason = match kind {
                        ObjectKind::Checkpoint => "checkpoint from an earlier run".into(),
                        ObjectKind::Exchange => {
                            "exchange object left by an earlier (failed) run".into()
                        }
                        _ => "spill left by an earlier (failed) run".into(),
                    };
                }
                if kind == ObjectKind::Checkpoint && row.checkpoint.is_none() {
                    row.checkpoint = Some(path);
                }
            }
            StepEvent::Corrupt { why } => {
                row.reason = format!("stored object was corrupt ({why}); recomputed");
            }
            StepEvent::Failed { reason } => {
                row.status = StepStatus::Failed;
                row.reason = reason.to_string();
            }
            StepEvent::Fingerprinted {
                fingerprint,
                parents,
            } => {
                row.fingerprint = fingerprint;
                if let Some(parents) = parents {
                    row.parents = parents;
                }
            }
            StepEvent::OutputHash { hash } => {
                row.content.output_hash = Some(format!("{hash:032x}"));
            }
        }
    }
}

/// Remember that a block of `row`'s step lives under store key `object`, when that is not the
/// step's fingerprint (a salted block): kept sorted and without duplicates for gc.
fn note_object_key(row: &mut StepReport, object: Fingerprint) {
    if object == row.fingerprint {
        return;
    }
    if let Err(at) = row.object_keys.binary_search(&object) {
        row.object_keys.insert(at, object);
    }
}
