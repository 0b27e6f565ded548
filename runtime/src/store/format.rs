//! The object file format: a fixed, little-endian header followed by the payload.
//!
//! Responsible for: encoding a [`Header`] to bytes and decoding + validating one from the first
//! bytes of a file (magic, version, caps, header checksum, lengths against the file size), all
//! without allocating anything sized by an untrusted field. Not responsible for: reading the
//! payload or its checksum (see `object.rs`). The byte layout is documented in
//! `docs/design.md` ("Object format"); keep the two in sync.

use crate::memory::Footprint;
use crate::plan::{FORMAT_VERSION, Fingerprint};

use super::{BlockKey, CodecId, Compression, ObjectKind};

/// The first 8 bytes of every object.
pub(crate) const MAGIC: [u8; 8] = *b"STPSTONE";
/// Codec id of postcard (the only codec so far).
pub(crate) const CODEC_POSTCARD: u8 = 1;
/// Bytes of the header before the type name.
pub(crate) const FIXED_LEN: usize = 88;
/// Longest accepted type name, in bytes.
pub(crate) const MAX_TYPE_NAME: usize = 4096;
/// Largest accepted decompressed payload (1 TiB): anything above is a hostile or corrupt header.
pub(crate) const MAX_RAW_LEN: u64 = 1 << 40;
/// Largest accepted zstd level.
const MAX_ZSTD_LEVEL: i32 = 22;
/// The most a zstd payload can expand: a block decodes to at most 128 KiB, and the smallest
/// block that does (an RLE block) takes 4 stored bytes. A header claiming more is hostile or
/// corrupt, and is rejected before any buffer is sized from it.
const MAX_ZSTD_RATIO: u64 = 32 * 1024;

/// A decoded object header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: ObjectKind,
    pub(crate) compression: Compression,
    pub(crate) key: BlockKey,
    pub(crate) payload_len: u64,
    pub(crate) raw_len: u64,
    pub(crate) footprint: Footprint,
    pub(crate) payload_checksum: u64,
    pub(crate) type_name: String,
    /// Stepstone's format (postcard) or an Arrow IPC file (identity from its footer).
    pub(crate) codec: CodecId,
}

fn kind_byte(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Checkpoint => 1,
        ObjectKind::Spill => 2,
        ObjectKind::Persist => 3,
        ObjectKind::Exchange => 4,
    }
}

impl Header {
    /// Total header bytes for a type name of `name_len` bytes (fixed part + name + checksum).
    pub(crate) fn encoded_len(name_len: usize) -> u64 {
        (FIXED_LEN + name_len + 8) as u64
    }

    /// This header's encoded length.
    pub(crate) fn len(&self) -> u64 {
        Self::encoded_len(self.type_name.len())
    }

    /// Where the checksummed payload starts: after the header, or (Arrow IPC files, whose
    /// checksum covers everything before the footer) at 0.
    pub(crate) fn payload_start(&self) -> u64 {
        match self.codec {
            CodecId::Postcard => self.len(),
            CodecId::ArrowIpc => 0,
        }
    }

    /// Encode to bytes, header checksum included. The caller caps the type name length.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let (compression, level) = match self.compression {
            Compression::None => (0u8, 0i32),
            Compression::Zstd(level) => (1u8, level),
        };
        let name = self.type_name.as_bytes();
        let mut out = Vec::with_capacity(FIXED_LEN + name.len() + 8);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(kind_byte(self.kind));
        out.push(CODEC_POSTCARD);
        out.push(compression);
        out.push(0); // reserved
        out.extend_from_slice(&level.to_le_bytes());
        out.extend_from_slice(&self.key.fingerprint.0.to_le_bytes());
        out.extend_from_slice(&self.key.part.to_le_bytes());
        out.extend_from_slice(&self.payload_len.to_le_bytes());
        out.extend_from_slice(&self.raw_len.to_le_bytes());
        out.extend_from_slice(&self.footprint.requested.to_le_bytes());
        out.extend_from_slice(&self.footprint.resident.to_le_bytes());
        out.extend_from_slice(&self.footprint.allocations.to_le_bytes());
        out.extend_from_slice(&self.payload_checksum.to_le_bytes());
        // Truncation cannot happen: callers reject names above MAX_TYPE_NAME.
        out.extend_from_slice(&(name.len().min(MAX_TYPE_NAME) as u16).to_le_bytes());
        out.extend_from_slice(name);
        let checksum = xxhash_rust::xxh3::xxh3_64(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// The type name length announced by a fixed part, after checking magic, version and the
    /// name cap, so the caller knows how many more bytes to read.
    pub(crate) fn name_len(fixed: &[u8; FIXED_LEN], file_len: u64) -> Result<usize, String> {
        if fixed[0..8] != MAGIC {
            return Err(format!(
                "bad magic {:02x?} (not a Stepstone object)",
                &fixed[0..8]
            ));
        }
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        if version != FORMAT_VERSION {
            return Err(format!(
                "format version {version}, this build reads version {FORMAT_VERSION}"
            ));
        }
        let name_len = usize::from(u16::from_le_bytes([fixed[86], fixed[87]]));
        if name_len > MAX_TYPE_NAME {
            return Err(format!(
                "type name of {name_len} bytes exceeds the cap of {MAX_TYPE_NAME}"
            ));
        }
        let header_len = Self::encoded_len(name_len);
        if header_len > file_len {
            return Err(format!(
                "truncated: the header needs {header_len} bytes, the file has {file_len}"
            ));
        }
        Ok(name_len)
    }

    /// Decode a complete header (`bytes` = fixed part + name + checksum, as sized by
    /// [`Header::name_len`]) and check its lengths against `file_len`.
    pub(crate) fn decode(bytes: &[u8], file_len: u64) -> Result<Header, String> {
        let body_len = bytes
            .len()
            .checked_sub(8)
            .filter(|n| *n >= FIXED_LEN)
            .ok_or("header too short")?;
        let (body, stored) = bytes.split_at(body_len);
        let computed = xxhash_rust::xxh3::xxh3_64(body);
        let stored = u64::from_le_bytes(take(stored, 0)?);
        if computed != stored {
            return Err(format!(
                "header checksum mismatch (stored {stored:016x}, computed {computed:016x})"
            ));
        }
        let kind = match body[10] {
            1 => ObjectKind::Checkpoint,
            2 => ObjectKind::Spill,
            3 => ObjectKind::Persist,
            4 => ObjectKind::Exchange,
            other => return Err(format!("unknown object kind {other}")),
        };
        if body[11] != CODEC_POSTCARD {
            return Err(format!("unknown codec {}", body[11]));
        }
        let level = i32::from_le_bytes(take(body, 14)?);
        let compression = match body[12] {
            0 => Compression::None,
            1 if (-(1 << 17)..=MAX_ZSTD_LEVEL).contains(&level) => Compression::Zstd(level),
            1 => return Err(format!("zstd level {level} out of range")),
            other => return Err(format!("unknown compression {other}")),
        };
        let type_name = std::str::from_utf8(&body[FIXED_LEN..])
            .map_err(|_| "type name is not UTF-8".to_string())?
            .to_string();
        let header = Header {
            kind,
            compression,
            key: BlockKey {
                fingerprint: Fingerprint(u128::from_le_bytes(take(body, 18)?)),
                part: u32::from_le_bytes(take(body, 34)?),
            },
            payload_len: u64::from_le_bytes(take(body, 38)?),
            raw_len: u64::from_le_bytes(take(body, 46)?),
            footprint: Footprint::new(
                u64::from_le_bytes(take(body, 54)?),
                u64::from_le_bytes(take(body, 62)?),
                u64::from_le_bytes(take(body, 70)?),
            ),
            payload_checksum: u64::from_le_bytes(take(body, 78)?),
            type_name,
            codec: CodecId::Postcard,
        };
        header.check_lengths(file_len)?;
        Ok(header)
    }

    /// Lengths must match the file exactly and stay under the caps.
    fn check_lengths(&self, file_len: u64) -> Result<(), String> {
        let expected = self.len().checked_add(self.payload_len);
        if expected != Some(file_len) {
            return Err(format!(
                "header says {} payload bytes after a {}-byte header, but the file has {file_len} bytes",
                self.payload_len,
                self.len()
            ));
        }
        if self.raw_len > MAX_RAW_LEN {
            return Err(format!(
                "decoded length {} exceeds the cap of {MAX_RAW_LEN} bytes",
                self.raw_len
            ));
        }
        if matches!(self.compression, Compression::Zstd(_))
            && self.raw_len > self.payload_len.saturating_mul(MAX_ZSTD_RATIO)
        {
            return Err(format!(
                "decoded length {} is more than {} bytes of zstd can decode to",
                self.raw_len, self.payload_len
            ));
        }
        if self.compression == Compression::None && self.raw_len != self.payload_len {
            return Err(format!(
                "uncompressed object with raw length {} != payload length {}",
                self.raw_len, self.payload_len
            ));
        }
        Ok(())
    }
}

/// `N` bytes of `bytes` at `at`, or an error (never a panic).
fn take<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], String> {
    bytes
        .get(at..at + N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| format!("header too short for a field at offset {at}"))
}
