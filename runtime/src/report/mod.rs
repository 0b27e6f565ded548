//! Run reports: what each step did (executed, reused, skipped, and why), memory peaks beside the
//! budget, spill/reload/checkpoint totals, and a memory timeline. Written as
//! `runs/<run-id>/report.json` (schema [`REPORT_SCHEMA_VERSION`]) and summarized as a table.

mod content;
mod events;
mod live;
mod log;
mod progress;
mod rows;
mod table;

use serde::{Deserialize, Serialize};

use crate::memory::MemorySample;
use crate::plan::{Fingerprint, Policy};

pub(crate) use content::content_reason;
pub use content::{ContentRecord, InputRecord, MAX_LISTED_INPUTS};
pub(crate) use events::StepEvent;
pub(crate) use live::LiveNow;
pub use live::{
    LIVE_EVERY, LIVE_FILE, LIVE_SCHEMA_VERSION, LiveProgress, RecentTask, TASK_TIMES_CAP,
    TASKS_FILE, TaskTime, TaskTimes,
};
pub(crate) use log::{RunFigures, RunLog};
pub(crate) use progress::{ProgressView, StepProgress};
pub(crate) use rows::StepRows;
pub use rows::{FoldedSteps, STEP_ROWS_CAP};
pub use table::summary_table;

/// Version of the `report.json` schema; bumped on any incompatible change.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// Schema versions this version reads (version 1 has no partition counts: they read as 1).
pub const REPORT_SCHEMA_VERSIONS_READ: std::ops::RangeInclusive<u32> = 1..=REPORT_SCHEMA_VERSION;

fn one() -> u32 {
    1
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// All outputs computed; spill objects deleted.
    Completed,
    /// A step or the store failed; checkpoints and spills are kept for a resume.
    Failed,
    /// SIGINT / SIGTERM stopped the run at a safe point; checkpoints and spills are kept for a
    /// resume.
    Interrupted,
}

impl RunStatus {
    /// The status as written in `report.json` (`completed`, `failed`, `interrupted`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// What happened to one step in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Computed in this run (possibly more than once: see `executions`).
    Executed,
    /// Loaded from an object written by an earlier run (checkpoint, or spill of a failed run).
    Reused,
    /// Not needed: no output depends on it, or its dependents were reused.
    Skipped,
    /// Returned an error (or could not fit the budget).
    Failed,
}

/// One step (one recorded node) of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Record order in the pipeline.
    pub seq: usize,
    /// Step name.
    pub name: String,
    /// Module path of the step.
    pub module: String,
    /// Node fingerprint.
    pub fingerprint: Fingerprint,
    /// Effective policy.
    pub policy: Policy,
    /// What happened.
    pub status: StepStatus,
    /// Why (e.g. "checkpoint from an earlier run", "no stored object", "not needed").
    pub reason: String,
    /// Seconds spent computing it (all executions).
    pub seconds: f64,
    /// Times computed in this run (more than one means a `cache` value was recomputed).
    pub executions: u32,
    /// Partitions of the step's output (1: unpartitioned; schema 2).
    #[serde(default = "one")]
    pub partitions: u32,
    /// Partitions computed in this run.
    #[serde(default)]
    pub partitions_executed: u32,
    /// Partitions loaded from objects of an earlier run.
    #[serde(default)]
    pub partitions_reused: u32,
    /// Output size as requested from the allocator.
    pub output_bytes: u64,
    /// Output size charged against the budget (resident estimate).
    pub output_resident_bytes: u64,
    /// Bytes written to spill objects for it.
    pub spilled_bytes: u64,
    /// Bytes read back from objects for it.
    pub reloaded_bytes: u64,
    /// Checkpoint object path (relative to the checkpoint directory), if it has one.
    pub checkpoint: Option<String>,
    /// The store keys (object fingerprints) this step's blocks were written under or read from
    /// in this run when they are not [`StepReport::fingerprint`]: a step partitioned over
    /// files, and every step computed from one, keys each partition by its file (a *salted*
    /// key, see `docs/design.md`), so these are the objects `stepstone checkpoints gc` must keep
    /// besides the fingerprint's. Sorted, without duplicates; left out when empty (and absent
    /// from reports written before it was added: those listed no salted key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_keys: Vec<Fingerprint>,
    /// Output type name (part of the fingerprint).
    pub output_type: String,
    /// Code hash or `version` override (part of the fingerprint).
    pub code: String,
    /// xxh3 of the serialized parameters (part of the fingerprint).
    pub params_hash: String,
    /// Parents' fingerprints (part of the fingerprint).
    pub parents: Vec<Fingerprint>,
    /// Input files, helpers, volatility and output content hash (left out when empty).
    #[serde(default, skip_serializing_if = "ContentRecord::is_empty")]
    pub content: ContentRecord,
}

/// A memory event on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryEvent {
    /// Seconds since the run started.
    pub t: f64,
    /// `spill`, `reload`, `checkpoint`, `persist`, `drop` or `corrupt`.
    pub kind: String,
    /// Step name.
    pub step: String,
    /// Record order of the step.
    pub seq: usize,
    /// The partition, for an event of one block of a partitioned step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Bytes involved.
    pub bytes: u64,
}

/// The resolved configuration a run used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportConfig {
    /// Budget in bytes.
    pub budget_bytes: u64,
    /// Checkpoint directory.
    pub checkpoint_dir: String,
    /// `--fresh`.
    pub fresh: bool,
    /// `--jobs`.
    pub jobs: usize,
    /// `checkpoint_every`.
    pub checkpoint_every: Option<u32>,
}

/// Totals over all steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Steps executed.
    pub steps_executed: usize,
    /// Steps reused from stored objects.
    pub steps_reused: usize,
    /// Steps skipped.
    pub steps_skipped: usize,
    /// Steps failed.
    pub steps_failed: usize,
    /// Checkpoint objects written.
    pub checkpoints_written: usize,
    /// Bytes written as checkpoints.
    pub checkpoint_bytes: u64,
    /// Spill objects written.
    pub spills_written: usize,
    /// Bytes written as spills.
    pub spilled_bytes: u64,
    /// Bytes read back from objects.
    pub reloaded_bytes: u64,
    /// Spill and persist objects deleted at the end of a completed run.
    pub objects_deleted: usize,
}

/// The report of one run (`runs/<run-id>/report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run identifier (folder name under `runs/`).
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Completed or failed.
    pub status: RunStatus,
    /// The error (with its chain) when failed.
    pub error: Option<String>,
    /// Start time (RFC 3339, UTC).
    pub started_at: String,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Resolved configuration.
    pub config: ReportConfig,
    /// Budget in bytes (same as `config.budget_bytes`, at top level for tools).
    pub budget_bytes: u64,
    /// Highest total the runtime accounted.
    pub tracked_peak_bytes: u64,
    /// Highest resident set size of the process during the run.
    pub rss_peak_bytes: u64,
    /// Every recorded step, in record order (the first [`STEP_ROWS_CAP`] to finish).
    pub steps: Vec<StepReport>,
    /// Steps beyond the cap, summed per (name, status).
    #[serde(default)]
    pub steps_folded: Vec<FoldedSteps>,
    /// Totals.
    pub totals: Totals,
    /// Memory over time.
    pub timeline: Vec<MemorySample>,
    /// Spill, reload and checkpoint events.
    pub events: Vec<MemoryEvent>,
}

impl RunReport {
    /// Steps with the given name, in record order.
    pub fn steps_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a StepReport> + 'a {
        self.steps.iter().filter(move |s| s.name == name)
    }
    /// Recompute totals from the step rows (event-based totals are kept).
    pub(crate) fn count_statuses(&mut self) {
        let count = |s: StepStatus| {
            self.steps.iter().filter(|r| r.status == s).count()
                + self
                    .steps_folded
                    .iter()
                    .filter(|f| f.status == s)
                    .map(|f| f.count)
                    .sum::<usize>()
        };
        let (e, r, sk, f) = (
            count(StepStatus::Executed),
            count(StepStatus::Reused),
            count(StepStatus::Skipped),
            count(StepStatus::Failed),
        );
        self.totals.steps_executed = e;
        self.totals.steps_reused = r;
        self.totals.steps_skipped = sk;
        self.totals.steps_failed = f;
    }
}

/// A finished step's row for unit tests of the report (`seq`, `name`, `status`; the rest fixed).
#[cfg(test)]
pub(crate) fn test_row(seq: usize, name: &str, status: StepStatus) -> StepReport {
    StepReport {
        seq,
        name: name.into(),
        module: "m".into(),
        fingerprint: crate::Fingerprint(seq as u128),
        policy: crate::Policy::Checkpoint,
        status,
        reason: String::new(),
        seconds: 1.0,
        executions: 1,
        partitions: 1,
        partitions_executed: 1,
        partitions_reused: 0,
        output_bytes: 2,
        output_resident_bytes: 2,
        spilled_bytes: 0,
        reloaded_bytes: 0,
        checkpoint: None,
        object_keys: Vec::new(),
        output_type: "u64".into(),
        code: "c".into(),
        params_hash: "p".into(),
        parents: Vec::new(),
        content: Default::default(),
    }
}
