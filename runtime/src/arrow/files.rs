//! Arrow sources and sinks on files: CSV and Parquet in (fingerprinted by content through
//! [`InputFile`]; local files or, with the `s3` feature, objects), Parquet out, written
//! atomically.
//!
//! An object is read with ranged requests pinned to the version that was hashed: a Parquet
//! file through [`ObjectChunks`] (parquet's `ChunkReader`: the footer, then only the column
//! chunks a read needs), a CSV file through an [`InputReader`](crate::InputReader).
//!
//! Responsible for: reading a CSV file (given or inferred schema) or a Parquet file (one batch
//! per row group) into [`Batch`]es, and writing batches to Parquet with the same commit
//! discipline as a checkpoint (temp file in the destination's folder, fsync, rename, fsync of
//! the folder). Not responsible for: partitioned reads (`splits.rs`: a row group, a byte range)
//! or fingerprints (the step's `InputFile` parameter carries the content hash).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{ChunkReader, Length};

use super::Batch;
use crate::InputFile;
use crate::input::{ObjectReader, RemoteObject};

/// An object as Parquet's [`ChunkReader`]: each chunk one ranged request, pinned to the version
/// that was hashed (so a projection or one row group fetches only its column chunks).
#[derive(Debug, Clone)]
pub(super) struct ObjectChunks(Arc<RemoteObject>);

impl ObjectChunks {
    pub(super) fn open(url: &str) -> io::Result<ObjectChunks> {
        RemoteObject::open(url).map(|o| ObjectChunks(Arc::new(o)))
    }
}

impl Length for ObjectChunks {
    fn len(&self) -> u64 {
        self.0.size()
    }
}

impl ChunkReader for ObjectChunks {
    type T = ObjectReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<ObjectReader> {
        Ok(ObjectReader::new(Arc::clone(&self.0), start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        let end = start.saturating_add(length as u64);
        let bytes = self
            .0
            .get(start..end)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        if bytes.len() != length {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{}: expected {length} bytes at {start}, the object has {}",
                self.0.url(),
                self.0.size()
            )));
        }
        Ok(bytes)
    }
}

/// A Parquet source that can be read again from the start (a file's handle, an object's chunks).
pub(super) trait ParquetSource: ChunkReader + Sized + 'static {
    /// Another handle on the same bytes.
    fn again(&self) -> io::Result<Self>;
}

impl ParquetSource for File {
    fn again(&self) -> io::Result<File> {
        self.try_clone()
    }
}

impl ParquetSource for ObjectChunks {
    fn again(&self) -> io::Result<ObjectChunks> {
        Ok(self.clone())
    }
}

/// Errors of the Arrow file sources and sinks; each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file's content is not what the reader expects (bad CSV, bad Parquet, schema).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, from the Arrow/Parquet reader.
        message: String,
    },
}

pub(super) fn io_err<'p>(
    op: &'static str,
    path: &'p Path,
) -> impl FnOnce(io::Error) -> FileError + 'p {
    move |source| FileError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn format_err(path: &Path) -> impl Fn(String) -> FileError + '_ {
    move |message| FileError::Format {
        path: path.to_path_buf(),
        message,
    }
}

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The schema; `None` infers it from the first `infer_rows` records.
    pub schema: Option<SchemaRef>,
    /// Whether the first line names the columns.
    pub header: bool,
    /// Field delimiter.
    pub delimiter: u8,
    /// Records read to infer a schema.
    pub infer_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            schema: None,
            header: true,
            delimiter: b',',
            infer_rows: 1000,
        }
    }
}

/// Read a whole CSV file into one batch.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("in.csv");
/// # std::fs::write(&path, "id,value\n1,0.5\n2,1.5\n")?;
/// let batch = stepstone::arrow::read_csv(&stepstone::InputFile::new(&path), &Default::default())?;
/// assert_eq!((batch.num_rows(), batch.num_columns()), (2, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv(input: &InputFile, options: &CsvOptions) -> Result<Batch, FileError> {
    let path = input.path();
    match input.url() {
        None => read_csv_from(
            File::open(path).map_err(io_err("open", path))?,
            path,
            options,
        ),
        Some(_) => read_csv_from(input.open().map_err(io_err("open", path))?, path, options),
    }
}

fn read_csv_from(
    mut file: impl Read + Seek,
    path: &Path,
    options: &CsvOptions,
) -> Result<Batch, FileError> {
    let bad = format_err(path);
    let schema = csv_schema(&mut file, path, options)?;
    let reader = arrow_csv::ReaderBuilder::new(Arc::clone(&schema))
        .with_header(options.header)
        .with_delimiter(options.delimiter)
        .with_batch_size(64 * 1024)
        .build(io::BufReader::new(file))
        .map_err(|e| bad(e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("reading CSV: {e}")))?;
    arrow_select::concat::concat_batches(&schema, &batches)
        .map(Batch::new)
        .map_err(|e| bad(e.to_string()))
}

/// The schema of CSV `file`: `options.schema`, or inferred from its first records (the file is
/// left positioned at its start).
pub(super) fn csv_schema(
    file: &mut (impl Read + Seek),
    path: &Path,
    options: &CsvOptions,
) -> Result<SchemaRef, FileError> {
    if let Some(schema) = &options.schema {
        return Ok(Arc::clone(schema));
    }
    let format = arrow_csv::reader::Format::default()
        .with_header(options.header)
        .with_delimiter(options.delimiter);
    let (schema, _) = format
        .infer_schema(&mut *file, Some(options.infer_rows))
        .map_err(|e| format_err(path)(format!("inferring the CSV schema: {e}")))?;
    file.seek(SeekFrom::Start(0))
        .map_err(io_err("seek", path))?;
    Ok(Arc::new(schema))
}

/// Read a Parquet file: one batch per row group, in file order (all of them in memory at once;
/// a partitioned source reads one row group per partition with [`super::row_groups`] and
/// [`super::read_parquet_split`]).
pub fn read_parquet(input: &InputFile) -> Result<Vec<Batch>, FileError> {
    let path = input.path();
    match input.url() {
        None => read_parquet_from(File::open(path).map_err(io_err("open", path))?, path),
        Some(url) => {
            read_parquet_from(ObjectChunks::open(url).map_err(io_err("open", path))?, path)
        }
    }
}

/// Every row group of `source`, one batch each (the footer read once).
fn read_parquet_from(source: impl ParquetSource, path: &Path) -> Result<Vec<Batch>, FileError> {
    let bad = format_err(path);
    let metadata =
        ArrowReaderMetadata::load(&source, Default::default()).map_err(|e| bad(e.to_string()))?;
    let groups: Vec<usize> = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).unwrap_or(0).max(1))
        .collect();
    let schema = Arc::clone(metadata.schema());
    let mut out = Vec::with_capacity(groups.len());
    for (index, rows) in groups.into_iter().enumerate() {
        let again = source.again().map_err(io_err("open", path))?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(again, metadata.clone())
            .with_row_groups(vec![index])
            .with_batch_size(rows)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let batches = reader
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("row group {index}: {e}")))?;
        let batch = arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| bad(e.to_string()))?;
        out.push(Batch::new(batch));
    }
    Ok(out)
}

/// Write `batches` (one schema) to the Parquet file `out`, atomically: a temp file in `out`'s
/// folder, fsync, rename over `out`, fsync of the folder. On error nothing is left at `out`
/// (an earlier file there is untouched) and the temp file is removed.
pub fn write_parquet(batches: &[Batch], out: &Path) -> Result<(), FileError> {
    write_parquet_file(batches, out, false)
}

/// [`write_parquet`] with each batch its own row group (so a reader partitioned by row group,
/// [`super::row_groups`], gets one partition per batch).
pub fn write_parquet_row_groups(batches: &[Batch], out: &Path) -> Result<(), FileError> {
    write_parquet_file(batches, out, true)
}

fn write_parquet_file(batches: &[Batch], out: &Path, group_each: bool) -> Result<(), FileError> {
    let bad = format_err(out);
    let Some(first) = batches.first() else {
        return Err(bad("nothing to write: no batches".into()));
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .ok_or_else(|| bad("not a file name".into()))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = write_temp(batches, first, &tmp, group_each).and_then(|()| {
        std::fs::rename(&tmp, out).map_err(io_err("rename into place", out))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("fsync directory", &dir))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_temp(
    batches: &[Batch],
    first: &Batch,
    tmp: &Path,
    group_each: bool,
) -> Result<(), FileError> {
    let bad = format_err(tmp);
    let file = File::create(tmp).map_err(io_err("create", tmp))?;
    let level = ZstdLevel::try_new(1).map_err(|e| bad(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, first.schema(), Some(props)).map_err(|e| bad(e.to_string()))?;
    for batch in batches {
        writer.write(batch).map_err(|e| bad(e.to_string()))?;
        if group_each {
            writer.flush().map_err(|e| bad(e.to_string()))?;
        }
    }
    let file = writer.into_inner().map_err(|e| bad(e.to_string()))?;
    file.sync_all().map_err(io_err("fsync", tmp))
}
