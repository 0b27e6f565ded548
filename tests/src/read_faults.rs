//! [`ReadFaults`]: a backend wrapper whose reads of stored objects can fail with an OS error
//! (a permission error, a server that went away) or run a hook first, and that can force Arrow
//! objects through a download into a chosen scratch directory (as an S3 store does). Every
//! other call goes to the wrapped backend unchanged.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use stepstone::store::{Backend, DirEntry, LockHandle, ReadFile, WriteFile};

/// A hook run once, before the first object read.
type Hook = Box<dyn FnOnce() + Send>;

/// See the module docs.
pub struct ReadFaults {
    inner: Arc<dyn Backend>,
    /// Fail every open of a path under `objects/` with this OS error number.
    fail_with: Mutex<Option<i32>>,
    /// Run once, before the first open of a path under `objects/`.
    hook: Mutex<Option<Hook>>,
    /// When set, no object has a local path (Arrow objects are downloaded) and downloads go
    /// here.
    scratch: Option<PathBuf>,
}

impl std::fmt::Debug for ReadFaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadFaults")
            .field("inner", &self.inner)
            .field("scratch", &self.scratch)
            .finish()
    }
}

impl ReadFaults {
    /// Wrap `inner`; nothing fails until told to.
    pub fn new(inner: Arc<dyn Backend>) -> ReadFaults {
        ReadFaults {
            inner,
            fail_with: Mutex::new(None),
            hook: Mutex::new(None),
            scratch: None,
        }
    }

    /// Every read of an existing object fails with the OS error `errno` (e.g. `libc::EACCES`).
    pub fn failing(self, errno: i32) -> ReadFaults {
        *self
            .fail_with
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(errno);
        self
    }

    /// Run `hook` once, before the first object read.
    pub fn before_first_read(self, hook: impl FnOnce() + Send + 'static) -> ReadFaults {
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
        self
    }

    /// Objects have no local path: Arrow objects are downloaded into `dir` to be mapped.
    pub fn downloading_into(mut self, dir: &Path) -> ReadFaults {
        self.scratch = Some(dir.to_path_buf());
        self
    }

    fn check(&self, path: &Path) -> io::Result<()> {
        if !path.components().any(|c| c.as_os_str() == "objects") {
            return Ok(());
        }
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(hook) = hook {
            hook();
        }
        // A missing file stays `NotFound` (as under a readable directory).
        match *self
            .fail_with
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Some(errno) if self.inner.exists(path)? => Err(io::Error::from_raw_os_error(errno)),
            _ => Ok(()),
        }
    }
}

impl Backend for ReadFaults {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        self.inner.create(path)
    }
    fn create_for_publish(&self, tmp: &Path, to: &Path) -> io::Result<Box<dyn WriteFile>> {
        self.inner.create_for_publish(tmp, to)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        self.check(path)?;
        self.inner.open_read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn publish(&self, from: &Path, to: &Path, exclusive: bool) -> io::Result<bool> {
        self.inner.publish(from, to, exclusive)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.inner.sync_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.inner.list_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
    fn publish_is_conditional(&self) -> bool {
        self.inner.publish_is_conditional()
    }
    fn local_path(&self, path: &Path) -> Option<PathBuf> {
        match &self.scratch {
            Some(_) => None,
            None => self.inner.local_path(path),
        }
    }
    fn scratch_dir(&self) -> Option<PathBuf> {
        self.scratch.clone().or_else(|| self.inner.scratch_dir())
    }
    fn modified(&self, path: &Path) -> io::Result<Option<std::time::SystemTime>> {
        self.inner.modified(path)
    }
    fn lock(&self, path: &Path, wait: bool) -> io::Result<Option<Box<dyn LockHandle>>> {
        self.inner.lock(path, wait)
    }
}
