//! Arrow-native values (feature `arrow`): [`Batch`] step values stored as plain Arrow IPC
//! files and reloaded by memory-mapping them, CSV and Parquet sources (whole, or partitioned by
//! file, row group or byte range), an atomic Parquet sink.
//!
//! Responsible for: the Arrow value type and its codec, the IPC object layout (identity and
//! checksum in the footer's custom metadata; see docs/design.md, "Arrow values"), hostile-file checks before
//! Arrow's decoder runs, and file sources/sinks. Not responsible for: the commit protocol
//! (`store`), nor counting buffers shared between values (`memory::SharedBuffers`).
//!
//! Files: `batch.rs` ([`Batch`], [`ArrowIpc`]), `ipc.rs` (writing, identity), `ipc_read.rs`
//! (verification and zero-copy decoding), `mmap.rs` (the mapping), `files.rs` (CSV, Parquet),
//! `splits.rs` (partitioned reads), `shuffle.rs` (repartition by key columns).

mod batch;
mod files;
pub(crate) mod ipc;
mod ipc_read;
mod mmap;
pub(crate) mod shuffle;
mod splits;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;

pub use crate::codec::VerifiedFile;
pub use batch::{ArrowIpc, Batch};
pub use files::{
    CsvOptions, FileError, read_csv, read_parquet, write_parquet, write_parquet_row_groups,
};
pub use shuffle::bucket_of_rows;
pub use splits::{read_csv_split, read_parquet_split, row_groups};

pub(crate) use mmap::map_file;

/// The arrow-rs crates Stepstone is built with, for building columns without a version clash.
pub use arrow_array;
pub use arrow_schema;

/// Write `batch` as a plain Arrow IPC file (no Stepstone identity): for hand-off and tests.
pub fn write_ipc_file(batch: &Batch, out: &mut dyn std::io::Write) -> Result<(), String> {
    ipc::write_file(batch, out, None)
}

/// Read every batch of a plain Arrow IPC file (e.g. one written by `checkpoints export`),
/// with Arrow's own validating reader.
pub fn read_ipc_file(file: std::fs::File) -> Result<Vec<Batch>, String> {
    let reader = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
        .map_err(|e| e.to_string())?;
    reader
        .map(|b| b.map(Batch::new).map_err(|e| e.to_string()))
        .collect()
}

/// Decode a payload read with [`Store::read_value`](crate::store::Store::read_value) from an
/// Arrow object (`Err` for a postcard payload, which holds no Arrow data).
pub fn batch_from_payload(payload: crate::codec::Payload) -> Result<Batch, String> {
    <ArrowIpc as crate::codec::ValueCodec<Batch>>::decode(payload)
}
