//! Worker mode (`--run-task SPEC`): this process runs one segment of a coordinator's run and
//! exits with a code that says whether to retry.
//!
//! The worker attaches to the coordinator's store (no lock, its own spill folder), records the
//! pipeline again with the same code and flags, and when the recording reaches the segment's
//! last step it checks the plan hash (exit 2 on a mismatch), loads the segment's inputs from
//! the store, runs its tasks with its own executor under the spec's budget (spilling locally),
//! writes the blocks other segments read as exchange objects (checkpoints per their policy,
//! both committed conditionally: a second attempt of the same segment finds the first's and
//! leaves), writes its attempt report (`runs/<run>/task-s<segment>-a<attempt>.json`) and exits:
//! 0 done, 1 a step failed or panicked (deterministic: never retried), 2 refused, 3 transient
//! (the store, a missing input, a stop). A worker whose parent dies exits at once: standard
//! input is a pipe from the parent (`--lifeline stdin`) and, on Linux, the kernel sends it
//! SIGKILL when its parent exits (`PR_SET_PDEATHSIG`), so no orphan keeps writing.
//!
//! Owns the mapping from errors to exit codes and the worker's use of the executor (its
//! `WorkerState`, `remote.rs`: which blocks to exchange, which objects were committed). Not responsible for the
//! spec's format (`remote.rs`) or for starting workers (`processes.rs`).

use std::io::Read;
use std::time::Instant;

use super::ExecError;
use super::executor::Executor;
use super::remote::{
    AttemptStatus, ObjectRecord, TaskFailure, TaskOutcome, TaskRecord, TaskSpec, exit_codes,
    key_text, plan_hash,
};
use crate::config::Lifeline;
use crate::plan::{BlockId, Fingerprint, Lineage, NodeId, Schedule};
use crate::store::{BlockKey, ObjectKind};

/// How a segment ended in the worker, before the outcome is written.
pub(crate) struct SegmentEnd {
    pub(crate) status: AttemptStatus,
    pub(crate) error: Option<TaskFailure>,
    pub(crate) tasks: Vec<TaskRecord>,
}

impl SegmentEnd {
    pub(crate) fn refused(message: String) -> SegmentEnd {
        SegmentEnd {
            status: AttemptStatus::Refused,
            error: Some(TaskFailure {
                step: None,
                seq: None,
                kind: "refused".into(),
                message,
                location: None,
            }),
            tasks: Vec::new(),
        }
    }

    fn transient(kind: &str, message: String) -> SegmentEnd {
        SegmentEnd {
            status: AttemptStatus::Transient,
            error: Some(TaskFailure {
                step: None,
                seq: None,
                kind: kind.into(),
                message,
                location: None,
            }),
            tasks: Vec::new(),
        }
    }

    /// The refusal of a worker whose recording never reached the segment's last step.
    pub(crate) fn not_recorded(spec: &TaskSpec, recorded: usize) -> SegmentEnd {
        SegmentEnd::refused(format!(
            "this binary recorded {recorded} steps, but the task names step #{} of the coordinator's pipeline: the worker's binary or flags differ from the coordinator's",
            spec.last_seq()
        ))
    }
}

/// Start watching for the parent's end: on Linux the kernel kills this process when its parent
/// exits, and with [`Lifeline::Stdin`] the end of standard input (the parent's pipe) exits it.
#[allow(unsafe_code)]
pub(crate) fn start_lifeline(lifeline: Option<Lifeline>) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_PDEATHSIG only sets this process's death signal.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
        }
    }
    if lifeline == Some(Lifeline::Stdin) {
        let spawned = std::thread::Builder::new()
            .name("stepstone-lifeline".into())
            .spawn(|| {
                let mut stdin = std::io::stdin();
                let mut buf = [0u8; 256];
                loop {
                    match stdin.read(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    }
                }
                // The parent is gone: nothing this process writes is awaited. Objects are
                // committed by rename or conditional upload, so stopping here leaves at most a
                // temp file, which the next run's open removes.
                std::process::exit(exit_codes::TRANSIENT);
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the lifeline thread");
        }
    }
}

impl Executor {
    /// Prepare this executor to run `spec` in a worker: content-addressed identities come from
    /// the spec, lookahead flushes are off (the coordinator made those checkpoints already).
    pub(crate) fn start_worker(&mut self, spec: &TaskSpec) -> Result<(), String> {
        for identity in &spec.identities {
            let fingerprint = Fingerprint::from_hex(&identity.fingerprint).ok_or_else(|| {
                format!(
                    "the task spec's identity of step #{} is not a fingerprint: {}",
                    identity.seq, identity.fingerprint
                )
            })?;
            self.inputs
                .shipped
                .insert(NodeId(identity.seq), fingerprint);
        }
        for input in &spec.inputs {
            let key = parse_key(&input.key)?;
            // Under --fresh a probe finds only this run's objects: the spec's inputs are.
            self.blocks.note_object(key, input.kind);
        }
        self.worker = Some(super::remote::WorkerState::default());
        Ok(())
    }

    /// Run the segment `spec` names over the recorded `lineage`.
    pub(crate) fn run_segment(&mut self, lineage: &mut Lineage, spec: &TaskSpec) -> SegmentEnd {
        let tasks = spec.task_ids();
        for (task, named) in tasks.iter().zip(&spec.tasks) {
            match lineage.get(task.node) {
                Some(n) if n.name == named.step && task.index < n.partitions => {}
                Some(n) => {
                    return SegmentEnd::refused(format!(
                        "the task names step #{} `{}` partition {}, but this binary recorded `{}` with {} partitions there: the worker's binary or flags differ from the coordinator's",
                        named.seq, named.step, named.index, n.name, n.partitions
                    ));
                }
                None => return SegmentEnd::not_recorded(spec, lineage.len()),
            }
        }
        if let Err(e) = self.resolve_pending(lineage) {
            return classify(&e, Vec::new());
        }
        let inputs = TaskSpec::block_ids(&spec.inputs);
        let outputs = TaskSpec::block_ids(&spec.outputs);
        let ours = plan_hash(lineage, &tasks, &inputs, &outputs).unwrap_or_default();
        if ours != spec.plan_hash {
            return SegmentEnd::refused(format!(
                "plan hash mismatch: the coordinator planned {} and this binary records {ours}: the worker's binary, flags or input files differ from the coordinator's",
                spec.plan_hash
            ));
        }
        if let Some(expected) = &spec.lease {
            match self.services.store.lock_holder() {
                Ok(Some(now)) if now != *expected => {
                    return SegmentEnd::refused(format!(
                        "the store's lock is held by {now}, not by this task's coordinator ({expected}): another run took the store over, so this attempt belongs to a run that is over"
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    return SegmentEnd::transient(
                        "store",
                        format!("cannot read the store's lock holder: {e}"),
                    );
                }
            }
        }
        for (block, named) in inputs.iter().zip(&spec.inputs) {
            match self.probe_earlier(lineage, *block) {
                Ok(true) => {}
                Ok(false) if self.blocks.get(*block).is_present() => {}
                Ok(false) => {
                    return SegmentEnd::transient(
                        "store",
                        format!(
                            "an input of the task is not in the store: block {} of step #{} (it may have been deleted; the coordinator will write it again)",
                            named.key, named.seq
                        ),
                    );
                }
                Err(e) => return classify(&crate::Error::Exec(e), Vec::new()),
            }
        }
        if let Some(state) = self.worker.as_mut() {
            for (block, named) in outputs.iter().zip(&spec.outputs) {
                if named.kind == ObjectKind::Exchange {
                    state.exchange.insert(*block, ObjectKind::Exchange);
                }
            }
        }
        let result = self.run_blocks(lineage, &outputs);
        let records = self.task_records(spec);
        if let Err(e) = result {
            return classify(&e, records);
        }
        // Every output must be in the store now (a block another attempt committed counts).
        for (block, named) in outputs.iter().zip(&spec.outputs) {
            let stored = self.blocks.get(*block).stored.as_ref().map(|s| s.kind);
            if !matches!(stored, Some(ObjectKind::Checkpoint | ObjectKind::Exchange)) {
                if let Err(e) = self.write_exchange(lineage, *block) {
                    return classify(&e, records);
                }
                if self.blocks.get(*block).stored.is_none() {
                    return SegmentEnd::transient(
                        "store",
                        format!(
                            "output block {} of step #{} could not be stored",
                            named.key, named.seq
                        ),
                    );
                }
            }
        }
        SegmentEnd {
            status: AttemptStatus::Succeeded,
            error: None,
            tasks: records,
        }
    }

    /// Make `targets` exist (resident or stored), running what they need.
    fn run_blocks(&mut self, lineage: &mut Lineage, targets: &[BlockId]) -> crate::Result<()> {
        let (tasks, reads) = self.plan_blocks(lineage, targets)?;
        let result = self.run_inline(lineage, &tasks, &reads);
        self.schedule = Schedule::default();
        result
    }

    /// Write block `id` (resident or reloadable) as an exchange object.
    pub(crate) fn write_exchange(
        &mut self,
        lineage: &mut Lineage,
        id: BlockId,
    ) -> crate::Result<()> {
        self.ensure_resident(lineage, id)?;
        self.write_object(lineage, id, ObjectKind::Exchange)?;
        Ok(())
    }

    /// Per task of `spec`: what the worker's report rows say it did.
    fn task_records(&self, spec: &TaskSpec) -> Vec<TaskRecord> {
        let mut seen = rustc_hash::FxHashSet::default();
        spec.tasks
            .iter()
            .map(|t| {
                let row = self.services.log.row(t.seq).filter(|_| seen.insert(t.seq));
                TaskRecord {
                    seq: t.seq,
                    index: t.index,
                    executed: row.is_some_and(|r| r.executions > 0),
                    seconds: row.map_or(0.0, |r| r.seconds),
                    output_bytes: row.map_or(0, |r| r.output_bytes),
                    output_resident_bytes: row.map_or(0, |r| r.output_resident_bytes),
                    spilled_bytes: row.map_or(0, |r| r.spilled_bytes),
                }
            })
            .collect()
    }

    /// Note an object this worker committed (or found committed by another attempt).
    pub(crate) fn note_committed(
        &mut self,
        id: BlockId,
        info: &crate::store::ObjectInfo,
        commit: crate::store::Commit,
    ) {
        if let Some(state) = self.worker.as_mut()
            && info.kind.is_published()
        {
            state.objects.push(ObjectRecord {
                seq: id.node.0,
                part: id.part,
                key: key_text(info.key),
                kind: info.kind,
                bytes: info.file_len,
                path: info.path.display().to_string(),
                commit,
            });
        }
    }

    /// Whether block `id` must be written as an exchange object once computed (a worker's
    /// segment output that its node's policy does not checkpoint).
    pub(crate) fn wants_exchange(&self, id: BlockId) -> bool {
        self.worker
            .as_ref()
            .is_some_and(|w| w.exchange.contains_key(&id))
    }

    /// The outcome of this attempt.
    pub(crate) fn outcome(
        &mut self,
        spec: &TaskSpec,
        attempt: u32,
        end: SegmentEnd,
        started: Instant,
    ) -> TaskOutcome {
        let exit_code = match end.status {
            AttemptStatus::Succeeded => exit_codes::SUCCEEDED,
            AttemptStatus::Failed => exit_codes::FAILED,
            AttemptStatus::Refused => exit_codes::REFUSED,
            AttemptStatus::Transient => exit_codes::TRANSIENT,
        };
        let memory = &self.services.memory;
        memory.sample();
        TaskOutcome {
            format: super::remote::SPEC_FORMAT,
            run_id: spec.run_id.clone(),
            segment: spec.segment,
            attempt,
            status: end.status,
            exit_code,
            seconds: started.elapsed().as_secs_f64(),
            rss_peak_bytes: memory.rss_peak(),
            tracked_peak_bytes: memory.peak(),
            tasks: end.tasks,
            objects: self
                .worker
                .as_mut()
                .map(|w| std::mem::take(&mut w.objects))
                .unwrap_or_default(),
            error: end.error,
        }
    }
}

/// The exit status of an error: a step's own failure is deterministic, anything of the store
/// or a stop is transient.
pub(crate) fn classify(error: &crate::Error, tasks: Vec<TaskRecord>) -> SegmentEnd {
    let (status, step, seq, kind, location) = match error {
        crate::Error::Exec(ExecError::StepFailed { step, seq, .. }) => (
            AttemptStatus::Failed,
            Some(step.clone()),
            Some(*seq),
            "error",
            None,
        ),
        crate::Error::Exec(ExecError::StepPanicked {
            step,
            seq,
            location,
            ..
        }) => (
            AttemptStatus::Failed,
            Some(step.clone()),
            Some(*seq),
            "panic",
            location.clone(),
        ),
        crate::Error::Exec(ExecError::StepTooLarge { step, .. }) => (
            AttemptStatus::Failed,
            Some(step.clone()),
            None,
            "budget",
            None,
        ),
        crate::Error::Exec(ExecError::Interrupted { .. }) => {
            (AttemptStatus::Transient, None, None, "interrupted", None)
        }
        crate::Error::Plan(_) => (AttemptStatus::Failed, None, None, "error", None),
        _ => (AttemptStatus::Transient, None, None, "store", None),
    };
    let message = match error {
        crate::Error::Exec(ExecError::StepPanicked { message, .. }) => message.clone(),
        crate::Error::Exec(ExecError::StepFailed { source, .. }) => crate::error_chain(&**source),
        other => crate::error_chain(other),
    };
    SegmentEnd {
        status,
        error: Some(TaskFailure {
            step,
            seq,
            kind: kind.into(),
            message,
            location,
        }),
        tasks,
    }
}

/// `<fingerprint hex>.<part>` back to a key.
fn parse_key(text: &str) -> Result<BlockKey, String> {
    let bad = || format!("the task spec names a block key it cannot read: {text}");
    let (hex, part) = text.rsplit_once('.').ok_or_else(bad)?;
    Ok(BlockKey {
        fingerprint: Fingerprint::from_hex(hex).ok_or_else(bad)?,
        part: part.parse().map_err(|_| bad())?,
    })
}
