//! The executor: runs the schedule of a materialization over the services, task by task.
//!
//! Owns the run state of execution: the block table ([`Blocks`]: each node's value, charge,
//! pins and stored object), the schedule being run (its planned uses drive eviction), the heap
//! bookkeeping (`residency.rs`), the last output footprint per step name (the size estimate for
//! a step not seen yet) and the run's inputs registry (content-addressed nodes, `inputs.rs`).
//! It reads and updates the lineage it is handed — marks outputs done, cuts lineage behind
//! durable checkpoints, puts retired recipes back, truncates — but never records nodes: that is
//! [`Pipeline`](super::Pipeline)'s. The services ([`Services`]) never see the lineage.
//!
//! A materialization: resolve content-addressed identities (`inputs.rs`), build the
//! [`Schedule`], run it — one task at a time here, or on workers with `--jobs` (`parallel.rs`);
//! each task is prepared, run and admitted (`step.rs`, `admit.rs`) — then truncate the lineage.

use super::ExecError;
use super::blocks::Blocks;
use super::heap::Heap;
use super::services::Services;
use crate::config::RunConfig;
use crate::input::RunInputs;
use crate::memory::Footprint;
use crate::plan::{BlockId, Lineage, NodeId, Schedule, Task, dedup, task_reads};
use crate::report::{LiveNow, ReportConfig, RunFigures, RunReport, StepProgress, summary_table};

/// Runs schedules of tasks under the memory budget.
pub(crate) struct Executor {
    pub(crate) config: RunConfig,
    pub(crate) services: Services,
    pub(crate) blocks: Blocks,
    /// The schedule being run (empty between materializations).
    pub(crate) schedule: Schedule,
    pub(crate) heap: Heap,
    /// Last output footprint per step name: the estimate for a step not yet seen.
    pub(crate) output_history: rustc_hash::FxHashMap<String, Footprint>,
    /// Input files, volatile steps and content identities (see `inputs.rs`).
    pub(crate) inputs: RunInputs,
    /// The blocks each recorded task that has not run yet will read (their `readers` counts
    /// hold them; released when the task first completes or its node leaves the DAG).
    pub(crate) pending_reads: rustc_hash::FxHashMap<Task, Vec<BlockId>>,
    /// The last spill that failed (an evicted value was dropped instead of kept on disk), for
    /// the error of a step whose input was lost that way (`lazy.rs`).
    pub(crate) spill_failure: Option<String>,
    /// In a worker process (`--run-task`): the segment's exchange outputs and the objects it
    /// committed (`worker.rs`).
    pub(crate) worker: Option<super::remote::WorkerState>,
    /// Segment numbers the run has given out (`processes.rs`): a run that runs several
    /// schedules (sinks, then its output) numbers their segments on, so spec files, attempt
    /// reports and the launcher's answers never name two segments alike.
    pub(crate) segments_numbered: usize,
}

impl Executor {
    /// An executor for run `run_id` over freshly opened services.
    pub(crate) fn open(
        config: RunConfig,
        run_id: String,
        started_at: String,
    ) -> crate::Result<Executor> {
        if let Some(path) = &config.report_path {
            check_report_path(path)?;
        }
        let mut services = Services::open(&config, run_id, started_at)?;
        if !config.fresh && config.worker.is_none() {
            // With --fresh every step runs again "because of --fresh": no earlier report needed.
            services.load_previous_report();
        }
        Ok(Executor {
            config,
            services,
            blocks: Blocks::default(),
            schedule: Schedule::default(),
            heap: Heap::start(),
            output_history: rustc_hash::FxHashMap::default(),
            inputs: RunInputs::default(),
            pending_reads: rustc_hash::FxHashMap::default(),
            spill_failure: None,
            worker: None,
            segments_numbered: 0,
        })
    }

    /// Node `id` was just recorded: each of its tasks will read its input blocks, which are
    /// kept until it has.
    pub(crate) fn recorded(&mut self, lineage: &Lineage, id: NodeId) {
        let Some(node) = lineage.get(id) else {
            return;
        };
        for index in 0..node.partitions {
            let task = Task { node: id, index };
            let reads = dedup(&task_reads(lineage, task).all().collect::<Vec<_>>());
            for b in &reads {
                self.blocks.add_reader(*b, 1);
            }
            self.pending_reads.insert(task, reads);
        }
    }

    /// `task` ran (or its output was loaded) for the first time: it no longer holds its reads.
    pub(crate) fn task_done(&mut self, task: Task) {
        if let Some(reads) = self.pending_reads.remove(&task) {
            for b in reads {
                self.blocks.add_reader(b, -1);
            }
        }
    }

    /// Make the values of `targets` exist (resident or stored), computing only what is needed.
    pub(crate) fn materialize(
        &mut self,
        lineage: &mut Lineage,
        targets: &[NodeId],
    ) -> crate::Result<()> {
        self.resolve_pending(lineage)?;
        let mut blocks = Vec::new();
        for t in targets {
            let node = lineage.get(*t).ok_or(ExecError::UnknownOutput(t.0))?;
            blocks.extend((0..node.blocks()).map(|part| BlockId::new(*t, part)));
        }
        let (tasks, reads) = self.plan_blocks(lineage, &blocks)?;
        self.services.log.progress.planned(tasks.len() as u64);
        self.services.log.live_planned(tasks.len() as u64);
        let result = self.run_schedule(lineage, &tasks, &reads);
        self.schedule = Schedule::default();
        result?;
        self.truncate(lineage, targets);
        Ok(())
    }

    /// Plan the tasks that make `targets` (a block resident or in the store is a leaf: nothing
    /// behind it is planned) and install the schedule as this executor's (its use counts decide
    /// when a block is dead); returns the tasks in order and the blocks each reads. Used by
    /// [`Executor::materialize`] and by a worker for its segment's outputs.
    pub(crate) fn plan_blocks(
        &mut self,
        lineage: &Lineage,
        targets: &[BlockId],
    ) -> crate::Result<(Vec<Task>, Vec<Vec<BlockId>>)> {
        let mut unreadable = None;
        let mut schedule = Schedule::build(lineage, targets, |block| {
            if self.blocks.get(block).is_present() {
                return true;
            }
            self.probe_earlier(lineage, block).unwrap_or_else(|e| {
                unreadable.get_or_insert(e);
                false
            })
        })
        .map_err(|unknown| ExecError::UnknownOutput(unknown.0.0))?;
        if let Some(e) = unreadable {
            return Err(e.into());
        }
        let tasks = std::mem::take(&mut schedule.tasks);
        let reads = std::mem::take(&mut schedule.reads);
        self.schedule = schedule;
        Ok((tasks, reads))
    }

    /// Run `tasks` in order (`reads[i]`: the blocks task i reads, known from the schedule, as
    /// a checkpoint cuts its lineage as soon as it is durable).
    fn run_schedule(
        &mut self,
        lineage: &mut Lineage,
        tasks: &[Task],
        reads: &[Vec<BlockId>],
    ) -> crate::Result<()> {
        // Content-addressed steps resolved on the way run here: their outputs decide the
        // identities every worker is given.
        let resolving = self.inputs.resolving;
        if matches!(
            self.config.runner,
            crate::config::Runner::Processes | crate::config::Runner::Launcher
        ) && self.config.worker.is_none()
            && !resolving
            && !tasks.is_empty()
        {
            return self.run_processes(lineage, tasks, reads);
        }
        if self.config.jobs > 1 && tasks.len() > 1 {
            return self.run_parallel(lineage, tasks, reads);
        }
        self.run_inline(lineage, tasks, reads)
    }

    /// Run `tasks` one at a time on this thread.
    pub(crate) fn run_inline(
        &mut self,
        lineage: &mut Lineage,
        tasks: &[Task],
        reads: &[Vec<BlockId>],
    ) -> crate::Result<()> {
        for (pos, (&task, reads)) in tasks.iter().zip(reads).enumerate() {
            self.check_stop()?;
            if !self.task_present(lineage, task) {
                self.compute_task(lineage, task)?;
            }
            self.after_step(lineage, pos, task, reads);
        }
        Ok(())
    }

    /// The blocks `task` makes.
    pub(crate) fn task_blocks(lineage: &Lineage, task: Task) -> impl Iterator<Item = BlockId> {
        let fanout = lineage.get(task.node).map_or(1, |n| n.fanout.max(1));
        (task.index * fanout..(task.index + 1) * fanout).map(move |p| BlockId::new(task.node, p))
    }

    /// Every block `task` makes exists now (resident or stored).
    pub(crate) fn task_present(&self, lineage: &Lineage, task: Task) -> bool {
        Self::task_blocks(lineage, task).all(|b| self.blocks.get(b).is_present())
    }

    /// A safe point: fail with [`ExecError::Interrupted`] when SIGINT / SIGTERM asked the run to
    /// stop (nothing is half-done here: no step runs, no object is being written).
    pub(crate) fn check_stop(&self) -> crate::Result<()> {
        match super::interrupt::requested() {
            Some(signal) => Err(ExecError::Interrupted { signal }.into()),
            None => Ok(()),
        }
    }

    /// Bookkeeping once the task at schedule position `pos` is done: its uses of the blocks it
    /// read (`reads`, without repeats) are consumed, dead values freed, the budget restored.
    pub(crate) fn after_step(
        &mut self,
        lineage: &Lineage,
        pos: usize,
        task: Task,
        reads: &[BlockId],
    ) {
        self.schedule.consume(pos, reads);
        for &b in reads {
            self.release_if_dead(lineage, b);
        }
        for b in Self::task_blocks(lineage, task) {
            self.release_if_dead(lineage, b);
        }
        self.make_room(lineage, 0);
        let id = task.node;
        let memory = &self.services.memory;
        memory.step_sample();
        let log = &mut self.services.log;
        if log.progress.is_shown() {
            let step = lineage.get(id).map(|n| n.name.as_str()).unwrap_or_default();
            let spilled = log.totals().spilled_bytes;
            log.progress.step_done(StepProgress {
                step,
                tracked: memory.tracked(),
                budget: memory.budget().bytes(),
                spilled,
            });
        }
        let step = lineage.get(id).map(|n| n.name.as_str()).unwrap_or_default();
        let now = LiveNow {
            pipeline: &self.config.pipeline,
            step,
            tracked: memory.tracked(),
            budget: memory.budget().bytes(),
        };
        log.live_step_done(&self.services.store, now);
    }

    /// Truncate lineage after a materialization: nodes no root needs leave the DAG, and their
    /// blocks (and charges) with them.
    fn truncate(&mut self, lineage: &mut Lineage, keep: &[NodeId]) {
        let blocks = &mut self.blocks;
        let (log, memory, heap) = (
            &mut self.services.log,
            &self.services.memory,
            &mut self.heap,
        );
        // The predicate reads blocks while `release` removes them: removal happens after the
        // reachability walk, so collect first.
        let mut removed = Vec::new();
        lineage.truncate(
            keep,
            |n| blocks.needs_lineage(n),
            |n| removed.push((n.id, n.partitions, n.fanout)),
        );
        for (id, partitions, fanout) in removed {
            log.finish_row(id.0);
            for index in 0..partitions {
                // A task that never ran no longer holds what it would have read.
                if let Some(reads) = self.pending_reads.remove(&Task { node: id, index }) {
                    for b in reads {
                        blocks.add_reader(b, -1);
                    }
                }
            }
            for (part, block) in blocks.remove_node(id, partitions.saturating_mul(fanout)) {
                let bytes =
                    Self::uncharge(heap, BlockId::new(id, part), block.shared, block.charged);
                memory.release(bytes);
                heap.freed(bytes, block.footprint);
            }
        }
    }

    /// End the run: on success delete spills and persist copies; always write the report.
    pub(crate) fn complete(&mut self, error: Option<&crate::Error>) -> crate::Result<RunReport> {
        let store = &self.services.store;
        if self.config.worker.is_some() {
            // A worker's spills go with its private folder; the run's report is the
            // coordinator's.
            return Ok(self.services.log.take_report(
                RunFigures {
                    pipeline: &self.config.pipeline,
                    config: ReportConfig::default(),
                    memory: &self.services.memory,
                },
                error,
            ));
        }
        if error.is_none() {
            for (key, kind) in self.blocks.temporary_objects() {
                store.remove(key, kind)?;
                self.services.log.object_deleted();
            }
            store.finish_run()?;
        }
        let config = &self.config;
        let figures = RunFigures {
            pipeline: &config.pipeline,
            config: ReportConfig {
                budget_bytes: config.budget.bytes(),
                checkpoint_dir: config.checkpoint_dir.display().to_string(),
                fresh: config.fresh,
                jobs: config.jobs,
                checkpoint_every: config.checkpoint_every,
            },
            memory: &self.services.memory,
        };
        self.services.log.live_finish(store);
        let report = self.services.log.take_report(figures, error);
        let json = serde_json::to_vec_pretty(&report)
            .map_err(|e| crate::Error::pipeline(e.to_string()))?;
        store.write_run_file("report.json", &json)?;
        if let Some(path) = &config.report_path {
            std::fs::write(path, &json).map_err(|source| crate::store::StoreError::Io {
                op: "write report",
                path: path.clone(),
                source,
            })?;
        }
        self.services.log.progress.finish();
        if config.print_summary {
            eprint!("{}", summary_table(&report));
        }
        Ok(report)
    }
}

/// `--report PATH` must be writable before the run starts, not found unwritable after it: an
/// existing file is opened for writing (not truncated), a new one is created and removed.
fn check_report_path(path: &std::path::Path) -> crate::Result<()> {
    let existed = path.exists();
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    match opened {
        Ok(_) => {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            Ok(())
        }
        Err(source) => Err(crate::Error::pipeline(format!(
            "--report {}: cannot write there ({source}); the run was not started. Pass a path in an existing, writable folder",
            path.display()
        ))),
    }
}
