//! Streaming object I/O: writing a payload through a hashing (and optionally zstd) writer into a
//! temp file, and reading one back with every check done before the payload is trusted.
//!
//! Responsible for: the byte streams of one object file (header placeholder, payload, header
//! fill-in; header validation, streaming checksum, capped decompression). Not responsible for:
//! where files live or the commit protocol (see `mod.rs` and `commit.rs`).

use std::io::{self, Read, SeekFrom, Write};
use std::path::Path;

use super::backend::{ReadFile, WriteFile};
use super::format::{FIXED_LEN, Header};
use super::{Compression, ObjectInfo, StoreError, io_error};

/// Buffer size of the payload writer and of the checksum pass.
const BUF_LEN: usize = 256 * 1024;

/// The bottom of the write stack: hashes and counts the stored bytes, buffers them, and
/// remembers the first I/O error (with the offset and size that failed) so it can be reported
/// even if the encoder turns it into a string.
pub(crate) struct StoredWriter {
    file: Box<dyn WriteFile>,
    buf: Vec<u8>,
    hasher: xxhash_rust::xxh3::Xxh3Default,
    /// Payload bytes accepted so far.
    len: u64,
    /// File offset of the first byte in `buf`.
    offset: u64,
    pub(crate) error: Option<io::Error>,
}

impl StoredWriter {
    pub(crate) fn new(file: Box<dyn WriteFile>, offset: u64) -> Self {
        StoredWriter {
            file,
            buf: Vec::with_capacity(BUF_LEN),
            hasher: xxhash_rust::xxh3::Xxh3Default::new(),
            len: 0,
            offset,
            error: None,
        }
    }

    /// Write `bytes` to the file, remembering the first error with its offset and size.
    fn write_out(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            let context = io::Error::new(
                e.kind(),
                format!(
                    "{e} (writing {} bytes at offset {})",
                    bytes.len(),
                    self.offset
                ),
            );
            let echo = io::Error::new(e.kind(), context.to_string());
            self.error.get_or_insert(context);
            return Err(echo);
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let result = self.write_out(&buf);
        self.buf = buf;
        self.buf.clear();
        result
    }

    /// Flush and hand back the file, the stored length and the checksum.
    pub(crate) fn finish(mut self) -> Result<(Box<dyn WriteFile>, u64, u64), io::Error> {
        self.flush_buf()?;
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        Ok((self.file, self.len, self.hasher.digest()))
    }
}

impl Write for StoredWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(e) = &self.error {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        if self.buf.len() + data.len() > BUF_LEN {
            self.flush_buf()?;
        }
        if data.len() >= BUF_LEN {
            self.write_out(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        self.hasher.update(data);
        self.len += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()
    }
}

/// Counts the raw (pre-compression) bytes the encoder produces.
pub(crate) struct RawCounter<'w> {
    pub(crate) inner: &'w mut dyn Write,
    pub(crate) len: u64,
}

impl Write for RawCounter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read exactly `buf.len()` bytes; a short file is `Corrupt`, other errors are `Io`.
fn read_exact_or_corrupt(
    file: &mut dyn ReadFile,
    buf: &mut [u8],
    path: &Path,
) -> Result<(), StoreError> {
    file.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => corrupt(path, "truncated while reading the header"),
        _ => StoreError::Io {
            op: "read",
            path: path.to_path_buf(),
            source: e,
        },
    })
}

/// Read and validate the header at the start of `file`. Nothing is allocated from an untrusted
/// length before it is checked against the caps and the file size.
pub(crate) fn read_header(
    file: &mut dyn ReadFile,
    path: &Path,
) -> Result<(Header, u64), StoreError> {
    let file_len = file.size().map_err(io_error("stat", path))?;
    if file_len < Header::encoded_len(0) {
        return Err(corrupt(
            path,
            format!("truncated: {file_len} bytes is shorter than any header"),
        ));
    }
    #[cfg(feature = "arrow")]
    if let Some(header) = super::arrow_object::read_arrow_header(file, file_len, path)? {
        return Ok((header, file_len));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(io_error("seek", path))?;
    let mut fixed = [0u8; FIXED_LEN];
    read_exact_or_corrupt(file, &mut fixed, path)?;
    let name_len = Header::name_len(&fixed, file_len).map_err(|r| corrupt(path, r))?;
    let mut bytes = Vec::with_capacity(FIXED_LEN + name_len + 8);
    bytes.extend_from_slice(&fixed);
    bytes.resize(FIXED_LEN + name_len + 8, 0);
    read_exact_or_corrupt(file, &mut bytes[FIXED_LEN..], path)?;
    let header = Header::decode(&bytes, file_len).map_err(|r| corrupt(path, r))?;
    Ok((header, file_len))
}

/// Stream the stored payload through xxh3 with a fixed buffer and compare with the header.
/// Leaves the file positioned at the payload's start.
pub(crate) fn verify_payload(
    file: &mut dyn ReadFile,
    header: &Header,
    path: &Path,
) -> Result<(), StoreError> {
    file.seek(SeekFrom::Start(header.payload_start()))
        .map_err(io_error("seek", path))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    let mut buf = vec![0u8; BUF_LEN];
    let mut remaining = header.payload_len;
    while remaining > 0 {
        let want = usize::try_from(remaining).unwrap_or(BUF_LEN).min(BUF_LEN);
        let chunk = &mut buf[..want];
        read_exact_or_corrupt(file, chunk, path)?;
        hasher.update(chunk);
        remaining -= want as u64;
    }
    let computed = hasher.digest();
    if computed != header.payload_checksum {
        return Err(corrupt(
            path,
            format!(
                "payload checksum mismatch (stored {:016x}, computed {computed:016x})",
                header.payload_checksum
            ),
        ));
    }
    file.seek(SeekFrom::Start(header.payload_start()))
        .map_err(io_error("seek", path))?;
    Ok(())
}

/// The verified payload of an object as a byte stream: decompressed if the object is
/// compressed, capped at the header's raw length, and an error if the stream ends early or
/// runs past it.
pub struct PayloadReader {
    inner: Box<dyn Read + Send>,
    remaining: u64,
    raw_len: u64,
}

impl std::fmt::Debug for PayloadReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadReader")
            .field("remaining", &self.remaining)
            .field("raw_len", &self.raw_len)
            .finish()
    }
}

impl PayloadReader {
    /// Wrap `file` (positioned at the payload) according to the header.
    pub(crate) fn new(
        file: Box<dyn ReadFile>,
        header: &Header,
        path: &Path,
    ) -> Result<Self, StoreError> {
        // An Arrow object's reader streams the whole file (footer included).
        let stored = match header.codec {
            super::CodecId::ArrowIpc => file.take(header.raw_len),
            super::CodecId::Postcard => file.take(header.payload_len),
        };
        let inner: Box<dyn Read + Send> = match header.compression {
            Compression::None => Box::new(stored),
            Compression::Zstd(_) => Box::new(
                zstd::stream::read::Decoder::new(stored)
                    .map_err(io_error("start zstd decoder for", path))?,
            ),
        };
        Ok(PayloadReader {
            inner,
            remaining: header.raw_len,
            raw_len: header.raw_len,
        })
    }

    /// Bytes the payload decodes to, per the header.
    pub fn raw_len(&self) -> u64 {
        self.raw_len
    }
}

impl Read for PayloadReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "payload decodes to more than the {} bytes the header declares",
                        self.raw_len
                    ),
                )),
            };
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(buf.len())
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "payload ends after {} of the {} bytes the header declares",
                    self.raw_len - self.remaining,
                    self.raw_len
                ),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Read the whole payload of a checked object (`file` just past its header check) into memory
/// and verify it. Uncompressed payloads are read once and hashed in memory (one pass over the
/// file instead of a checksum pass and a read pass); compressed ones are verified, then
/// decompressed with [`read_payload`]. Nothing is returned before the checksum matched.
pub(crate) fn read_verified(
    mut file: Box<dyn ReadFile>,
    header: &Header,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    if header.compression != Compression::None || header.codec != super::CodecId::Postcard {
        verify_payload(&mut *file, header, path)?;
        return read_payload(PayloadReader::new(file, header, path)?, path);
    }
    file.seek(SeekFrom::Start(header.payload_start()))
        .map_err(io_error("seek", path))?;
    let want = usize::try_from(header.payload_len)
        .map_err(|_| corrupt(path, "payload larger than memory"))?;
    let mut out = Vec::new();
    out.try_reserve_exact(want).map_err(|e| StoreError::Io {
        op: "allocate a buffer for",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::OutOfMemory, format!("{want} bytes: {e}")),
    })?;
    file.take(header.payload_len)
        .read_to_end(&mut out)
        .map_err(io_error("read", path))?;
    if out.len() != want {
        return Err(corrupt(path, "truncated while reading the payload"));
    }
    let computed = xxhash_rust::xxh3::xxh3_64(&out);
    if computed != header.payload_checksum {
        return Err(corrupt(
            path,
            format!(
                "payload checksum mismatch (stored {:016x}, computed {computed:016x})",
                header.payload_checksum
            ),
        ));
    }
    Ok(out)
}

/// Read the whole verified payload into memory, allocating the declared raw length up front
/// (fallibly: a failed reservation is an error, not an abort).
pub(crate) fn read_payload(mut reader: PayloadReader, path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    let want = usize::try_from(reader.raw_len())
        .map_err(|_| corrupt(path, "payload larger than memory"))?;
    out.try_reserve_exact(want).map_err(|e| StoreError::Io {
        op: "allocate a buffer for",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::OutOfMemory, format!("{want} bytes: {e}")),
    })?;
    reader.read_to_end(&mut out).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => corrupt(path, e.to_string()),
        _ => StoreError::Io {
            op: "read",
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    Ok(out)
}

impl ReadFile for io::Cursor<Vec<u8>> {
    fn size(&self) -> io::Result<u64> {
        Ok(self.get_ref().len() as u64)
    }
}

/// Decode a whole object held in memory, with exactly the checks [`Store::read`] applies (type
/// name only when `type_name` is given; no key check). Meant for fuzzing and tools: errors name
/// the path `<memory>`.
///
/// [`Store::read`]: super::Store::read
pub fn decode_object(
    bytes: Vec<u8>,
    type_name: Option<&str>,
) -> Result<(ObjectInfo, Vec<u8>), StoreError> {
    let path = Path::new("<memory>");
    let mut file: Box<dyn ReadFile> = Box::new(io::Cursor::new(bytes));
    let (header, file_len) = read_header(&mut *file, path)?;
    if let Some(expected) = type_name.filter(|t| *t != header.type_name) {
        let reason = format!(
            "holds a value of type `{}`, expected `{expected}`",
            header.type_name
        );
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        });
    }
    verify_payload(&mut *file, &header, path)?;
    let reader = PayloadReader::new(file, &header, path)?;
    let info = ObjectInfo::from_header(header, file_len, path.to_path_buf());
    Ok((info, read_payload(reader, path)?))
}
