//! Durable storage of datasets: the checkpoint directory, its object format, and the commit
//! protocol.
//!
//! Responsible for: the directory layout (`LOCK`, `objects/`, `runs/`, `tmp/`), the advisory
//! lock, the object file format (header + checksummed payload), atomic checkpoint commits,
//! spill and persist objects, orphan cleanup, and the [`Backend`] trait through which every
//! file access goes. Not responsible for: deciding *what* to write or when (that is
//! [`crate::exec`]), nor for encoding values (callers pass an encoder / get payload bytes).
//!
//! Files: `backend.rs` (the trait), `local.rs` ([`LocalFs`]), `format.rs` (header bytes),
//! `object.rs` (streaming write/read of one object), `commit.rs` (write protocol), `open.rs`
//! (lock, cleanup, inspection), `fault.rs` (fault injection, feature `fault-injection`), `s3/`
//! (`S3Backend`, feature `s3`: the store on S3, spills tiered to a local directory, the lease
//! lock). The format and protocol are documented in `docs/design.md` ("Storage", "Checkpoints
//! on S3").

#[cfg(feature = "arrow")]
mod arrow_object;
mod backend;
mod commit;
#[cfg(any(test, feature = "fault-injection"))]
pub mod fault;
mod format;
mod local;
mod maintenance;
mod object;
mod open;
mod runs;
#[cfg(feature = "s3")]
pub mod s3;
mod self_describing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fault;
#[cfg(test)]
mod tests_format;
#[cfg(test)]
mod tests_open;
#[cfg(test)]
mod tests_speed;

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

#[cfg(test)]
#[cfg(test)]
pub(crate) use crate::codec::codec_postcard_for_tests;
pub use crate::codec::{
    BlockKey, CodecId, Commit, ObjectKind, ObjectMeta, Payload, Postcard, ValueCodec,
};
pub use backend::{Backend, DirEntry, LockHandle, ReadFile, WriteFile};
pub use local::LocalFs;
pub use object::{PayloadReader, decode_object};
pub use runs::StoreFile;
#[cfg(feature = "s3")]
pub use s3::S3Backend;

use crate::memory::Footprint;
use format::Header;

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
    /// Another live run holds the lease of an S3 checkpoint store.
    #[error(
        "checkpoint store {store} is locked by host {host} pid {pid} until {until}: another run is using it (if that run died, its lease frees itself then); wait for it, pass --wait, or use another --checkpoint-dir"
    )]
    Leased {
        /// The store's URL.
        store: String,
        /// The holder's host name.
        host: String,
        /// The holder's process id.
        pid: u32,
        /// When the lease expires unless its holder renews it (RFC 3339, UTC).
        until: String,
    },
    /// The checkpoint directory is an `s3://` URL but this program was built without the
    /// runtime's `s3` feature (the S3 client is not compiled in).
    #[error(
        "checkpoint directory {url}: this program was built without the `s3` feature of stepstone, so it cannot use S3; add features = [\"s3\"] to the `stepstone` dependency in Cargo.toml (in a project made by `stepstone new`: run `cargo run --release --features s3`, or make `s3` a default feature in its Cargo.toml) and build again, or pass a local --checkpoint-dir"
    )]
    S3NotBuilt {
        /// The `s3://bucket/prefix` URL that was given.
        url: String,
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
    /// A write was attempted on a store opened read-only (for inspection).
    #[error(
        "checkpoint directory {dir} was opened read-only for inspection; writing needs a run's store (Store::open)"
    )]
    ReadOnly {
        /// The checkpoint directory.
        dir: PathBuf,
    },
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
    /// How the payload is compressed.
    pub compression: Compression,
    /// xxh3-64 of the stored payload bytes (Arrow objects: of the bytes before the footer).
    pub checksum: u64,
    /// The object format: Stepstone's (postcard) or a plain Arrow IPC file.
    pub codec: CodecId,
}

impl ObjectInfo {
    fn from_header(header: Header, file_len: u64, path: PathBuf) -> ObjectInfo {
        ObjectInfo {
            key: header.key,
            kind: header.kind,
            type_name: header.type_name,
            payload_len: header.payload_len,
            raw_len: header.raw_len,
            footprint: header.footprint,
            file_len,
            path,
            compression: header.compression,
            checksum: header.payload_checksum,
            codec: header.codec,
        }
    }
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
    /// Prefix the run id with the store's next run number (`r000042-<id>`), taken while the
    /// lock or lease is held: runs then list in the order they held the store, not by the wall
    /// clocks of the hosts that started them ([`Store::run_id`] tells the final id).
    pub number_runs: bool,
    /// Attach to a store another process (the run's coordinator) holds: no lock or lease, no
    /// cleanup of others' temp files, no cached listing, spills in a folder of its own under
    /// `tmp/`; `run_id` names the coordinator's run, whose folder must exist.
    pub attach: bool,
}

/// An opened object: relative and full path, the file, its checked header, the file length.
type Opened = (PathBuf, PathBuf, Box<dyn ReadFile>, Header, u64);

/// An encoder callback: streams the value's encoded bytes into the writer.
pub type EncodeFn<'a> = dyn FnMut(&mut dyn io::Write) -> Result<(), String> + 'a;

/// An encoder callback that also gets the object's identity (codecs that embed it, like Arrow
/// IPC, write it into their own file format).
pub type EncodeValueFn<'a> =
    dyn FnMut(&mut dyn io::Write, Option<&ObjectMeta<'_>>) -> Result<(), String> + 'a;

/// An open checkpoint directory. A run's store holds the directory's lock until it is dropped;
/// a read-only store (for inspection) holds nothing and cannot write.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    backend: Arc<dyn Backend>,
    /// `None` for a read-only store.
    run_id: Option<String>,
    options: StoreOptions,
    _lock: Option<Box<dyn LockHandle>>,
    tmp_seq: AtomicU64,
    /// Object directories whose entry in their parent was fsync'd during this run.
    synced_dirs: Mutex<HashSet<PathBuf>>,
    /// An attached store's own folder under `tmp/` (its spills), removed when it closes.
    private: Option<PrivateDir>,
}

/// An attached store's own folder under `tmp/`: removed (with its spills) when the store
/// closes; a crashed worker's folder is an orphan the next run's open removes.
#[derive(Debug)]
struct PrivateDir {
    backend: Arc<dyn Backend>,
    /// Relative to the root.
    rel: PathBuf,
    root: PathBuf,
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let path = self.root.join(&self.rel);
        if let Err(e) = self.backend.remove_dir_all(&path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a worker's spill folder; the next run removes it");
        }
    }
}

impl Store {
    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is a worker's view of a store its coordinator holds
    /// ([`StoreOptions::attach`]).
    pub(crate) fn is_attached(&self) -> bool {
        self.private.is_some()
    }

    /// This run's id (`None` for a read-only store).
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// This run's folder, `runs/<run-id>/` (absolute; `None` for a read-only store).
    pub fn run_dir(&self) -> Option<PathBuf> {
        self.run_id
            .as_ref()
            .map(|id| self.root.join("runs").join(id))
    }

    /// Read and validate the header of `key`'s object, if there is one: first in `objects/`
    /// (checkpoint or spill), then in this run's persist folder. A corrupt header yields
    /// `Err(Corrupt)`. The payload is not read; [`Store::read`] checks it.
    pub fn probe(&self, key: BlockKey) -> Result<Option<ObjectInfo>, StoreError> {
        match self.probe_kind(key, ObjectKind::Checkpoint)? {
            Some(info) => Ok(Some(info)),
            None if self.run_id.is_some() => self.probe_kind(key, ObjectKind::Persist),
            None => Ok(None),
        }
    }

    /// Like [`Store::probe`], but only where objects of `kind` live: `objects/` for checkpoints
    /// and spills (either kind is returned), this run's persist folder for persist.
    pub fn probe_kind(
        &self,
        key: BlockKey,
        kind: ObjectKind,
    ) -> Result<Option<ObjectInfo>, StoreError> {
        let Some(rel) = self.rel_path(key, kind) else {
            return Ok(None);
        };
        self.probe_rel(rel)
    }

    /// Read an object: verify header, key, type name and payload checksum, then return the
    /// (decompressed) payload bytes. `kind` Checkpoint or Spill reads `objects/` (whichever of
    /// the two is there); Persist reads this run's persist folder.
    pub fn read(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
    ) -> Result<(ObjectInfo, Vec<u8>), StoreError> {
        let (rel, path, file, header, file_len) = self.open_checked(key, kind, type_name)?;
        let bytes = object::read_verified(file, &header, &path)?;
        Ok((ObjectInfo::from_header(header, file_len, rel), bytes))
    }

    /// Like [`Store::read`] but streams the payload: every check, including the payload
    /// checksum, is done before this returns; the reader decompresses on the fly and fails if
    /// the payload decodes to more or fewer bytes than the header declares.
    pub fn open_payload(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
    ) -> Result<(ObjectInfo, PayloadReader), StoreError> {
        let (rel, path, mut file, header, file_len) = self.open_checked(key, kind, type_name)?;
        object::verify_payload(&mut *file, &header, &path)?;
        let reader = PayloadReader::new(file, &header, &path)?;
        Ok((ObjectInfo::from_header(header, file_len, rel), reader))
    }

    /// Open an object and check its header and identity (not yet its payload).
    fn open_checked(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
    ) -> Result<Opened, StoreError> {
        let rel = self.rel_path(key, kind).ok_or_else(|| self.read_only())?;
        let path = self.root.join(&rel);
        let mut file = self
            .backend
            .open_read(&path)
            .map_err(io_error("open", &path))?;
        let (header, file_len) = object::read_header(&mut *file, &path)?;
        check_identity(&header, key, kind, type_name, &path)?;
        Ok((rel, path, file, header, file_len))
    }

    /// Remove an object (missing is not an error). Removing a `Spill` never deletes a
    /// checkpoint or exchange object stored at the same key, removing an `Exchange` never
    /// deletes a checkpoint; removing a `Checkpoint` removes whatever `objects/` holds there.
    pub fn remove(&self, key: BlockKey, kind: ObjectKind) -> Result<(), StoreError> {
        if self.run_id.is_none() {
            return Err(self.read_only());
        }
        let rel = self.rel_path(key, kind).ok_or_else(|| self.read_only())?;
        if kind != ObjectKind::Checkpoint
            && let Ok(Some(info)) = self.probe_rel(rel.clone())
            && info.kind != kind
            && commit::keeps(info.kind, kind)
        {
            return Ok(());
        }
        let path = self.root.join(rel);
        backend::remove_if_exists(&*self.backend, &path).map_err(io_error("remove", &path))
    }

    /// Other processes (this run's workers) write objects from now on: drop any listing of
    /// `objects/` cached when the store was opened, so probes ask the backend again.
    pub fn forget_listing(&self) {
        self.backend.forget_listing();
    }

    /// Delete this run's persist objects.
    pub fn finish_run(&self) -> Result<(), StoreError> {
        let dir = self
            .run_dir()
            .ok_or_else(|| self.read_only())?
            .join("persist");
        match self.backend.remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", &dir)(e)),
            _ => Ok(()),
        }
    }

    /// Where `key`'s object of `kind` lives, relative to the root (`None`: persist on a
    /// read-only store).
    fn rel_path(&self, key: BlockKey, kind: ObjectKind) -> Option<PathBuf> {
        let hex = key.fingerprint.to_hex();
        let file = format!("{hex}.{}", key.part);
        match kind {
            // An attached worker's spills are its own: another attempt of the same task may
            // spill the same block, and each deletes its own when it ends.
            ObjectKind::Spill if self.private.is_some() => {
                self.private.as_ref().map(|p| p.rel.join(file))
            }
            ObjectKind::Checkpoint | ObjectKind::Spill | ObjectKind::Exchange => {
                Some(PathBuf::from("objects").join(&hex[..2]).join(file))
            }
            ObjectKind::Persist => self
                .run_id
                .as_ref()
                .map(|id| PathBuf::from("runs").join(id).join("persist").join(file)),
        }
    }

    /// Header of the object at `rel`, or `None` when there is no file.
    fn probe_rel(&self, rel: PathBuf) -> Result<Option<ObjectInfo>, StoreError> {
        let path = self.root.join(&rel);
        let mut file = match self.backend.open_read(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", &path)(e)),
        };
        let (header, file_len) = object::read_header(&mut *file, &path)?;
        Ok(Some(ObjectInfo::from_header(header, file_len, rel)))
    }

    fn read_only(&self) -> StoreError {
        StoreError::ReadOnly {
            dir: self.root.clone(),
        }
    }
}

/// The header must describe the object the caller asked for.
fn check_identity(
    header: &Header,
    key: BlockKey,
    kind: ObjectKind,
    type_name: &str,
    path: &Path,
) -> Result<(), StoreError> {
    let reason = if header.key != key {
        format!(
            "holds block {}.{} but sits at the path of {}.{}",
            header.key.fingerprint, header.key.part, key.fingerprint, key.part
        )
    } else if (header.kind == ObjectKind::Persist) != (kind == ObjectKind::Persist) {
        format!(
            "holds a {:?} object where a {kind:?} object was expected",
            header.kind
        )
    } else if header.type_name != type_name {
        format!(
            "holds a value of type `{}`, expected `{type_name}`",
            header.type_name
        )
    } else {
        return Ok(());
    };
    Err(StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    })
}

/// The `s3://bucket/prefix` URL `dir` names, normalized (no trailing slash), if it names one.
/// Recognized with or without the `s3` feature (without it such a store is refused).
pub fn s3_url(dir: &Path) -> Option<String> {
    let text = dir.to_str()?;
    let rest = text.strip_prefix("s3://")?;
    Some(format!("s3://{}", rest.trim_end_matches('/')))
}

/// Map an `io::Error` to [`StoreError::Io`] for `op` on `path`.
fn io_error<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> StoreError + 'p {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}
