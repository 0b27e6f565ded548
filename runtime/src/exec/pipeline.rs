//! The [`Pipeline`] handle: records steps into the lineage DAG (nothing runs) and answers
//! explicit `get`s.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::Error;
use crate::config::RunConfig;
use crate::memory::Accountant;
use crate::plan::{
    Args, BoxError, Data, FingerprintInputs, Handle, Lineage, Node, NodeId, PlanError, Policy,
    Recipe, StepSpec, Value, ValueOps,
};
use crate::report::{MemoryEvent, StepReport, StepRows, StepStatus, Totals};
use crate::store::{BlockKey, ObjectKind, Store};

/// A running pipeline: records steps lazily and executes them when a value is needed (an
/// output, a sink, or [`Pipeline::get`]).
pub struct Pipeline {
    pub(crate) config: RunConfig,
    pub(crate) run_id: String,
    pub(crate) started_at: String,
    pub(crate) lineage: Lineage,
    pub(crate) store: Arc<Store>,
    pub(crate) memory: Arc<Accountant>,
    pub(crate) deferred: Option<Error>,
    pub(crate) rows: StepRows,
    pub(crate) events: Vec<MemoryEvent>,
    pub(crate) totals: Totals,
    pub(crate) recorded_since_flush: usize,
    pub(crate) resident: BTreeSet<NodeId>,
    /// Objects this run wrote or used, by key, with their current kind (spills are deleted when
    /// the run completes).
    pub(crate) objects: HashMap<BlockKey, ObjectKind>,
    /// Planned uses of values in the current materialization: schedule positions, ascending
    /// (the targets' last use is at the end of the schedule).
    pub(crate) uses: HashMap<NodeId, std::collections::VecDeque<u64>>,
    pub(crate) freed_since_trim: u64,
    /// Live progress display.
    pub(crate) progress: crate::report::ProgressView,
    /// The previous run's steps by record order, to say why a step runs again.
    pub(crate) previous: Option<(String, HashMap<usize, StepReport>)>,
    /// Last output footprint per step name: the estimate for a step not yet seen.
    pub(crate) output_history: HashMap<String, crate::memory::Footprint>,
    /// Some resident value may be charged a sampled estimate (see `measure.rs`).
    pub(crate) has_estimates: bool,
    /// The process's RSS when the run started (what the run's own memory is measured from).
    pub(crate) rss_at_start: u64,
    /// Input files, volatile steps and content identities (see `inputs.rs`).
    pub(crate) inputs: crate::input::RunInputs,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("pipeline", &self.config.pipeline)
            .field("run_id", &self.run_id)
            .field("nodes", &self.lineage.len())
            .field("tracked", &self.memory.tracked())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Start recording a hand-written step called `name`; finish with [`StepBuilder::run`].
    pub fn step(&mut self, name: &str) -> StepBuilder<'_> {
        StepBuilder {
            spec: NodeSpec {
                name: name.to_string(),
                module: String::new(),
                code: String::new(),
                version: None,
                policy: None,
                params: Vec::new(),
                inputs: Vec::new(),
                lazy: Vec::new(),
            },
            error: None,
            pipeline: self,
        }
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
            .map_err(|_| crate::exec::ExecError::UnknownOutput(handle.id.0).into())
    }

    /// Number of nodes currently held in the lineage DAG (shrinks when lineage is truncated).
    pub fn dag_len(&self) -> usize {
        self.lineage.len()
    }

    /// Bytes currently charged against the budget.
    pub fn tracked_bytes(&self) -> u64 {
        self.memory.tracked()
    }

    /// The run's configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    pub(crate) fn value_of(&mut self, id: NodeId) -> crate::Result<Value> {
        self.materialize(&[id])?;
        self.ensure_resident(id)?;
        let node = self
            .lineage
            .get(id)
            .ok_or(crate::exec::ExecError::UnknownOutput(id.0))?;
        node.value
            .clone()
            .ok_or_else(|| crate::exec::ExecError::UnknownOutput(id.0).into())
    }

    fn record_node<T: Data>(
        &mut self,
        spec: NodeSpec,
        error: Option<PlanError>,
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        let id = self.lineage.next_id();
        let content = self.inputs.take_pending(&spec.name);
        let mut error = error;
        let lazy_from = spec.inputs.len();
        let mut spec = spec;
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
        let ops = ValueOps::of::<T>();
        let policy = match (spec.policy, self.config.checkpoint_every) {
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
        self.inputs
            .note_record(id, &fingerprint_inputs, type_name, &spec.inputs, content);
        if let Some(e) = error
            && self.deferred.is_none()
        {
            self.deferred = Some(e.into());
        }
        let live = Arc::new(());
        let compute: crate::plan::Compute =
            Arc::new(move |args: &Args<'_>| compute(args).map(|v| Arc::new(v) as Value));
        self.rows.insert(StepReport {
            seq: id.0,
            name: spec.name.clone(),
            module: spec.module.clone(),
            fingerprint,
            policy,
            status: StepStatus::Skipped,
            reason: "not needed by any output".into(),
            seconds: 0.0,
            executions: 0,
            output_bytes: 0,
            output_resident_bytes: 0,
            spilled_bytes: 0,
            reloaded_bytes: 0,
            checkpoint: None,
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
        let recipe = Recipe {
            name: spec.name,
            fingerprint,
            policy,
            since_checkpoint: since,
            ops,
            parents: spec.inputs,
            lazy_from,
            compute: Some(compute),
        };
        self.lineage
            .insert(Node::fresh(id, recipe, Arc::downgrade(&live), ops.is_unit));
        self.recorded_since_flush += 1;
        if self.recorded_since_flush >= self.config.lookahead.max(1) {
            self.recorded_since_flush = 0;
            if self.deferred.is_none()
                && let Err(e) = self.flush_checkpoints()
            {
                self.deferred = Some(e);
            }
        }
        Handle::new(id, live)
    }
}

struct NodeSpec {
    name: String,
    module: String,
    code: String,
    version: Option<String>,
    policy: Option<Policy>,
    params: Vec<u8>,
    inputs: Vec<NodeId>,
    lazy: Vec<NodeId>,
}

/// Records one hand-written step; finish with [`StepBuilder::run`].
pub struct StepBuilder<'p> {
    pipeline: &'p mut Pipeline,
    spec: NodeSpec,
    error: Option<PlanError>,
}

impl std::fmt::Debug for StepBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepBuilder")
            .field("name", &self.spec.name)
            .finish_non_exhaustive()
    }
}

impl StepBuilder<'_> {
    /// Module path (part of the fingerprint; `#[step]` passes `module_path!()`).
    pub fn module(mut self, module: &str) -> Self {
        self.spec.module = module.to_string();
        self
    }
    /// Code hash: change it when the step's code changes (part of the fingerprint).
    pub fn code(mut self, code: &str) -> Self {
        self.spec.code = code.to_string();
        self
    }
    /// A version that replaces the code hash in the fingerprint.
    pub fn version(mut self, version: &str) -> Self {
        self.spec.version = Some(version.to_string());
        self
    }
    /// The output's policy (default: memory-and-disk, subject to `checkpoint_every`).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.spec.policy = Some(policy);
        self
    }
    /// A parameter (serialized into the fingerprint; call once per parameter, in order).
    pub fn param<P: Serialize + ?Sized>(mut self, param: &P) -> Self {
        if let Err(e) = postcard::to_io(param, &mut self.spec.params) {
            self.error.get_or_insert(PlanError::Param {
                step: self.spec.name.clone(),
                message: e.to_string(),
            });
        }
        self
    }
    /// An upstream dataset (the closure reads it with `args.get::<T>(index)`, in call order).
    pub fn input<T: Data>(mut self, handle: &Handle<T>) -> Self {
        self.spec.inputs.push(handle.id);
        self
    }
    /// Several upstream datasets (read them with `args.slice::<T>(start, len)`).
    pub fn inputs<T: Data>(mut self, handles: &[Handle<T>]) -> Self {
        self.spec.inputs.extend(handles.iter().map(|h| h.id));
        self
    }
    /// Lazy upstream datasets: read them one at a time with `args.parts::<T>(start, len)`; only
    /// the one being read needs to be in memory.
    pub fn lazy_inputs<T: Data>(mut self, handles: &[Handle<T>]) -> Self {
        self.spec.lazy.extend(handles.iter().map(|h| h.id));
        self
    }
    /// Always execute this step, like `#[step(volatile)]`: its children see its output's content
    /// hash, so they are reused when it came out the same.
    pub fn volatile(self) -> Self {
        self.pipeline.pending_volatile(&self.spec.name);
        self
    }
    /// An input-file parameter called `name`, fingerprinted by the content of its files (see
    /// [`crate::InputFile`]); pass the value with [`StepBuilder::param`] too if the body needs it.
    pub fn input_file(self, name: &str, source: &dyn crate::input::InputSource) -> Self {
        self.pipeline.pending_input(&self.spec.name, name, source);
        self
    }
    /// Record the step with its body; returns the output handle. Nothing runs yet.
    pub fn run<T: Data>(
        self,
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        self.pipeline.record_node(self.spec, self.error, compute)
    }
}
