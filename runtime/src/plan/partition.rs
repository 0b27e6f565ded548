//! Partitioned datasets: a node's output may be N partitions, each its own block, computed by
//! its own task.
//!
//! Owns the vocabulary: [`Partitions`] (what a step body sees: this task's partition of how
//! many), [`BlockId`] (one partition's value of one node), [`Task`] (one node × one task index)
//! and [`ReadRule`] (which parent blocks a task reads). The recorded DAG stays one node per
//! step; tasks are expanded from these rules when a schedule is built. Rules:
//! - a node with no partitioned eager input and `partitions = 1` is one task, one block;
//! - a **source** recorded with `Partitions::new(n)` (or `StepBuilder::partitions(n)`) is n
//!   tasks, task i makes block i and sees `Partitions { index: i, count: n }`;
//! - a node whose eager inputs include partitioned ones (all with the same count n) is a
//!   **map**: task i reads block i of each partitioned input and block 0 of the others;
//! - **lazy** inputs are read whole: every block of each, one at a time (`Args::parts`);
//! - a **shuffle** is two nodes: a split (task i reads block i, writes one bucket block per
//!   output partition) and a gather (task j reads bucket j of every split task).

use serde::{Deserialize, Serialize};

use super::NodeId;

/// Which partition of how many a running task computes (a step parameter of this type is
/// filled in by the runtime; at the call site it says how many partitions a source makes).
///
/// ```
/// use stepstone::Partitions;
/// let p = Partitions::new(4);
/// assert_eq!((p.index(), p.count()), (0, 4));
/// // The share of 0..10 that partition 0 of 4 covers:
/// assert_eq!(p.range(10), 0..3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partitions {
    index: u32,
    count: u32,
}

impl Partitions {
    /// `count` partitions (a source step recorded with it runs once per partition). Zero is
    /// refused when the step is recorded.
    pub fn new(count: u32) -> Partitions {
        Partitions { index: 0, count }
    }

    /// Partition `index` of `count` (what a task sees).
    pub fn at(index: u32, count: u32) -> Partitions {
        Partitions { index, count }
    }

    /// One partition: an unpartitioned value.
    pub fn single() -> Partitions {
        Partitions::at(0, 1)
    }

    /// This task's partition, `0..count`.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many partitions.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// This partition's share of `0..total`: contiguous, in order, sizes differing by at most
    /// one (the first `total % count` partitions get one more).
    pub fn range(&self, total: u64) -> std::ops::Range<u64> {
        let count = u64::from(self.count.max(1));
        let index = u64::from(self.index.min(self.count.saturating_sub(1)));
        let (base, extra) = (total / count, total % count);
        let start = index * base + index.min(extra);
        let len = base + u64::from(index < extra);
        start..start + len
    }
}

impl Default for Partitions {
    fn default() -> Self {
        Partitions::single()
    }
}

/// `--partitions 16`: a count of at least 1 (a pipeline parameter of type `Partitions` is a
/// flag; 0 or a non-number is a usage error).
impl std::str::FromStr for Partitions {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<u32>() {
            Ok(0) => Err("0 partitions: use at least 1".into()),
            Ok(n) => Ok(Partitions::new(n)),
            Err(e) => Err(format!("{s:?} is not a number of partitions: {e}")),
        }
    }
}

/// The count (`16`), as `--partitions` takes it.
impl std::fmt::Display for Partitions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.count)
    }
}

/// In a fingerprint only the count matters (every partition is its own block).
impl Serialize for Partitions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.count.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Partitions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u32::deserialize(d).map(Partitions::new)
    }
}

/// One partition's value of one node (`part` 0 for an unpartitioned node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct BlockId {
    pub(crate) node: NodeId,
    pub(crate) part: u32,
}

impl BlockId {
    /// Block `part` of `node`.
    pub(crate) fn new(node: NodeId, part: u32) -> BlockId {
        BlockId { node, part }
    }

    /// The only block of an unpartitioned node.
    pub(crate) fn whole(node: NodeId) -> BlockId {
        BlockId { node, part: 0 }
    }
}

/// One unit of execution: task `index` of `node` (it makes the node's blocks
/// `index * fanout .. (index + 1) * fanout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Task {
    pub(crate) node: NodeId,
    pub(crate) index: u32,
}

/// Which parent blocks a node's task reads through its eager inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReadRule {
    /// Block `index` of each partitioned parent, block 0 of the others.
    #[default]
    Map,
    /// The gather side of a shuffle: bucket `index` of every task of its one parent (a split
    /// node whose fanout is this node's partition count).
    Gather,
}

/// The blocks one task reads: eager ones in argument order (a gather reads one bucket per split
/// task), lazy ones expanded to every block of each lazy input, with where each lazy input's
/// blocks start (`lazy_starts[i]..lazy_starts[i + 1]`; empty when there are no lazy inputs).
#[derive(Debug, Default)]
pub(crate) struct TaskReads {
    pub(crate) eager: Vec<BlockId>,
    pub(crate) lazy: Vec<BlockId>,
    pub(crate) lazy_starts: Vec<usize>,
}

impl TaskReads {
    /// Every block read, eager then lazy.
    pub(crate) fn all(&self) -> impl Iterator<Item = BlockId> + '_ {
        self.eager.iter().chain(self.lazy.iter()).copied()
    }
}

/// What `task` reads, from its node's rule and its parents' partition counts.
pub(crate) fn task_reads(lineage: &super::Lineage, task: Task) -> TaskReads {
    let mut reads = TaskReads::default();
    let Some(node) = lineage.get(task.node) else {
        return reads;
    };
    reads.eager.reserve(node.lazy_from.min(node.parents.len()));
    let blocks_of = |p: NodeId| lineage.get(p).map_or(1, |n| n.blocks());
    let (eager, lazy) = node
        .parents
        .split_at(node.lazy_from.min(node.parents.len()));
    for &p in eager {
        match node.rule {
            ReadRule::Map if blocks_of(p) > 1 => reads.eager.push(BlockId::new(p, task.index)),
            ReadRule::Map => reads.eager.push(BlockId::whole(p)),
            ReadRule::Gather => {
                let tasks = lineage.get(p).map_or(1, |n| n.partitions);
                let buckets = node.partitions;
                reads
                    .eager
                    .extend((0..tasks).map(|t| BlockId::new(p, t * buckets + task.index)));
            }
        }
    }
    if lazy.is_empty() {
        return reads;
    }
    for &p in lazy {
        reads.lazy_starts.push(reads.lazy.len());
        reads
            .lazy
            .extend((0..blocks_of(p)).map(|b| BlockId::new(p, b)));
    }
    reads.lazy_starts.push(reads.lazy.len());
    reads
}

/// What a shuffle split's task returns: one value per output bucket (each becomes its own
/// block).
pub(crate) struct Buckets(pub(crate) Vec<super::Value>);

/// The body of a shuffle split's task: cut its input partition (`Vec<R>`, input 0) into
/// `buckets` buckets by `xxh3(key(row)) % buckets`, each becoming its own block.
pub(crate) fn shuffle_split<R, K>(
    buckets: u32,
    key: impl Fn(&R) -> K + Send + Sync + 'static,
) -> super::Compute
where
    R: Clone + Send + Sync + 'static,
    Vec<R>: super::Data,
    K: std::hash::Hash,
{
    std::sync::Arc::new(move |args: &super::Args<'_>| {
        let rows = args.get::<Vec<R>>(0)?;
        let mut out: Vec<Vec<R>> = (0..buckets).map(|_| Vec::new()).collect();
        for row in rows {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            std::hash::Hash::hash(&key(row), &mut hasher);
            let bucket = std::hash::Hasher::finish(&hasher) % u64::from(buckets.max(1));
            out[bucket as usize].push(row.clone());
        }
        let values = out
            .into_iter()
            .map(|b| std::sync::Arc::new(b) as super::Value)
            .collect();
        Ok(std::sync::Arc::new(Buckets(values)) as super::Value)
    })
}

/// The body of a shuffle gather's task: its buckets (every eager input, one per split task)
/// concatenated in split order.
pub(crate) fn shuffle_gather<R>() -> super::Compute
where
    R: Clone + Send + Sync + 'static,
    Vec<R>: super::Data,
{
    std::sync::Arc::new(|args: &super::Args<'_>| {
        let parts = args.slice::<Vec<R>>(0, args.len())?;
        let mut rows = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for part in parts {
            rows.extend_from_slice(part);
        }
        Ok(std::sync::Arc::new(rows) as super::Value)
    })
}

/// How many tasks a node of step `step` runs: for a gather, its bucket count (`asked`); else
/// the count a source `asked` for, else its partitioned `eager` inputs' (they must agree and
/// match what was asked), else 1. Zero, disagreeing inputs, or a partitioned
/// content-addressed step are plan errors that say what to do.
pub(crate) fn partition_count(
    lineage: &super::Lineage,
    step: &str,
    asked: Option<u32>,
    eager: &[NodeId],
    rule: ReadRule,
    content_addressed: bool,
) -> Result<u32, super::PlanError> {
    let mismatch = |problem: String| super::PlanError::Partitions {
        step: step.to_string(),
        problem,
    };
    if rule == ReadRule::Gather {
        return Ok(asked.unwrap_or(1));
    }
    let mut from_inputs: Option<(u32, String)> = None;
    for input in eager {
        let Some(p) = lineage.get(*input) else {
            continue;
        };
        if !p.is_partitioned() {
            continue;
        }
        match &from_inputs {
            Some((n, other)) if *n != p.blocks() => {
                return Err(mismatch(format!(
                    "its inputs `{other}` ({n} partitions) and `{}` ({} partitions) are \
                     partitioned differently; repartition one of them to the other's count",
                    p.name,
                    p.blocks()
                )));
            }
            Some(_) => {}
            None => from_inputs = Some((p.blocks(), p.name.clone())),
        }
    }
    let count = match (asked, from_inputs) {
        (Some(0), _) => {
            return Err(mismatch(
                "0 partitions were asked for; use at least 1".into(),
            ));
        }
        (Some(n), Some((m, other))) if n != m => {
            return Err(mismatch(format!(
                "it asks for {n} partitions but its input `{other}` has {m}; a step whose \
                 inputs are partitioned runs once per partition of them"
            )));
        }
        (Some(n), _) => n,
        (None, Some((m, _))) => m,
        (None, None) => 1,
    };
    if count > 1 && content_addressed {
        return Err(mismatch(
            "a step that reads input files or is volatile cannot be partitioned yet; \
             read the files in an unpartitioned step and partition its output"
                .into(),
        ));
    }
    Ok(count)
}
