//! Reading an input from a step body, local file or object alike: [`InputFile::open`] gives an
//! [`InputReader`] (`Read + Seek`), [`InputFile::read_bytes`] and
//! [`InputFile::read_to_string`] read it whole, [`InputFile::size`] tells its length.
//!
//! A local file is a buffered [`File`]. An object is read with ranged `GET`s of growing size
//! (256 KiB, doubling up to 8 MiB while the reads go on forward), each pinned to the version
//! that was hashed when the step was recorded: an object overwritten since fails the read
//! (`If-Match`), so a step never mixes bytes of two versions or computes from bytes its identity
//! does not cover. Not responsible for hashing or for which inputs a step reads.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use super::object::RemoteObject;
use super::types::InputFile;

/// The first ranged request of a forward read of an object.
const FIRST_BLOCK: u64 = 256 << 10;
/// The largest ranged request.
const MAX_BLOCK: u64 = 8 << 20;

/// An open input: a buffered local file, or an object read with ranged requests pinned to the
/// version that was hashed. Implements [`Read`] and [`Seek`]; see [`InputFile::open`].
#[derive(Debug)]
pub struct InputReader {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Local(BufReader<File>),
    Remote(ObjectReader),
}

/// `Read + Seek` over one pinned object version.
#[derive(Debug)]
pub(crate) struct ObjectReader {
    object: Arc<RemoteObject>,
    pos: u64,
    /// Bytes from `buf_start` on.
    buf: bytes::Bytes,
    buf_start: u64,
    /// The size of the next request.
    block: u64,
}

impl ObjectReader {
    pub(crate) fn new(object: Arc<RemoteObject>, pos: u64) -> ObjectReader {
        ObjectReader {
            object,
            pos,
            buf: bytes::Bytes::new(),
            buf_start: 0,
            block: FIRST_BLOCK,
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.object.size();
        if out.is_empty() || self.pos >= size {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if !(self.buf_start..buf_end).contains(&self.pos) {
            // A forward read that goes on where the last request ended asks for more at once.
            self.block = if self.pos == buf_end && !self.buf.is_empty() {
                (self.block * 2).min(MAX_BLOCK)
            } else {
                FIRST_BLOCK
            };
            let want = self.block.max(out.len() as u64);
            self.buf = self.object.get(self.pos..self.pos.saturating_add(want))?;
            self.buf_start = self.pos;
            if self.buf.is_empty() {
                return Ok(0);
            }
        }
        let at = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - at);
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ObjectReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let size = self.object.size();
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: seek before the start", self.object.url()),
            )
        })?;
        Ok(self.pos)
    }
}

impl Read for InputReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Local(file) => file.read(buf),
            Inner::Remote(object) => object.read(buf),
        }
    }
}

impl Seek for InputReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match &mut self.inner {
            Inner::Local(file) => file.seek(to),
            Inner::Remote(object) => object.seek(to),
        }
    }
}

impl InputReader {
    /// The input's length in bytes (for an object: of the version being read).
    pub fn len(&self) -> io::Result<u64> {
        match &self.inner {
            Inner::Local(file) => file.get_ref().metadata().map(|m| m.len()),
            Inner::Remote(object) => Ok(object.object.size()),
        }
    }

    /// Whether the input is empty.
    pub fn is_empty(&self) -> io::Result<bool> {
        self.len().map(|n| n == 0)
    }
}

impl InputFile {
    /// Open the input for reading: a local file, or an `s3://` object (with the runtime's `s3`
    /// feature) read with ranged requests pinned to the version hashed when the step was
    /// recorded. If the object was overwritten since, a read fails with an error that says so,
    /// and the step fails with nothing stored for it (run again to use the new content).
    ///
    /// ```
    /// use std::io::Read;
    /// use stepstone::InputFile;
    ///
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("in.csv"), "id\n1\n")?;
    /// let input = InputFile::new(dir.path().join("in.csv"));
    /// let mut text = String::new();
    /// input.open()?.read_to_string(&mut text)?;
    /// assert_eq!(text, "id\n1\n");
    /// assert_eq!(input.read_to_string()?, text);
    /// assert!(!input.is_remote());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(&self) -> io::Result<InputReader> {
        let inner = match self.url() {
            None => Inner::Local(BufReader::new(File::open(self.path()).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot open {}: {e}", self.path().display()),
                )
            })?)),
            Some(url) => Inner::Remote(ObjectReader::new(Arc::new(RemoteObject::open(url)?), 0)),
        };
        Ok(InputReader { inner })
    }

    /// The whole input as bytes (see [`InputFile::open`]).
    pub fn read_bytes(&self) -> io::Result<Vec<u8>> {
        match self.url() {
            None => std::fs::read(self.path()).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", self.path().display()),
                )
            }),
            Some(url) => {
                let object = RemoteObject::open(url)?;
                object.get(0..object.size()).map(|b| b.to_vec())
            }
        }
    }

    /// The whole input as UTF-8 text (see [`InputFile::open`]).
    pub fn read_to_string(&self) -> io::Result<String> {
        String::from_utf8(self.read_bytes()?).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{self} is not UTF-8 text: {e}"),
            )
        })
    }

    /// The input's size in bytes: a local file's length, or the size of the object's version
    /// that was hashed (else its current one).
    pub fn size(&self) -> io::Result<u64> {
        match self.url() {
            None => std::fs::metadata(self.path()).map(|m| m.len()),
            Some(url) => RemoteObject::open(url).map(|o| o.size()),
        }
    }
}
