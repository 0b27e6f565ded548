//! The process runner (`--runner processes`, and `--runner launcher` for an engine): a
//! schedule's tasks run as segments in worker processes of the same binary.
//!
//! The coordinator (this process) groups the schedule into segments (`plan::segments`), and for
//! each decides which of its blocks must cross the process boundary: a checkpoint, a block read
//! by a task of another segment or by a task not run yet, a target of the materialization, a
//! value the pipeline still holds a handle to. A segment is started once the segments it reads
//! from are done; its external inputs are then stored objects (a resident input is written as
//! an exchange object first). The child gets a [`TaskSpec`] (also kept in the run's folder as
//! `task-s<segment>.spec.json`), `budget / jobs` as its budget, a pipe on standard input as its
//! lifeline, and runs the segment in worker mode (`worker.rs`). Its exit code decides: 0 folds
//! its attempt report into this run's report (each task's row, checkpoints, the objects'
//! stored headers); 1 fails the run with the step's message, after one attempt; 2 (another
//! binary or flags) fails it at once; anything else — killed, store errors — is retried, up to
//! the launcher's `max_attempts` (4 for local children).
//!
//! Owns the coordinator's loop over one schedule's segments (their state and attempts); what
//! starts workers is a launcher (`launch.rs`: children of this binary, or an engine's launcher
//! over the line protocol), stopped on a stop, a failure or any error return. Not responsible
//! for what a worker does (`worker.rs`) or the spec's format (`remote.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustc_hash::FxHashSet;

use super::ExecError;
use super::executor::Executor;
use super::launch::{Launch, LineLauncher, LocalChildren, Share};
use super::remote::{
    SPEC_FORMAT, SpecBlock, SpecIdentity, SpecTask, TaskOutcome, TaskSpec, exit_codes, key_of,
    key_text, plan_hash,
};
use crate::config::Runner;
use crate::memory::Footprint;
use crate::plan::{BlockId, Lineage, Policy, Segment, Task, dedup, segments};
use crate::report::StepEvent;
use crate::store::ObjectKind;

/// What one segment runs and leaves behind.
struct SegmentPlan {
    tasks: Vec<Task>,
    /// Schedule positions of its tasks.
    positions: Vec<usize>,
    inputs: Vec<BlockId>,
    outputs: Vec<(BlockId, ObjectKind)>,
    after: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
}

/// A folder for spec files (removed when the schedule ends).
struct SpecDir(PathBuf);

impl SpecDir {
    fn create() -> std::io::Result<SpecDir> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("stepstone-tasks-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(SpecDir(dir))
    }
}

impl Drop for SpecDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Executor {
    /// Run `tasks` (schedule order; `reads[i]`: what task i reads) as segments in child
    /// processes.
    pub(crate) fn run_processes(
        &mut self,
        lineage: &mut Lineage,
        tasks: &[Task],
        reads: &[Vec<BlockId>],
    ) -> crate::Result<()> {
        let plans = self.plan_segments(lineage, tasks, reads);
        // Workers add objects from now on: a listing cached at open would miss them.
        self.services.store.forget_listing();
        let mut launcher: Box<dyn Launch> = match self.config.runner {
            Runner::Launcher => Box::new(LineLauncher::new(format!(
                "{} run {}",
                self.config.pipeline, self.services.log.run_id
            ))),
            _ => Box::new(LocalChildren::new(self.worker_command()?)),
        };
        let result = self.run_segments(lineage, &plans, reads, &mut *launcher);
        if result.is_err() {
            launcher.stop_all();
        }
        result
    }

    /// The coordinator's loop: start each segment once the segments it reads from are done,
    /// fold what each attempt did, retry what was lost.
    fn run_segments(
        &mut self,
        lineage: &mut Lineage,
        plans: &[SegmentPlan],
        reads: &[Vec<BlockId>],
        launcher: &mut dyn Launch,
    ) -> crate::Result<()> {
        let specs = SpecDir::create().map_err(|e| {
            ExecError::Worker(format!(
                "cannot create a folder for task specs in {}: {e}",
                std::env::temp_dir().display()
            ))
        })?;
        let jobs = self.config.jobs.max(1);
        let budget = self.services.memory.budget().bytes();
        // The fencing token of every spec: who holds the store now (read once: on S3 a GET).
        let lease = self.services.store.lock_holder().ok().flatten();
        let mut state = vec![State::Pending; plans.len()];
        let mut attempts = vec![0u32; plans.len()];
        // Segment `s` of this schedule is segment `base + s` of the run (its files, its answers).
        let base = self.segments_numbered;
        self.segments_numbered += plans.len();
        loop {
            self.check_stop()?;
            loop {
                let ready: Vec<usize> = (0..plans.len())
                    .filter(|&s| {
                        state[s] == State::Pending
                            && plans[s].after.iter().all(|a| state[*a] == State::Done)
                    })
                    .collect();
                let Some(&s) = ready.first() else { break };
                let Some(share) = launcher.share(budget, jobs, ready.len()) else {
                    break;
                };
                if self.segment_present(&plans[s]) {
                    // Made by an earlier attempt or run meanwhile (or nothing of it is needed).
                    self.fold_segment(lineage, &plans[s], None, reads);
                    state[s] = State::Done;
                    continue;
                }
                attempts[s] += 1;
                let spec = self.segment_spec(lineage, base + s, &plans[s], share, lease.clone())?;
                let share = share.bytes;
                let path = self.write_spec(&specs.0, &spec, attempts[s])?;
                launcher
                    .start(attempts[s], share, &spec, &path)
                    .map_err(ExecError::Worker)?;
                state[s] = State::Running;
                let first = plans[s].tasks[0];
                let name = lineage
                    .get(first.node)
                    .map(|n| n.name.clone())
                    .unwrap_or_default();
                self.services.log.event(
                    "worker-start",
                    &name,
                    first.node.0,
                    Some((base + s) as u32),
                    0,
                );
            }
            launcher.flush().map_err(ExecError::Worker)?;
            if launcher.running() == 0 {
                if let Some(s) = state.iter().position(|s| *s != State::Done) {
                    return Err(ExecError::Worker(format!(
                        "segment {} can never start: a segment it reads from did not finish (a bug: please report it)",
                        base + s
                    ))
                    .into());
                }
                return Ok(());
            }
            let Some(ended) = launcher
                .next(Duration::from_millis(200))
                .map_err(ExecError::Worker)?
            else {
                continue;
            };
            let number = ended.segment;
            let Some(s) = number.checked_sub(base).filter(|s| *s < plans.len()) else {
                continue; // not a segment of this schedule
            };
            let outcome = self.read_outcome(number, ended.report_attempt);
            match (ended.code, outcome) {
                (Some(exit_codes::SUCCEEDED), Ok(outcome)) => {
                    self.fold_segment(lineage, &plans[s], Some(&outcome), reads);
                    state[s] = State::Done;
                }
                (Some(exit_codes::FAILED), Ok(outcome)) => {
                    return Err(self.deterministic_failure(&plans[s], outcome));
                }
                (Some(exit_codes::REFUSED), outcome) => {
                    let why = outcome
                        .ok()
                        .and_then(|o| o.error.map(|e| e.message))
                        .unwrap_or_else(|| "it wrote no report".into());
                    return Err(ExecError::Worker(format!(
                        "a worker refused its task (segment {number}): {why}"
                    ))
                    .into());
                }
                (_, outcome) => {
                    let why = match outcome.ok().and_then(|o| o.error.map(|e| e.message)) {
                        Some(message) => format!("{}: {message}", ended.how),
                        None => ended.how.clone(),
                    };
                    let first = plans[s].tasks[0];
                    let name = lineage
                        .get(first.node)
                        .map(|n| n.name.clone())
                        .unwrap_or_default();
                    tracing::warn!(segment = number, attempt = ended.attempt, step = %name, "a worker ended without finishing its task ({why}); retrying");
                    self.services.log.event(
                        "worker-retry",
                        &name,
                        first.node.0,
                        Some(number as u32),
                        0,
                    );
                    let max = launcher.max_attempts();
                    if attempts[s] >= max {
                        return Err(ExecError::Worker(format!(
                            "segment {number} (step `{name}`, partition {}) did not finish in {max} attempts; the last one {why}",
                            first.index
                        ))
                        .into());
                    }
                    state[s] = State::Pending;
                }
            }
        }
    }

    /// The segments of a schedule and, for each, the blocks it reads from outside and the ones
    /// it must leave in the store.
    fn plan_segments(
        &self,
        lineage: &Lineage,
        tasks: &[Task],
        reads: &[Vec<BlockId>],
    ) -> Vec<SegmentPlan> {
        let groups: Vec<Segment> = segments(lineage, tasks, reads);
        let mut segment_of = vec![0usize; tasks.len()];
        for (s, g) in groups.iter().enumerate() {
            for &p in &g.positions {
                segment_of[p] = s;
            }
        }
        groups
            .into_iter()
            .enumerate()
            .map(|(s, g)| {
                let seg_tasks: Vec<Task> = g.positions.iter().map(|&p| tasks[p]).collect();
                let made: FxHashSet<BlockId> = seg_tasks
                    .iter()
                    .flat_map(|t| Executor::task_blocks(lineage, *t))
                    .collect();
                let all_reads: Vec<BlockId> = g
                    .positions
                    .iter()
                    .flat_map(|&p| reads[p].iter().copied())
                    .collect();
                let inputs: Vec<BlockId> = dedup(&all_reads)
                    .into_iter()
                    .filter(|b| !made.contains(b))
                    .collect();
                let mut outputs = Vec::new();
                for t in &seg_tasks {
                    for b in Executor::task_blocks(lineage, *t) {
                        if let Some(kind) = self.crossing(lineage, b, s, &segment_of, tasks.len()) {
                            outputs.push((b, kind));
                        }
                    }
                }
                SegmentPlan {
                    tasks: seg_tasks,
                    positions: g.positions,
                    inputs,
                    outputs,
                    after: g.after,
                }
            })
            .collect()
    }

    /// Whether block `b`, made by segment `s`, must be left in the store, and as what.
    fn crossing(
        &self,
        lineage: &Lineage,
        b: BlockId,
        s: usize,
        segment_of: &[usize],
        end: usize,
    ) -> Option<ObjectKind> {
        let n = lineage.get(b.node)?;
        if n.policy == Policy::Checkpoint {
            return Some(ObjectKind::Checkpoint);
        }
        let uses = self.schedule.uses(b);
        let in_schedule = uses.iter().filter(|&&u| (u as usize) < end).count() as u32;
        let elsewhere = uses
            .iter()
            .any(|&u| (u as usize) >= end || segment_of.get(u as usize) != Some(&s));
        let later_readers = self.blocks.get(b).readers > in_schedule;
        (elsewhere || later_readers || n.is_live() || n.sink).then_some(ObjectKind::Exchange)
    }

    /// Every output of the segment is stored already.
    fn segment_present(&self, plan: &SegmentPlan) -> bool {
        !plan.outputs.is_empty()
            && plan.outputs.iter().all(|(b, _)| {
                let stored = self.blocks.get(*b).stored.as_ref().map(|s| s.kind);
                stored.is_some_and(ObjectKind::is_published)
            })
    }

    /// The spec of segment `s` under the fencing token `lease`: its inputs are made stored
    /// objects first.
    fn segment_spec(
        &mut self,
        lineage: &mut Lineage,
        s: usize,
        plan: &SegmentPlan,
        share: Share,
        lease: Option<String>,
    ) -> crate::Result<TaskSpec> {
        let mut inputs = Vec::with_capacity(plan.inputs.len());
        for &b in &plan.inputs {
            let kind = self.blocks.get(b).stored.as_ref().map(|i| i.kind);
            let kind = match kind {
                Some(k) if k.is_published() => k,
                _ => {
                    // Resident (or spilled) in this process only: a worker cannot read it.
                    self.ensure_resident(lineage, b)?;
                    self.write_object(lineage, b, ObjectKind::Exchange)?;
                    ObjectKind::Exchange
                }
            };
            let key = key_of(lineage, b).ok_or(ExecError::UnknownOutput(b.node.0))?;
            inputs.push(SpecBlock {
                seq: b.node.0,
                part: b.part,
                key: key_text(key),
                kind,
            });
        }
        let mut outputs = Vec::with_capacity(plan.outputs.len());
        for &(b, kind) in &plan.outputs {
            let key = key_of(lineage, b).ok_or(ExecError::UnknownOutput(b.node.0))?;
            outputs.push(SpecBlock {
                seq: b.node.0,
                part: b.part,
                key: key_text(key),
                kind,
            });
        }
        let input_ids: Vec<BlockId> = plan.inputs.clone();
        let output_ids: Vec<BlockId> = plan.outputs.iter().map(|(b, _)| *b).collect();
        let plan_hash = plan_hash(lineage, &plan.tasks, &input_ids, &output_ids)
            .ok_or(ExecError::UnknownOutput(plan.tasks[0].node.0))?;
        let last = plan
            .tasks
            .iter()
            .map(|t| t.node.0)
            .chain(input_ids.iter().map(|b| b.node.0))
            .max()
            .unwrap_or(0);
        let mut identities: Vec<SpecIdentity> = self
            .inputs
            .nodes
            .iter()
            .filter(|(id, c)| id.0 <= last && c.is_content_addressed())
            .filter_map(|(id, _)| {
                lineage.get(*id).map(|n| SpecIdentity {
                    seq: id.0,
                    fingerprint: n.fingerprint.to_hex(),
                })
            })
            .collect();
        identities.sort_by_key(|i| i.seq);
        let tasks = plan
            .tasks
            .iter()
            .map(|t| SpecTask {
                seq: t.node.0,
                step: lineage
                    .get(t.node)
                    .map(|n| n.name.clone())
                    .unwrap_or_default(),
                index: t.index,
            })
            .collect();
        Ok(TaskSpec {
            format: SPEC_FORMAT,
            run_id: self.services.log.run_id.clone(),
            segment: s as u32,
            plan_hash,
            tasks,
            inputs,
            outputs,
            identities,
            budget_bytes: share.bytes,
            threads: share.threads,
            lease,
        })
    }

    /// Keep the spec in the run's folder and write the copy the worker reads.
    fn write_spec(&self, dir: &Path, spec: &TaskSpec, attempt: u32) -> crate::Result<PathBuf> {
        let json = serde_json::to_vec_pretty(spec).map_err(|e| ExecError::Worker(e.to_string()))?;
        if attempt == 1 {
            self.services
                .store
                .write_run_file(&format!("task-s{:05}.spec.json", spec.segment), &json)?;
        }
        let path = dir.join(format!("s{:05}.json", spec.segment));
        std::fs::write(&path, &json).map_err(|e| {
            ExecError::Worker(format!(
                "cannot write the task spec {}: {e}",
                path.display()
            ))
        })?;
        Ok(path)
    }

    /// The attempt report a worker left in the run's folder.
    fn read_outcome(&self, s: usize, attempt: u32) -> Result<TaskOutcome, String> {
        let name = format!("task-s{s:05}-a{attempt}.json");
        let run = &self.services.log.run_id;
        match self.services.store.read_run_file(run, &name) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).map_err(|e| format!("{name}: {e}")),
            Ok(None) => Err(format!("it left no report ({name})")),
            Err(e) => Err(format!("{name}: {}", crate::error_chain(&e))),
        }
    }

    /// A worker's step failed (exit 1): the run fails with that step's error, after one
    /// attempt.
    fn deterministic_failure(&mut self, plan: &SegmentPlan, outcome: TaskOutcome) -> crate::Error {
        let Some(failure) = outcome.error else {
            return ExecError::Worker(format!(
                "a worker failed segment {} without saying why",
                outcome.segment
            ))
            .into();
        };
        let seq = failure.seq.unwrap_or(plan.tasks[0].node.0);
        let step = failure.step.clone().unwrap_or_default();
        match failure.kind.as_str() {
            "panic" => {
                self.services.log.fail(seq, "the step panicked");
                ExecError::StepPanicked {
                    step,
                    seq,
                    location: failure.location,
                    message: failure.message,
                }
                .into()
            }
            "error" if failure.step.is_some() => {
                self.services.log.fail(seq, "the step returned an error");
                ExecError::StepFailed {
                    step,
                    seq,
                    source: failure.message.into(),
                }
                .into()
            }
            _ => {
                self.services.log.fail(seq, &failure.message);
                ExecError::Worker(failure.message).into()
            }
        }
    }

    /// A segment is done (`outcome`: its worker's report; `None`: its outputs were there
    /// already): fold what each task did into the report, and take its outputs as stored.
    fn fold_segment(
        &mut self,
        lineage: &mut Lineage,
        plan: &SegmentPlan,
        outcome: Option<&TaskOutcome>,
        reads: &[Vec<BlockId>],
    ) {
        let fresh = self.config.fresh;
        if let Some(outcome) = outcome {
            for record in &outcome.tasks {
                if !record.executed {
                    continue;
                }
                let (name, part, own) = match lineage.get(crate::plan::NodeId(record.seq)) {
                    Some(n) => (n.name.clone(), (record.index, n.partitions), n.fingerprint),
                    None => continue,
                };
                let log = &mut self.services.log;
                log.live_task_time(record.seq, &name, part, record.seconds);
                log.record(
                    record.seq,
                    StepEvent::Executed {
                        seconds: record.seconds,
                        recomputed: false,
                        after_corrupt: false,
                        footprint: Footprint::new(
                            record.output_bytes,
                            record.output_resident_bytes,
                            0,
                        ),
                        fresh,
                    },
                );
                if record.spilled_bytes > 0 {
                    log.record(
                        record.seq,
                        // The worker's spills went with its private folder.
                        StepEvent::Spilled {
                            bytes: record.spilled_bytes,
                            object: own,
                        },
                    );
                }
            }
            for object in &outcome.objects {
                let key = object
                    .key
                    .rsplit_once('.')
                    .and_then(|(hex, _)| crate::plan::Fingerprint::from_hex(hex));
                if object.kind == ObjectKind::Checkpoint
                    && let Some(fingerprint) = key
                {
                    self.services.log.record(
                        object.seq,
                        StepEvent::Checkpointed {
                            bytes: object.bytes,
                            path: object.path.clone(),
                            part: object.part,
                            object: fingerprint,
                        },
                    );
                }
            }
        }
        for &(b, _) in &plan.outputs {
            self.take_stored(lineage, b);
        }
        for (&task, &pos) in plan.tasks.iter().zip(&plan.positions) {
            for b in Executor::task_blocks(lineage, task).collect::<Vec<_>>() {
                self.block_done(lineage, b);
                self.notify_stored(lineage, b);
            }
            let task_reads = reads.get(pos).cloned().unwrap_or_default();
            self.after_step(lineage, pos, task, &task_reads);
        }
    }

    /// Block `b` was left in the store by a worker: read its header, note the object as this
    /// run's (an exchange object is deleted when the run completes), cut lineage behind a
    /// checkpoint.
    fn take_stored(&mut self, lineage: &mut Lineage, b: BlockId) {
        let Some(key) = key_of(lineage, b) else {
            return;
        };
        match self.services.store.probe(key) {
            Ok(Some(info)) => {
                let kind = info.kind;
                self.blocks.note_object(key, kind);
                let block = self.blocks.get_mut(b);
                block.stored = Some(info);
                block.probed = true;
                if kind == ObjectKind::Checkpoint {
                    self.cut_if_durable(lineage, b);
                }
            }
            Ok(None) => {
                tracing::warn!(block = %key_text(key), "a worker's output is not in the store");
            }
            Err(e) => {
                tracing::warn!(block = %key_text(key), error = %e, "a worker's output could not be read");
            }
        }
    }

    /// The program and arguments that start a worker: [`RunConfig::worker_command`] or this
    /// executable with this process's arguments (less `--runner`).
    ///
    /// [`RunConfig::worker_command`]: crate::config::RunConfig::worker_command
    fn worker_command(&self) -> crate::Result<Vec<OsString>> {
        if let Some(command) = &self.config.worker_command
            && !command.is_empty()
        {
            return Ok(command.clone());
        }
        let exe = std::env::current_exe().map_err(|e| {
            ExecError::Worker(format!(
                "--runner processes starts this program again, but its path is unknown: {e}"
            ))
        })?;
        let mut command = vec![exe.into_os_string()];
        let mut args = std::env::args_os().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--runner" {
                args.next();
                continue;
            }
            if arg.to_str().is_some_and(|a| a.starts_with("--runner=")) {
                continue;
            }
            command.push(arg);
        }
        Ok(command)
    }
}
