//! Stepstone: the CHECKPOINT pattern as the default archetype of batch data pipelines.
//!
//! A pipeline is ordinary Rust that *records* steps into a lazy lineage DAG; the runtime then
//! executes only what the outputs need, under a memory budget: values are accounted in resident
//! bytes, the value used farthest in the future is spilled to disk when room is needed, every
//! N-th step along a chain becomes a durable checksummed checkpoint that truncates lineage, and
//! running the same pipeline again on the same checkpoint directory resumes from what is stored.
//!
//! ```
//! use stepstone::{Budget, Policy, RunConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let config = RunConfig::new("doc").budget("16MiB".parse()?).checkpoint_dir(dir.path());
//! let outcome = stepstone::run(&config, |p| {
//!     let numbers = p.step("numbers").code("v1").param(&1000u64).run(|_| Ok((0..1000u64).collect::<Vec<u64>>()));
//!     let doubled = p
//!         .step("double")
//!         .code("v1")
//!         .policy(Policy::Checkpoint)
//!         .input(&numbers)
//!         .run(|a| Ok(a.get::<Vec<u64>>(0)?.iter().map(|x| x * 2).collect::<Vec<u64>>()));
//!     let total = p.step("sum").code("v1").input(&doubled).run(|a| Ok(a.get::<Vec<u64>>(0)?.iter().sum::<u64>()));
//!     Ok(total)
//! })?;
//! assert_eq!(outcome.value, 999_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules follow the architecture: [`plan`] (DAG, fingerprints, policies, schedules),
//! [`memory`] (budget, sizes, eviction choice), [`store`] (backend, object format, commit
//! protocol), [`exec`] (the [`Pipeline`] recording handle and the executor that runs schedules
//! over the store, memory and report services), [`report`] (run reports), [`input`] (input
//! files fingerprinted by content: [`InputFile`], [`InputGlob`]; sources partitioned over
//! files, row groups or byte ranges: [`FileSplits`], [`StepBuilder::per_file`],
//! `#[step(per_file = "file")]`), [`arrow`] (Arrow batches, Parquet and CSV by partition, the
//! shuffle by key columns: [`StepBuilder::repartition_by`], `#[step(repartition(...))]`).
//!
//! Cargo features: `macros` and `arrow` (default) as above; `s3` (off) compiles the S3
//! checkpoint store (`--checkpoint-dir s3://bucket/prefix`, `store::S3Backend`) — without it
//! such a directory is refused with [`store::StoreError::S3NotBuilt`]; `fault-injection`
//! (tests only).

#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "arrow")]
pub mod arrow;
mod codec;
pub mod config;
mod error;
pub mod exec;
pub mod input;
mod logging;
pub mod memory;
pub mod plan;
pub mod report;
mod stop;
pub mod store;

#[doc(hidden)]
pub mod __private;

pub use config::{Event, PipelineDefaults, Progress, RunArgs, RunConfig};
pub use error::{Error, Result, error_chain};
pub use exec::{Outcome, Pipeline, StepBuilder, run};
pub use input::{FileSplit, FileSplits, InputFile, InputGlob, InputReader, Piece};
pub use logging::init_logging;
pub use memory::{Budget, Footprint, MemSize};
pub use plan::{Args, BoxError, Data, Fingerprint, Handle, Partitions, Policy, StepSpec};
pub use report::RunReport;

#[cfg(feature = "macros")]
#[doc(inline)]
pub use stepstone_macros::{MemSize, pipeline, step};

/// Everything a pipeline file needs: `use stepstone::prelude::*;`.
pub mod prelude {
    pub use crate::plan::{ArgError, Part, Parts, with_parts};
    pub use crate::{
        Args, Budget, Data, Error, FileSplit, FileSplits, Handle, InputFile, InputGlob, MemSize,
        Partitions, Pipeline, Policy, Result, RunConfig,
    };
    pub use serde::{Deserialize, Serialize};
    #[cfg(feature = "macros")]
    pub use stepstone_macros::{pipeline, step};
}
