//! Run folders: listing earlier runs and reading their small files (reports), through the
//! backend like every other file access.

use std::path::Path;

use super::backend::read_small;
use super::{Store, StoreError, io_error};

/// Largest run file read back (reports with timelines are a few MiB at most).
const RUN_FILE_CAP: u64 = 64 << 20;

impl Store {
    /// Run ids found under `runs/`, oldest first: numbered runs (`r<N>-…`, see
    /// [`StoreOptions::number_runs`](super::StoreOptions::number_runs)) by their number — the
    /// order in which they held the store's lock or lease, whatever the clocks of their hosts —
    /// after any unnumbered ones of older versions (by name, which starts with a UTC timestamp).
    pub fn list_runs(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join("runs");
        let entries = match self.backend.list_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &dir)(e)),
        };
        let mut runs: Vec<String> = entries
            .into_iter()
            .filter(|e| e.is_dir)
            .map(|e| e.name)
            .collect();
        runs.sort_by_cached_key(|name| (run_number(name), name.clone()));
        Ok(runs)
    }

    /// The number the next run gets: one past the highest numbered run under `runs/`.
    pub(crate) fn next_run_number(&self) -> Result<u64, StoreError> {
        let runs = self.list_runs()?;
        Ok(runs
            .iter()
            .filter_map(|r| run_number(r))
            .max()
            .map_or(1, |n| n.saturating_add(1)))
    }

    /// Read `runs/<run_id>/<name>` (at most 64 MiB). `Ok(None)` when it does not exist.
    pub fn read_run_file(&self, run_id: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_plain_name(run_id) || !is_plain_name(name) {
            return Ok(None);
        }
        let path = self.root.join("runs").join(run_id).join(Path::new(name));
        match read_small(&*self.backend, &path, RUN_FILE_CAP) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path)(e)),
        }
    }
}

/// The store's own small files beside `objects/` and `runs/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFile {
    /// `inputs/outputs.json`: for each content-addressed step (static fingerprint), the hash of
    /// the output it gave (early cutoff), shared by every machine that uses the store.
    InputOutputs,
    /// `inputs/objects.json`: for each object-store input (`s3://…` URL) the version it had
    /// when it was hashed (ETag, size, last-modified) and its content hash, so that no machine
    /// using the store downloads an unchanged object again to hash it.
    InputObjects,
}

impl StoreFile {
    fn rel(self) -> &'static str {
        match self {
            StoreFile::InputOutputs => "inputs/outputs.json",
            StoreFile::InputObjects => "inputs/objects.json",
        }
    }
}

impl Store {
    /// Who holds the store's lock or lease now, as a token (`pid 4242` for a directory,
    /// `host h pid 4242 boot …` for an S3 lease; `None` when nothing is recorded): a worker
    /// compares it with its coordinator's, so an attempt of a run another run has replaced does
    /// not go on.
    pub fn lock_holder(&self) -> Result<Option<String>, StoreError> {
        let path = self.root.join("LOCK");
        let bytes = match read_small(&*self.backend, &path, 4096) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        Ok(holder_token(&bytes))
    }

    /// Read one of the store's own files (at most 64 MiB); `Ok(None)` when it does not exist.
    pub fn read_store_file(&self, file: StoreFile) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(file.rel());
        match read_small(&*self.backend, &path, RUN_FILE_CAP) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path)(e)),
        }
    }

    /// Replace one of the store's own files atomically (a temp file, then a rename or, on S3,
    /// an upload). Needs a run's store (the lock or lease held, or attached to a run).
    pub fn write_store_file(&self, file: StoreFile, bytes: &[u8]) -> Result<(), StoreError> {
        if self.run_id.is_none() {
            return Err(StoreError::ReadOnly {
                dir: self.root.clone(),
            });
        }
        let path = self.root.join(file.rel());
        if let Some(dir) = path.parent() {
            self.backend
                .create_dir_all(dir)
                .map_err(io_error("create directory", dir))?;
        }
        self.replace_file(&path, bytes)
    }
}

/// The holder named by a lock file's contents: an S3 lease's JSON (host, pid, boot; not its
/// expiry, which renewals move), or a directory lock's pid.
fn holder_token(bytes: &[u8]) -> Option<String> {
    if let Ok(lease) = serde_json::from_slice::<serde_json::Value>(bytes)
        && lease.is_object()
    {
        return Some(format!(
            "host {} pid {} boot {}",
            lease["host"].as_str().unwrap_or("?"),
            lease["pid"].as_u64().unwrap_or(0),
            lease["boot"].as_str().unwrap_or("?")
        ));
    }
    let text = String::from_utf8_lossy(bytes).trim().to_string();
    (!text.is_empty()).then(|| format!("pid {text}"))
}

/// The number of a numbered run id (`r000042-…` → 42); `None` for an unnumbered one.
pub(crate) fn run_number(run_id: &str) -> Option<u64> {
    let digits = run_id.strip_prefix('r')?.split('-').next()?;
    digits.parse().ok()
}

/// `run_id` numbered `n` (zero-padded so that names sort like numbers up to a million runs).
pub(crate) fn numbered(n: u64, run_id: &str) -> String {
    format!("r{n:06}-{run_id}")
}

/// A single, harmless path component: `[A-Za-z0-9._-]+`, not starting with a dot.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}
