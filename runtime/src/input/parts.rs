//! Sources partitioned over files: one task per [`FileSplit`](super::FileSplit) (a file of an
//! [`InputGlob`], a row group, a byte range), each partition keyed by its own file's content.
//!
//! Owns [`FileParts`]: the files of the splits as hashed when the step was recorded (one
//! [`FileRead`] each, through the same stat cache and per-run memo as every input), their
//! per-partition salts (see `plan/identity.rs`), and the check that a task's file is still what
//! was hashed once its body ran. Not responsible for scheduling or keys (the executor keys each
//! block by its salt).

use std::sync::Arc;

use super::run::{FileRead, changed_since_hashed};
use super::split::{FileSplits, Piece};
use super::types::{InputFile, InputGlob};
use crate::plan::{Args, BoxError, Compute, Partitions};

/// The files of a source partitioned per file, as hashed when its step was recorded.
#[derive(Debug, Clone)]
pub(crate) struct FileParts {
    /// The step they belong to.
    pub(crate) step: String,
    /// The distinct files, in split order.
    reads: Arc<[FileRead]>,
    /// Per partition: which of `reads` it reads, and the piece of it.
    splits: Arc<[(usize, Piece)]>,
}

impl FileParts {
    /// Step `step` over `splits`, whose distinct files were hashed as `reads` (in order).
    pub(crate) fn new(step: &str, reads: Vec<FileRead>, splits: &FileSplits) -> FileParts {
        let mut file = 0usize;
        let parts = splits.splits().iter().map(|s| {
            while reads.get(file).is_some_and(|r| r.path != s.file.path()) {
                file += 1;
            }
            (file, s.piece.clone())
        });
        FileParts {
            step: step.to_string(),
            splits: parts.collect(),
            reads: reads.into(),
        }
    }

    /// How many partitions: one per split.
    pub(crate) fn count(&self) -> u32 {
        u32::try_from(self.splits.len()).unwrap_or(u32::MAX)
    }

    /// Each partition's salt: its file's path and content hash, and the piece it reads.
    pub(crate) fn salts(&self) -> Vec<u128> {
        let salt = |(file, piece): &(usize, Piece)| {
            let Some(read) = self.reads.get(*file) else {
                return 0;
            };
            let whole = crate::plan::file_salt(&read.path, read.hash);
            let cut = match piece {
                Piece::Whole => return whole,
                Piece::RowGroup(g) => [1, *g as u128],
                Piece::Bytes(r) => [2, u128::from(r.start) << 64 | u128::from(r.end)],
            };
            let words = [whole, cut[0], cut[1]].map(u128::to_le_bytes);
            xxhash_rust::xxh3::xxh3_128(&words.concat())
        };
        self.splits.iter().map(salt).collect()
    }

    /// `compute`, then the check that the task's file is unchanged since it was hashed (a file
    /// rewritten while the task read it fails the task; nothing is stored for it).
    pub(crate) fn wrap(&self, compute: Compute) -> Compute {
        let (reads, splits) = (Arc::clone(&self.reads), Arc::clone(&self.splits));
        Arc::new(move |args: &Args<'_>| {
            let value = compute(args)?;
            let split = splits.get(args.partition().index() as usize);
            let file = split.map_or(usize::MAX, |(file, _)| *file);
            match changed_since_hashed(reads.get(file..=file).unwrap_or_default()) {
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
    /// # Ok::<(), stepstone::BoxError>(())
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
