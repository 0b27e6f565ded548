//! Streaming a checkpoint straight to S3 while the store encodes it: no local staging copy.
//!
//! Responsible for: the [`WriteFile`] the store writes a checkpoint into on S3. Part 1 (the first
//! [`PART_LEN`] bytes, holding the header the store fills in at the end by seeking back) stays in
//! memory; every later part is uploaded as soon as it is full (`MultipartStore::put_part` with
//! an explicit part number: parts may arrive in any order). At publish, part 1 goes up last and
//! the upload is completed — or, for an object that fits in part 1, it is one conditional `PUT`.
//! Memory: two parts at most, whatever the object's size. Not responsible for: the
//! first-writer-wins decision (`publish` in `ops.rs`) or the byte format.

use std::collections::HashMap;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;

use super::Client;
use crate::store::backend::WriteFile;

/// Part size of a multipart upload (streamed here, or sent from a file by `upload.rs`).
pub(crate) const PART_LEN: usize = 8 << 20;

/// A started multipart upload.
pub(super) struct Started {
    pub(super) id: String,
    /// Parts 2.. (index 1..) already uploaded, in order.
    pub(super) parts: Vec<PartId>,
}

/// What a finished writer leaves for `publish` (or for `remove_file` to abort).
pub(super) struct Pending {
    pub(super) key: ObjectPath,
    /// Part 1 (index 0): the first bytes, header filled in.
    pub(super) first: Vec<u8>,
    /// The unfinished last part (bytes after the uploaded parts).
    pub(super) tail: Vec<u8>,
    pub(super) upload: Option<Started>,
    /// The first error; a failed writer's object is never completed.
    pub(super) failed: Option<String>,
}

/// Finished writers by temp path.
pub(super) type Registry = Arc<Mutex<HashMap<PathBuf, Pending>>>;

/// The writer: appends, plus overwrites inside part 1 (the header fill-in).
pub(super) struct StreamingUpload {
    client: Arc<Client>,
    tmp: PathBuf,
    registry: Registry,
    pending: Option<Pending>,
    pos: u64,
    len: u64,
}

impl StreamingUpload {
    pub(super) fn new(
        client: Arc<Client>,
        tmp: PathBuf,
        key: ObjectPath,
        registry: Registry,
    ) -> Self {
        StreamingUpload {
            client,
            tmp,
            registry,
            pending: Some(Pending {
                key,
                first: Vec::new(),
                tail: Vec::new(),
                upload: None,
                failed: None,
            }),
            pos: 0,
            len: 0,
        }
    }

    fn pending(&mut self) -> io::Result<&mut Pending> {
        self.pending
            .as_mut()
            .ok_or_else(|| io::Error::other("the upload was already handed over"))
    }

    /// Upload the full `tail` as the next part.
    fn flush_part(&mut self) -> io::Result<()> {
        let client = self.client.clone();
        let pending = self.pending()?;
        let url = client.url(&pending.key);
        let key = pending.key.clone();
        let data = std::mem::take(&mut pending.tail);
        let result: object_store::Result<()> = client.block_on(async {
            if pending.upload.is_none() {
                let id = client.store.create_multipart(&key).await?;
                pending.upload = Some(Started {
                    id,
                    parts: Vec::new(),
                });
            }
            if let Some(started) = pending.upload.as_mut() {
                let index = started.parts.len() + 1;
                let part = client
                    .store
                    .put_part(&key, &started.id, index, data.into())
                    .await?;
                started.parts.push(part);
            }
            Ok(())
        });
        result.map_err(|e| {
            let e = super::map_error("part upload", &url, e);
            pending.failed = Some(e.to_string());
            e
        })
    }
}

impl Write for StreamingUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let pos = self.pos;
        let len = self.len;
        let pending = self.pending()?;
        if let Some(message) = &pending.failed {
            return Err(io::Error::other(message.clone()));
        }
        if pos < len {
            // The header fill-in: only inside part 1, which is still in memory.
            let start = usize::try_from(pos).map_err(io::Error::other)?;
            let end = start + buf.len();
            if end > pending.first.len() {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "an S3 upload can only rewrite bytes of its first part",
                ));
            }
            pending.first[start..end].copy_from_slice(buf);
            self.pos += buf.len() as u64;
            return Ok(buf.len());
        }
        let n = if pending.first.len() < PART_LEN {
            let n = buf.len().min(PART_LEN - pending.first.len());
            pending.first.extend_from_slice(&buf[..n]);
            n
        } else {
            let n = buf.len().min(PART_LEN - pending.tail.len());
            pending.tail.extend_from_slice(&buf[..n]);
            n
        };
        let tail_full = pending.tail.len() == PART_LEN;
        self.pos += n as u64;
        self.len += n as u64;
        if tail_full {
            self.flush_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for StreamingUpload {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(t) if t <= self.len => {
                self.pos = t;
                Ok(t)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek outside the bytes written so far",
            )),
        }
    }
}

impl WriteFile for StreamingUpload {
    fn sync(&mut self) -> io::Result<()> {
        // Durability is the completed upload, at publish.
        Ok(())
    }
}

impl Drop for StreamingUpload {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
            registry.insert(self.tmp.clone(), pending);
        }
    }
}

/// Abort `pending`'s multipart upload, if one was started (best effort: an abandoned upload is
/// invisible, and a bucket lifecycle rule removes it).
pub(super) fn abort(client: &Client, pending: &Pending) {
    if let Some(started) = &pending.upload {
        let result = client.block_on(client.store.abort_multipart(&pending.key, &started.id));
        if let Err(e) = result {
            tracing::debug!(object = %client.url(&pending.key), error = %e, "could not abort a multipart upload");
        }
    }
}
