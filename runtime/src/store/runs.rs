//! Run folders: listing earlier runs and reading their small files (reports), through the
//! backend like every other file access.

use std::path::Path;

use super::backend::read_small;
use super::{Store, StoreError, io_error};

/// Largest run file read back (reports with timelines are a few MiB at most).
const RUN_FILE_CAP: u64 = 64 << 20;

impl Store {
    /// Run ids found under `runs/`, in name order (ids start with a UTC timestamp, so this is
    /// oldest first).
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
        runs.sort();
        Ok(runs)
    }

    /// Read `runs/<run_id>/<name>` (at most 64 MiB). `Ok(None)` when it does not exist.
    pub fn read_run_file(&self, run_id: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !super::open::is_plain_name(run_id) || !super::open::is_plain_name(name) {
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
