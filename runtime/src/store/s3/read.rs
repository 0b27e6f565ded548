//! Reading an object from S3 as a [`ReadFile`]: the header from one small ranged `GET`, the rest
//! streamed once into an unnamed local file when a reader goes past it.
//!
//! Responsible for: serving `Read + Seek` over a remote object with one ranged request for a
//! probe (`checkpoints ls`, the executor's "is it there?") and one streamed request for a full
//! read (the store verifies the payload checksum in one pass and decodes in a second: both read
//! the local copy, so the object crosses the network once, in bounded memory). Not
//! responsible for: any check of the bytes (the store's object reader does them all).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};

use super::{Client, S3Backend};
use crate::store::backend::ReadFile;

/// Bytes fetched by the first request (covers every header).
const HEAD_LEN: u64 = 64 << 10;

/// A remote object opened for reading.
struct RemoteFile {
    client: Arc<Client>,
    key: ObjectPath,
    size: u64,
    pos: u64,
    /// The first `head.len()` bytes.
    head: Vec<u8>,
    /// The bytes after `head`, once fetched (an unlinked file in the spill directory).
    rest: Option<File>,
    spool_dir: std::path::PathBuf,
}

impl S3Backend {
    pub(super) fn open_remote(&self, key: &ObjectPath) -> io::Result<Box<dyn ReadFile>> {
        let store = &self.client.store;
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..HEAD_LEN)),
            ..GetOptions::default()
        };
        let fetched = self.client.block_on(async {
            let result = store.get_opts(key, options).await?;
            let size = result.meta.size;
            let bytes = result.bytes().await?;
            Ok::<_, object_store::Error>((size, bytes))
        });
        let (size, head) = match fetched {
            Ok(found) => found,
            // An empty object cannot satisfy a range: fetch it plainly.
            Err(object_store::Error::Generic { .. })
            | Err(object_store::Error::NotModified { .. }) => {
                let bytes = self
                    .client
                    .block_on(async {
                        store
                            .get_opts(key, GetOptions::default())
                            .await?
                            .bytes()
                            .await
                    })
                    .map_err(|e| self.error("get", key, e))?;
                (bytes.len() as u64, bytes)
            }
            Err(e) => return Err(self.error("get", key, e)),
        };
        Ok(Box::new(RemoteFile {
            client: self.client.clone(),
            key: key.clone(),
            size,
            pos: 0,
            head: head.to_vec(),
            rest: None,
            spool_dir: self.local.join("tmp"),
        }))
    }
}

impl RemoteFile {
    /// Stream everything after the head into an unnamed local file.
    fn fetch_rest(&mut self) -> io::Result<&mut File> {
        if self.rest.is_none() {
            std::fs::create_dir_all(&self.spool_dir)?;
            let path = self.spool_dir.join(format!(
                "read-{}-{:p}.tmp",
                std::process::id(),
                self as *const Self
            ));
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            // Unlinked at once: the copy lives exactly as long as this reader.
            std::fs::remove_file(&path)?;
            let start = self.head.len() as u64;
            let url = self.client.url(&self.key);
            let store = &self.client.store;
            let key = &self.key;
            let written: io::Result<u64> = self.client.block_on(async {
                let options = GetOptions {
                    range: Some(GetRange::Offset(start)),
                    ..GetOptions::default()
                };
                let result = store
                    .get_opts(key, options)
                    .await
                    .map_err(|e| super::map_error("get", &url, e))?;
                let mut stream = result.into_stream();
                let mut n = 0u64;
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| super::map_error("get", &url, e))?;
                    file.write_all(&chunk)?;
                    n += chunk.len() as u64;
                }
                Ok(n)
            });
            let written = written?;
            if start + written != self.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{url} changed while it was read: {} bytes instead of {}",
                        start + written,
                        self.size
                    ),
                ));
            }
            self.rest = Some(file);
        }
        self.rest
            .as_mut()
            .ok_or_else(|| io::Error::other("the remote object's local copy is missing"))
    }
}

impl Read for RemoteFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let head_len = self.head.len() as u64;
        if self.pos < head_len {
            let start = self.pos as usize;
            let n = buf.len().min(self.head.len() - start);
            buf[..n].copy_from_slice(&self.head[start..start + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let offset = self.pos - head_len;
        let file = self.fetch_rest()?;
        file.seek(SeekFrom::Start(offset))?;
        let n = file.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the object",
            )
        })?;
        Ok(self.pos)
    }
}

impl ReadFile for RemoteFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.size)
    }
}
