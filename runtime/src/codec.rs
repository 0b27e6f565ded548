//! How a value becomes the bytes of an object and back, and what names an object: the layer
//! beneath both the store (`crate::store`, which writes and reads objects) and the Arrow values
//! (`crate::arrow`, whose codec writes IPC files), so neither imports the other for these. The
//! codec belongs to the value's type ([`crate::Data::Codec`]): serde types use [`Postcard`]
//! inside Stepstone's own object format; Arrow values (`stepstone::arrow::Batch`, feature
//! `arrow`) use Arrow IPC files.
//!
//! Responsible for: the object's identity ([`BlockKey`], [`ObjectKind`], [`ObjectMeta`]), the
//! [`ValueCodec`] trait, the postcard codec (chunked encoder), the [`Payload`] a store read hands
//! to a decoder (for Arrow, a [`VerifiedFile`]: the mapped file whose checksum matched; its
//! checks and decoding are `crate::arrow`'s). Not responsible for: where objects live or the
//! commit protocol (`store/commit.rs`), nor the Arrow IPC layout (`crate::arrow::ipc`). The
//! public paths stay `stepstone::store::{BlockKey, ValueCodec, …}` and
//! `stepstone::arrow::VerifiedFile`.

use std::io::Write;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::memory::Footprint;
use crate::plan::Fingerprint;

/// The unit of storage: one block of one node's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    /// The node's fingerprint.
    pub fingerprint: Fingerprint,
    /// The part number (0 for unpartitioned datasets).
    pub part: u32,
}

/// What an object is for; stored in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// Durable, fsync'd, reused by any later run with the same fingerprint.
    Checkpoint,
    /// Written under memory pressure, not fsync'd; reused after a crash; deleted when a run
    /// completes.
    Spill,
    /// Run-local copy (policy `persist`); deleted at run end.
    Persist,
    /// A block that crosses a process boundary (a segment's output another segment or the
    /// coordinator reads) and is not a checkpoint: same format and conditional commit as a
    /// checkpoint, not fsync'd, in `objects/`; reused after a crash like a spill; deleted when
    /// the run completes.
    Exchange,
}

impl ObjectKind {
    /// Whether objects of this kind are committed conditionally (first writer wins, a later
    /// writer verifies the winner and leaves): checkpoints and exchange objects.
    pub fn is_published(self) -> bool {
        matches!(self, ObjectKind::Checkpoint | ObjectKind::Exchange)
    }
}

/// The result of a conditional commit ([`Store::write_committed`](crate::store::Store::write_committed)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Commit {
    /// This write's object is the one at the key.
    Won,
    /// Another writer's object of the same block was there (or committed first) and verified;
    /// this write was dropped.
    LostVerified,
}

/// A whole Arrow IPC object file in memory (mapped), whose checksum matched its identity (made
/// and decoded by `crate::arrow`).
#[cfg(feature = "arrow")]
#[derive(Debug)]
pub struct VerifiedFile {
    pub(crate) buffer: arrow_buffer::Buffer,
    pub(crate) body_len: usize,
    pub(crate) footer_start: usize,
}

/// Which object format a codec writes; stored with the object and shown by inspection tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CodecId {
    /// Stepstone's object format (header + checksummed postcard payload).
    Postcard,
    /// A plain Arrow IPC file; Stepstone's identity and checksum travel in its footer.
    ArrowIpc,
}

/// The identity of the object being written, for codecs that embed it in their own file
/// format (Arrow IPC's footer metadata). `None` where the bytes are only hashed.
#[derive(Debug)]
pub struct ObjectMeta<'a> {
    /// The block.
    pub key: BlockKey,
    /// Checkpoint, spill or persist.
    pub kind: ObjectKind,
    /// The value's type label (see [`crate::Data::type_label`]).
    pub type_name: &'a str,
    /// The value's footprint when written.
    pub footprint: Footprint,
    /// (checksummed length, checksum) as the codec reports them with [`ObjectMeta::seal`].
    sealed: std::cell::Cell<Option<(u64, u64)>>,
}

impl<'a> ObjectMeta<'a> {
    pub(crate) fn new(
        key: BlockKey,
        kind: ObjectKind,
        type_name: &'a str,
        footprint: Footprint,
    ) -> Self {
        ObjectMeta {
            key,
            kind,
            type_name,
            footprint,
            sealed: std::cell::Cell::new(None),
        }
    }

    /// A codec that embeds the identity reports the checksummed length and checksum it wrote.
    pub fn seal(&self, body_len: u64, checksum: u64) {
        self.sealed.set(Some((body_len, checksum)));
    }

    pub(crate) fn sealed(&self) -> Option<(u64, u64)> {
        self.sealed.get()
    }
}

/// The verified bytes of a stored object, as the store hands them to a decoder.
#[derive(Debug)]
#[non_exhaustive]
pub enum Payload {
    /// A postcard payload read into memory (checksum verified).
    Bytes(Vec<u8>),
    /// A whole Arrow IPC file, memory-mapped (checksum verified before this is built).
    #[cfg(feature = "arrow")]
    Arrow(VerifiedFile),
}

/// Encoding and decoding of one value type. Implemented by [`Postcard`] for every serde type
/// and by the Arrow IPC codec for `stepstone::arrow::Batch`.
pub trait ValueCodec<T>: 'static {
    /// The object format this codec writes.
    const ID: CodecId;
    /// Whether [`ValueCodec::buffers`] reports the value's shared buffers.
    const HAS_BUFFERS: bool = false;
    /// Stream `value`'s encoding into `out`; `meta` is the stored identity (`None` when the
    /// bytes are only hashed, e.g. for early cutoff).
    fn encode(value: &T, out: &mut dyn Write, meta: Option<&ObjectMeta<'_>>) -> Result<(), String>;
    /// Decode a verified payload.
    fn decode(payload: Payload) -> Result<T, String>;
    /// An owned copy of a value someone else still shares.
    fn duplicate(value: &T) -> Result<T, String>;
    /// The value's buffers as (identity, bytes), each shared allocation once, for the buffer
    /// ledger (`memory::SharedBuffers`). Empty for codecs without shared buffers.
    fn buffers(value: &T) -> Vec<(usize, u64)> {
        let _ = value;
        Vec::new()
    }
}

/// The codec of serde types: postcard, inside Stepstone's object format.
#[derive(Debug, Clone, Copy)]
pub struct Postcard;

impl<T: Serialize + DeserializeOwned + 'static> ValueCodec<T> for Postcard {
    const ID: CodecId = CodecId::Postcard;

    fn encode(value: &T, out: &mut dyn Write, _: Option<&ObjectMeta<'_>>) -> Result<(), String> {
        encode_chunked(value, out)
    }

    // Without the `arrow` feature the match has one arm; with it, two.
    #[allow(clippy::infallible_destructuring_match)]
    fn decode(payload: Payload) -> Result<T, String> {
        let bytes = match payload {
            Payload::Bytes(bytes) => bytes,
            #[cfg(feature = "arrow")]
            Payload::Arrow(_) => {
                return Err("an Arrow IPC object cannot hold a postcard value".into());
            }
        };
        let (value, rest) = postcard::take_from_bytes::<T>(&bytes).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err(format!("{} bytes left over after the value", rest.len()));
        }
        Ok(value)
    }

    fn duplicate(value: &T) -> Result<T, String> {
        let bytes = postcard::to_stdvec(value).map_err(|e| e.to_string())?;
        postcard::from_bytes(&bytes).map_err(|e| e.to_string())
    }
}

/// Bytes an encoder collects before handing them to the store's writer.
pub(crate) const ENCODE_CHUNK: usize = 64 * 1024;

/// Encode `value` with postcard into `out`, 64 KiB at a time. Postcard writes every field (often
/// a single byte) separately; through `postcard::to_io` each was a dynamic call into the
/// store's writer, ~300 instructions per seed row. Here a field is a push onto a buffer whose
/// type the compiler knows, and the writer sees one call per chunk.
pub(crate) fn encode_chunked<T: Serialize>(value: &T, out: &mut dyn Write) -> Result<(), String> {
    let mut failed = None;
    let flavor = Chunked {
        buf: Vec::with_capacity(ENCODE_CHUNK),
        out,
        failed: &mut failed,
    };
    let result = postcard::serialize_with_flavor(value, flavor);
    match (result, failed) {
        (_, Some(e)) => Err(e.to_string()),
        (Err(e), None) => Err(e.to_string()),
        (Ok(()), None) => Ok(()),
    }
}

/// A postcard output flavor that buffers into `buf` and writes full chunks to `out`.
struct Chunked<'w> {
    buf: Vec<u8>,
    out: &'w mut dyn Write,
    /// The writer's error, kept to report instead of postcard's generic one.
    failed: &'w mut Option<std::io::Error>,
}

impl Chunked<'_> {
    fn write(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.out.write_all(bytes).map_err(|e| {
            *self.failed = Some(e);
            postcard::Error::SerializeBufferFull
        })
    }

    fn flush_chunk(&mut self) -> postcard::Result<()> {
        let chunk = std::mem::take(&mut self.buf);
        let written = self.write(&chunk);
        self.buf = chunk;
        self.buf.clear();
        written
    }
}

impl postcard::ser_flavors::Flavor for Chunked<'_> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.buf.len() == ENCODE_CHUNK {
            self.flush_chunk()?;
        }
        self.buf.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if self.buf.len() + data.len() > ENCODE_CHUNK {
            self.flush_chunk()?;
            if data.len() > ENCODE_CHUNK {
                return self.write(data);
            }
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn finalize(mut self) -> postcard::Result<()> {
        self.flush_chunk()
    }
}

/// Postcard-encode `value` into `out` (for tests of other modules).
#[cfg(test)]
pub(crate) fn codec_postcard_for_tests<T: Serialize>(
    value: &T,
    out: &mut dyn Write,
) -> Result<(), String> {
    encode_chunked(value, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_encoding_is_postcard_across_chunk_boundaries() {
        // Many small fields (pushes across 64 KiB boundaries) and one field larger than a chunk.
        let value: (Vec<(u64, String)>, String) = (
            (0..20_000u64)
                .map(|i| (i * 7919, format!("t{i}")))
                .collect(),
            "x".repeat(3 * ENCODE_CHUNK + 5),
        );
        let mut out = Vec::new();
        encode_chunked(&value, &mut out).unwrap();
        assert_eq!(out, postcard::to_stdvec(&value).unwrap());
    }

    #[test]
    fn a_failing_writer_is_reported_with_its_own_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("no space left on the test device"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let value = vec![7u64; 100_000];
        let err = encode_chunked(&value, &mut Full).unwrap_err();
        assert!(err.contains("no space left on the test device"), "{err}");
        let small = encode_chunked(&1u8, &mut Full).unwrap_err();
        assert!(small.contains("no space left"), "{small}");
    }

    #[test]
    fn postcard_round_trips_and_rejects_trailing_bytes() {
        let value = vec![(1u32, "a".to_string())];
        let mut out = Vec::new();
        <Postcard as ValueCodec<Vec<(u32, String)>>>::encode(&value, &mut out, None).unwrap();
        let back: Vec<(u32, String)> = Postcard::decode(Payload::Bytes(out.clone())).unwrap();
        assert_eq!(back, value);
        out.push(0);
        let err = <Postcard as ValueCodec<Vec<(u32, String)>>>::decode(Payload::Bytes(out));
        assert!(err.unwrap_err().contains("left over"));
    }
}
