//! The [`Pipeline`] handle: the user's recording API (DataFusion's `SessionContext`).
//!
//! Owns the lineage DAG it records into (nodes and their recipes; nothing runs while
//! recording), the first error found while recording (reported when the run executes), and the
//! lookahead counter that materializes pending checkpoints in very long loops. Everything that
//! runs — planning a schedule, memory, the store, the report — is the [`Executor`]'s: the
//! pipeline hands it the lineage and asks for values (an output, a sink, [`Pipeline::get`]).

use std::sync::Arc;

use serde::Serialize;

use super::ExecError;
use super::executor::Executor;
use super::spec::NodeSpec;
use crate::Error;
use crate::config::RunConfig;
use crate::input::InputSource;
use crate::plan::{
    Args, BlockId, BoxError, Compute, Data, FingerprintInputs, Handle, Lineage, Node, NodeId,
    PlanError, Policy, ReadRule, Recipe, StepSpec, Value, ValueOps,
};
use crate::report::{StepReport, StepStatus};

/// A running pipeline: records steps lazily and executes them when a value is needed (an
/// output, a sink, or [`Pipeline::get`]).
pub struct Pipeline {
    lineage: Lineage,
    executor: Executor,
    /// The first error found while recording; the run fails with it when it executes.
    deferred: Option<Error>,
    recorded_since_flush: usize,
    /// A `Partitions` parameter of the next recorded step (its name, the count).
    pending_partitions: Option<(String, u32)>,
    /// In a worker process: the segment to run once its last step is recorded, and how it
    /// ended.
    worker: Option<WorkerRun>,
}

/// A worker's segment: run when the recording reaches its last step; after that, recording
/// stops and every materialization ends the build.
struct WorkerRun {
    spec: Arc<super::remote::TaskSpec>,
    attempt: u32,
    end: Option<super::worker::SegmentEnd>,
}

/// How a node's output is laid out in blocks, beyond what its inputs decide.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// Blocks per task (a shuffle split's bucket count).
    pub(super) fanout: u32,
    pub(super) rule: ReadRule,
    /// Tasks of a gather (its bucket count).
    pub(super) partitions: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            fanout: 1,
            rule: ReadRule::Map,
            partitions: 1,
        }
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("pipeline", &self.executor.config.pipeline)
            .field("run_id", &self.executor.services.log.run_id)
            .field("nodes", &self.lineage.len())
            .field("tracked", &self.executor.services.memory.tracked())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Open a run under `config`: the store (its lock), the accountant and the run log.
    pub(crate) fn open(
        config: RunConfig,
        run_id: String,
        started_at: String,
    ) -> crate::Result<Self> {
        let mut config = config;
        let task = config.worker.clone();
        if task.is_some() {
            // The coordinator made the checkpoints a lookahead flush would ask for.
            config.lookahead = usize::MAX;
        }
        let mut executor = Executor::open(config, run_id, started_at)?;
        let worker = match task {
            Some(task) => {
                let end = executor
                    .start_worker(&task.spec)
                    .err()
                    .map(super::worker::SegmentEnd::refused);
                Some(WorkerRun {
                    spec: task.spec,
                    attempt: task.attempt,
                    end,
                })
            }
            None => None,
        };
        Ok(Pipeline {
            lineage: Lineage::default(),
            executor,
            deferred: None,
            recorded_since_flush: 0,
            pending_partitions: None,
            worker,
        })
    }

    /// A worker's build is over: the outcome of its segment (refused when the recording never
    /// reached the segment) and the exit code.
    pub(super) fn finish_worker(
        &mut self,
        started: std::time::Instant,
    ) -> Option<super::remote::TaskOutcome> {
        let worker = self.worker.as_mut()?;
        let end = worker.end.take().unwrap_or_else(|| {
            super::worker::SegmentEnd::not_recorded(&worker.spec, self.lineage.len())
        });
        let (spec, attempt) = (worker.spec.clone(), worker.attempt);
        Some(self.executor.outcome(&spec, attempt, end, started))
    }

    /// The store of this run (a worker writes its attempt report there).
    pub(super) fn store(&self) -> &crate::store::Store {
        &self.executor.services.store
    }

    /// In a worker, once the segment ran: `Some` — recording and materializing stop.
    fn worker_done(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.end.is_some())
    }

    /// Record a step described by `spec` (what `#[step]` expands to). `inputs` are the upstream
    /// nodes in argument order; `params` are serialized into the fingerprint.
    pub fn record<T: Data, P: Serialize + ?Sized>(
        &mut self,
        spec: &StepSpec,
        params: &P,
        inputs: &[NodeId],
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        self.record_lazy(spec, params, inputs, &[], compute)
    }

    /// [`Pipeline::record`] with lazy inputs as well: the step reads them one at a time with
    /// [`Args::parts`], so they need not be resident together.
    pub fn record_lazy<T: Data, P: Serialize + ?Sized>(
        &mut self,
        spec: &StepSpec,
        params: &P,
        inputs: &[NodeId],
        lazy_inputs: &[NodeId],
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        let (params, error) = match postcard::to_stdvec(params) {
            Ok(bytes) => (bytes, None),
            Err(e) => (
                Vec::new(),
                Some(PlanError::Param {
                    step: spec.name.to_string(),
                    message: e.to_string(),
                }),
            ),
        };
        self.record_node(
            NodeSpec {
                name: spec.name.to_string(),
                module: spec.module.to_string(),
                code: spec.code.to_string(),
                version: spec.version.map(str::to_string),
                policy: spec.policy,
                params,
                inputs: inputs.to_vec(),
                lazy: lazy_inputs.to_vec(),
                partitions: None,
            },
            error,
            compute,
        )
    }

    /// Compute (or load) `handle`'s value now, with what has been recorded so far.
    pub fn get<T: Data>(&mut self, handle: &Handle<T>) -> crate::Result<Arc<T>> {
        let value = self.value_of(handle.id)?;
        value
            .downcast::<T>()
            .map_err(|_| ExecError::UnknownOutput(handle.id.0).into())
    }

    /// Number of nodes currently held in the lineage DAG (shrinks when lineage is truncated).
    pub fn dag_len(&self) -> usize {
        self.lineage.len()
    }

    /// Bytes currently charged against the budget.
    pub fn tracked_bytes(&self) -> u64 {
        self.executor.services.memory.tracked()
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig {
        &self.executor.config
    }

    /// Record a step whose parameters include input files: `files` are `(parameter name,
    /// source)` for each `InputFile` / `InputGlob` parameter (what `#[step]` passes). The
    /// files are hashed now; a missing one makes the run fail, naming step, parameter and path,
    /// before any step runs (unless an earlier `get` or the lookahead window already ran some).
    pub fn record_with_inputs<T: Data, P: Serialize + ?Sized>(
        &mut self,
        spec: &StepSpec,
        params: &P,
        inputs: &[NodeId],
        lazy: &[NodeId],
        files: &[(&str, &dyn InputSource)],
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        let pended = self.executor.pend_content(spec, files);
        self.defer(pended);
        self.record_lazy(spec, params, inputs, lazy, compute)
    }

    /// `StepBuilder::volatile`: the next recorded node (step `step`) is volatile.
    pub(super) fn pend_volatile(&mut self, step: &str) {
        self.executor.pending_volatile(step);
    }

    /// `StepBuilder::input_file`: the next recorded node (step `step`) reads `source`.
    pub(super) fn pend_input(&mut self, step: &str, param: &str, source: &dyn InputSource) {
        let pended = self.executor.pending_input(step, param, source);
        self.defer(pended);
    }

    /// `StepBuilder::per_split`: the next recorded node (step `step`) runs once per split.
    pub(crate) fn pend_files(&mut self, step: &str, param: &str, files: &crate::FileSplits) {
        let pended = self.executor.pending_files(step, param, files);
        self.defer(pended);
    }

    /// Keep the first recording error: the run fails with it when it executes.
    fn defer(&mut self, result: crate::Result<()>) {
        if let Err(e) = result {
            self.deferred.get_or_insert(e);
        }
    }

    /// Make the values of `targets` exist (resident or stored): the executor runs what they
    /// need.
    fn materialize(&mut self, targets: &[NodeId]) -> crate::Result<()> {
        if self.worker_done() {
            return Err(ExecError::WorkerFinished.into());
        }
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.executor.materialize(&mut self.lineage, targets)
    }

    /// Materialize pending checkpoints (keeps the DAG bounded in very long loops).
    fn flush_checkpoints(&mut self) -> crate::Result<()> {
        let mut targets: Vec<NodeId> = self
            .lineage
            .nodes()
            .filter(|n| {
                n.policy == Policy::Checkpoint && !n.done && (n.is_live() || n.pending_children > 0)
            })
            .map(|n| n.id)
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        targets.sort();
        self.materialize(&targets)
    }

    fn value_of(&mut self, id: NodeId) -> crate::Result<Value> {
        if let Some(n) = self.lineage.get(id)
            && n.is_partitioned()
        {
            return Err(ExecError::Partitioned {
                step: n.name.clone(),
                partitions: n.blocks(),
            }
            .into());
        }
        self.materialize(&[id])?;
        let block = BlockId::whole(id);
        self.executor.ensure_resident(&mut self.lineage, block)?;
        self.executor
            .blocks
            .get(block)
            .value
            .clone()
            .ok_or_else(|| ExecError::UnknownOutput(id.0).into())
    }

    /// The next recorded step (`step`) has a `Partitions` parameter of `count` partitions (what
    /// `#[step]` passes for it).
    pub(crate) fn pend_partitions(&mut self, step: &str, count: u32) {
        self.pending_partitions = Some((step.to_string(), count));
    }

    /// Compute the output and every sink not yet run, and hand the output over.
    pub(crate) fn finish_output<T: Data>(&mut self, output: &Handle<T>) -> crate::Result<T> {
        let mut targets: Vec<NodeId> = self
            .lineage
            .nodes()
            .filter(|n| n.sink && !n.done && n.id != output.id)
            .map(|n| n.id)
            .collect();
        targets.sort();
        let value = self.value_of(output.id)?;
        if !targets.is_empty() {
            self.materialize(&targets)?;
        }
        self.executor.drop_value(BlockId::whole(output.id));
        let typed = value
            .downcast::<T>()
            .map_err(|_| ExecError::UnknownOutput(output.id.0))?;
        match Arc::try_unwrap(typed) {
            Ok(v) => Ok(v),
            // Someone (an earlier `get`) still shares it: hand over a copy made by its codec.
            Err(shared) => <T::Codec as crate::store::ValueCodec<T>>::duplicate(&shared)
                .map_err(crate::Error::pipeline),
        }
    }

    /// End the run (see [`Executor::complete`]) and return its report.
    pub(crate) fn complete(
        &mut self,
        error: Option<&crate::Error>,
    ) -> crate::Result<crate::report::RunReport> {
        self.executor.complete(error)
    }

    pub(super) fn record_node<T: Data>(
        &mut self,
        spec: NodeSpec,
        error: Option<PlanError>,
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        let compute: Compute =
            Arc::new(move |args: &Args<'_>| compute(args).map(|v| Arc::new(v) as Value));
        let (id, live) =
            self.record_erased(spec, error, ValueOps::of::<T>(), compute, Layout::default());
        Handle::new(id, live)
    }

    /// Record a node of any layout (what typed recording and the shuffle both end in).
    pub(super) fn record_erased(
        &mut self,
        spec: NodeSpec,
        error: Option<PlanError>,
        ops: ValueOps,
        compute: Compute,
        layout: Layout,
    ) -> (NodeId, Arc<()>) {
        // Recording a large plan (100,000 partitions) takes a while: a stop asked for meanwhile
        // ends it here, and the run fails as interrupted before anything executes.
        if let Some(signal) = crate::stop::requested() {
            self.defer(Err(ExecError::Interrupted { signal }.into()));
            return (self.lineage.next_id(), Arc::new(()));
        }
        if self.worker_done() {
            return (self.lineage.next_id(), Arc::new(()));
        }
        let id = self.lineage.next_id();
        let content = self.executor.inputs.take_pending(&spec.name);
        let mut error = error;
        let lazy_from = spec.inputs.len();
        let mut spec = spec;
        if spec.partitions.is_none() {
            spec.partitions = self
                .pending_partitions
                .take()
                .filter(|(step, _)| *step == spec.name)
                .map(|(_, count)| count);
        }
        let files = self.executor.inputs.take_files(&spec.name);
        spec.partitions = files.as_ref().map(|f| f.count()).or(spec.partitions);
        let lazy = std::mem::take(&mut spec.lazy);
        spec.inputs.extend(lazy);
        let mut parent_fps = Vec::with_capacity(spec.inputs.len());
        let mut since = 0u32;
        for (index, input) in spec.inputs.iter().enumerate() {
            match self.lineage.get(*input) {
                Some(p) => {
                    parent_fps.push(p.fingerprint);
                    since = since.max(p.since_checkpoint + 1);
                }
                None => {
                    error.get_or_insert(PlanError::UnknownInput {
                        step: spec.name.clone(),
                        index,
                        node: input.0,
                    });
                }
            }
        }
        let content_addressed = content.as_ref().is_some_and(|c| c.is_content_addressed());
        let eager = &spec.inputs[..lazy_from.min(spec.inputs.len())];
        let asked = match layout.rule {
            ReadRule::Gather => Some(layout.partitions),
            ReadRule::Map => spec.partitions,
        };
        let partitions = match crate::plan::partition_count(
            &self.lineage,
            &spec.name,
            asked,
            eager,
            layout.rule,
            content_addressed,
        ) {
            Ok(n) => n,
            Err(e) => {
                error.get_or_insert(e);
                1
            }
        };
        let policy = match (spec.policy, self.executor.config.checkpoint_every) {
            (Some(p), _) => p,
            (None, Some(every)) if since >= every => Policy::Checkpoint,
            (None, _) => Policy::MemoryAndDisk,
        };
        if policy == Policy::Checkpoint {
            since = 0;
        }
        let fingerprint_inputs = FingerprintInputs {
            code: &spec.code,
            name: &spec.name,
            module: &spec.module,
            version: spec.version.as_deref(),
            params: &spec.params,
            output_type: ops.type_name,
            parents: &parent_fps,
            inputs: content.as_ref().and_then(|c| c.inputs_hash),
        };
        let fingerprint = fingerprint_inputs.fingerprint();
        let content_row = content.as_ref().map(|c| c.report()).unwrap_or_default();
        let type_name = ops.type_name;
        self.executor
            .inputs
            .note_record(id, &fingerprint_inputs, type_name, &spec.inputs, content);
        self.defer(error.map_or(Ok(()), |e| Err(e.into())));
        let live = Arc::new(());
        self.executor.services.log.insert(StepReport {
            seq: id.0,
            name: spec.name.clone(),
            module: spec.module.clone(),
            fingerprint,
            policy,
            status: StepStatus::Skipped,
            reason: "not needed by any output".into(),
            seconds: 0.0,
            executions: 0,
            partitions: partitions.saturating_mul(layout.fanout.max(1)),
            partitions_executed: 0,
            partitions_reused: 0,
            output_bytes: 0,
            output_resident_bytes: 0,
            spilled_bytes: 0,
            reloaded_bytes: 0,
            checkpoint: None,
            object_keys: Vec::new(),
            output_type: ops.type_name.to_string(),
            code: spec
                .version
                .clone()
                .map(|v| format!("version={v}"))
                .unwrap_or_else(|| spec.code.clone()),
            params_hash: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&spec.params)),
            parents: parent_fps,
            content: content_row,
        });
        let shape = crate::plan::Shape {
            parents: &spec.inputs,
            lazy_from,
            partitions,
            rule: layout.rule,
        };
        let salts =
            crate::plan::task_salts(&self.lineage, &shape, files.as_ref().map(|f| f.salts()));
        let compute = match files {
            Some(files) => files.wrap(compute),
            None => compute,
        };
        let recipe = Recipe {
            name: spec.name,
            fingerprint,
            policy,
            since_checkpoint: since,
            ops,
            parents: spec.inputs,
            lazy_from,
            partitions,
            fanout: layout.fanout.max(1),
            rule: layout.rule,
            salts,
            compute: Some(compute),
        };
        self.lineage
            .insert(Node::fresh(id, recipe, Arc::downgrade(&live), ops.is_unit));
        self.executor.recorded(&self.lineage, id);
        if let Some(worker) = self.worker.as_ref()
            && id.0 >= worker.spec.last_seq()
        {
            self.run_worker_segment();
            return (id, live);
        }
        self.recorded_since_flush += 1;
        if self.recorded_since_flush >= self.executor.config.lookahead.max(1) {
            self.recorded_since_flush = 0;
            if self.deferred.is_none() {
                let flushed = self.flush_checkpoints();
                self.defer(flushed);
            }
        }
        (id, live)
    }

    /// A worker recorded its segment's last step: run the segment (a recording error found on
    /// the way ends it instead).
    fn run_worker_segment(&mut self) {
        let Some(spec) = self.worker.as_ref().map(|w| w.spec.clone()) else {
            return;
        };
        let end = match self.deferred.take() {
            Some(error) => super::worker::classify(&error, Vec::new()),
            None => self.executor.run_segment(&mut self.lineage, &spec),
        };
        if let Some(worker) = self.worker.as_mut() {
            worker.end = Some(end);
        }
    }

    /// Record a hash shuffle of `spec`'s one input into `partitions` partitions of values with
    /// `ops` (what [`StepBuilder::repartition`](super::StepBuilder::repartition) and
    /// `repartition_by` do): a split node whose task i cuts input partition i into one bucket
    /// block per output partition (`cut` of the bucket count), and a gather node whose task j
    /// joins bucket j of every split task (`join`).
    pub(super) fn record_shuffle(
        &mut self,
        spec: NodeSpec,
        error: Option<PlanError>,
        partitions: u32,
        ops: ValueOps,
        (cut, join): (impl FnOnce(u32) -> Compute, Compute),
    ) -> (NodeId, Arc<()>) {
        let mut error = error;
        if spec.inputs.len() != 1 || !spec.lazy.is_empty() {
            error.get_or_insert(PlanError::Partitions {
                step: spec.name.clone(),
                problem: format!(
                    "a repartition takes exactly one input (`.input(&dataset)`), not {} eager and {} lazy",
                    spec.inputs.len(),
                    spec.lazy.len()
                ),
            });
        }
        if partitions == 0 {
            error.get_or_insert(PlanError::Partitions {
                step: spec.name.clone(),
                problem: "0 partitions were asked for; use at least 1".into(),
            });
        }
        let buckets = partitions.max(1);
        let gather = NodeSpec {
            name: spec.name.clone(),
            module: spec.module.clone(),
            code: spec.code.clone(),
            version: spec.version.clone(),
            policy: spec.policy,
            params: [spec.params.as_slice(), &buckets.to_le_bytes()].concat(),
            inputs: Vec::new(),
            lazy: Vec::new(),
            partitions: None,
        };
        let mut split = spec;
        split.name = format!("{}/split", gather.name);
        split.params = gather.params.clone();
        split.policy = None;
        let split_layout = Layout {
            fanout: buckets,
            ..Layout::default()
        };
        let (split_id, _split_live) =
            self.record_erased(split, error, ops, cut(buckets), split_layout);
        let mut gather = gather;
        gather.inputs = vec![split_id];
        let gather_layout = Layout {
            rule: ReadRule::Gather,
            partitions: buckets,
            fanout: 1,
        };
        self.record_erased(gather, None, ops, join, gather_layout)
    }
}
