//! The umbrella error: one enum per layer, wrapped here so callers can match on the layer.

use crate::config::ConfigError;
use crate::exec::ExecError;
use crate::plan::PlanError;
use crate::store::StoreError;

/// Any error of a Stepstone run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration (budget, `stepstone.toml`, flags).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Recording the plan.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The checkpoint directory.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Executing steps (a failed step, a budget that cannot hold a step, …).
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// An error raised by the pipeline's own wiring code.
    #[error("pipeline: {0}")]
    Pipeline(#[source] crate::BoxError),
}

impl Error {
    /// Wrap an error of the pipeline function's own code (e.g. reading an input file while
    /// wiring steps).
    pub fn pipeline(error: impl Into<crate::BoxError>) -> Self {
        Error::Pipeline(error.into())
    }

    /// The signal that stopped the run (2 = SIGINT, 15 = SIGTERM), when this error is an
    /// interruption ([`ExecError::Interrupted`]).
    pub fn interrupted_by(&self) -> Option<i32> {
        match self {
            Error::Exec(e) => e.interrupted_by(),
            _ => None,
        }
    }
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `error: cause: cause` — the whole source chain on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
