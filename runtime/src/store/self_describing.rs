//! Codec-aware object I/O: writing a self-describing object (an Arrow IPC file, whose
//! identity the codec embeds in its own footer, so no Stepstone header goes in front) and
//! reading an object of either format for its decoder ([`Store::read_value`]).
//!
//! Responsible for: the temp-file half of a self-describing write (the commit half is
//! `commit.rs`, shared with postcard objects) and the dispatch of reads by format. Not
//! responsible for: the formats themselves (`format.rs`, `crate::arrow::ipc`).

use std::io::Write;
use std::path::Path;

use super::commit::{Job, run_encoder, write_error};
use super::format::Header;
use super::object::{self, StoredWriter};
use super::{
    BlockKey, CodecId, Compression, EncodeValueFn, ObjectInfo, ObjectKind, ObjectMeta, Payload,
    Store, StoreError, io_error,
};

impl Store {
    /// Read an object for its codec: a postcard object's verified payload in memory, or an
    /// Arrow IPC object memory-mapped (downloaded to a local scratch file first when the
    /// backend has no local path for it) with its checksum verified.
    pub fn read_value(
        &self,
        key: BlockKey,
        kind: ObjectKind,
        type_name: &str,
    ) -> Result<(ObjectInfo, Payload), StoreError> {
        let (rel, path, file, header, file_len) = self.open_checked(key, kind, type_name)?;
        match header.codec {
            CodecId::Postcard => {
                let bytes = object::read_verified(file, &header, &path)?;
                Ok((
                    ObjectInfo::from_header(header, file_len, rel),
                    Payload::Bytes(bytes),
                ))
            }
            #[cfg(feature = "arrow")]
            CodecId::ArrowIpc => {
                drop(file);
                let verified = self.map_arrow(&path, &header, file_len)?;
                let info = ObjectInfo::from_header(header, file_len, rel);
                Ok((info, Payload::Arrow(verified)))
            }
            #[cfg(not(feature = "arrow"))]
            CodecId::ArrowIpc => Err(StoreError::Corrupt {
                path,
                reason: "an Arrow IPC object; this build has no `arrow` feature".into(),
            }),
        }
    }

    /// Stream a self-describing object (an Arrow IPC file: no Stepstone header, the identity
    /// in its footer) into the temp file; fsync it for checkpoints.
    pub(super) fn write_temp_self_describing(
        &self,
        tmp: &Path,
        job: &Job<'_>,
        final_path: &Path,
        encode: &mut EncodeValueFn<'_>,
    ) -> Result<(Header, u64), StoreError> {
        let created = if job.kind.is_published() {
            self.backend.create_for_publish(tmp, final_path)
        } else {
            self.backend.create(tmp)
        };
        let file = created.map_err(io_error("create temp file", tmp))?;
        let meta = ObjectMeta::new(job.key, job.kind, job.type_name, job.footprint);
        let mut stored = StoredWriter::new(file, 0);
        let mut encode = |w: &mut dyn Write| encode(w, Some(&meta));
        let (result, _) = run_encoder(&mut stored, &mut encode);
        if let Err(message) = result {
            return Err(match stored.error.take() {
                Some(e) => write_error(tmp, final_path, 0, e),
                None => StoreError::Encode {
                    path: final_path.to_path_buf(),
                    type_name: job.type_name.to_string(),
                    message,
                },
            });
        }
        let (mut file, file_len, _) = stored
            .finish()
            .map_err(|e| write_error(tmp, final_path, 0, e))?;
        let Some((body_len, checksum)) = meta.sealed() else {
            return Err(StoreError::Encode {
                path: final_path.to_path_buf(),
                type_name: job.type_name.to_string(),
                message: "the codec wrote no identity into the file".into(),
            });
        };
        file.flush()
            .map_err(|e| write_error(tmp, final_path, file_len, e))?;
        if job.kind == ObjectKind::Checkpoint {
            file.sync().map_err(|e| StoreError::Io {
                op: "fsync",
                path: tmp.to_path_buf(),
                source: e,
            })?;
        }
        let header = Header {
            kind: job.kind,
            compression: Compression::None,
            key: job.key,
            payload_len: body_len,
            raw_len: file_len,
            footprint: job.footprint,
            payload_checksum: checksum,
            type_name: job.type_name.to_string(),
            codec: CodecId::ArrowIpc,
        };
        Ok((header, file_len))
    }
}
