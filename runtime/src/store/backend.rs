//! The storage backend trait: every file access of the store goes through it.
//!
//! Responsible for: the small set of file-system primitives the commit protocol needs (create a
//! file for writing, open for reading, rename, remove, fsync a directory, list a directory, an
//! advisory lock) plus one object-store-shaped call, [`Backend::publish`] (the conditional
//! commit an S3 store needs, a rename on a file system). Not responsible for: the object format
//! or the protocol itself (see `format.rs` and `object.rs`). The trait is object-safe so a
//! fault-injecting backend can wrap [`LocalFs`](super::LocalFs) in tests, and
//! `S3Backend` (feature `s3`) maps the same calls onto objects.

use std::fmt::Debug;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// A file opened for writing: sequential writes, seeks (the store seeks back to fill in the
/// header), and an explicit durability barrier.
pub trait WriteFile: Write + Seek + Send {
    /// Make everything written so far durable (`fsync`). After an error the file must be
    /// treated as lost: the store never retries a failed sync on the same file.
    fn sync(&mut self) -> io::Result<()>;
}

/// A file opened for reading.
pub trait ReadFile: Read + Seek + Send {
    /// The file's size in bytes.
    fn size(&self) -> io::Result<u64>;
}

/// A held advisory lock; released when dropped (or when the process dies).
pub trait LockHandle: Send + Sync + Debug {
    /// Replace the lock file's contents (the store records its pid there).
    fn record(&mut self, contents: &[u8]) -> io::Result<()>;
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's file name (not a path).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
}

/// A file-system abstraction. Paths are full paths (the store joins them onto its root).
///
/// Semantics follow POSIX: `rename` atomically replaces the destination; a rename or a newly
/// created file is durable only after [`Backend::sync_dir`] on its parent directory.
pub trait Backend: Send + Sync + Debug {
    /// Create (or truncate) a file for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>>;
    /// Create the temp file of a checkpoint that will be [`Backend::publish`]ed at `to`. The
    /// default is [`Backend::create`]; an object store streams it to `to` as it is written.
    fn create_for_publish(&self, tmp: &Path, to: &Path) -> io::Result<Box<dyn WriteFile>> {
        let _ = to;
        self.create(tmp)
    }
    /// Open an existing file for reading (`NotFound` when missing).
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>>;
    /// Atomically rename `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Make the finished temp file `from` visible at `to` as a committed checkpoint. With
    /// `exclusive`, an object store makes it visible only if nothing is at `to` yet and returns
    /// `Ok(false)` when another writer's object is (first writer wins; the caller verifies and
    /// uses it). A file system needs no such check (the directory lock excludes other writers):
    /// the default renames, replacing `to`.
    fn publish(&self, from: &Path, to: &Path, exclusive: bool) -> io::Result<bool> {
        let _ = exclusive;
        self.rename(from, to).map(|()| true)
    }
    /// Remove a file (`NotFound` when missing).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Remove a directory and everything under it (`NotFound` when missing).
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Make the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Create a directory and its missing parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// List a directory's entries (any order).
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Whether [`Backend::publish`] with `exclusive` itself refuses to replace an existing object
    /// (an object store's conditional put). The store then skips its own look before writing a
    /// checkpoint (one request saved) and relies on the refusal instead.
    fn publish_is_conditional(&self) -> bool {
        false
    }
    /// A local path at which the file at `path` can be memory-mapped (a file system's own
    /// path; an S3 store's local tier), or `None`: the store then downloads it into
    /// [`Backend::scratch_dir`] first. The default is `None` (every read goes through
    /// [`Backend::open_read`], as a fault-injecting wrapper wants).
    fn local_path(&self, path: &Path) -> Option<std::path::PathBuf> {
        let _ = path;
        None
    }
    /// A local directory for the private downloads of [`Backend::local_path`] (`None`: the
    /// store's `tmp/`).
    fn scratch_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// When the file at `path` was last written (`Ok(None)` when the backend cannot tell).
    fn modified(&self, path: &Path) -> io::Result<Option<std::time::SystemTime>> {
        Ok(std::fs::metadata(path)?.modified().ok())
    }
    /// Take the advisory lock on `path` (created if missing). `Ok(None)` when another process
    /// holds it and `wait` is false; with `wait`, block until it is free.
    fn lock(&self, path: &Path, wait: bool) -> io::Result<Option<Box<dyn LockHandle>>>;

    /// Forget any listing of `objects/` cached while the lock was taken: other processes (the
    /// run's workers) now add objects a cached listing would miss.
    fn forget_listing(&self) {}
}

/// Remove a file, treating "not found" as success.
pub(crate) fn remove_if_exists(backend: &dyn Backend, path: &Path) -> io::Result<()> {
    match backend.remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Read a whole small file (at most `cap` bytes; longer files are cut at `cap`).
pub(crate) fn read_small(backend: &dyn Backend, path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = backend.open_read(path)?;
    let mut out = Vec::new();
    file.take(cap).read_to_end(&mut out)?;
    Ok(out)
}
