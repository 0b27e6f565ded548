//! The plan: a lazy lineage DAG of typed handles, node fingerprints, checkpoint policies, and
//! the schedule of tasks that materializes some targets.
//!
//! Calling a step records a node and hands back a [`Handle`]; nothing runs here. The
//! executor ([`crate::exec`]) asks for a schedule (`Schedule`) and decides per task what to compute,
//! load or skip. Lineage truncation removes nodes that no live handle and no pending node can
//! reach any more.

mod fingerprint;
mod identity;
mod lineage;
mod partition;
mod recipe;
mod retired;
mod schedule;
mod segment;
mod value;

use std::marker::PhantomData;
use std::sync::Arc;

pub use fingerprint::{
    FORMAT_VERSION, Fingerprint, FingerprintInputs, ParseFingerprintError, content_identity,
};
pub(crate) use identity::{Shape, block_key, file_salt, task_salts};
pub(crate) use lineage::{Lineage, Node};
pub use partition::Partitions;
pub(crate) use partition::{
    BlockId, Buckets, ReadRule, Task, partition_count, shuffle_gather, shuffle_split, task_reads,
};
pub(crate) use recipe::Recipe;
pub(crate) use schedule::{Schedule, dedup};
pub(crate) use segment::{Segment, segments};
pub use value::{ArgError, Args, BoxError, Data, Part, Parts, with_parts};
pub(crate) use value::{Compute, LazyAhead, LazySlot, LazySource, Value, ValueOps};

/// Identifies a node within one run (record order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct NodeId(pub usize);

/// What the runtime does with a step's output (DESIGN "Policies").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Kept in memory; spilled to disk (content-addressed, reusable after a crash) when the
    /// budget needs room; reloaded transparently. Spill objects are deleted when the run
    /// completes.
    #[default]
    MemoryAndDisk,
    /// Memory only: dropped when evicted and recomputed from lineage when needed again.
    Cache,
    /// Written to run-local disk as soon as computed (lineage kept); deleted at run end.
    Persist,
    /// Written durably as soon as computed, once; lineage truncated; reused by later runs.
    Checkpoint,
}

impl Policy {
    /// The lowercase name used in reports and attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::MemoryAndDisk => "memory-and-disk",
            Policy::Cache => "cache",
            Policy::Persist => "persist",
            Policy::Checkpoint => "checkpoint",
        }
    }
}

/// A typed reference to a recorded (not necessarily computed) dataset.
///
/// Handles are cheap to clone. While any clone is alive the runtime assumes the value may still
/// be used, so it is kept (in memory or on disk); drop handles you no longer need and the value
/// is freed as soon as no pending step needs it.
pub struct Handle<T> {
    pub(crate) id: NodeId,
    pub(crate) live: Arc<()>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    pub(crate) fn new(id: NodeId, live: Arc<()>) -> Self {
        Handle {
            id,
            live,
            _type: PhantomData,
        }
    }
    /// The node this handle refers to.
    pub fn id(&self) -> NodeId {
        self.id
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Handle::new(self.id, Arc::clone(&self.live))
    }
}

impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handle<{}>({})", std::any::type_name::<T>(), self.id.0)
    }
}

/// The static description of a step: what `#[step]` knows at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepSpec {
    /// Step name (the function name unless `name = "…"`).
    pub name: &'static str,
    /// `module_path!()` of the step.
    pub module: &'static str,
    /// Hash of the step's code tokens.
    pub code: &'static str,
    /// `version = "…"` override.
    pub version: Option<&'static str>,
    /// Explicit policy; `None` means memory-and-disk, subject to `checkpoint_every`.
    pub policy: Option<Policy>,
    /// `#[step(volatile)]`: always executes; its children see its output's content hash.
    pub volatile: bool,
    /// Same-crate helpers the body uses (name, token hash), from the `stepstone-build` table;
    /// already mixed into `code`, listed so the report can say which one changed.
    pub helpers: &'static [(&'static str, &'static str)],
}

/// Errors found while recording the plan (reported when the run executes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A parameter could not be serialized into the fingerprint.
    #[error(
        "step `{step}`: parameter could not be serialized for its fingerprint: {message}; parameters must be serde-serializable with a known length"
    )]
    Param {
        /// Step name.
        step: String,
        /// Serializer message.
        message: String,
    },
    /// An `InputFile` / `InputGlob` parameter names something that cannot be read.
    #[error(
        "step `{step}`, parameter `{param}`: cannot read input {path}: {problem}. Create it, or pass another path"
    )]
    Input {
        /// Step name.
        step: String,
        /// Parameter name.
        param: String,
        /// The path or pattern.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// A step's partitions do not add up: 0 asked for, inputs partitioned differently, or a
    /// kind of step that cannot be partitioned.
    #[error("step `{step}` cannot be partitioned as recorded: {problem}")]
    Partitions {
        /// Step name.
        step: String,
        /// What is wrong, and the fix.
        problem: String,
    },
    /// A handle from another pipeline (or a removed node) was passed to a step.
    #[error(
        "step `{step}`: input #{index} refers to node {node} that this pipeline does not hold; handles cannot cross pipelines"
    )]
    UnknownInput {
        /// Step name.
        step: String,
        /// Argument position.
        index: usize,
        /// The node id.
        node: usize,
    },
}
