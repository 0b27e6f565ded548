//! Partitioned file sources in Arrow: list the row groups of Parquet files as splits
//! ([`row_groups`]), read one Parquet split with a column projection ([`read_parquet_split`]),
//! read the lines of one CSV split ([`read_csv_split`]).
//!
//! Responsible for reading no more of a file than a split needs: a row group's column chunks
//! (of the projected columns only), or a byte range of a CSV file widened to whole lines (a
//! line belongs to the split its first byte is in). Not responsible for listing byte ranges
//! ([`FileSplits::byte_ranges`]) or for the content hash that keys each split (the step's
//! `per_split` / `per_file` carries it).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatchReader;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::Batch;
use super::files::{CsvOptions, FileError, ObjectChunks, ParquetSource, csv_schema, io_err};
use crate::{FileSplit, FileSplits, InputFile, InputGlob, Piece};

/// The row groups of the Parquet file (or object) at `path` (its footer only).
fn count_row_groups(path: &Path) -> Result<usize, String> {
    fn groups(source: impl ParquetSource, path: &Path) -> Result<usize, String> {
        ParquetRecordBatchReaderBuilder::try_new(source)
            .map(|b| b.metadata().num_row_groups())
            .map_err(|e| format!("{} is not a readable Parquet file: {e}", path.display()))
    }
    let cannot = |e: std::io::Error| format!("cannot open {}: {e}", path.display());
    match InputFile::new(path).url() {
        None => groups(File::open(path).map_err(cannot)?, path),
        Some(url) => groups(ObjectChunks::open(url).map_err(cannot)?, path),
    }
}

/// One split per row group of every Parquet file of `glob`, files in sorted order (only the
/// footers are read now). A file that is not Parquet is reported when the step is recorded.
///
/// ```
/// # use std::sync::Arc;
/// # use stepstone::arrow::{Batch, arrow_array::{ArrayRef, Int64Array}};
/// let dir = tempfile::tempdir()?;
/// let batch = Batch::try_from_columns([("x", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])?;
/// let path = dir.path().join("a.parquet");
/// stepstone::arrow::write_parquet_row_groups(&[batch.clone(), batch], &path)?;
/// let glob = stepstone::InputGlob::from(format!("{}/*.parquet", dir.path().display()));
/// let splits = stepstone::arrow::row_groups(&glob);
/// assert_eq!(splits.len(), 2);
/// let second = stepstone::arrow::read_parquet_split(&splits.splits()[1], Some(&["x"]))?;
/// assert_eq!(second.num_rows(), 2);
/// # Ok::<(), stepstone::BoxError>(())
/// ```
pub fn row_groups(glob: &InputGlob) -> FileSplits {
    let mut splits = Vec::new();
    let mut problem = None;
    for path in glob.files() {
        match count_row_groups(path) {
            Ok(groups) => splits.extend((0..groups).map(|g| FileSplit {
                file: InputFile::new(path.clone()),
                piece: Piece::RowGroup(g),
            })),
            Err(e) => {
                problem = Some(e);
                break;
            }
        }
    }
    FileSplits::listed(glob, "parquet-row-groups".into(), splits, problem)
}

/// Read one Parquet split — a row group, or a whole file — keeping only `columns` (every
/// column when `None`; in the file's column order). Only that row group's chunks of those
/// columns are read. A column the file does not have is an error naming it.
pub fn read_parquet_split(split: &FileSplit, columns: Option<&[&str]>) -> Result<Batch, FileError> {
    let path = split.file.path();
    match split.file.url() {
        None => {
            let file = File::open(path).map_err(io_err("open", path))?;
            parquet_split_from(file, split, columns)
        }
        Some(url) => {
            let chunks = ObjectChunks::open(url).map_err(io_err("open", path))?;
            parquet_split_from(chunks, split, columns)
        }
    }
}

fn parquet_split_from(
    source: impl ParquetSource,
    split: &FileSplit,
    columns: Option<&[&str]>,
) -> Result<Batch, FileError> {
    let path = split.file.path();
    let bad = |message: String| FileError::Format {
        path: path.to_path_buf(),
        message,
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(source).map_err(|e| bad(e.to_string()))?;
    let mut builder = match split.piece {
        Piece::Whole => builder,
        Piece::RowGroup(g) if g < builder.metadata().num_row_groups() => {
            let rows = builder.metadata().row_group(g).num_rows();
            builder
                .with_row_groups(vec![g])
                .with_batch_size(usize::try_from(rows).unwrap_or(1).max(1))
        }
        Piece::RowGroup(g) => {
            return Err(bad(format!(
                "row group {g} does not exist ({} row groups): the file changed after the \
                 pipeline was recorded; run again",
                builder.metadata().num_row_groups()
            )));
        }
        Piece::Bytes(_) => return Err(bad("a byte range is not a Parquet split".into())),
    };
    if let Some(columns) = columns {
        let schema = Arc::clone(builder.schema());
        let roots = columns
            .iter()
            .map(|c| {
                schema.index_of(c).map_err(|_| {
                    let have: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    bad(format!("no column `{c}`; the file has {have:?}"))
                })
            })
            .collect::<Result<Vec<usize>, FileError>>()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(|e| bad(e.to_string()))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("reading {:?}: {e}", split.piece)))?;
    match <[_; 1]>::try_from(batches) {
        Ok([one]) => Ok(Batch::new(one)),
        Err(many) => arrow_select::concat::concat_batches(&schema, &many)
            .map(Batch::new)
            .map_err(|e| bad(e.to_string())),
    }
}

/// Read the CSV lines of one split: a whole file, or the lines that start in its byte range
/// (streamed: only that range, widened to whole lines, is read). The schema is `options.schema`
/// or inferred from the start of the file, so every split of a file has the same one; the
/// header line is skipped in the split that holds it. Quoted fields containing line breaks
/// are not supported in byte-range splits (a range may start inside one).
pub fn read_csv_split(split: &FileSplit, options: &CsvOptions) -> Result<Batch, FileError> {
    let path = split.file.path();
    let range = match &split.piece {
        Piece::Whole => return super::read_csv(&split.file, options),
        Piece::Bytes(range) => range.clone(),
        Piece::RowGroup(_) => {
            return Err(FileError::Format {
                path: path.to_path_buf(),
                message: "a Parquet row group is not a CSV split".into(),
            });
        }
    };
    match split.file.url() {
        None => {
            let file = File::open(path).map_err(io_err("open", path))?;
            let len = file.metadata().map_err(io_err("stat", path))?.len();
            csv_range_from(file, len, path, range, options)
        }
        Some(_) => {
            let reader = split.file.open().map_err(io_err("open", path))?;
            let len = reader.len().map_err(io_err("stat", path))?;
            csv_range_from(reader, len, path, range, options)
        }
    }
}

/// The CSV lines that start in `range` of `file` (`len` bytes long).
fn csv_range_from(
    mut file: impl Read + Seek,
    len: u64,
    path: &Path,
    range: std::ops::Range<u64>,
    options: &CsvOptions,
) -> Result<Batch, FileError> {
    let schema = csv_schema(&mut file, path, options)?;
    let start = line_start(&mut file, len, path, range.start)?;
    let end = line_start(&mut file, len, path, range.end)?.max(start);
    file.seek(SeekFrom::Start(start))
        .map_err(io_err("seek", path))?;
    let body = BufReader::new(file.take(end - start));
    let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_header(options.header && start == 0)
        .with_delimiter(options.delimiter)
        .with_batch_size(64 * 1024)
        .build(body)
        .map_err(|e| csv_error(path, e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| csv_error(path, format!("reading bytes {start}..{end}: {e}")))?;
    arrow_select::concat::concat_batches(&schema, &batches)
        .map(Batch::new)
        .map_err(|e| csv_error(path, e.to_string()))
}

fn csv_error(path: &Path, message: String) -> FileError {
    FileError::Format {
        path: path.to_path_buf(),
        message,
    }
}

/// The first line start at or after `pos` (the file's length when there is none): `pos`
/// itself at 0 or right after a line break, else just past the next line break.
fn line_start(
    file: &mut (impl Read + Seek),
    len: u64,
    path: &Path,
    pos: u64,
) -> Result<u64, FileError> {
    if pos == 0 || pos >= len {
        return Ok(pos.min(len));
    }
    file.seek(SeekFrom::Start(pos - 1))
        .map_err(io_err("seek", path))?;
    let mut skipped = Vec::new();
    let read = BufReader::new(&mut *file)
        .read_until(b'\n', &mut skipped)
        .map_err(io_err("read", path))?;
    Ok((pos - 1 + read as u64).min(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line is read by exactly one split, whatever the range size.
    #[test]
    fn byte_ranges_read_every_line_once() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut text = String::from("id,name\n");
        for i in 0..120 {
            text.push_str(&format!("{i},n{}\n", "x".repeat(i % 17)));
        }
        std::fs::write(dir.path().join("a.csv"), &text)?;
        let glob = InputGlob::from(format!("{}/*.csv", dir.path().display()));
        for size in [3u64, 64, 1000, 1 << 20] {
            let splits = FileSplits::byte_ranges(&glob, size);
            let mut ids = Vec::new();
            for split in splits.splits() {
                let batch = read_csv_split(split, &CsvOptions::default())?;
                let col = batch
                    .column_as::<arrow_array::Int64Array>("id")
                    .ok_or("no id column")?;
                ids.extend(col.values().iter().copied());
            }
            assert_eq!(
                ids,
                (0..120).collect::<Vec<i64>>(),
                "ranges of {size} bytes"
            );
        }
        Ok(())
    }

    #[test]
    fn a_missing_column_is_named() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let x: arrow_array::ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![1, 2]));
        let path = dir.path().join("a.parquet");
        super::super::write_parquet(&[Batch::try_from_columns([("x", x)])?], &path)?;
        let split = FileSplit {
            file: InputFile::new(&path),
            piece: Piece::RowGroup(0),
        };
        let err = read_parquet_split(&split, Some(&["y"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no column `y`") && err.contains("\"x\""),
            "{err}"
        );
        Ok(())
    }
}
