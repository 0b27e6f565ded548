//! Maintenance of a checkpoint directory by the CLI (`stepstone checkpoints gc`): open it with
//! the directory lock held but without starting a run, and delete objects and run folders.
//!
//! Responsible for: [`Store::open_maintenance`], [`Store::remove_object`] and
//! [`Store::remove_run`]. Not responsible for: deciding what to delete (the CLI's gc does),
//! nor cleanup of `tmp/` (the next run does that at [`Store::open`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::backend::{self, Backend};
use super::{BlockKey, Store, StoreError, StoreOptions, io_error};

impl Store {
    /// Open an existing checkpoint directory for maintenance: take its lock (failing with
    /// [`StoreError::Locked`] when a run holds it, or waiting with `wait`), create nothing and
    /// clean nothing. Reads work as on a read-only store; [`Store::remove_object`] and
    /// [`Store::remove_run`] work only on a store opened this way.
    /// `dir` may be an `s3://bucket/prefix` URL.
    pub fn open_maintenance(dir: &Path, wait: bool) -> Result<Store, StoreError> {
        let (backend, root) = super::open::backend_for(dir, None)?;
        Store::open_maintenance_with_backend(backend, &root, wait)
    }

    /// [`Store::open_maintenance`] over any backend.
    pub fn open_maintenance_with_backend(
        backend: Arc<dyn Backend>,
        dir: &Path,
        wait: bool,
    ) -> Result<Store, StoreError> {
        // Validates that `dir` is a checkpoint directory before the LOCK file is created.
        let probe = Store::open_read_only_with_backend(backend.clone(), dir)?;
        drop(probe);
        let path = dir.join("LOCK");
        let lock_error = super::open::lock_error(dir, &path);
        let mut lock = match backend.lock(&path, wait).map_err(lock_error)? {
            Some(handle) => handle,
            None => {
                let text = backend::read_small(&*backend, &path, 64).unwrap_or_default();
                let pid = String::from_utf8_lossy(&text).trim().parse().unwrap_or(0);
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                    pid,
                });
            }
        };
        let pid = format!("{}\n", std::process::id());
        lock.record(pid.as_bytes())
            .map_err(io_error("record pid in", &path))?;
        Ok(Store {
            root: dir.to_path_buf(),
            backend,
            run_id: None,
            options: StoreOptions::default(),
            _lock: Some(lock),
            tmp_seq: AtomicU64::new(0),
            synced_dirs: Mutex::default(),
            private: None,
        })
    }

    /// Delete the file `objects/<fp[0..2]>/<fp>.<part>` of `key`, whatever it holds (valid,
    /// corrupt, checkpoint or spill); missing is not an error. Needs the lock
    /// ([`Store::open_maintenance`] or a run's store).
    pub fn remove_object(&self, key: BlockKey) -> Result<(), StoreError> {
        self.require_lock()?;
        let hex = key.fingerprint.to_hex();
        let path = self
            .root
            .join("objects")
            .join(&hex[..2])
            .join(format!("{hex}.{}", key.part));
        backend::remove_if_exists(&*self.backend, &path).map_err(io_error("remove", &path))
    }

    /// Delete the folder `runs/<run_id>/` (its report and anything else in it); missing is not
    /// an error. Refuses this store's own run and names that are not plain. Needs the lock.
    pub fn remove_run(&self, run_id: &str) -> Result<(), StoreError> {
        self.require_lock()?;
        let path = self.root.join("runs").join(run_id);
        if !super::runs::is_plain_name(run_id) || self.run_id.as_deref() == Some(run_id) {
            let source = io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a removable run folder (a plain name of a run that is not this one)",
            );
            return Err(StoreError::Io {
                op: "remove run folder",
                path,
                source,
            });
        }
        match self.backend.remove_dir_all(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", &path)(e)),
            _ => Ok(()),
        }
    }

    fn require_lock(&self) -> Result<(), StoreError> {
        if self._lock.is_some() {
            Ok(())
        } else {
            Err(self.read_only())
        }
    }

    /// When the file at `rel` (relative to the root) was last written, from the backend (file
    /// mtime locally, `Last-Modified` on S3); `None` when it cannot tell.
    pub fn modified(&self, rel: &Path) -> Option<std::time::SystemTime> {
        self.backend.modified(&self.root.join(rel)).ok().flatten()
    }

    /// The absolute path of a file given relative to the root (for tools that stat objects).
    pub fn path_of(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{key, open, put, tempdir};
    use super::super::{ObjectKind, Store, StoreError};

    #[test]
    fn maintenance_takes_the_lock_and_removes_objects_and_runs() {
        let dir = tempdir();
        {
            let run = open(dir.path());
            put(&run, key(1), ObjectKind::Spill, b"abc").unwrap();
            let err = Store::open_maintenance(dir.path(), false).unwrap_err();
            assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
        }
        let store = Store::open_maintenance(dir.path(), false).unwrap();
        assert!(Store::open(dir.path(), "run-2", Default::default()).is_err());
        store.remove_object(key(1)).unwrap();
        assert!(store.list_objects().unwrap().is_empty());
        store.remove_run("run-1").unwrap();
        assert!(!dir.path().join("runs/run-1").exists());
        assert!(store.remove_run("../objects").is_err());
    }

    #[test]
    fn read_only_store_cannot_remove_and_maintenance_needs_a_checkpoint_dir() {
        let dir = tempdir();
        drop(open(dir.path()));
        let read_only = Store::open_read_only(dir.path()).unwrap();
        let err = read_only.remove_object(key(1)).unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        let empty = tempdir();
        assert!(Store::open_maintenance(empty.path(), false).is_err());
        assert!(!empty.path().join("LOCK").exists(), "nothing created");
    }
}
