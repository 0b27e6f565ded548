//! [`StepBuilder`]: records one hand-written step (what `#[step]` does for annotated functions)
//! into a [`Pipeline`]: name, module, code hash or version, policy, parameters, inputs.

use serde::Serialize;

use super::pipeline::Pipeline;
use super::spec::NodeSpec;
use crate::input::{FileSplits, InputGlob, InputSource};
use crate::plan::{Args, BoxError, Data, Handle, PlanError, Policy};

/// Records one hand-written step; finish with [`StepBuilder::run`].
pub struct StepBuilder<'p> {
    pipeline: &'p mut Pipeline,
    spec: NodeSpec,
    error: Option<PlanError>,
}

impl Pipeline {
    /// Start recording a hand-written step called `name`; finish with [`StepBuilder::run`].
    pub fn step(&mut self, name: &str) -> StepBuilder<'_> {
        StepBuilder::new(self, name)
    }
}

impl std::fmt::Debug for StepBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepBuilder")
            .field("name", &self.spec.name)
            .finish_non_exhaustive()
    }
}

impl<'p> StepBuilder<'p> {
    /// A builder for step `name` of `pipeline`, with nothing set yet.
    pub(super) fn new(pipeline: &'p mut Pipeline, name: &str) -> Self {
        StepBuilder {
            spec: NodeSpec::named(name),
            error: None,
            pipeline,
        }
    }

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
    /// Make this step a partitioned source: it runs once per partition, `0..count`, and its body
    /// reads which one with [`Args::partition`]. (A step whose inputs are partitioned runs per
    /// partition without this.) The count is part of the fingerprint.
    pub fn partitions(mut self, count: u32) -> Self {
        self.spec.partitions = Some(count);
        self.spec.params.extend_from_slice(&count.to_le_bytes());
        self
    }
    /// Make this step a source partitioned over files: it runs once per file of `files` (in
    /// sorted order), and task i reads file i — get it with [`InputGlob::file`] of
    /// [`Args::partition`]. Each partition is keyed by its own file's path and content (hashed
    /// now, through the stat cache), so on a later run a changed file recomputes its partition
    /// and what was computed from that partition only; an added or removed file adds or removes
    /// a partition, and steps that read every partition (lazy inputs, a repartition) recompute.
    /// Only the pattern enters the step's fingerprint (parameter `name` in messages). Reuse
    /// across runs needs the partitions stored: give this step (or its descendants) the
    /// checkpoint policy.
    ///
    /// ```no_run
    /// # fn main() -> stepstone::Result<()> {
    /// use stepstone::{InputGlob, Policy, RunConfig};
    ///
    /// let out = stepstone::run(&RunConfig::new("lines"), |p| {
    ///     let files = InputGlob::from("data/*.csv");
    ///     let glob = files.clone();
    ///     let lines = p
    ///         .step("lines")
    ///         .code("1")
    ///         .policy(Policy::Checkpoint)
    ///         .per_file("files", &files)
    ///         .run(move |a| Ok(std::fs::read_to_string(glob.file(a.partition())?.path())?.lines().count() as u64));
    ///     Ok(p.step("total").code("1").lazy_inputs(&[lines]).run(|a| {
    ///         a.parts::<u64>(0, 1).map(|n| n.map(|n| *n)).sum::<Result<u64, _>>().map_err(Into::into)
    ///     }))
    /// })?;
    /// println!("{} lines", out.value);
    /// # Ok(())
    /// # }
    /// ```
    pub fn per_file(self, name: &str, files: &InputGlob) -> Self {
        self.per_split(name, &FileSplits::files(files))
    }
    /// [`StepBuilder::per_file`] over any [`FileSplits`]: one partition per split (a file, a
    /// Parquet row group from `stepstone::arrow::row_groups`, a byte range from
    /// [`FileSplits::byte_ranges`]); the body finds its split with
    /// [`FileSplits::get`] of [`Args::partition`]. Each split is keyed by its file's content
    /// and its place in the file.
    pub fn per_split(self, name: &str, splits: &FileSplits) -> Self {
        self.pipeline.pend_files(&self.spec.name, name, splits);
        self.param(splits)
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
        self.pipeline.pend_volatile(&self.spec.name);
        self
    }
    /// An input-file parameter called `name`, fingerprinted by the content of its files (see
    /// [`crate::InputFile`]); pass the value with [`StepBuilder::param`] too if the body needs it.
    pub fn input_file(self, name: &str, source: &dyn InputSource) -> Self {
        self.pipeline.pend_input(&self.spec.name, name, source);
        self
    }
    /// Record a hash repartition of this step's one input (`.input(&dataset)`, partitions of
    /// `Vec<R>`, or one unpartitioned `Vec<R>`) into `partitions` partitions by `key`: every
    /// row whose key is equal lands in the same output partition, so a per-partition step after
    /// it sees whole groups (group-by, join). Each input partition is cut into one bucket per
    /// output partition (buckets are blocks: spilled when the budget needs); output partition
    /// j concatenates bucket j of every input partition. The step's name, module, code or
    /// version and parameters identify the key in the fingerprint: change the version when the
    /// key function changes. Buckets follow xxh3 over the key's `Hash`.
    pub fn repartition<R, K>(
        self,
        partitions: u32,
        key: impl Fn(&R) -> K + Send + Sync + 'static,
    ) -> Handle<Vec<R>>
    where
        R: Clone + Send + Sync + 'static,
        Vec<R>: Data,
        K: std::hash::Hash,
    {
        let ops = crate::plan::ValueOps::of::<Vec<R>>();
        let cut = |buckets| crate::plan::shuffle_split::<R, K>(buckets, key);
        let join = crate::plan::shuffle_gather::<R>();
        let (id, live) =
            self.pipeline
                .record_shuffle(self.spec, self.error, partitions, ops, (cut, join));
        Handle::new(id, live)
    }
    /// Record a hash repartition of this step's one input (`.input(&batches)`, partitions of
    /// [`Batch`](crate::arrow::Batch)) into `partitions` partitions by the key columns `by`:
    /// rows whose key columns are equal land in the same output partition. Rows are bucketed
    /// by xxh3 of Arrow's row encoding of the key columns (`arrow-row`) and cut with `take`;
    /// each bucket is a block, spilled as Arrow IPC when the budget needs. Two datasets
    /// repartitioned by keys of the same types into the same count are co-partitioned: a step
    /// reading both runs once per partition pair (a join). A key column a batch does not have
    /// fails its task, naming the column.
    #[cfg(feature = "arrow")]
    pub fn repartition_by(self, partitions: u32, by: &[&str]) -> Handle<crate::arrow::Batch> {
        let columns: Vec<String> = by.iter().map(|c| (*c).to_string()).collect();
        let this = self.param(&columns);
        let ops = crate::plan::ValueOps::of::<crate::arrow::Batch>();
        let cut = |buckets| crate::arrow::shuffle::split(buckets, columns);
        let join = crate::arrow::shuffle::gather();
        let (id, live) =
            this.pipeline
                .record_shuffle(this.spec, this.error, partitions, ops, (cut, join));
        Handle::new(id, live)
    }
    /// Record the step with its body; returns the output handle. Nothing runs yet.
    pub fn run<T: Data>(
        self,
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        self.pipeline.record_node(self.spec, self.error, compute)
    }
}
