//! Durable storage of datasets: the checkpoint directory, its object format, and the commit
//! protocol.
//!
//! Responsible for: the directory layout (`LOCK`, `objects/`, `runs/`, `tmp/`), the advisory
//! lock, the object file format (header + checksummed payload), atomic checkpoint commits,
//! spill and persist objects, orphan cleanup, and the [`Backend`] trait through which every
//! file access goes. Not responsible for: deciding *what* to write or when (that is
//! [`crate::exec`]), nor for encoding values (callers pass an encoder / get payload bytes).
//!
//! INTERFACE CONTRACT (filled in by the store work): the executor relies on exactly the items
//! declared below.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::memory::Footprint;
use crate::plan::Fingerprint;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process holds the directory's lock.
    #[error(
        "checkpoint directory {dir} is locked by pid {pid}: another run is using it; wait for it to finish, pass --wait, or use another --checkpoint-dir"
    )]
    Locked {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The pid recorded by the holder (0 when unknown).
        pid: u32,
    },
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("write", "fsync", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An object exists but is not valid (bad magic, version, header checksum, payload checksum,
    /// truncated, type mismatch, …). Callers treat the object as absent.
    #[error("object {path} is corrupt: {reason}")]
    Corrupt {
        /// The object file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// The value's encoder failed while writing an object.
    #[error("encoding {type_name} for {path} failed: {message}")]
    Encode {
        /// The object file being written.
        path: PathBuf,
        /// The Rust type being encoded.
        type_name: String,
        /// The encoder's message.
        message: String,
    },
}

/// What an object is for; stored in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// Durable, fsync'd, reused by any later run with the same fingerprint.
    Checkpoint,
    /// Written under memory pressure, not fsync'd; reused after a crash; deleted when a run
    /// completes.
    Spill,
    /// Run-local copy (policy `persist`); deleted at run end.
    Persist,
}

/// Payload compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Stored as encoded.
    None,
    /// zstd at the given level.
    Zstd(i32),
}

/// The unit of storage: one block of one node's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    /// The node's fingerprint.
    pub fingerprint: Fingerprint,
    /// The part number (0 for unpartitioned datasets).
    pub part: u32,
}

/// A validated object header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Which block.
    pub key: BlockKey,
    /// Checkpoint, spill or persist.
    pub kind: ObjectKind,
    /// Rust type name of the value.
    pub type_name: String,
    /// Stored payload bytes (after compression).
    pub payload_len: u64,
    /// Payload bytes before compression.
    pub raw_len: u64,
    /// Memory footprint the value had when it was written (a hint for reservations).
    pub footprint: Footprint,
    /// Total file size.
    pub file_len: u64,
    /// Where the file is, relative to the store root.
    pub path: PathBuf,
}

/// Options for opening a store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Block until the lock is free instead of failing with [`StoreError::Locked`].
    pub wait_for_lock: bool,
    /// Compression for checkpoint objects.
    pub checkpoint_compression: Option<Compression>,
    /// Compression for spill and persist objects.
    pub spill_compression: Option<Compression>,
}

/// An encoder callback: streams the value's encoded bytes into the writer.
pub type EncodeFn<'a> = dyn FnMut(&mut dyn io::Write) -> Result<(), String> + 'a;

/// A file-system abstraction; every file access of the store goes through it so tests can
/// inject faults and other backends can come later.
pub trait Backend: Send + Sync + std::fmt::Debug {}

/// An open checkpoint directory, holding its lock.
#[derive(Debug)]
pub struct Store {
    _root: PathBuf,
    _backend: Option<Arc<dyn Backend>>,
}

#[allow(clippy::unimplemented, unused_variables)]
impl Store {
    /// Open (creating if needed) the checkpoint directory `dir` for run `run_id`: take the lock,
    /// remove orphan temp files, create `runs/<run_id>/`.
    pub fn open(dir: &Path, run_id: &str, options: StoreOptions) -> Result<Store, StoreError> {
        unimplemented!()
    }
    /// The directory.
    pub fn root(&self) -> &Path {
        unimplemented!()
    }
    /// Read and validate the header of `key`'s object, if there is one (checkpoint/spill in
    /// `objects/`, persist in this run's folder). A corrupt header yields `Err(Corrupt)`.
    pub fn probe(&self, key: BlockKey) -> Result<Option<ObjectInfo>, StoreError> {
        unimplemented!()
    }
    /// Write an object. Checkpoints: tmp → fsync → rename → dir fsync; if a checkpoint already
    /// exists it is kept (first writer wins) and its info returned; a spill may be replaced by a
    /// checkpoint. Spills: tmp → rename, no fsync. Persist: into this run's folder.
    pub fn write(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
        footprint: Footprint,
        encode: &mut EncodeFn<'_>,
    ) -> Result<ObjectInfo, StoreError> {
        unimplemented!()
    }
    /// Read an object: verify header, type name and payload checksum, then return the
    /// (decompressed) payload bytes.
    pub fn read(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
    ) -> Result<(ObjectInfo, Vec<u8>), StoreError> {
        unimplemented!()
    }
    /// Remove an object (missing is not an error).
    pub fn remove(&self, key: BlockKey, kind: ObjectKind) -> Result<(), StoreError> {
        unimplemented!()
    }
    /// Atomically write a file of this run's folder (e.g. `report.json`).
    pub fn write_run_file(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        unimplemented!()
    }
    /// Delete this run's persist objects.
    pub fn finish_run(&self) -> Result<(), StoreError> {
        unimplemented!()
    }
}
