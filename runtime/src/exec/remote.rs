//! Tasks as data: what a coordinator sends a worker process ([`TaskSpec`]) and what comes
//! back ([`TaskOutcome`]), both plain JSON.
//!
//! A spec names a **segment** (`plan/segment.rs`): tasks of the recorded pipeline by
//! record order (`seq`) and partition, the store keys of the blocks it reads from outside and
//! of the blocks it must leave in the store (checkpoints and exchange objects), the identities
//! of content-addressed steps (hashed once, by the coordinator), the worker's budget and a
//! **plan hash** over all of that. The worker is the same binary started with the same flags:
//! it records the pipeline again (recording is deterministic by contract), computes the plan
//! hash of what it recorded and refuses (exit 2) when it differs — another binary, other flags
//! or other input files. Only keys travel, never values, so a spec is small and any process
//! that can reach the store can run it.
//!
//! Owns the wire format (`format` fields, [`SPEC_FORMAT`]) and the exit codes
//! ([`exit_codes`]). Not responsible for running anything (`worker.rs`, `processes.rs`).

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::plan::{BlockId, Lineage, NodeId, Task, block_key};
use crate::store::{BlockKey, Commit, ObjectKind};

/// The version of the spec and outcome formats.
pub const SPEC_FORMAT: u32 = 1;

/// Worker exit codes: how a launcher tells a failure to retry from one not to.
pub mod exit_codes {
    /// The segment ran and its outputs are in the store.
    pub const SUCCEEDED: i32 = 0;
    /// A deterministic failure (a step returned an error or panicked, or its data cannot fit
    /// the budget): running it again gives the same result, so it is not retried.
    pub const FAILED: i32 = 1;
    /// Refused: the spec does not match what this binary records (plan hash), or cannot be
    /// read. Not retried: the worker binary or its flags differ from the coordinator's.
    pub const REFUSED: i32 = 2;
    /// A transient failure (the store could not be read or written, an input object is
    /// missing): retried. A worker killed by a signal is transient too.
    pub const TRANSIENT: i32 = 3;
}

/// One segment for a worker process to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// [`SPEC_FORMAT`].
    pub format: u32,
    /// The coordinator's run (the worker writes its attempt report into its folder).
    pub run_id: String,
    /// The segment's number within the run.
    pub segment: u32,
    /// Hash over the tasks, their step names and every key below (hex).
    pub plan_hash: String,
    /// The tasks, in the order they run.
    pub tasks: Vec<SpecTask>,
    /// Blocks read from outside the segment: each is in the store.
    pub inputs: Vec<SpecBlock>,
    /// Blocks the segment must leave in the store, with their kind (checkpoint or exchange).
    pub outputs: Vec<SpecBlock>,
    /// Final identities of content-addressed steps recorded up to the segment's last step.
    pub identities: Vec<SpecIdentity>,
    /// The worker's memory budget in bytes (its share of the run's).
    pub budget_bytes: u64,
    /// The cores the worker may use (its share of `--jobs`; 1 on an engine): a wide task reads
    /// its stored inputs on all of them. Absent in older specs: 1.
    #[serde(default = "one_thread")]
    pub threads: u32,
    /// The fencing token: who held the store's lock or lease when the coordinator sent the
    /// task ([`Store::lock_holder`](crate::store::Store::lock_holder)). A worker refuses (exit
    /// 2) when another holder has it now: the run this attempt belongs to is over.
    #[serde(default)]
    pub lease: Option<String>,
}

/// One task of a segment: a step by record order, and its partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecTask {
    /// Record order of the step in the pipeline.
    pub seq: usize,
    /// The step's name (checked by the worker).
    pub step: String,
    /// The task's partition index.
    pub index: u32,
}

/// A block by its node, part and store key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecBlock {
    /// Record order of the step that makes it.
    pub seq: usize,
    /// The block's part (partition, or bucket of a shuffle split).
    pub part: u32,
    /// The store key, `<fingerprint hex>.<part>`.
    pub key: String,
    /// The object kind it has (inputs) or must be written as (outputs).
    pub kind: ObjectKind,
}

/// The final fingerprint of a content-addressed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecIdentity {
    /// Record order.
    pub seq: usize,
    /// Fingerprint (hex).
    pub fingerprint: String,
}

/// How one attempt of a segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptStatus {
    /// Every output is in the store.
    Succeeded,
    /// A deterministic failure (exit 1).
    Failed,
    /// The spec did not match this binary (exit 2).
    Refused,
    /// A transient failure (exit 3), or the worker was stopped.
    Transient,
}

/// What one attempt of a segment did: written by the worker to
/// `runs/<run>/task-s<segment>-a<attempt>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOutcome {
    /// [`SPEC_FORMAT`].
    pub format: u32,
    /// The run.
    pub run_id: String,
    /// The segment.
    pub segment: u32,
    /// The attempt (1 for the first).
    pub attempt: u32,
    /// How it ended.
    pub status: AttemptStatus,
    /// The process's exit code ([`exit_codes`]).
    pub exit_code: i32,
    /// Wall seconds of the attempt.
    pub seconds: f64,
    /// The worker's highest resident set size.
    pub rss_peak_bytes: u64,
    /// The worker's highest accounted bytes.
    pub tracked_peak_bytes: u64,
    /// Per task: what ran.
    pub tasks: Vec<TaskRecord>,
    /// Objects the attempt committed or found committed.
    pub objects: Vec<ObjectRecord>,
    /// Why it failed.
    pub error: Option<TaskFailure>,
}

/// What one task of a segment did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Record order.
    pub seq: usize,
    /// Partition.
    pub index: u32,
    /// Whether its body ran (false: its output was found stored).
    pub executed: bool,
    /// Seconds its body took.
    pub seconds: f64,
    /// Output bytes (allocator view).
    pub output_bytes: u64,
    /// Output bytes (resident estimate).
    pub output_resident_bytes: u64,
    /// Bytes spilled in the worker.
    pub spilled_bytes: u64,
}

/// An object an attempt left in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Record order of the step.
    pub seq: usize,
    /// Block part.
    pub part: u32,
    /// Store key, `<fingerprint hex>.<part>`.
    pub key: String,
    /// Checkpoint or exchange.
    pub kind: ObjectKind,
    /// File size.
    pub bytes: u64,
    /// Path relative to the store root.
    pub path: String,
    /// Whether this attempt's object is the one at the key, or another attempt's was kept.
    pub commit: Commit,
}

/// A failed attempt's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// The step that failed, when one did.
    pub step: Option<String>,
    /// Its record order.
    pub seq: Option<usize>,
    /// `error`, `panic`, `budget`, `refused`, `store` or `interrupted`.
    pub kind: String,
    /// The step's message (or the error chain).
    pub message: String,
    /// `file:line:column` of a panic.
    pub location: Option<String>,
}

/// The worker's part of an executor.
#[derive(Debug, Default)]
pub(crate) struct WorkerState {
    /// Blocks to leave in the store as exchange objects (those the node's policy does not
    /// already checkpoint).
    pub(crate) exchange: rustc_hash::FxHashMap<BlockId, ObjectKind>,
    /// Checkpoints and exchange objects this attempt committed or found committed.
    pub(crate) objects: Vec<ObjectRecord>,
}

/// `<fingerprint hex>.<part>`: a key as specs write it.
pub(crate) fn key_text(key: BlockKey) -> String {
    format!("{}.{}", key.fingerprint.to_hex(), key.part)
}

/// The store key of block `id`, when its node is in `lineage`.
pub(crate) fn key_of(lineage: &Lineage, id: BlockId) -> Option<BlockKey> {
    let n = lineage.get(id.node)?;
    let (fingerprint, part) = block_key(n.fingerprint, n.fanout, &n.salts, id.part);
    Some(BlockKey { fingerprint, part })
}

/// The plan hash of a segment as `lineage` records it: every task's step name and output keys,
/// every input and output key. `None` when a task's node is not recorded.
pub(crate) fn plan_hash(
    lineage: &Lineage,
    tasks: &[Task],
    inputs: &[BlockId],
    outputs: &[BlockId],
) -> Option<String> {
    let mut h = Xxh3::new();
    let put_key = |h: &mut Xxh3, id: BlockId| -> Option<()> {
        let key = key_of(lineage, id)?;
        h.update(&(id.node.0 as u64).to_le_bytes());
        h.update(&id.part.to_le_bytes());
        h.update(&key.fingerprint.0.to_le_bytes());
        h.update(&key.part.to_le_bytes());
        Some(())
    };
    h.update(b"tasks");
    for t in tasks {
        let n = lineage.get(t.node)?;
        h.update(&(t.node.0 as u64).to_le_bytes());
        h.update(&t.index.to_le_bytes());
        h.update(&(n.name.len() as u64).to_le_bytes());
        h.update(n.name.as_bytes());
        let fanout = n.fanout.max(1);
        for part in t.index * fanout..(t.index + 1) * fanout {
            put_key(&mut h, BlockId::new(t.node, part))?;
        }
    }
    h.update(b"inputs");
    for b in inputs {
        put_key(&mut h, *b)?;
    }
    h.update(b"outputs");
    for b in outputs {
        put_key(&mut h, *b)?;
    }
    Some(format!("{:032x}", h.digest128()))
}

impl TaskSpec {
    /// The tasks as the executor names them.
    pub(crate) fn task_ids(&self) -> Vec<Task> {
        self.tasks
            .iter()
            .map(|t| Task {
                node: NodeId(t.seq),
                index: t.index,
            })
            .collect()
    }

    /// The blocks of `list` as the executor names them.
    pub(crate) fn block_ids(list: &[SpecBlock]) -> Vec<BlockId> {
        list.iter()
            .map(|b| BlockId::new(NodeId(b.seq), b.part))
            .collect()
    }

    /// The highest record order the spec names: the worker records the pipeline up to it.
    pub(crate) fn last_seq(&self) -> usize {
        let tasks = self.tasks.iter().map(|t| t.seq);
        let blocks = self.inputs.iter().chain(&self.outputs).map(|b| b.seq);
        tasks.chain(blocks).max().unwrap_or(0)
    }

    /// Read a spec file, checking its format.
    pub fn read(path: &std::path::Path) -> Result<TaskSpec, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read the task spec {}: {e}", path.display()))?;
        let spec: TaskSpec = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the task spec {} is not valid: {e}", path.display()))?;
        if spec.format != SPEC_FORMAT {
            return Err(format!(
                "the task spec {} has format {}, this binary reads format {SPEC_FORMAT}",
                path.display(),
                spec.format
            ));
        }
        Ok(spec)
    }
}

fn one_thread() -> u32 {
    1
}
