//! Moving values between memory and the store: probing for objects of earlier runs, loading,
//! spilling, writing checkpoints and persist copies per policy, truncating lineage behind a
//! durable checkpoint.

use crate::config::Event;
use crate::plan::{NodeId, Policy};
use crate::report::{MemoryEvent, StepStatus};
use crate::store::{BlockKey, ObjectKind, StoreError};

use super::pipeline::Pipeline;

fn key_of(fingerprint: crate::plan::Fingerprint) -> BlockKey {
    BlockKey {
        fingerprint,
        part: 0,
    }
}

impl Pipeline {
    /// Ask the store for an object of an earlier run (once per node; with `--fresh`, only for
    /// objects this run wrote — a node put back by [`Lineage::restore`](crate::plan) finds them).
    pub(crate) fn probe_earlier(&mut self, id: NodeId) -> bool {
        let Some(n) = self.lineage.get_mut(id) else {
            return false;
        };
        let key = key_of(n.fingerprint);
        if n.probed || (self.config.fresh && !self.objects.contains_key(&key)) {
            n.probed = true;
            return false;
        }
        n.probed = true;
        let (type_name, name) = (n.ops.type_name, n.name.clone());
        match self.store.probe(key) {
            Ok(Some(info)) if info.kind != ObjectKind::Persist && info.type_name == type_name => {
                let ours = self.objects.insert(key, info.kind).is_some();
                if let Some(n) = self.lineage.get_mut(id) {
                    n.stored = Some(info);
                    n.stored_by_earlier_run = !ours;
                }
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(step = %name, error = %e, "ignoring an unreadable object; the step will be recomputed");
                let _ = self.store.remove(key, ObjectKind::Spill);
                self.note_corrupt(id, &e.to_string());
                false
            }
        }
    }

    /// Load `id`'s stored object into memory. Errors are returned as text: the caller treats the
    /// object as absent.
    pub(crate) fn load(&mut self, id: NodeId) -> Result<(), String> {
        let Some(n) = self.lineage.get(id) else {
            return Err("node is gone".into());
        };
        let Some(info) = n.stored.clone() else {
            return Err("no stored object".into());
        };
        let (ops, name, seq) = (n.ops, n.name.clone(), n.id.0);
        // Room for the value and, transiently, its payload.
        self.make_room(info.footprint.resident.saturating_add(info.raw_len));
        let (info, payload) = self
            .store
            .read_value(info.key, info.kind, ops.type_name)
            .map_err(|e| e.to_string())?;
        let value =
            (ops.decode)(payload).map_err(|e| format!("decoding {}: {e}", ops.type_name))?;
        let footprint = self.measure(&ops, &*value);
        if let Some(n) = self.lineage.get_mut(id) {
            n.value = Some(value);
            n.charged = footprint.resident;
            n.footprint = Some(footprint);
        }
        self.resident.insert(id);
        self.memory.charge(footprint.resident);
        self.note_allocated(footprint);
        self.totals.reloaded_bytes += info.payload_len;
        if let Some(row) = self.rows.get_mut(seq) {
            row.reloaded_bytes += info.payload_len;
            row.output_bytes = footprint.requested;
            row.output_resident_bytes = footprint.resident;
        }
        self.refine_estimates();
        self.event("reload", &name, seq, info.payload_len);
        let first_time = self.lineage.get(id).is_some_and(|n| !n.done);
        self.mark_loaded(id);
        // A checkpoint node served by a spill of a failed run becomes a real checkpoint now.
        let promote = self
            .lineage
            .get(id)
            .is_some_and(|n| n.policy == Policy::Checkpoint)
            && info.kind != ObjectKind::Checkpoint;
        if promote {
            if let Some(n) = self.lineage.get_mut(id) {
                n.stored = None;
            }
            self.apply_policy(id).map_err(|e| e.to_string())?;
        } else if first_time && info.kind == ObjectKind::Checkpoint {
            self.cut_lineage(id);
        }
        Ok(())
    }

    /// A value was read back from its object: a first read of an earlier run's object makes the
    /// step "reused"; the output now exists.
    pub(crate) fn mark_loaded(&mut self, id: NodeId) {
        let Some(n) = self.lineage.get(id) else {
            return;
        };
        let (earlier, info) = (n.stored_by_earlier_run, n.stored.clone());
        if let (true, Some(info), Some(row)) = (earlier, info, self.rows.get_mut(id.0))
            && row.status == StepStatus::Skipped
        {
            row.status = StepStatus::Reused;
            row.reason = match info.kind {
                ObjectKind::Checkpoint => "checkpoint from an earlier run".into(),
                _ => "spill left by an earlier (failed) run".into(),
            };
            if info.kind == ObjectKind::Checkpoint {
                row.checkpoint = Some(info.path.display().to_string());
            }
        }
        self.lineage.mark_done(id);
    }

    /// A stored object turned out unreadable: report it, delete it, treat it as absent.
    pub(crate) fn forget_object(&mut self, id: NodeId, why: &str) {
        let Some(n) = self.lineage.get_mut(id) else {
            return;
        };
        let name = n.name.clone();
        if let Some(info) = n.stored.take() {
            tracing::warn!(step = %name, object = %info.path.display(), reason = why, "stored object is corrupt; recomputing");
            let _ = self.store.remove(info.key, info.kind);
            self.objects.remove(&info.key);
        }
        n.stored_by_earlier_run = false;
        self.note_corrupt(id, why);
    }

    /// Record that `id`'s stored object was unreadable: an event, and the reason its step runs.
    fn note_corrupt(&mut self, id: NodeId, why: &str) {
        let Some(n) = self.lineage.get_mut(id) else {
            return;
        };
        n.object_was_corrupt = true;
        let name = n.name.clone();
        self.event("corrupt", &name, id.0, 0);
        if let Some(row) = self.rows.get_mut(id.0) {
            row.reason = format!("stored object was corrupt ({why}); recomputed");
        }
    }

    /// Write `id`'s resident value as an object of `kind`.
    pub(crate) fn write_object(&mut self, id: NodeId, kind: ObjectKind) -> Result<(), StoreError> {
        let Some(n) = self.lineage.get(id) else {
            return Ok(());
        };
        let Some(value) = n.value.clone() else {
            return Ok(());
        };
        let (ops, key, name, seq) = (n.ops, key_of(n.fingerprint), n.name.clone(), n.id.0);
        // The figures size the reservation when the value is reloaded (then it is measured).
        let footprint = n.footprint.unwrap_or_default();
        // A stop asked for while the object is written abandons it (a temp file, never a final
        // path); the executor stops at its next safe point.
        let mut encode = |w: &mut dyn std::io::Write,
                          meta: Option<&crate::store::ObjectMeta<'_>>| {
            (ops.encode)(&*value, &mut super::interrupt::StopAware(w), meta)
        };
        let info =
            self.store
                .write_value(key, kind, ops.type_name, ops.codec, footprint, &mut encode)?;
        drop(value);
        let bytes = info.file_len;
        let row = self.rows.get_mut(seq);
        match kind {
            ObjectKind::Spill => {
                self.totals.spills_written += 1;
                self.totals.spilled_bytes += bytes;
                if let Some(row) = row {
                    row.spilled_bytes += bytes;
                }
                self.event("spill", &name, seq, bytes);
            }
            ObjectKind::Checkpoint => {
                self.totals.checkpoints_written += 1;
                self.totals.checkpoint_bytes += bytes;
                if let Some(row) = row {
                    row.checkpoint = Some(info.path.display().to_string());
                }
                self.event("checkpoint", &name, seq, bytes);
            }
            ObjectKind::Persist => self.event("persist", &name, seq, bytes),
        }
        self.objects.insert(key, info.kind);
        if let Some(n) = self.lineage.get_mut(id) {
            n.stored = Some(info);
        }
        Ok(())
    }

    /// After a value is computed (or promoted): checkpoint → durable write once and truncate
    /// lineage; persist → run-local copy.
    pub(crate) fn apply_policy(&mut self, id: NodeId) -> crate::Result<()> {
        let Some(n) = self.lineage.get(id) else {
            return Ok(());
        };
        match n.policy {
            Policy::Checkpoint
                if n.stored
                    .as_ref()
                    .is_none_or(|s| s.kind != ObjectKind::Checkpoint) =>
            {
                self.write_object(id, ObjectKind::Checkpoint)?;
                self.cut_lineage(id);
            }
            Policy::Persist if n.stored.is_none() => self.write_object(id, ObjectKind::Persist)?,
            _ => {}
        }
        Ok(())
    }

    /// A durable checkpoint: the node no longer needs its parents.
    fn cut_lineage(&mut self, id: NodeId) {
        self.lineage.cut(id);
    }

    pub(crate) fn notify_stored(&mut self, id: NodeId) {
        let Some(observer) = self.config.observer.clone() else {
            return;
        };
        if let Some(n) = self.lineage.get(id) {
            observer(&Event::StepStored {
                seq: n.id.0,
                step: n.name.clone(),
                fingerprint: n.fingerprint,
            });
        }
    }

    pub(crate) fn event(&mut self, kind: &str, step: &str, seq: usize, bytes: u64) {
        self.events.push(MemoryEvent {
            t: self.memory.elapsed(),
            kind: kind.to_string(),
            step: step.to_string(),
            seq,
            bytes,
        });
    }

    pub(crate) fn fail_row(&mut self, id: NodeId, reason: &str) {
        if let Some(row) = self.rows.get_mut(id.0) {
            row.status = StepStatus::Failed;
            row.reason = reason.to_string();
        }
    }
}
