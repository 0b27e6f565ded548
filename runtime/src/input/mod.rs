//! External inputs that never give a stale result: the [`InputFile`] and [`InputGlob`]
//! parameter types, the streamed content hash of the files they name, the stat cache that keeps
//! an unchanged input from being read on every run, and the per-run record of what each step
//! read (re-checked after the step ran).
//!
//! A step parameter of one of these types is fingerprinted by the **content** of its files (and
//! for a glob the sorted names), hashed with xxh3-128 when the step is recorded. A missing or
//! unreadable file is an error naming the step, the parameter and the path, raised before any
//! step runs. Not responsible for scheduling: the executor
//! decides when a content-addressed step runs (`exec/inputs.rs`).

mod content;
mod run;
mod types;

pub use content::{StatCache, StatKey, hash_file, hash_reader};
pub(crate) use run::{NodeContent, RunInputs, changed_since_hashed};
pub use types::{InputFile, InputGlob, InputSource};
