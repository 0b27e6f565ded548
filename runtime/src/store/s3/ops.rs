//! The [`Backend`] primitives of [`S3Backend`]: each call routed to its tier (see `route.rs`)
//! and mapped onto `std::fs` (local tier) or object requests (S3 tier).
//!
//! Responsible for: create / open / rename / publish / remove / list / exists / modified / lock
//! on the store's layout, and the listing and deletion helpers they share. Not responsible for:
//! the upload (`upload.rs`), the streamed read (`read.rs`) or the lease (`lease.rs`).

use std::io;
use std::path::Path;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use super::route::Route;
use super::stream::StreamingUpload;
use super::{S3Backend, lease, unsupported};
use crate::store::backend::{Backend, DirEntry, LockHandle, ReadFile, WriteFile};
use crate::store::local::LocalFs;

/// A local file of an S3 store: a temp file to be uploaded (its durable copy is the
/// acknowledged upload) or a spill (never fsync'd anyway), so `sync` has nothing to do.
struct Staging(std::fs::File);

impl io::Write for Staging {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl io::Seek for Staging {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl WriteFile for Staging {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl S3Backend {
    /// With the lease held no other run adds objects: list `objects/` once, so a probe for a
    /// block that is not there costs no request. (A run that took over an expired lease from a
    /// stalled holder may miss that holder's late objects: it recomputes them, and the
    /// conditional commit then uses the holder's.)
    fn take_listing(&self) -> io::Result<()> {
        use futures_util::TryStreamExt;
        let objects = self.key("objects");
        let store = &self.client.store;
        let keys: std::collections::HashSet<String> = self
            .client
            .block_on(
                store
                    .list(Some(&objects))
                    .map_ok(|m| m.location.to_string())
                    .try_collect(),
            )
            .map_err(|e| self.error("list", &objects, e))?;
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = Some(keys);
        Ok(())
    }

    /// Whether the listing says `key` is not on S3 (false without a listing).
    fn known_absent(&self, key: &ObjectPath) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.as_ref().is_some_and(|k| !k.contains(key.as_ref()))
    }

    fn note_present(&self, key: &ObjectPath) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = known.as_mut() {
            k.insert(key.to_string());
        }
    }

    fn note_absent(&self, key: &ObjectPath) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = known.as_mut() {
            k.remove(key.as_ref());
        }
    }

    /// The immediate children of `key`, from a recursive listing: a child is a folder when any
    /// object lies below it. Zero-byte objects are folder markers (S3 consoles and SeaweedFS
    /// leave them behind, e.g. for a folder whose objects were all deleted) and are skipped: no
    /// stored object or run file is ever empty, and a marker must not make a deleted run's
    /// folder look like an incomplete run.
    fn list(&self, key: &ObjectPath) -> io::Result<Vec<DirEntry>> {
        use futures_util::TryStreamExt;
        let store = &self.client.store;
        let metas: Vec<object_store::ObjectMeta> = self
            .client
            .block_on(store.list(Some(key)).try_collect())
            .map_err(|e| self.error("list", key, e))?;
        let mut children: std::collections::BTreeMap<String, bool> = Default::default();
        for meta in metas.iter().filter(|m| m.size > 0) {
            let Some(parts) = meta.location.prefix_match(key) else {
                continue;
            };
            let parts: Vec<_> = parts.collect();
            let Some(first) = parts.first() else {
                continue;
            };
            let is_dir = children.entry(first.as_ref().to_string()).or_default();
            *is_dir |= parts.len() > 1;
        }
        Ok(children
            .into_iter()
            .map(|(name, is_dir)| DirEntry { name, is_dir })
            .collect())
    }

    fn remote_exists(&self, key: &ObjectPath) -> io::Result<bool> {
        let store = &self.client.store;
        match self.client.block_on(store.head(key)) {
            Ok(_) => return Ok(true),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.error("stat", key, e)),
        }
        Ok(!self.list(key)?.is_empty())
    }

    fn remove_remote(&self, key: &ObjectPath) -> io::Result<()> {
        self.note_absent(key);
        let store = &self.client.store;
        match self.client.block_on(store.delete(key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", key, e)),
        }
    }

    fn remove_remote_tree(&self, key: &ObjectPath) -> io::Result<()> {
        use futures_util::TryStreamExt;
        let store = &self.client.store;
        let keys: Vec<ObjectPath> = self
            .client
            .block_on(store.list(Some(key)).map_ok(|m| m.location).try_collect())
            .map_err(|e| self.error("list", key, e))?;
        for k in keys {
            self.remove_remote(&k)?;
        }
        Ok(())
    }
}

impl Backend for S3Backend {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        match self.route(path)? {
            Route::Local(local) | Route::Objects { local, .. } => {
                let file = std::fs::File::create(local)?;
                Ok(Box::new(Staging(file)))
            }
            Route::Remote(key) => Err(unsupported("create a file directly at", &key)),
        }
    }

    fn create_for_publish(&self, tmp: &Path, to: &Path) -> io::Result<Box<dyn WriteFile>> {
        let key = match self.route(to)? {
            Route::Objects { remote, .. } | Route::Remote(remote) => remote,
            Route::Local(_) => return self.create(tmp),
        };
        let Route::Local(_) = self.route(tmp)? else {
            return Err(unsupported("stage a temp file at", &key));
        };
        let upload = StreamingUpload::new(
            self.client.clone(),
            tmp.to_path_buf(),
            key,
            self.pending.clone(),
        );
        Ok(Box::new(upload))
    }

    fn local_path(&self, path: &Path) -> Option<std::path::PathBuf> {
        match self.route(path).ok()? {
            Route::Local(local) => Some(local),
            Route::Objects { local, .. } if local.is_file() => Some(local),
            _ => None,
        }
    }

    fn scratch_dir(&self) -> Option<std::path::PathBuf> {
        Some(self.spill_dir().join("tmp"))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        match self.route(path)? {
            Route::Local(local) => LocalFs.open_read(&local),
            Route::Objects { local, remote } => match LocalFs.open_read(&local) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if self.known_absent(&remote) {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{} does not exist", self.client.url(&remote)),
                        ));
                    }
                    self.open_remote(&remote)
                }
                other => other,
            },
            Route::Remote(key) => self.open_remote(&key),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let Route::Local(source) = self.route(from)? else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the S3 store renames only its local temp files",
            ));
        };
        match self.route(to)? {
            // Spills (and other local files) stay in the local tier.
            Route::Local(dest) | Route::Objects { local: dest, .. } => {
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::rename(source, dest)
            }
            Route::Remote(key) => {
                self.upload(&source, &key, false)?;
                std::fs::remove_file(&source)
            }
        }
    }

    fn publish(&self, from: &Path, to: &Path, exclusive: bool) -> io::Result<bool> {
        let streamed = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(from);
        if let Some(pending) = streamed {
            let key = pending.key.clone();
            let placed = self.complete(from, pending, exclusive)?;
            self.note_present(&key);
            if placed && let Route::Objects { local, .. } = self.route(to)? {
                // The checkpoint replaces a spill of the same block: drop the local copy.
                match std::fs::remove_file(local) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            return Ok(placed);
        }
        let Route::Local(source) = self.route(from)? else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the S3 store publishes only its local temp files",
            ));
        };
        let (key, local_copy) = match self.route(to)? {
            Route::Objects { local, remote } => (remote, Some(local)),
            Route::Remote(key) => (key, None),
            Route::Local(dest) => {
                std::fs::rename(source, dest)?;
                return Ok(true);
            }
        };
        let placed = self.upload(&source, &key, exclusive)?;
        // Either way an object is there now (ours, or the winner's the caller will verify).
        self.note_present(&key);
        if !placed {
            return Ok(false);
        }
        std::fs::remove_file(&source)?;
        // The checkpoint replaces a spill of the same block: drop the local copy.
        if let Some(local) = local_copy {
            match std::fs::remove_file(local) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(true)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let streamed = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(path);
        if let Some(pending) = streamed {
            // A streamed checkpoint that will not be published: abort its upload.
            super::stream::abort(&self.client, &pending);
            return Ok(());
        }
        match self.route(path)? {
            Route::Local(local) => std::fs::remove_file(local),
            Route::Objects { local, remote } => match std::fs::remove_file(local) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.remove_remote(&remote),
                other => other,
            },
            Route::Remote(key) => self.remove_remote(&key),
        }
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        match self.route(path)? {
            Route::Local(local) => std::fs::remove_dir_all(local),
            Route::Objects { local, remote } => {
                match std::fs::remove_dir_all(local) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                self.remove_remote_tree(&remote)
            }
            Route::Remote(key) => self.remove_remote_tree(&key),
        }
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        match self.route(path)? {
            Route::Local(local) => LocalFs.sync_dir(&local),
            // An acknowledged PUT is durable; S3 has no directories to sync.
            Route::Objects { .. } | Route::Remote(_) => Ok(()),
        }
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        match self.route(path)? {
            Route::Local(local) | Route::Objects { local, .. } => std::fs::create_dir_all(local),
            Route::Remote(_) => Ok(()),
        }
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        match self.route(path)? {
            Route::Local(local) => LocalFs.list_dir(&local),
            Route::Objects { local, remote } => {
                let mut entries = match LocalFs.list_dir(&local) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
                    other => other?,
                };
                for entry in self.list(&remote)? {
                    if !entries.contains(&entry) {
                        entries.push(entry);
                    }
                }
                Ok(entries)
            }
            Route::Remote(key) => self.list(&key),
        }
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        match self.route(path)? {
            Route::Local(local) => LocalFs.exists(&local),
            Route::Objects { local, remote } => {
                // `objects/` itself has no marker on S3: the store exists once anything of it
                // (an object, a run report, the lease) is there.
                let remote = if remote == self.key("objects") {
                    self.prefix.clone()
                } else if remote.parts().count() == self.prefix.parts().count() + 2 {
                    // `objects/xx`: S3 has no folders; the caller only needs the local one.
                    return LocalFs.exists(&local);
                } else {
                    remote
                };
                Ok(LocalFs.exists(&local)? || self.remote_exists(&remote)?)
            }
            Route::Remote(key) => self.remote_exists(&key),
        }
    }

    fn publish_is_conditional(&self) -> bool {
        true
    }

    fn modified(&self, path: &Path) -> io::Result<Option<std::time::SystemTime>> {
        let key = match self.route(path)? {
            Route::Local(local) => return LocalFs.modified(&local),
            Route::Objects { local, remote } => match LocalFs.modified(&local) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => remote,
                other => return other,
            },
            Route::Remote(key) => key,
        };
        let store = &self.client.store;
        let meta = self
            .client
            .block_on(store.head(&key))
            .map_err(|e| self.error("stat", &key, e))?;
        let millis = u64::try_from(meta.last_modified.timestamp_millis()).unwrap_or(0);
        Ok(Some(std::time::UNIX_EPOCH + Duration::from_millis(millis)))
    }

    fn lock(&self, path: &Path, wait: bool) -> io::Result<Option<Box<dyn LockHandle>>> {
        let Route::Remote(key) = self.route(path)? else {
            return Err(unsupported("lock", &self.key("LOCK")));
        };
        let lease = lease::Lease::acquire(self.client.clone(), key, self.lease_ttl, wait)?;
        self.take_listing()?;
        Ok(Some(Box::new(lease)))
    }

    fn forget_listing(&self) {
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
