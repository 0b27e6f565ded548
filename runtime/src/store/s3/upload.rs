//! Uploading a finished local temp file to S3: the visible step of the commit protocol.
//!
//! Responsible for: one conditional `PUT` (`If-None-Match: *`, first writer wins) for objects up
//! to [`SINGLE_PUT_MAX`]; a streamed multipart upload with bounded memory (parts of
//! [`PART_LEN`], at most [`MAX_PARTS_IN_FLIGHT`] in flight) for larger ones, aborted on any
//! error so nothing partial becomes visible. Not responsible for: building the file (the
//! [`Store`](crate::store::Store) wrote and checksummed it) or verifying a winner's object.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, WriteMultipart};

use super::S3Backend;
use super::stream::{PART_LEN, Pending};

/// Objects up to this size are sent as one (conditional) `PUT`, read into memory whole.
pub(crate) const SINGLE_PUT_MAX: u64 = 8 << 20;
/// Parts buffered or in flight at once (bounds the upload's memory to about this many parts).
const MAX_PARTS_IN_FLIGHT: usize = 2;
/// Read size from the local file.
const READ_LEN: usize = 1 << 20;

impl S3Backend {
    /// Upload the local file `source` to `key`. With `exclusive`, the object becomes visible only
    /// if none is there yet: `Ok(false)` when another writer's object already is (the caller
    /// verifies and uses it). Without, it replaces what is there.
    pub(super) fn upload(
        &self,
        source: &Path,
        key: &ObjectPath,
        exclusive: bool,
    ) -> io::Result<bool> {
        let mut file = File::open(source)?;
        let len = file.metadata()?.len();
        let url = self.client.url(key);
        if len <= SINGLE_PUT_MAX {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes)?;
            let mode = if exclusive {
                PutMode::Create
            } else {
                PutMode::Overwrite
            };
            let put = self
                .client
                .store
                .put_opts(key, bytes.into(), PutOptions::from(mode));
            return match self.client.block_on(put) {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. })
                    if exclusive =>
                {
                    Ok(false)
                }
                Err(e) => Err(super::map_error("put", &url, e)),
            };
        }
        // object_store has no conditional CompleteMultipartUpload: first-writer-wins for a large
        // object is decided by a HEAD just before the upload. Two writers racing past it both
        // upload a complete object of the same block; S3 makes each completion atomic, so a
        // reader sees one whole object or the other, never a mix.
        if exclusive {
            match self.client.block_on(self.client.store.head(key)) {
                Ok(_) => return Ok(false),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(super::map_error("stat", &url, e)),
            }
        }
        self.client
            .block_on(multipart(&self.client.store, key, file, len))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("S3 multipart upload of {url} ({len} bytes) failed, nothing was committed: {e}"),
                )
            })?;
        Ok(true)
    }
}

/// Stream `file` up in parts; abort the upload on any error.
async fn multipart(
    store: &object_store::aws::AmazonS3,
    key: &ObjectPath,
    mut file: File,
    len: u64,
) -> io::Result<()> {
    let upload = store.put_multipart(key).await.map_err(to_io)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_LEN);
    let mut buf = vec![0u8; READ_LEN];
    let mut sent = 0u64;
    let result: io::Result<()> = async {
        while sent < len {
            writer
                .wait_for_capacity(MAX_PARTS_IN_FLIGHT)
                .await
                .map_err(to_io)?;
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the local temp file ended at {sent} of {len} bytes"),
                ));
            }
            writer.write(&buf[..n]);
            sent += n as u64;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => writer.finish().await.map(drop).map_err(to_io),
        Err(e) => {
            let _ = writer.abort().await;
            Err(e)
        }
    }
}

fn to_io(e: object_store::Error) -> io::Error {
    io::Error::other(e.to_string())
}

impl S3Backend {
    /// Make a streamed checkpoint visible: one conditional `PUT` when it fits in two parts (it
    /// is all in memory), else part 1 (with the filled-in header) and the last part, then
    /// `CompleteMultipartUpload`. With `exclusive`, `Ok(false)` when an object is already there
    /// (the writer stays registered under `from`, so the caller can still replace the object
    /// or drop it).
    pub(super) fn complete(
        &self,
        from: &Path,
        mut pending: Pending,
        exclusive: bool,
    ) -> io::Result<bool> {
        let url = self.client.url(&pending.key);
        let key = pending.key.clone();
        let store = &self.client.store;
        if let Some(message) = pending.failed.take() {
            super::stream::abort(&self.client, &pending);
            return Err(io::Error::other(format!(
                "{message}; nothing was committed"
            )));
        }
        let Some(started) = pending.upload.take() else {
            let mut bytes = std::mem::take(&mut pending.first);
            bytes.append(&mut pending.tail);
            let mode = if exclusive {
                PutMode::Create
            } else {
                PutMode::Overwrite
            };
            let put = store.put_opts(&key, bytes.clone().into(), PutOptions::from(mode));
            return match self.client.block_on(put) {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. })
                    if exclusive =>
                {
                    pending.first = bytes;
                    self.park(from, pending);
                    Ok(false)
                }
                Err(e) => Err(super::map_error("put", &url, e)),
            };
        };
        // No conditional CompleteMultipartUpload in object_store: see `upload` above.
        if exclusive {
            match self.client.block_on(store.head(&key)) {
                Ok(_) => {
                    pending.upload = Some(started);
                    self.park(from, pending);
                    return Ok(false);
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(super::map_error("stat", &url, e)),
            }
        }
        let len = pending.first.len() as u64
            + started.parts.len() as u64 * PART_LEN as u64
            + pending.tail.len() as u64;
        let first = std::mem::take(&mut pending.first);
        let tail = std::mem::take(&mut pending.tail);
        let id = started.id.clone();
        let result: object_store::Result<()> = self.client.block_on(async {
            let mut parts = vec![store.put_part(&key, &id, 0, first.into()).await?];
            parts.extend(started.parts.iter().cloned());
            if !tail.is_empty() {
                let index = parts.len();
                parts.push(store.put_part(&key, &id, index, tail.into()).await?);
            }
            store.complete_multipart(&key, &id, parts).await.map(drop)
        });
        if let Err(e) = result {
            pending.upload = Some(started);
            super::stream::abort(&self.client, &pending);
            let kind = match e {
                object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
                _ => io::ErrorKind::Other,
            };
            return Err(io::Error::new(
                kind,
                format!(
                    "S3 multipart upload of {url} ({len} bytes) failed, nothing was committed: {e}"
                ),
            ));
        }
        Ok(true)
    }

    /// Keep a writer registered under its temp path (after a lost conditional commit).
    fn park(&self, from: &Path, pending: Pending) {
        let mut registry = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        registry.insert(from.to_path_buf(), pending);
    }
}
