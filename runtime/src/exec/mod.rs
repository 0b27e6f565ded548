//! Execution: the [`Pipeline`] handle that records steps, and the scheduler that runs them
//! under the memory budget (spill, reload, checkpoint, truncate, resume).

use std::sync::Arc;

use serde::Serialize;

use crate::config::RunConfig;
use crate::plan::{Args, BoxError, Data, Handle, NodeId, Policy, StepSpec};
use crate::report::RunReport;

/// Errors while executing a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// A step returned an error.
    #[error("step `{step}` failed: {source}")]
    StepFailed {
        /// Step name.
        step: String,
        /// The step's error.
        #[source]
        source: BoxError,
    },
}

/// The result of a completed run.
#[derive(Debug)]
pub struct Outcome<T> {
    /// The pipeline's output.
    pub value: T,
    /// What happened.
    pub report: RunReport,
}

/// A running pipeline: records steps (lazily) and executes them when a value is needed.
pub struct Pipeline {
    _private: (),
}

/// Records one step; finish with [`StepBuilder::run`].
pub struct StepBuilder<'p> {
    _p: &'p mut Pipeline,
}

#[allow(clippy::unimplemented, unused_variables, missing_docs)]
impl Pipeline {
    /// Start recording a hand-written step called `name`.
    pub fn step(&mut self, name: &str) -> StepBuilder<'_> {
        unimplemented!()
    }
    /// Record a step described by `spec` (what `#[step]` expands to).
    pub fn record<T: Data, P: Serialize + ?Sized>(
        &mut self,
        spec: &StepSpec,
        params: &P,
        inputs: &[NodeId],
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        unimplemented!()
    }
    /// Compute (or load) `handle`'s value now.
    pub fn get<T: Data>(&mut self, handle: &Handle<T>) -> crate::Result<Arc<T>> {
        unimplemented!()
    }
}

#[allow(clippy::unimplemented, unused_variables, missing_docs)]
impl<'p> StepBuilder<'p> {
    pub fn module(self, module: &str) -> Self {
        unimplemented!()
    }
    pub fn code(self, code: &str) -> Self {
        unimplemented!()
    }
    pub fn version(self, version: &str) -> Self {
        unimplemented!()
    }
    pub fn policy(self, policy: Policy) -> Self {
        unimplemented!()
    }
    pub fn param<P: Serialize + ?Sized>(self, param: &P) -> Self {
        unimplemented!()
    }
    pub fn input<T: Data>(self, handle: &Handle<T>) -> Self {
        unimplemented!()
    }
    pub fn inputs<T: Data>(self, handles: &[Handle<T>]) -> Self {
        unimplemented!()
    }
    pub fn run<T: Data>(self, compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static) -> Handle<T> {
        unimplemented!()
    }
}

/// Run a pipeline: `build` records steps and returns the output handle; the output is computed
/// under `config`'s budget, resuming from the checkpoint directory.
#[allow(clippy::unimplemented, unused_variables)]
pub fn run<T: Data>(
    config: &RunConfig,
    build: impl FnOnce(&mut Pipeline) -> crate::Result<Handle<T>>,
) -> crate::Result<Outcome<T>> {
    unimplemented!()
}
