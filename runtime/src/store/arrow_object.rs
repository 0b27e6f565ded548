//! The store's side of Arrow IPC objects (feature `arrow`): recognising one by its first
//! bytes, reading its identity from the footer as a [`Header`], and mapping it for a read.
//!
//! Responsible for: turning `crate::arrow::ipc`'s identity into the store's header (so probe,
//! verify, inspect, gc and the identity checks work on both formats alike), and getting a
//! local file to map: the backend's own path, or a private download into its scratch
//! directory (an S3 object), unlinked as soon as it is mapped. Not responsible for: the IPC
//! layout or decoding (`crate::arrow`).

use std::io;
use std::path::Path;

use super::backend::ReadFile;
use super::format::Header;
use super::{CodecId, Compression, Store, StoreError, io_error};
use crate::arrow::VerifiedFile;

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The header of an Arrow IPC object, or `None` if the file does not start like one.
pub(crate) fn read_arrow_header(
    file: &mut dyn ReadFile,
    file_len: u64,
    path: &Path,
) -> Result<Option<Header>, StoreError> {
    use crate::arrow::ipc::IdentityError;
    let identity = crate::arrow::ipc::read_identity(file, file_len).map_err(|e| match e {
        IdentityError::Invalid(reason) => corrupt(path, reason),
        IdentityError::Io(op, source) => StoreError::Io {
            op,
            path: path.to_path_buf(),
            source,
        },
    })?;
    Ok(identity.map(|id| Header {
        kind: id.kind,
        compression: Compression::None,
        key: id.key,
        payload_len: id.body_len,
        raw_len: file_len,
        footprint: id.footprint,
        payload_checksum: id.checksum,
        type_name: id.type_name,
        codec: CodecId::ArrowIpc,
    }))
}

impl Store {
    /// Map the Arrow object at `path` (whose footer gave `header`) and verify its checksum.
    pub(crate) fn map_arrow(
        &self,
        path: &Path,
        header: &Header,
        file_len: u64,
    ) -> Result<VerifiedFile, StoreError> {
        let file = match self.backend.local_path(path) {
            Some(local) => std::fs::File::open(&local).map_err(io_error("open", &local))?,
            None => self.download_for_map(path)?,
        };
        let buffer = crate::arrow::map_file(&file).map_err(io_error("memory-map", path))?;
        if buffer.len() as u64 != file_len {
            return Err(corrupt(
                path,
                format!(
                    "changed size while opened ({file_len} → {} bytes)",
                    buffer.len()
                ),
            ));
        }
        let identity = crate::arrow::ipc::Identity {
            key: header.key,
            kind: header.kind,
            type_name: header.type_name.clone(),
            footprint: header.footprint,
            body_len: header.payload_len,
            checksum: header.payload_checksum,
            footer_start: header.payload_len + crate::arrow::ipc::EOS.len() as u64,
        };
        VerifiedFile::verify(buffer, &identity).map_err(|r| corrupt(path, r))
    }

    /// Copy the object through the backend into a fresh file of the scratch directory, and
    /// unlink it (the open handle, and later the map, keep the data).
    fn download_for_map(&self, path: &Path) -> Result<std::fs::File, StoreError> {
        let dir = self
            .backend
            .scratch_dir()
            .unwrap_or_else(|| self.root.join("tmp"));
        std::fs::create_dir_all(&dir).map_err(io_error("create directory", &dir))?;
        let seq = self
            .tmp_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let local = dir.join(format!("map-{}-{seq}.arrow", std::process::id()));
        let result = (|| -> io::Result<std::fs::File> {
            let mut source = self.backend.open_read(path)?;
            let mut out = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&local)?;
            io::copy(&mut source, &mut out)?;
            Ok(out)
        })();
        let _ = std::fs::remove_file(&local);
        result.map_err(io_error("download for mapping", path))
    }
}
