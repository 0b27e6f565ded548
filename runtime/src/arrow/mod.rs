//! Arrow-native values (feature `arrow`): [`Batch`] step values stored as plain Arrow IPC
//! files and reloaded by memory-mapping them, CSV and Parquet sources, an atomic Parquet sink.
//!
//! Responsible for: the Arrow value type and its codec, the IPC object layout (identity and
//! checksum in the footer's custom metadata; see docs/arrow.md), hostile-file checks before
//! Arrow's decoder runs, and file sources/sinks. Not responsible for: the commit protocol
//! (`store`), nor counting buffers shared between values (`memory::SharedBuffers`).
//!
//! Files: `batch.rs` ([`Batch`], [`ArrowIpc`]), `ipc.rs` (writing, identity), `ipc_read.rs`
//! (verification and zero-copy decoding), `mmap.rs` (the mapping), `files.rs` (CSV, Parquet).

mod batch;
mod files;
pub(crate) mod ipc;
mod ipc_read;
mod mmap;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;

pub use batch::{ArrowIpc, Batch};
pub use files::{CsvOptions, FileError, read_csv, read_parquet, write_parquet};
pub use ipc_read::VerifiedFile;

pub(crate) use mmap::map_file;

/// The arrow-rs crates Stepstone is built with, for building columns without a version clash.
pub use arrow_array;
pub use arrow_schema;

/// Write `batch` as a plain Arrow IPC file (no Stepstone identity): for hand-off and tests.
pub fn write_ipc_file(batch: &Batch, out: &mut dyn std::io::Write) -> Result<(), String> {
    ipc::write_file(batch, out, None)
}
