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

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, WriteMultipart};

use super::S3Backend;

/// Objects up to this size are sent as one (conditional) `PUT`, read into memory whole.
pub(crate) const SINGLE_PUT_MAX: u64 = 8 << 20;
/// Part size of a multipart upload.
pub(crate) const PART_LEN: usize = 16 << 20;
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
