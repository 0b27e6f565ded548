//! Moving values between memory and the store: probing for objects of earlier runs, loading,
//! spilling, writing checkpoints and persist copies per policy, cutting lineage behind a
//! durable checkpoint.
//!
//! Works on the block table (which object holds a value, what the run learned of it) and asks
//! the store service to read and write by key; the lineage tells a node's fingerprint, type and
//! policy, and is cut when a checkpoint becomes durable.

use super::ExecError;
use super::executor::Executor;
use crate::config::Event;
use crate::plan::{BlockId, Lineage, Node, Policy, Task};
use crate::report::StepEvent;
use crate::store::{BlockKey, ObjectKind, StoreError};

/// Why a stored object could not be read back.
#[derive(Debug, Clone)]
pub(crate) enum ReadFailure {
    /// A check failed — header, identity, checksum, or the verified bytes do not decode as the
    /// step's type — or there is no object: treat it as absent (delete it, recompute).
    Invalid(String),
    /// Reading failed with an OS or S3 error (permission, a full scratch disk, a server down):
    /// the object may be perfectly good, so it is kept and the read fails with the cause.
    Io(String),
}

impl ReadFailure {
    /// Classify a store error: only a verified mismatch is [`ReadFailure::Invalid`] — a failed
    /// check, or something at the object's path that is not a regular file (`InvalidData` from
    /// the backend: a directory or FIFO planted there is never an object).
    pub(crate) fn of_store(e: &StoreError) -> ReadFailure {
        match e {
            StoreError::Corrupt { .. } => ReadFailure::Invalid(e.to_string()),
            StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => {
                ReadFailure::Invalid(e.to_string())
            }
            _ => ReadFailure::Io(e.to_string()),
        }
    }

    /// The message, whatever the kind.
    pub(crate) fn why(&self) -> &str {
        match self {
            ReadFailure::Invalid(why) | ReadFailure::Io(why) => why,
        }
    }
}

/// The store key of block `id` of `node`.
fn key_of(node: &Node, id: BlockId) -> BlockKey {
    let (fingerprint, part) =
        crate::plan::block_key(node.fingerprint, node.fanout, &node.salts, id.part);
    BlockKey { fingerprint, part }
}

impl Executor {
    /// Ask the store for an object of an earlier run (once per node; with `--fresh`, only for
    /// objects this run wrote — a node put back by [`Lineage::restore`] finds them). A header
    /// that fails its checks is deleted and the block recomputed; an I/O error (the object may
    /// be fine) fails the run and leaves the object in place.
    pub(crate) fn probe_earlier(
        &mut self,
        lineage: &Lineage,
        id: BlockId,
    ) -> Result<bool, ExecError> {
        let Some(n) = lineage.get(id.node) else {
            return Ok(false);
        };
        let key = key_of(n, id);
        let b = self.blocks.get_mut(id);
        if b.probed {
            return Ok(false);
        }
        b.probed = true;
        if self.config.fresh && !self.blocks.knows_object(&key) {
            return Ok(false);
        }
        Ok(match self.services.store.probe(key) {
            Ok(Some(info))
                if info.kind != ObjectKind::Persist && info.type_name == n.ops.type_name =>
            {
                let ours = self.blocks.note_object(key, info.kind);
                let b = self.blocks.get_mut(id);
                b.stored = Some(info);
                b.stored_by_earlier_run = !ours;
                true
            }
            Ok(_) => false,
            Err(e) => match ReadFailure::of_store(&e) {
                ReadFailure::Invalid(why) => {
                    tracing::warn!(step = %n.name, error = %e, "ignoring a corrupt object; the step will be recomputed");
                    let _ = self.services.store.remove(key, ObjectKind::Spill);
                    self.note_corrupt(lineage, id, &why);
                    false
                }
                ReadFailure::Io(why) => return Err(self.unreadable(lineage, id, why)),
            },
        })
    }

    /// The error for block `id`'s object that could not be read for a reason other than
    /// corruption: the object stays where it is.
    pub(crate) fn unreadable(&mut self, lineage: &Lineage, id: BlockId, why: String) -> ExecError {
        let step = lineage
            .get(id.node)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        self.services
            .log
            .fail(id.node.0, "its stored object could not be read (kept)");
        ExecError::Unreadable {
            step,
            seq: id.node.0,
            why,
        }
    }

    /// Load `id`'s stored object into memory. On [`ReadFailure::Invalid`] the caller treats
    /// the object as absent; on [`ReadFailure::Io`] it fails the read and keeps the object.
    pub(crate) fn load(&mut self, lineage: &mut Lineage, id: BlockId) -> Result<(), ReadFailure> {
        let Some(n) = lineage.get(id.node) else {
            return Err(ReadFailure::Invalid("node is gone".into()));
        };
        let Some(info) = self.blocks.get(id).stored.clone() else {
            return Err(ReadFailure::Invalid("no stored object".into()));
        };
        let (ops, policy) = (n.ops, n.policy);
        // Room for the value and, transiently, its payload (a memory-mapped Arrow object is its
        // own value: no payload beside it).
        let transient = if ops.buffers.is_some() {
            0
        } else {
            info.raw_len
        };
        self.make_room(lineage, info.footprint.resident.saturating_add(transient));
        let (info, payload) = self
            .services
            .store
            .read_value(info.key, info.kind, ops.type_name)
            .map_err(|e| ReadFailure::of_store(&e))?;
        // The bytes passed their checksum: if they do not decode as the step's type, the object
        // is not this value (a mismatch, not an I/O error).
        let value = (ops.decode)(payload)
            .map_err(|e| ReadFailure::Invalid(format!("decoding {}: {e}", ops.type_name)))?;
        let footprint = self.measure(&ops, &*value);
        self.charge_value(id, &ops, &value, footprint);
        let b = self.blocks.get_mut(id);
        b.value = Some(value);
        b.footprint = Some(footprint);
        self.blocks.mark_resident(id);
        let first_time = !self.blocks.get(id).done;
        self.services.log.record(
            id.node.0,
            StepEvent::Reloaded {
                bytes: info.payload_len,
                first: first_time.then_some(footprint),
            },
        );
        self.refine_estimates(|id| lineage.get(id.node).map(|n| n.ops));
        self.block_event(lineage, "reload", id, info.payload_len);
        self.mark_loaded(lineage, id);
        // A checkpoint node served by a spill of a failed run becomes a real checkpoint now.
        if policy == Policy::Checkpoint && info.kind != ObjectKind::Checkpoint {
            self.blocks.get_mut(id).stored = None;
            self.apply_policy(lineage, id)
                .map_err(|e| ReadFailure::Io(e.to_string()))?;
        } else if first_time && info.kind == ObjectKind::Checkpoint {
            self.cut_if_durable(lineage, id);
        }
        Ok(())
    }

    /// Every block of `id`'s node is a durable checkpoint: the node no longer needs its parents.
    pub(crate) fn cut_if_durable(&mut self, lineage: &mut Lineage, id: BlockId) {
        let blocks = lineage.get(id.node).map_or(0, |n| n.blocks());
        let durable = (0..blocks).all(|part| {
            self.blocks
                .get(BlockId::new(id.node, part))
                .stored
                .as_ref()
                .is_some_and(|s| s.kind == ObjectKind::Checkpoint)
        });
        if durable {
            lineage.cut(id.node);
        }
    }

    /// Block `id` exists now (computed or loaded): the first time, the task that makes it no
    /// longer holds its reads, and once every block of the node exists the node is done.
    pub(crate) fn block_done(&mut self, lineage: &mut Lineage, id: BlockId) {
        let Some(n) = lineage.get(id.node) else {
            return;
        };
        let (blocks, fanout) = (n.blocks(), n.fanout.max(1));
        let (first, node_done) = self.blocks.mark_done(id, blocks);
        if first {
            self.task_done(Task {
                node: id.node,
                index: id.part / fanout,
            });
        }
        if node_done {
            lineage.mark_done(id.node);
        }
    }

    /// A memory event of block `id` (its partition named when the step is partitioned).
    pub(crate) fn block_event(&mut self, lineage: &Lineage, kind: &str, id: BlockId, bytes: u64) {
        let (name, part) = match lineage.get(id.node) {
            Some(n) => (n.name.as_str(), n.is_partitioned().then_some(id.part)),
            None => ("", None),
        };
        self.services.log.event(kind, name, id.node.0, part, bytes);
    }

    /// A value was read back from its object: a first read of an earlier run's object makes the
    /// step "reused"; the output now exists.
    pub(crate) fn mark_loaded(&mut self, lineage: &mut Lineage, id: BlockId) {
        let b = self.blocks.get(id);
        if let (true, false, Some(info)) = (b.stored_by_earlier_run, b.done, b.stored.as_ref()) {
            let event = StepEvent::Reused {
                kind: info.kind,
                path: info.path.display().to_string(),
                object: info.key.fingerprint,
            };
            self.services.log.record(id.node.0, event);
        }
        self.block_done(lineage, id);
    }

    /// A stored object turned out unreadable: report it, delete it, treat it as absent.
    pub(crate) fn forget_object(&mut self, lineage: &Lineage, id: BlockId, why: &str) {
        let b = self.blocks.get_mut(id);
        let stored = b.stored.take();
        b.stored_by_earlier_run = false;
        if let Some(info) = stored {
            let name = lineage
                .get(id.node)
                .map(|n| n.name.as_str())
                .unwrap_or_default();
            tracing::warn!(step = %name, object = %info.path.display(), reason = why, "stored object is corrupt; recomputing");
            let _ = self.services.store.remove(info.key, info.kind);
            self.blocks.forget_object(&info.key);
        }
        self.note_corrupt(lineage, id, why);
    }

    /// Record that `id`'s stored object was unreadable: an event, and the reason its step runs.
    fn note_corrupt(&mut self, lineage: &Lineage, id: BlockId, why: &str) {
        if lineage.get(id.node).is_none() {
            return;
        }
        self.blocks.get_mut(id).object_was_corrupt = true;
        self.block_event(lineage, "corrupt", id, 0);
        self.services
            .log
            .record(id.node.0, StepEvent::Corrupt { why });
    }

    /// Write `id`'s resident value as an object of `kind`.
    pub(crate) fn write_object(
        &mut self,
        lineage: &Lineage,
        id: BlockId,
        kind: ObjectKind,
    ) -> Result<(), StoreError> {
        let Some(n) = lineage.get(id.node) else {
            return Ok(());
        };
        let b = self.blocks.get(id);
        let Some(value) = b.value.clone() else {
            return Ok(());
        };
        let (ops, key, seq) = (n.ops, key_of(n, id), id.node.0);
        // The figures size the reservation when the value is reloaded (then it is measured).
        let footprint = b.footprint.unwrap_or_default();
        // A stop asked for while the object is written abandons it (a temp file, never a final
        // path); the executor stops at its next safe point.
        let mut encode = |w: &mut dyn std::io::Write,
                          meta: Option<&crate::store::ObjectMeta<'_>>| {
            (ops.encode)(&*value, &mut super::interrupt::StopAware(w), meta)
        };
        let (info, commit) = self.services.store.write_committed(
            key,
            kind,
            ops.type_name,
            ops.codec,
            footprint,
            &mut encode,
        )?;
        drop(value);
        self.note_committed(id, &info, commit);
        let bytes = info.file_len;
        let written = match kind {
            ObjectKind::Spill => Some(StepEvent::Spilled {
                bytes,
                object: key.fingerprint,
            }),
            ObjectKind::Checkpoint => Some(StepEvent::Checkpointed {
                bytes,
                path: info.path.display().to_string(),
                part: id.part,
                object: key.fingerprint,
            }),
            ObjectKind::Persist | ObjectKind::Exchange => None,
        };
        if let Some(event) = written {
            self.services.log.record(seq, event);
        }
        let event = match kind {
            ObjectKind::Spill => "spill",
            ObjectKind::Checkpoint => "checkpoint",
            ObjectKind::Persist => "persist",
            ObjectKind::Exchange => "exchange",
        };
        self.block_event(lineage, event, id, bytes);
        self.blocks.note_object(key, info.kind);
        self.blocks.get_mut(id).stored = Some(info);
        Ok(())
    }

    /// After a value is computed (or promoted): checkpoint → durable write once and cut the
    /// lineage; persist → run-local copy.
    pub(crate) fn apply_policy(&mut self, lineage: &mut Lineage, id: BlockId) -> crate::Result<()> {
        let Some(policy) = lineage.get(id.node).map(|n| n.policy) else {
            return Ok(());
        };
        let stored = self.blocks.get(id).stored.as_ref();
        let kind = match policy {
            Policy::Checkpoint if stored.is_none_or(|s| s.kind != ObjectKind::Checkpoint) => {
                ObjectKind::Checkpoint
            }
            Policy::Persist if stored.is_none() => ObjectKind::Persist,
            // A worker's segment output another process reads.
            _ if self.wants_exchange(id) && stored.is_none_or(|s| !s.kind.is_published()) => {
                ObjectKind::Exchange
            }
            _ => return Ok(()),
        };
        if let Err(e) = self.write_object(lineage, id, kind) {
            // The step's value exists but its policy could not be honoured: the step failed
            // (the report and the summary count it), not "executed".
            let what = match kind {
                ObjectKind::Checkpoint => "its checkpoint could not be written",
                ObjectKind::Exchange => "its exchange object could not be written",
                _ => "its persist copy could not be written",
            };
            self.services.log.fail(id.node.0, what);
            return Err(e.into());
        }
        if kind == ObjectKind::Checkpoint {
            self.cut_if_durable(lineage, id);
        }
        Ok(())
    }

    /// Tell the run's observer (if any) that block `id` is stored per its policy, and, once
    /// all of them are, that its step is.
    pub(crate) fn notify_stored(&self, lineage: &Lineage, id: BlockId) {
        let Some(observer) = self.config.observer.as_ref() else {
            return;
        };
        let Some(n) = lineage.get(id.node) else {
            return;
        };
        if n.is_partitioned() {
            observer(&Event::PartitionStored {
                seq: n.id.0,
                step: n.name.clone(),
                partition: id.part,
                partitions: n.blocks(),
            });
        }
        if n.done {
            observer(&Event::StepStored {
                seq: n.id.0,
                step: n.name.clone(),
                fingerprint: n.fingerprint,
            });
        }
    }
}
