//! Opening a checkpoint directory: layout, lock, cleanup; and the read-only inspection helpers.
//!
//! Responsible for: creating `LOCK`, `objects/`, `runs/`, `tmp/`; taking the advisory lock and
//! recording our pid; removing orphan temp files and the persist folders of runs that are not
//! running; [`Store::open_read_only`], [`Store::list_objects`] and [`Store::verify`] for the CLI.
//! Not responsible for: deciding which spills or checkpoints to delete (the executor and
//! `checkpoints gc` do).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::backend::{self, Backend, LockHandle};
use super::{BlockKey, ObjectInfo, Store, StoreError, StoreOptions, io_error, object};
use crate::plan::Fingerprint;

impl Store {
    /// Open (creating if needed) the checkpoint directory `dir` for run `run_id`: take the lock,
    /// remove orphan temp files and the persist folders of earlier runs, create
    /// `runs/<run_id>/`. `run_id` must be a plain name (letters, digits, `-`, `_`, `.`).
    ///
    /// `dir` may be an `s3://bucket/prefix` URL: the store then lives on S3 (`S3Backend`, feature `s3`),
    /// with spills in a fresh temp folder (see [`Store::open_with_spill_dir`]).
    pub fn open(dir: &Path, run_id: &str, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_with_spill_dir(dir, None, run_id, options)
    }

    /// [`Store::open`] with the local directory an `s3://` store keeps spills, persist copies
    /// and temp files in (`None`: a fresh temp folder, removed when the store closes). A local
    /// store ignores `spill_dir`: its spills live beside its checkpoints.
    pub fn open_with_spill_dir(
        dir: &Path,
        spill_dir: Option<&Path>,
        run_id: &str,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let (backend, root) = backend_for(dir, spill_dir)?;
        Store::open_with_backend(backend, &root, run_id, options)
    }

    /// [`Store::open`] over any backend (tests wrap [`LocalFs`](super::LocalFs) to inject faults).
    pub fn open_with_backend(
        backend: Arc<dyn Backend>,
        dir: &Path,
        run_id: &str,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let run_path = dir.join("runs").join(run_id);
        if !super::runs::is_plain_name(run_id) {
            let source = io::Error::new(
                io::ErrorKind::InvalidInput,
                "run id must be a plain name ([A-Za-z0-9._-])",
            );
            return Err(StoreError::Io {
                op: "create run folder",
                path: run_path,
                source,
            });
        }
        if options.attach {
            return Store::attach(backend, dir, run_id, options);
        }
        backend
            .create_dir_all(dir)
            .map_err(io_error("create checkpoint directory", dir))?;
        let lock = acquire_lock(&*backend, dir, options.wait_for_lock)?;
        for sub in ["objects", "runs", "tmp"] {
            let path = dir.join(sub);
            backend
                .create_dir_all(&path)
                .map_err(io_error("create directory", &path))?;
        }
        remove_orphans(&*backend, dir)?;
        let mut store = Store {
            root: dir.to_path_buf(),
            backend,
            run_id: Some(run_id.to_string()),
            options,
            _lock: Some(lock),
            tmp_seq: AtomicU64::new(0),
            synced_dirs: Mutex::default(),
            private: None,
        };
        let run_path = if store.options.number_runs {
            let id = super::runs::numbered(store.next_run_number()?, run_id);
            let path = dir.join("runs").join(&id);
            store.run_id = Some(id);
            path
        } else {
            run_path
        };
        let backend = &store.backend;
        backend
            .create_dir_all(&run_path)
            .map_err(io_error("create run folder", &run_path))?;
        // Make the layout and the run folder durable, so later fsyncs inside them mean something.
        for synced in [dir.to_path_buf(), dir.join("runs")] {
            backend
                .sync_dir(&synced)
                .map_err(io_error("fsync directory", &synced))?;
        }
        Ok(store)
    }

    /// [`StoreOptions::attach`]: a worker's view of the store its coordinator holds for run
    /// `run_id`. Takes no lock and removes nothing of others'; its spills go to a folder of its
    /// own under `tmp/` (`attach-<pid>-<n>`), removed when the store is dropped.
    fn attach(
        backend: Arc<dyn Backend>,
        dir: &Path,
        run_id: &str,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let run_path = dir.join("runs").join(run_id);
        if !backend
            .exists(&run_path)
            .map_err(io_error("stat", &run_path))?
        {
            return Err(StoreError::Io {
                op: "attach to run",
                path: run_path,
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    "the coordinator's run folder is not there (is the coordinator still running, on this store?)",
                ),
            });
        }
        static ATTACHED: AtomicU64 = AtomicU64::new(0);
        let n = ATTACHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rel = PathBuf::from("tmp").join(format!("attach-{}-{n}", std::process::id()));
        let private_path = dir.join(&rel);
        backend
            .create_dir_all(&private_path)
            .map_err(io_error("create directory", &private_path))?;
        Ok(Store {
            root: dir.to_path_buf(),
            backend: backend.clone(),
            run_id: Some(run_id.to_string()),
            options,
            _lock: None,
            tmp_seq: AtomicU64::new(0),
            synced_dirs: Mutex::default(),
            private: Some(super::PrivateDir {
                backend,
                rel,
                root: dir.to_path_buf(),
            }),
        })
    }

    /// Open an existing checkpoint directory for inspection: no lock, no cleanup, no run
    /// folder; every write fails with [`StoreError::ReadOnly`].
    /// `dir` may be an `s3://bucket/prefix` URL.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let (backend, root) = backend_for(dir, None)?;
        Store::open_read_only_with_backend(backend, &root)
    }

    /// [`Store::open_read_only`] over any backend.
    pub fn open_read_only_with_backend(
        backend: Arc<dyn Backend>,
        dir: &Path,
    ) -> Result<Store, StoreError> {
        let objects = dir.join("objects");
        if !backend
            .exists(&objects)
            .map_err(io_error("stat", &objects))?
        {
            let source = io::Error::new(
                io::ErrorKind::NotFound,
                "not a checkpoint directory (no objects/ folder)",
            );
            return Err(StoreError::Io {
                op: "open checkpoint directory",
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(Store {
            root: dir.to_path_buf(),
            backend,
            run_id: None,
            options: StoreOptions::default(),
            _lock: None,
            tmp_seq: AtomicU64::new(0),
            synced_dirs: Mutex::default(),
            private: None,
        })
    }

    /// The headers of every object in `objects/`, sorted by path; a file that is not a valid
    /// object (bad header, misplaced, stray name) is reported as an error in its slot without
    /// stopping the listing. Payloads are not read (see [`Store::verify`]).
    pub fn list_objects(&self) -> Result<Vec<Result<ObjectInfo, StoreError>>, StoreError> {
        let objects = self.root.join("objects");
        let mut rels = Vec::new();
        let mut dirs = self
            .backend
            .list_dir(&objects)
            .map_err(io_error("list", &objects))?;
        dirs.sort_by(|a, b| a.name.cmp(&b.name));
        for dir in dirs {
            let rel_dir = PathBuf::from("objects").join(&dir.name);
            if !dir.is_dir {
                rels.push(rel_dir);
                continue;
            }
            let path = self.root.join(&rel_dir);
            let mut files = self
                .backend
                .list_dir(&path)
                .map_err(io_error("list", &path))?;
            files.sort_by(|a, b| a.name.cmp(&b.name));
            rels.extend(files.into_iter().map(|f| rel_dir.join(f.name)));
        }
        Ok(rels.into_iter().map(|rel| self.inspect_rel(rel)).collect())
    }

    /// Fully verify `key`'s object in `objects/` (header and payload checksum).
    pub fn verify(&self, key: BlockKey) -> Result<ObjectInfo, StoreError> {
        let hex = key.fingerprint.to_hex();
        self.verify_rel(
            &PathBuf::from("objects")
                .join(&hex[..2])
                .join(format!("{hex}.{}", key.part)),
        )
    }

    /// Fully verify the object at `rel` (relative to the root).
    pub(crate) fn verify_rel(&self, rel: &Path) -> Result<ObjectInfo, StoreError> {
        let path = self.root.join(rel);
        let mut file = self
            .backend
            .open_read(&path)
            .map_err(io_error("open", &path))?;
        let (header, file_len) = object::read_header(&mut *file, &path)?;
        object::verify_payload(&mut *file, &header, &path)?;
        Ok(ObjectInfo::from_header(header, file_len, rel.to_path_buf()))
    }

    /// Header of the file at `rel`, checked against the key its name promises.
    fn inspect_rel(&self, rel: PathBuf) -> Result<ObjectInfo, StoreError> {
        let path = self.root.join(&rel);
        let Some(key) = key_from_rel(&rel) else {
            let reason =
                "stray file: not named objects/<2 hex>/<32 hex fingerprint>.<part>".to_string();
            return Err(StoreError::Corrupt { path, reason });
        };
        let info = self.probe_rel(rel)?.ok_or_else(|| StoreError::Io {
            op: "open",
            path: path.clone(),
            source: io::Error::new(io::ErrorKind::NotFound, "vanished while listing"),
        })?;
        if info.key != key {
            let reason = format!(
                "holds block {}.{} under another block's name",
                info.key.fingerprint, info.key.part
            );
            return Err(StoreError::Corrupt { path, reason });
        }
        Ok(info)
    }
}

/// The block key an `objects/xx/<fp>.<part>` path names, if it is well-formed.
fn key_from_rel(rel: &Path) -> Option<BlockKey> {
    let name = rel.file_name()?.to_str()?;
    let prefix = rel.parent()?.file_name()?.to_str()?;
    let (hex, part) = name.split_once('.')?;
    if hex.len() != 32 || !hex.starts_with(prefix) || prefix.len() != 2 {
        return None;
    }
    let fingerprint: Fingerprint = hex.parse().ok()?;
    Some(BlockKey {
        fingerprint,
        part: part.parse().ok()?,
    })
}

/// Take `dir/LOCK` and record our pid in it; a held lock is [`StoreError::Locked`] naming the
/// holder's pid (0 when it has not written it yet).
fn acquire_lock(
    backend: &dyn Backend,
    dir: &Path,
    wait: bool,
) -> Result<Box<dyn LockHandle>, StoreError> {
    let path = dir.join("LOCK");
    match backend.lock(&path, wait).map_err(lock_error(dir, &path))? {
        Some(mut handle) => {
            let pid = format!("{}\n", std::process::id());
            handle
                .record(pid.as_bytes())
                .map_err(io_error("record pid in", &path))?;
            Ok(handle)
        }
        None => {
            let text = backend::read_small(backend, &path, 64).unwrap_or_default();
            let pid = String::from_utf8_lossy(&text).trim().parse().unwrap_or(0);
            Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                pid,
            })
        }
    }
}

/// Map a failed lock to [`StoreError::Leased`] when an S3 lease is held by another run, to
/// [`StoreError::Io`] otherwise.
pub(crate) fn lock_error<'p>(
    #[cfg_attr(not(feature = "s3"), expect(unused_variables))] dir: &'p Path,
    path: &'p Path,
) -> impl FnOnce(io::Error) -> StoreError + 'p {
    move |e| {
        #[cfg(feature = "s3")]
        if let Some(held) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<super::s3::LeaseHeld>())
        {
            return StoreError::Leased {
                store: dir.display().to_string(),
                host: held.host.clone(),
                pid: held.pid,
                until: held.until.clone(),
            };
        }
        io_error("lock", path)(e)
    }
}

/// With the lock held no other run is writing: every file in `tmp/` is an orphan of a crashed
/// run, and every `runs/*/persist/` folder belongs to a run that is over.
fn remove_orphans(backend: &dyn Backend, dir: &Path) -> Result<(), StoreError> {
    let tmp = dir.join("tmp");
    for entry in backend.list_dir(&tmp).map_err(io_error("list", &tmp))? {
        let path = tmp.join(&entry.name);
        let removed = if entry.is_dir {
            backend.remove_dir_all(&path)
        } else {
            backend.remove_file(&path)
        };
        match removed {
            Ok(()) => tracing::debug!(path = %path.display(), "removed an orphan temp file"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove orphan", &path)(e)),
        }
    }
    let runs = dir.join("runs");
    for run in backend.list_dir(&runs).map_err(io_error("list", &runs))? {
        let persist = runs.join(&run.name).join("persist");
        if run.is_dir
            && backend
                .exists(&persist)
                .map_err(io_error("stat", &persist))?
        {
            backend
                .remove_dir_all(&persist)
                .map_err(io_error("remove", &persist))?;
        }
    }
    Ok(())
}

/// The backend and root for `dir`: [`S3Backend`] for an `s3://` URL, [`LocalFs`] otherwise.
pub(crate) fn backend_for(
    dir: &Path,
    #[cfg_attr(not(feature = "s3"), expect(unused_variables))] spill_dir: Option<&Path>,
) -> Result<(Arc<dyn Backend>, PathBuf), StoreError> {
    match super::s3_url(dir) {
        #[cfg(not(feature = "s3"))]
        Some(url) => Err(StoreError::S3NotBuilt { url }),
        #[cfg(feature = "s3")]
        Some(url) => {
            let backend =
                super::S3Backend::open(&url, spill_dir).map_err(|source| StoreError::Io {
                    op: "open checkpoint store",
                    path: PathBuf::from(&url),
                    source,
                })?;
            let root = backend.root();
            Ok((Arc::new(backend), root))
        }
        None => Ok((Arc::new(super::LocalFs), dir.to_path_buf())),
    }
}
