//! Reading an object from S3 as a [`ReadFile`]: one streamed `GET`, consumed as the reader asks.
//!
//! Responsible for: serving `Read + Seek` over a remote object in bounded memory. Opening
//! starts a `GET` of the whole object and keeps its first 64 KiB (every header) in memory; a
//! probe (`checkpoints ls`, the executor's "is it there?") reads the header and drops the rest
//! of the response; a sequential read (an uncompressed object: the checksum is computed while
//! reading) goes on with the same response, so the object crosses the network once; a seek back
//! into bytes already streamed (a zstd object: checksum pass, then decode pass) starts a ranged
//! request at the target. Not responsible for: any check of the bytes (the store's object
//! reader does them all).

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use super::{Client, S3Backend};
use crate::store::backend::ReadFile;

/// Bytes fetched by the first request (covers every header).
const HEAD_LEN: u64 = 64 << 10;
/// A forward seek up to this far reads and drops bytes instead of starting a new request.
const SKIP_MAX: u64 = 1 << 20;

/// A remote object opened for reading.
struct RemoteFile {
    client: Arc<Client>,
    key: ObjectPath,
    size: u64,
    pos: u64,
    /// The first `head.len()` bytes.
    head: Vec<u8>,
    /// The open streamed request, if any.
    body: Option<Body>,
}

/// A streamed ranged `GET`: `chunk` holds the bytes from offset `at` on.
struct Body {
    stream: BoxStream<'static, object_store::Result<bytes::Bytes>>,
    at: u64,
    chunk: bytes::Bytes,
}

impl S3Backend {
    pub(super) fn open_remote(&self, key: &ObjectPath) -> io::Result<Box<dyn ReadFile>> {
        let store = &self.client.store;
        let result = self
            .client
            .block_on(store.get(key))
            .map_err(|e| self.error("get", key, e))?;
        let size = result.meta.size;
        let mut body = Body {
            stream: result.into_stream(),
            at: 0,
            chunk: bytes::Bytes::new(),
        };
        // The first chunks up to HEAD_LEN become the head; the stream stays open for the rest.
        let mut head = Vec::new();
        while (head.len() as u64) < HEAD_LEN.min(size) {
            next_chunk(&self.client, key, &mut body)?;
            head.extend_from_slice(&body.chunk);
            body.at += body.chunk.len() as u64;
            body.chunk = bytes::Bytes::new();
        }
        Ok(Box::new(RemoteFile {
            client: self.client.clone(),
            key: key.clone(),
            size,
            pos: 0,
            head,
            body: Some(body),
        }))
    }
}

impl RemoteFile {
    /// A body positioned at `self.pos` (reusing the open one when it is at or just before it).
    fn body_at_pos(&mut self) -> io::Result<&mut Body> {
        let reusable = self
            .body
            .as_ref()
            .is_some_and(|b| b.at <= self.pos && self.pos - b.at <= SKIP_MAX);
        if !reusable {
            let url = self.client.url(&self.key);
            let options = GetOptions {
                range: Some(GetRange::Offset(self.pos)),
                ..GetOptions::default()
            };
            let store = &self.client.store;
            let key = &self.key;
            let result = self
                .client
                .block_on(store.get_opts(key, options))
                .map_err(|e| super::map_error("get", &url, e))?;
            self.body = Some(Body {
                stream: result.into_stream(),
                at: self.pos,
                chunk: bytes::Bytes::new(),
            });
        }
        let pos = self.pos;
        let client = &self.client;
        let key = &self.key;
        let body = self
            .body
            .as_mut()
            .ok_or_else(|| io::Error::other("no open request"))?;
        // Drop bytes up to `pos` (a short forward seek).
        while body.at < pos {
            if body.chunk.is_empty() {
                next_chunk(client, key, body)?;
            }
            let skip = (pos - body.at).min(body.chunk.len() as u64) as usize;
            let _ = body.chunk.split_to(skip);
            body.at += skip as u64;
        }
        Ok(body)
    }
}

/// Pull the next chunk of `body`'s stream; the object ending early is an error. Its kind is
/// `ConnectionAborted`, not `UnexpectedEof`: a body cut short by the network says nothing about
/// the stored object (a short *file* is corruption; a short response is an outage).
fn next_chunk(client: &Client, key: &ObjectPath, body: &mut Body) -> io::Result<()> {
    match client.block_on(body.stream.next()) {
        Some(Ok(chunk)) => {
            body.chunk = chunk;
            Ok(())
        }
        Some(Err(e)) => Err(super::map_error("get", &client.url(key), e)),
        None => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!(
                "{} ended at byte {} (shorter than it was when opened, or the connection closed)",
                client.url(key),
                body.at
            ),
        )),
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
        let client = self.client.clone();
        let key = self.key.clone();
        let body = self.body_at_pos()?;
        if body.chunk.is_empty() {
            next_chunk(&client, &key, body)?;
        }
        let n = buf.len().min(body.chunk.len());
        buf[..n].copy_from_slice(&body.chunk.split_to(n));
        body.at += n as u64;
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
