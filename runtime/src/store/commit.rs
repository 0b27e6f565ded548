//! The write protocol: stream an object into `tmp/`, fill in its header, and commit it.
//!
//! Responsible for: [`Store::write`] (checkpoint: fsync file → publish (a rename on a file
//! system, a conditional upload on S3) → fsync directory, first writer wins; spill: rename
//! only; persist: into the run's folder) and
//! [`Store::write_run_file`]. Guarantees that nothing partial ever reaches a final path and that
//! a temp file is removed on every error path. Not responsible for: the byte format (see
//! `format.rs`) or reading (see `mod.rs`).

use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::backend::{Backend, WriteFile};
use super::format::{Header, MAX_TYPE_NAME};
use super::object::{RawCounter, StoredWriter};
use super::{
    BlockKey, CodecId, Commit, Compression, EncodeFn, EncodeValueFn, ObjectInfo, ObjectKind,
    ObjectMeta, Store, StoreError, io_error,
};
use crate::memory::Footprint;

/// Buffer between the encoder and the hashing/compressing writers.
const ENCODE_BUF_LEN: usize = 64 * 1024;

/// A temp file that is removed when dropped unless it was committed.
struct TempFile<'s> {
    backend: &'s dyn Backend,
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(e) = super::backend::remove_if_exists(self.backend, &self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove a temp file; the next run removes it");
        }
    }
}

/// What one write is about.
pub(super) struct Job<'a> {
    pub(super) key: BlockKey,
    pub(super) kind: ObjectKind,
    pub(super) type_name: &'a str,
    pub(super) footprint: Footprint,
    pub(super) compression: Compression,
    pub(super) codec: CodecId,
}

impl Store {
    /// Write an object. Checkpoints: tmp → fsync → rename → dir fsync; if a valid checkpoint of
    /// the same type already exists it is kept (first writer wins), its info returned and
    /// `encode` never called; a spill or a corrupt file at the key is replaced. Spills: tmp →
    /// rename, no fsync; a spill never replaces a checkpoint (the checkpoint's info is
    /// returned). Persist: into this run's folder, no fsync.
    pub fn write(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
        footprint: Footprint,
        encode: &mut EncodeFn<'_>,
    ) -> Result<ObjectInfo, StoreError> {
        let mut encode = |w: &mut dyn io::Write, _: Option<&ObjectMeta<'_>>| encode(w);
        self.write_value(
            key,
            kind,
            type_name,
            CodecId::Postcard,
            footprint,
            &mut encode,
        )
    }

    /// [`Store::write`] for a value of any codec: a postcard value goes into Stepstone's object
    /// format (header + payload); an Arrow IPC value is written as a plain Arrow IPC file whose
    /// footer carries the identity (`encode` gets it). Same commit protocol for both.
    pub fn write_value(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
        codec: CodecId,
        footprint: Footprint,
        encode: &mut EncodeValueFn<'_>,
    ) -> Result<ObjectInfo, StoreError> {
        self.write_committed(key, kind, type_name, codec, footprint, encode)
            .map(|(info, _)| info)
    }

    /// [`Store::write_value`], also telling whether this write's object is the one at the key
    /// ([`Commit::Won`]) or another writer's verified object of the same block was kept
    /// ([`Commit::LostVerified`]: checkpoints and exchange objects are committed
    /// conditionally, so two attempts of one task leave one object).
    pub fn write_committed(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
        codec: CodecId,
        footprint: Footprint,
        encode: &mut EncodeValueFn<'_>,
    ) -> Result<(ObjectInfo, Commit), StoreError> {
        if self.run_id.is_none() {
            return Err(self.read_only());
        }
        let rel = self.rel_path(key, kind).ok_or_else(|| self.read_only())?;
        let final_path = self.root.join(&rel);
        if type_name.len() > MAX_TYPE_NAME {
            return Err(StoreError::Encode {
                path: final_path,
                type_name: type_name.chars().take(80).collect(),
                message: format!("type name longer than {MAX_TYPE_NAME} bytes"),
            });
        }
        // On an object store the conditional publish below makes the same decision.
        let conditional = kind.is_published() && self.backend.publish_is_conditional();
        if !conditional && let Some(existing) = self.existing_to_keep(key, kind, type_name) {
            return Ok((existing, Commit::LostVerified));
        }
        let compression = match (kind, codec) {
            // Arrow objects stay uncompressed so they can be mapped and decoded in place.
            (_, CodecId::ArrowIpc) => None,
            (ObjectKind::Checkpoint, _) => self.options.checkpoint_compression,
            (ObjectKind::Spill | ObjectKind::Persist | ObjectKind::Exchange, _) => {
                self.options.spill_compression
            }
        }
        .unwrap_or(Compression::None);
        let job = Job {
            key,
            kind,
            type_name,
            footprint,
            compression,
            codec,
        };
        let mut tmp = self.temp_file(&format!("{}.{}.{kind:?}", key.fingerprint, key.part));
        let (header, file_len) = self.write_temp(&tmp.path, &job, &final_path, encode)?;
        let durable = kind == ObjectKind::Checkpoint;
        self.ensure_parent(&final_path, durable)?;
        if !kind.is_published() {
            self.backend
                .rename(&tmp.path, &final_path)
                .map_err(io_error("rename into place", &final_path))?;
            tmp.armed = false;
            return Ok((ObjectInfo::from_header(header, file_len, rel), Commit::Won));
        }
        let commit = |exclusive| {
            self.backend
                .publish(&tmp.path, &final_path, exclusive)
                .map_err(io_error("commit", &final_path))
        };
        if !commit(true)? {
            // Another writer committed this block first: use its object if it is intact, of
            // our type and at least as durable; otherwise replace it.
            match self.verify_rel(&rel) {
                Ok(winner) if winner.type_name == type_name && keeps(winner.kind, kind) => {
                    return Ok((winner, Commit::LostVerified));
                }
                _ => {
                    commit(false)?;
                }
            }
        }
        tmp.armed = false;
        if durable {
            let dir = parent(&final_path);
            self.backend
                .sync_dir(dir)
                .map_err(io_error("fsync directory", dir))?;
        }
        Ok((ObjectInfo::from_header(header, file_len, rel), Commit::Won))
    }

    /// Atomically write a file of this run's folder (e.g. `report.json`): temp file, fsync,
    /// rename, directory fsync. `name` must be a plain file name.
    pub fn write_run_file(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        let dir = self.run_dir().ok_or_else(|| self.read_only())?;
        let path = dir.join(name);
        if !super::runs::is_plain_name(name) {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "not a plain file name");
            return Err(StoreError::Io {
                op: "write run file",
                path,
                source,
            });
        }
        self.replace_file(&path, bytes)?;
        Ok(path)
    }

    /// Write `bytes` to `path` atomically: temp file, fsync, rename, directory fsync.
    pub(super) fn replace_file(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = self.temp_file(&format!("file-{name}"));
        let result = (|| {
            let mut file = self.backend.create(&tmp.path)?;
            file.write_all(bytes)?;
            file.flush()?;
            file.sync()
        })();
        result.map_err(|e| write_error(&tmp.path, path, bytes.len() as u64, e))?;
        self.backend
            .rename(&tmp.path, path)
            .map_err(io_error("rename into place", path))?;
        tmp.armed = false;
        let dir = parent(path);
        self.backend
            .sync_dir(dir)
            .map_err(io_error("fsync directory", dir))?;
        Ok(())
    }

    /// The object already at `key` that a write of `kind` must keep, if any.
    fn existing_to_keep(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
    ) -> Option<ObjectInfo> {
        if kind == ObjectKind::Persist {
            return None;
        }
        let info = self.probe_kind(key, kind).ok().flatten()?;
        if !keeps(info.kind, kind) || info.type_name != type_name {
            return None;
        }
        // A checkpoint is only kept if its payload is intact; a corrupt one is replaced.
        self.verify_rel(&info.path).ok()
    }

    fn temp_file(&self, stem: &str) -> TempFile<'_> {
        let seq = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{stem}.{}-{seq}.tmp", std::process::id());
        TempFile {
            backend: &*self.backend,
            path: self.root.join("tmp").join(name),
            armed: true,
        }
    }

    /// Stream the object into the temp file and fill in its header; fsync it for checkpoints.
    fn write_temp(
        &self,
        tmp: &Path,
        job: &Job<'_>,
        final_path: &Path,
        encode: &mut EncodeValueFn<'_>,
    ) -> Result<(Header, u64), StoreError> {
        if job.codec == CodecId::ArrowIpc {
            return self.write_temp_self_describing(tmp, job, final_path, encode);
        }
        let mut header = Header {
            kind: job.kind,
            compression: job.compression,
            key: job.key,
            payload_len: 0,
            raw_len: 0,
            footprint: job.footprint,
            payload_checksum: 0,
            type_name: job.type_name.to_string(),
            codec: CodecId::Postcard,
        };
        let header_len = header.len();
        let placeholder = header.encode();
        let created = if job.kind.is_published() {
            self.backend.create_for_publish(tmp, final_path)
        } else {
            self.backend.create(tmp)
        };
        let mut file = created.map_err(io_error("create temp file", tmp))?;
        file.write_all(&placeholder)
            .map_err(|e| write_error(tmp, final_path, header_len, e))?;
        let stored = StoredWriter::new(file, header_len);
        let mut encode = |w: &mut dyn Write| encode(w, None);
        let (file, raw_len, payload_len, checksum) =
            stream_payload(stored, job, tmp, final_path, &mut encode)?;
        header.raw_len = raw_len;
        header.payload_len = payload_len;
        header.payload_checksum = checksum;
        finish_file(file, &header, job.kind == ObjectKind::Checkpoint).map_err(
            |(op, e)| match op {
                "fsync" => StoreError::Io {
                    op: "fsync",
                    path: tmp.to_path_buf(),
                    source: e,
                },
                _ => write_error(tmp, final_path, header_len, e),
            },
        )?;
        Ok((header, header_len + payload_len))
    }

    /// Create the final path's directory if needed (fsync'ing its parent when `durable`).
    fn ensure_parent(&self, final_path: &Path, durable: bool) -> Result<(), StoreError> {
        let dir = parent(final_path);
        let mut synced = self
            .synced_dirs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if synced.contains(dir) {
            return Ok(());
        }
        if !self.backend.exists(dir).map_err(io_error("stat", dir))? {
            self.backend
                .create_dir_all(dir)
                .map_err(io_error("create directory", dir))?;
        }
        // A directory made by a spill (or an earlier run) may not be durable yet: the first
        // checkpoint placed in it this run fsyncs its parent once.
        if durable {
            let up = parent(dir);
            self.backend
                .sync_dir(up)
                .map_err(io_error("fsync directory", up))?;
            synced.insert(dir.to_path_buf());
        }
        Ok(())
    }
}

/// Whether an intact object of kind `existing` at a key serves a write of kind `writing` (the
/// write is dropped): a checkpoint serves every write; an exchange object serves every write but
/// a checkpoint's (two attempts of one segment leave one object); a spill serves nothing (it is
/// replaced).
pub(super) fn keeps(existing: ObjectKind, writing: ObjectKind) -> bool {
    match existing {
        ObjectKind::Checkpoint => true,
        ObjectKind::Exchange => writing != ObjectKind::Checkpoint,
        ObjectKind::Spill | ObjectKind::Persist => false,
    }
}

/// Run the encoder through the (optional) zstd encoder into the hashing writer.
/// Returns the file, raw length, stored length and stored checksum.
fn stream_payload(
    mut stored: StoredWriter,
    job: &Job<'_>,
    tmp: &Path,
    final_path: &Path,
    encode: &mut EncodeFn<'_>,
) -> Result<(Box<dyn WriteFile>, u64, u64, u64), StoreError> {
    let encode_failed = |stored: &mut StoredWriter, message: String| match stored.error.take() {
        Some(e) => write_error(tmp, final_path, 0, e),
        None => StoreError::Encode {
            path: final_path.to_path_buf(),
            type_name: job.type_name.to_string(),
            message,
        },
    };
    let raw_len = match job.compression {
        Compression::None => {
            let (result, len) = run_encoder(&mut stored, encode);
            result.map_err(|m| encode_failed(&mut stored, m))?;
            len
        }
        Compression::Zstd(level) => {
            let mut zstd = zstd::stream::write::Encoder::new(&mut stored, level).map_err(|e| {
                StoreError::Io {
                    op: "start zstd encoder for",
                    path: tmp.to_path_buf(),
                    source: e,
                }
            })?;
            let (result, len) = run_encoder(&mut zstd, encode);
            let finished = result.and_then(|()| zstd.finish().map(drop).map_err(|e| e.to_string()));
            finished.map_err(|m| encode_failed(&mut stored, m))?;
            len
        }
    };
    let (file, payload_len, checksum) = stored
        .finish()
        .map_err(|e| write_error(tmp, final_path, 0, e))?;
    Ok((file, raw_len, payload_len, checksum))
}

/// Run the encoder into `sink` through a buffer (encoders write many tiny pieces) and a
/// counter of the raw bytes. Returns the encoder's result and the raw length.
pub(super) fn run_encoder(
    sink: &mut dyn Write,
    encode: &mut EncodeFn<'_>,
) -> (Result<(), String>, u64) {
    let mut raw = RawCounter {
        inner: sink,
        len: 0,
    };
    let result = {
        let mut top = BufWriter::with_capacity(ENCODE_BUF_LEN, &mut raw);
        let result = encode(&mut top).and_then(|()| top.flush().map_err(|e| e.to_string()));
        // On failure, drop the buffered rest instead of flushing it into the doomed temp file.
        let _ = top.into_parts();
        result
    };
    (result, raw.len)
}

/// Write the final header over the placeholder, flush, and fsync when `durable`.
fn finish_file(
    mut file: Box<dyn WriteFile>,
    header: &Header,
    durable: bool,
) -> Result<(), (&'static str, io::Error)> {
    let write = |file: &mut Box<dyn WriteFile>| -> io::Result<()> {
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header.encode())?;
        file.flush()
    };
    write(&mut file).map_err(|e| ("write", e))?;
    if durable {
        file.sync().map_err(|e| ("fsync", e))?;
    }
    Ok(())
}

/// An I/O error while writing `tmp` (destined for `final_path`), naming both and the size.
pub(super) fn write_error(tmp: &Path, final_path: &Path, bytes: u64, e: io::Error) -> StoreError {
    let size = if bytes > 0 {
        format!(" ({bytes} bytes)")
    } else {
        String::new()
    };
    let hint = if e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC) {
        "; free disk space or point --checkpoint-dir at a larger disk"
    } else {
        ""
    };
    let source = io::Error::new(
        e.kind(),
        format!("{e}{size}, for {}{hint}", final_path.display()),
    );
    StoreError::Io {
        op: "write",
        path: tmp.to_path_buf(),
        source,
    }
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}
