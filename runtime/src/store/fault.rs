//! [`FaultFs`]: a fault-injecting [`Backend`] wrapper for tests (feature `fault-injection`).
//!
//! Responsible for: failing the n-th write, sync, rename or create (or every one on a path
//! containing a given string) with ENOSPC or EIO, making every write short, logging which paths
//! were synced (so a test can check a failed fsync is never retried on the same file), and
//! simulating a power loss ([`FaultFs::power_loss`]): file data written
//! since the file's last `sync` is dropped (or torn), and renames and creations whose directory
//! was not `sync_dir`'d since are undone. Not responsible for: modelling directory creation or
//! removal durability (both are treated as durable at once), nor concurrency beyond a mutex.
//! It snapshots synced files in memory, so it is meant for small test data only.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::{Backend, DirEntry, LockHandle, ReadFile, WriteFile};

/// Which error an injected fault returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// `ENOSPC`: no space left on device.
    NoSpace,
    /// `EIO`: input/output error.
    Io,
}

impl FaultError {
    fn to_io(self) -> io::Error {
        io::Error::from_raw_os_error(match self {
            FaultError::NoSpace => libc::ENOSPC,
            FaultError::Io => libc::EIO,
        })
    }
}

/// The operations a fault can target; each is counted separately, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultOp {
    /// One `write` call on a file opened by [`Backend::create`].
    Write,
    /// One file `sync` or [`Backend::sync_dir`].
    Sync,
    /// One [`Backend::rename`].
    Rename,
    /// One [`Backend::create`].
    Create,
}

/// What a power loss does to data written since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerLoss {
    /// Unsynced file contents revert to their last synced state (empty if never synced).
    DropUnsynced,
    /// Unsynced files keep a pseudo-random prefix (derived from the seed) of what was written.
    TearUnsynced(u64),
}

#[derive(Debug, Default)]
struct FileState {
    /// Contents at the last sync (`None`: never synced).
    durable: Option<Vec<u8>>,
    dirty: bool,
}

#[derive(Debug)]
enum Pending {
    Create(PathBuf),
    Rename {
        from: PathBuf,
        to: PathBuf,
        replaced: Option<Vec<u8>>,
    },
}

/// Which operations a planned fault hits.
#[derive(Debug)]
enum Target {
    /// The n-th operation of its kind (1-based).
    Nth(u64),
    /// Every operation on a path containing this string.
    Matching(String),
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<(FaultOp, Target, FaultError)>,
    /// Every sync attempted (files and directories), in order, including failed ones.
    sync_log: Vec<PathBuf>,
    short_writes: bool,
    counts: BTreeMap<FaultOp, u64>,
    files: BTreeMap<PathBuf, FileState>,
    pending: Vec<Pending>,
}

impl State {
    /// Count one `op` on `path` and return the injected error, if this one is targeted.
    fn tick(&mut self, op: FaultOp, path: &Path) -> io::Result<()> {
        let count = self.counts.entry(op).or_insert(0);
        *count += 1;
        let n = *count;
        if op == FaultOp::Sync {
            self.sync_log.push(path.to_path_buf());
        }
        let hit = |target: &Target| match target {
            Target::Nth(nth) => *nth == n,
            Target::Matching(needle) => path.to_string_lossy().contains(needle.as_str()),
        };
        match self.faults.iter().find(|(o, t, _)| *o == op && hit(t)) {
            Some((_, _, error)) => Err(error.to_io()),
            None => Ok(()),
        }
    }
}

/// A [`Backend`] that wraps another one (usually [`LocalFs`](super::LocalFs)) and injects
/// faults. Clones share their state, so a test keeps one to steer and inspect the backend the
/// store uses.
#[derive(Debug, Clone)]
pub struct FaultFs {
    inner: Arc<dyn Backend>,
    state: Arc<Mutex<State>>,
}

impl FaultFs {
    /// Wrap `inner` with no faults planned.
    pub fn new(inner: Arc<dyn Backend>) -> FaultFs {
        FaultFs {
            inner,
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Make the `nth` (1-based) `op` fail with `error`.
    pub fn fail(&self, op: FaultOp, nth: u64, error: FaultError) {
        self.state().faults.push((op, Target::Nth(nth), error));
    }

    /// Make every `op` on a path containing `needle` fail with `error` (a rename matches on
    /// its source path). Temp files are named `<fingerprint>.<part>.<Kind>.<pid>-<seq>.tmp`, so
    /// `".Spill."` targets every spill write.
    pub fn fail_matching(&self, op: FaultOp, needle: &str, error: FaultError) {
        let target = Target::Matching(needle.to_string());
        self.state().faults.push((op, target, error));
    }

    /// Every path a sync was attempted on (files and directories), in order, failed ones
    /// included.
    pub fn sync_log(&self) -> Vec<PathBuf> {
        self.state().sync_log.clone()
    }

    /// Make every write accept at most half of its bytes (at least one).
    pub fn short_writes(&self, on: bool) {
        self.state().short_writes = on;
    }

    /// How many `op`s have been attempted so far.
    pub fn count(&self, op: FaultOp) -> u64 {
        self.state().counts.get(&op).copied().unwrap_or(0)
    }

    /// Simulate a power loss on the wrapped backend, then forget all tracking (what is left is
    /// durable): unsynced file data is dropped or torn, un-`sync_dir`'d renames are undone
    /// (restoring a replaced destination), un-`sync_dir`'d created files are removed.
    pub fn power_loss(&self, mode: PowerLoss) -> io::Result<()> {
        let mut state = self.state();
        let mut seed = match mode {
            PowerLoss::DropUnsynced => 0,
            PowerLoss::TearUnsynced(seed) => seed | 1,
        };
        for (path, file) in std::mem::take(&mut state.files) {
            if !file.dirty || !self.inner.exists(&path)? {
                continue;
            }
            let kept = match mode {
                PowerLoss::DropUnsynced => file.durable.unwrap_or_default(),
                PowerLoss::TearUnsynced(_) => {
                    let now = read_all(&*self.inner, &path)?;
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let keep = (seed >> 33) as usize % (now.len() + 1);
                    now[..keep].to_vec()
                }
            };
            write_all(&*self.inner, &path, &kept)?;
        }
        for pending in std::mem::take(&mut state.pending).into_iter().rev() {
            match pending {
                Pending::Create(path) => ignore_missing(self.inner.remove_file(&path))?,
                Pending::Rename { from, to, replaced } => {
                    if self.inner.exists(&to)? {
                        self.inner.rename(&to, &from)?;
                    }
                    if let Some(bytes) = replaced {
                        write_all(&*self.inner, &to, &bytes)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn read_all(backend: &dyn Backend, path: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    backend.open_read(path)?.read_to_end(&mut out)?;
    Ok(out)
}

fn write_all(backend: &dyn Backend, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = backend.create(path)?;
    file.write_all(bytes)?;
    file.sync()
}

/// A file being written through [`FaultFs`].
struct FaultFile {
    inner: Box<dyn WriteFile>,
    path: PathBuf,
    fs: FaultFs,
}

impl Write for FaultFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let len = {
            let mut state = self.fs.state();
            state.tick(FaultOp::Write, &self.path)?;
            state.files.entry(self.path.clone()).or_default().dirty = true;
            if state.short_writes {
                data.len().div_ceil(2)
            } else {
                data.len()
            }
        };
        self.inner.write(&data[..len])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Seek for FaultFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl WriteFile for FaultFile {
    fn sync(&mut self) -> io::Result<()> {
        self.fs.state().tick(FaultOp::Sync, &self.path)?;
        self.inner.sync()?;
        let now = read_all(&*self.fs.inner, &self.path)?;
        let mut state = self.fs.state();
        let file = state.files.entry(self.path.clone()).or_default();
        file.durable = Some(now);
        file.dirty = false;
        Ok(())
    }
}

impl Backend for FaultFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        let existed = self.inner.exists(path)?;
        self.state().tick(FaultOp::Create, path)?;
        let inner = self.inner.create(path)?;
        let mut state = self.state();
        state.files.insert(
            path.to_path_buf(),
            FileState {
                durable: None,
                dirty: true,
            },
        );
        if !existed {
            state.pending.push(Pending::Create(path.to_path_buf()));
        }
        Ok(Box::new(FaultFile {
            inner,
            path: path.to_path_buf(),
            fs: self.clone(),
        }))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        self.inner.open_read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.state().tick(FaultOp::Rename, from)?;
        let replaced = if self.inner.exists(to)? {
            Some(read_all(&*self.inner, to)?)
        } else {
            None
        };
        self.inner.rename(from, to)?;
        let mut state = self.state();
        if let Some(file) = state.files.remove(from) {
            state.files.insert(to.to_path_buf(), file);
        }
        state.pending.push(Pending::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            replaced,
        });
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)?;
        self.state().files.remove(path);
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_dir_all(path)?;
        self.state().files.retain(|p, _| !p.starts_with(path));
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.state().tick(FaultOp::Sync, path)?;
        self.inner.sync_dir(path)?;
        self.state().pending.retain(|p| match p {
            Pending::Create(file) => file.parent() != Some(path),
            Pending::Rename { to, .. } => to.parent() != Some(path),
        });
        Ok(())
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

    fn lock(&self, path: &Path, wait: bool) -> io::Result<Option<Box<dyn LockHandle>>> {
        self.inner.lock(path, wait)
    }
}
