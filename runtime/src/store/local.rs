//! [`LocalFs`]: the storage backend over the local file system (`std::fs`).
//!
//! Responsible for: mapping each [`Backend`] primitive onto `std::fs`, including directory
//! fsync and the `flock`-style advisory lock (`File::try_lock` / `File::lock`); opening only
//! regular files for reading (never blocking on a FIFO). Not responsible
//! for: retries or policy; errors are returned as they come from the OS.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::backend::{Backend, DirEntry, LockHandle, ReadFile, WriteFile};

/// The local file-system backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFs;

impl WriteFile for File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_all()
    }
}

impl ReadFile for File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// The `LOCK` file, locked for as long as this value lives.
#[derive(Debug)]
struct LocalLock {
    file: File,
}

impl LockHandle for LocalLock {
    fn record(&mut self, contents: &[u8]) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(contents)?;
        self.file.flush()
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking first makes it explicit.
        let _ = self.file.unlock();
    }
}

impl Backend for LocalFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(file))
    }

    fn local_path(&self, path: &Path) -> Option<std::path::PathBuf> {
        Some(path.to_path_buf())
    }

    /// Exclusive: a hard link, which fails when `to` exists (two processes committing the same
    /// block — attempts of one task — leave the first one's object); then the temp name goes.
    /// A file system without hard links falls back to a rename (same content by key).
    fn publish(&self, from: &Path, to: &Path, exclusive: bool) -> io::Result<bool> {
        if exclusive {
            match std::fs::hard_link(from, to) {
                Ok(()) => {
                    std::fs::remove_file(from)?;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
                Err(e) => {
                    tracing::debug!(error = %e, "no hard link here; committing by rename");
                }
            }
        }
        self.rename(from, to).map(|()| true)
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        // O_NONBLOCK: opening a FIFO planted in the directory would otherwise block until a
        // writer appears (a hang); regular files ignore the flag.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file (a directory, FIFO, socket or device is never a stored object or run file)",
            ));
        }
        Ok(Box::new(file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            entries.push(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        Ok(entries)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn lock(&self, path: &Path, wait: bool) -> io::Result<Option<Box<dyn LockHandle>>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if wait {
            file.lock()?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
        Ok(Some(Box::new(LocalLock { file })))
    }
}
