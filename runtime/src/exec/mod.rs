//! Execution: the [`Pipeline`] handle that records steps, and the executor that runs them
//! under the memory budget (spill, reload, checkpoint, truncate, resume).
//!
//! Responsible for *acting*: deciding what to compute, load or skip for the requested outputs,
//! keeping the charged bytes within the budget, writing objects per policy. The pieces, each
//! the one owner of its state:
//! - `pipeline.rs` — [`Pipeline`], the recording handle: owns the lineage it records into;
//!   `builder.rs` — [`StepBuilder`] for hand-written steps.
//! - `executor.rs` — the executor: runs a schedule (`plan::Schedule`) of tasks over the
//!   services; owns the block table (`blocks.rs`), the schedule being run and the heap
//!   bookkeeping (`residency.rs`). A task is prepared and run (`step.rs`, on a worker with
//!   `--jobs`: `parallel.rs`), its output admitted (`admit.rs`), values moved to and from the
//!   store (`objects.rs`), lazy inputs served (`lazy.rs`), charges measured (`measure.rs`),
//!   content-addressed identities resolved (`inputs.rs`).
//! - `services.rs` — the store, the memory accountant and the run log, which never see the
//!   lineage.
//! - `run.rs` — a run from start to end (or, in worker mode, one task);
//!   `interrupt.rs` and `panics.rs` — stops and panics.
//! - Beyond one process: `remote.rs` — tasks as data ([`TaskSpec`], [`TaskOutcome`], exit
//!   codes, the plan hash); `worker.rs` — a worker running one segment; `processes.rs` — the
//!   coordinator's loop over segments; `launch.rs` — what starts workers (child processes, or
//!   an engine's launcher over a line protocol).
//!
//! Not responsible for file formats ([`crate::store`]), sizes and the victim choice
//! ([`crate::memory`]), fingerprints and schedules ([`crate::plan`]) or the report's shape
//! ([`crate::report`]).

mod admit;
mod blocks;
mod builder;
mod executor;
mod heap;
mod inputs;
mod interrupt;
mod launch;
mod lazy;
mod measure;
mod objects;
mod panics;
mod parallel;
mod pipeline;
mod processes;
mod remote;
mod residency;
mod run;
mod services;
mod spec;
mod step;
mod task;
mod worker;

pub use crate::stop::request_stop;
pub use builder::StepBuilder;
pub use interrupt::exit_code;
pub use pipeline::Pipeline;
pub use remote::{
    AttemptStatus, ObjectRecord, SPEC_FORMAT, SpecBlock, SpecIdentity, SpecTask, TaskFailure,
    TaskOutcome, TaskRecord, TaskSpec, exit_codes,
};
pub use run::run;

use crate::memory::human_bytes;
use crate::plan::BoxError;
use crate::report::RunReport;

/// Errors while executing a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A step returned an error.
    #[error("step `{step}` (#{seq}) failed: {source}")]
    StepFailed {
        /// Step name.
        step: String,
        /// Record order of the node.
        seq: usize,
        /// The step's error.
        #[source]
        source: BoxError,
    },
    /// A step body panicked (caught: the run fails cleanly instead of the process dying).
    #[error("step `{step}` (#{seq}) {panic}", panic = PanicText(.location, .message))]
    StepPanicked {
        /// Step name.
        step: String,
        /// Record order of the node.
        seq: usize,
        /// `file:line:column` of the panic, when known.
        location: Option<String>,
        /// The panic message.
        message: String,
    },
    /// SIGINT or SIGTERM (or [`request_stop`]) stopped the run at a safe point.
    #[error(
        "the run was interrupted by {}: every committed checkpoint and spill is kept; run again to resume",
        interrupt::signal_name(*.signal)
    )]
    Interrupted {
        /// The signal number (2 = SIGINT, 15 = SIGTERM).
        signal: i32,
    },
    /// A step's (or one partition's) inputs plus output cannot fit the budget.
    #[error("{}", too_large_message(.step, *.partition, *.inputs_bytes, *.output_bytes, *.budget_bytes))]
    StepTooLarge {
        /// Step name.
        step: String,
        /// The partition (index, count) when the step is partitioned.
        partition: Option<(u32, u32)>,
        /// Charged bytes of its inputs.
        inputs_bytes: u64,
        /// Charged bytes of its output, when it was computed.
        output_bytes: Option<u64>,
        /// The budget.
        budget_bytes: u64,
    },
    /// A value is needed again but neither memory, the store nor lineage can provide it.
    #[error(
        "step `{step}` (#{seq}): its value is gone and nothing can rebuild it ({why}); the unreadable object was deleted, so running again recomputes it from the sources"
    )]
    Lost {
        /// Step name.
        step: String,
        /// Record order.
        seq: usize,
        /// What failed.
        why: String,
    },
    /// A step's lazy inputs did not fit in memory together and one of them could not be
    /// spilled (a full disk): it was dropped, and the step cannot read it.
    #[error(
        "the output of step `{input}` could not be kept for a step that reads it: spill failed: {failure}. Free space there (or point --spill-dir at a larger disk), or raise the budget so the inputs need no spill"
    )]
    SpillFailed {
        /// The step whose output was lost.
        input: String,
        /// The spill's error (the file, the bytes, the OS error).
        failure: String,
    },
    /// A stored object could not be read for a reason other than corruption (an OS or S3
    /// error): it was kept, since it may be perfectly good.
    #[error(
        "step `{step}` (#{seq}): its stored object could not be read: {why}. No check failed, so the object was kept; fix the cause (file permissions, space in the scratch directory, the S3 endpoint) and run again"
    )]
    Unreadable {
        /// Step name.
        step: String,
        /// Record order.
        seq: usize,
        /// The read error, naming the object and the OS or S3 error.
        why: String,
    },
    /// A partitioned value was asked for whole (the pipeline's output, or `Pipeline::get`).
    #[error(
        "step `{step}` makes {partitions} partitions, which are never one value in memory: read them in a step that takes them as `Parts` (one partition at a time) and return that step's result"
    )]
    Partitioned {
        /// Step name.
        step: String,
        /// How many partitions.
        partitions: u32,
    },
    /// The pipeline's output handle does not belong to this run.
    #[error("the output handle refers to node {0}, which this pipeline does not hold")]
    UnknownOutput(usize),
    /// In a worker process (`--run-task`): the task ran, and the rest of the pipeline is the
    /// coordinator's (what a `get` or the output returns in a worker once its segment ran).
    #[error("this worker process ran its task; the rest of the pipeline is the coordinator's")]
    WorkerFinished,
    /// A worker process of the run ended in a way that is not a step's failure, too often.
    #[error("{0}")]
    Worker(String),
}

struct PanicText<'a>(&'a Option<String>, &'a String);

impl std::fmt::Display for PanicText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(at) => write!(f, "panicked at {at}: {}", self.1),
            None => write!(f, "panicked: {}", self.1),
        }
    }
}

impl ExecError {
    /// The signal that interrupted the run, when this error is an interruption.
    pub fn interrupted_by(&self) -> Option<i32> {
        match self {
            ExecError::Interrupted { signal } => Some(*signal),
            _ => None,
        }
    }
}

fn too_large_message(
    step: &str,
    partition: Option<(u32, u32)>,
    inputs: u64,
    output: Option<u64>,
    budget: u64,
) -> String {
    let what = match output {
        Some(o) => format!(
            "its inputs ({}) plus its output ({}) need {}",
            human_bytes(inputs),
            human_bytes(o),
            human_bytes(inputs + o)
        ),
        None => format!("its inputs alone need {}", human_bytes(inputs)),
    };
    if let Some((index, count)) = partition {
        return format!(
            "step `{step}`, partition {index} of {count}, cannot run within the memory budget: \
             {what}, but the budget is {}. Fixes: use more partitions (each then holds less: \
             --partitions or Partitions::new), raise the budget (--budget, STEPSTONE_BUDGET, \
             stepstone.toml or #[pipeline(budget = …)]), or spread the rows of this partition \
             more evenly",
            human_bytes(budget)
        );
    }
    format!(
        "step `{step}` cannot run within the memory budget: {what}, but the budget is {}. \
         Fixes: raise the budget (--budget, STEPSTONE_BUDGET, stepstone.toml or #[pipeline(budget = …)]), \
         split the step into smaller steps or partition its data, or add a checkpoint before it \
         so fewer values are held",
        human_bytes(budget)
    )
}

/// The result of a completed run.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The pipeline's output.
    pub value: T,
    /// What happened.
    pub report: RunReport,
}
