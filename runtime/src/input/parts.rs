//! Sources partitioned over files: one task per file of an [`InputGlob`], each partition keyed
//! by its own file's content.
//!
//! Owns [`FileParts`]: the files of a glob as hashed when the step was recorded (one
//! [`FileRead`] each, through the same stat cache and per-run memo as every input), their
//! per-partition salts (see `plan/identity.rs`), and the check that a task's file is still what
//! was hashed once its body ran. Not responsible for scheduling or keys (the executor keys each
//! block by its salt).

use std::sync::Arc;

use super::run::{FileRead, changed_since_hashed};
use super::types::{InputFile, InputGlob};
use crate::plan::{Args, BoxError, Compute, Partitions};

/// The files of a source partitioned per file, as hashed when its step was recorded.
#[derive(Debug, Clone)]
pub(crate) struct FileParts {
    /// The step they belong to.
    pub(crate) step: String,
    /// One per partition, in the glob's sorted order.
    reads: Arc<[FileRead]>,
}

impl FileParts {
    /// The files `reads` of step `step`.
    pub(crate) fn new(step: &str, reads: Vec<FileRead>) -> FileParts {
        FileParts {
            step: step.to_string(),
            reads: reads.into(),
        }
    }

    /// How many partitions: one per file.
    pub(crate) fn count(&self) -> u32 {
        u32::try_from(self.reads.len()).unwrap_or(u32::MAX)
    }

    /// Each partition's salt: its file's path and content hash.
    pub(crate) fn salts(&self) -> Vec<u128> {
        self.reads
            .iter()
            .map(|r| crate::plan::file_salt(&r.path, r.hash))
            .collect()
    }

    /// `compute`, then the check that the task's file is unchanged since it was hashed (a file
    /// rewritten while the task read it fails the task; nothing is stored for it).
    pub(crate) fn wrap(&self, compute: Compute) -> Compute {
        let reads = Arc::clone(&self.reads);
        Arc::new(move |args: &Args<'_>| {
            let value = compute(args)?;
            let index = args.partition().index() as usize;
            match changed_since_hashed(reads.get(index..=index).unwrap_or_default()) {
                Some(why) => Err(why.into()),
                None => Ok(value),
            }
        })
    }
}

impl InputGlob {
    /// The file partition `partition` of a step partitioned over this glob reads (see
    /// [`StepBuilder::per_file`](crate::StepBuilder::per_file)): file `partition.index()` of
    /// the sorted matches. An index past the matches is an error naming the pattern.
    ///
    /// ```
    /// use stepstone::{InputGlob, Partitions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.csv"), "1")?;
    /// std::fs::write(dir.path().join("b.csv"), "2")?;
    /// let glob = InputGlob::from(format!("{}/*.csv", dir.path().display()));
    /// let second = glob.file(Partitions::at(1, 2))?;
    /// assert_eq!(second.path(), dir.path().join("b.csv"));
    /// assert!(glob.file(Partitions::at(2, 3)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn file(&self, partition: Partitions) -> Result<InputFile, BoxError> {
        let index = partition.index() as usize;
        self.files()
            .get(index)
            .map(|p| InputFile::new(p.clone()))
            .ok_or_else(|| {
                format!(
                    "partition {} of {} has no file: `{}` matched {} file(s) when the step was \
                     recorded; record the step with this glob's `per_file` so its partitions are \
                     its files",
                    partition.index(),
                    partition.count(),
                    self.pattern(),
                    self.files().len()
                )
                .into()
            })
    }
}
