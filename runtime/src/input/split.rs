//! What one partition of a file source reads: a whole file, one Parquet row group, or a byte
//! range of a large text file ([`FileSplit`]), and the list of them a partitioned source runs
//! over ([`FileSplits`]).
//!
//! Responsible for listing splits when the pipeline is recorded (stat for byte ranges; the
//! Parquet footer is read by `stepstone::arrow::row_groups`), and for serializing a list as
//! what enters the step's fingerprint (the pattern and the kind of split, never the file set:
//! each partition is keyed by its own file's content instead). Not responsible for reading a
//! split's rows (`stepstone::arrow::read_split`) or hashing files ([`super::run`]).

use std::ops::Range;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::types::{InputFile, InputGlob, InputSource};
use crate::plan::{BoxError, Partitions};

/// Which part of its file a split is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// The whole file.
    Whole,
    /// Row group `n` of a Parquet file.
    RowGroup(usize),
    /// The lines that start in this byte range of a text file (a line belongs to the range its
    /// first byte is in, so every line is read by exactly one split).
    Bytes(Range<u64>),
}

/// One partition of a file source: a file and the piece of it the partition reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileSplit {
    /// The file.
    pub file: InputFile,
    /// The piece of it.
    pub piece: Piece,
}

/// The splits a partitioned file source runs over, one partition each, in order (files sorted,
/// pieces in file order).
///
/// Build it with [`FileSplits::files`] (one partition per file), [`FileSplits::byte_ranges`]
/// (large text files cut into ranges aligned to line starts when read) or
/// `stepstone::arrow::row_groups` (one partition per Parquet row group), and record a step over
/// it with [`StepBuilder::per_split`](crate::StepBuilder::per_split) or
/// `#[step(per_file = "split")]` on a parameter `split: FileSplit`. A file that cannot be
/// listed is reported when the step is recorded, naming the step and the parameter.
///
/// ```
/// use stepstone::{FileSplits, InputGlob, Partitions, Piece};
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.csv"), "x\n1\n2\n3\n")?; // 8 bytes
/// let glob = InputGlob::from(format!("{}/*.csv", dir.path().display()));
/// let splits = FileSplits::byte_ranges(&glob, 5);
/// assert_eq!(splits.len(), 2);
/// assert_eq!(splits.get(Partitions::at(1, 2))?.piece, Piece::Bytes(5..8));
/// # Ok::<(), stepstone::BoxError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSplits {
    pattern: String,
    kind: String,
    splits: Vec<FileSplit>,
    problem: Option<String>,
}

impl FileSplits {
    /// One split per file of `glob`, the whole file each.
    pub fn files(glob: &InputGlob) -> FileSplits {
        let splits = glob
            .files()
            .iter()
            .map(|p| FileSplit {
                file: InputFile::new(p.clone()),
                piece: Piece::Whole,
            })
            .collect();
        FileSplits::listed(glob, "files".into(), splits, None)
    }

    /// Each file of `glob` cut into byte ranges of at most `max_bytes` (at least 1 KiB is
    /// advised: a range with no line start reads no rows). Sizes are read now (for objects:
    /// from the glob's listing).
    pub fn byte_ranges(glob: &InputGlob, max_bytes: u64) -> FileSplits {
        let step = max_bytes.max(1);
        let mut splits = Vec::new();
        let mut problem = None;
        for path in glob.files() {
            let len = match InputFile::new(path.clone()).size() {
                Ok(len) => len,
                Err(e) => {
                    problem = Some(format!("cannot read the size of {}: {e}", path.display()));
                    break;
                }
            };
            let mut start = 0;
            while start < len.max(1) {
                let end = (start + step).min(len);
                splits.push(FileSplit {
                    file: InputFile::new(path.clone()),
                    piece: Piece::Bytes(start..end),
                });
                start += step;
            }
        }
        FileSplits::listed(glob, format!("bytes:{step}"), splits, problem)
    }

    /// A list built by a reader that knows the pieces (`kind` names how they were cut and
    /// enters the fingerprint); `problem` is reported when the step is recorded.
    pub fn listed(
        glob: &InputGlob,
        kind: String,
        splits: Vec<FileSplit>,
        problem: Option<String>,
    ) -> FileSplits {
        FileSplits {
            pattern: glob.pattern().to_string(),
            kind,
            splits,
            problem: problem.or_else(|| glob.problem().map(str::to_string)),
        }
    }

    /// How many splits (partitions).
    pub fn len(&self) -> usize {
        self.splits.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.splits.is_empty()
    }

    /// Every split, in partition order.
    pub fn splits(&self) -> &[FileSplit] {
        &self.splits
    }

    /// The split partition `partition` reads; an index past the list is an error naming the
    /// pattern (the step was not recorded over this list).
    pub fn get(&self, partition: Partitions) -> Result<&FileSplit, BoxError> {
        self.splits.get(partition.index() as usize).ok_or_else(|| {
            format!(
                "partition {} of {} has no file split: `{}` gave {} split(s) when the step was \
                 recorded; record the step over this list (`per_split`, `per_file`)",
                partition.index(),
                partition.count(),
                self.pattern,
                self.splits.len()
            )
            .into()
        })
    }
}

/// The pattern and how the files are cut: what the step's fingerprint holds.
impl Serialize for FileSplits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.pattern, &self.kind).serialize(s)
    }
}

/// The distinct files, in split order (each hashed once, its content keying its splits).
impl InputSource for FileSplits {
    fn input_files(&self) -> Result<Vec<PathBuf>, String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        let mut files: Vec<PathBuf> = Vec::new();
        for s in &self.splits {
            if files.last().map(PathBuf::as_path) != Some(s.file.path()) {
                files.push(s.file.path().to_path_buf());
            }
        }
        Ok(files)
    }
    fn names_count(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        self.pattern.clone()
    }
}
