//! Arrow IPC objects: a batch written as a plain Arrow IPC *file* (any Arrow reader opens it)
//! with Stepstone's identity and a checksum in the footer's custom metadata.
//!
//! Responsible for: writing one batch as an IPC file (64-byte aligned buffers, uncompressed,
//! metadata V5) with the identity keys below, and reading the identity back from a file's
//! footer without trusting anything in it (lengths capped and checked against the file). Not
//! responsible for: decoding the batch (see `ipc_read.rs`) or the commit protocol (the store).
//!
//! Layout: `ARROW1\0\0`, schema message, one record-batch message (dictionaries before it if
//! any), the 8-byte end-of-stream marker, the footer flatbuffer, its length (i32 LE), `ARROW1`.
//! `stepstone.checksum` is the xxh3-64 of every byte before the end-of-stream marker
//! (`stepstone.body_len` of them); the footer itself is not trusted: its blocks and schema
//! must match what walking the checksummed body finds.

use std::collections::HashMap;
use std::io::{self, Seek, SeekFrom, Write};

use arrow_array::RecordBatch;
use arrow_ipc::MetadataVersion;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};

use crate::codec::{BlockKey, ObjectKind, ObjectMeta};
use crate::memory::Footprint;
use crate::plan::Fingerprint;

/// Value of `stepstone.magic`.
pub(crate) const MAGIC: &str = "STPSTONE";
/// Version of the Arrow object layout (value of `stepstone.format`).
pub(crate) const FORMAT: &str = "1";
/// Arrow's file magic, at both ends of an IPC file.
pub(crate) const ARROW_MAGIC: &[u8; 6] = b"ARROW1";
/// Buffer alignment of written files (every Arrow type's alignment divides it).
pub(crate) const ALIGNMENT: usize = 64;
/// The end-of-stream marker `FileWriter::finish` writes before the footer (metadata V5).
pub(crate) const EOS: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
/// Largest footer accepted (a one-batch footer is a few KiB; the schema dominates).
pub(crate) const MAX_FOOTER: usize = 16 << 20;

/// Stepstone's identity of an Arrow object, as read from its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) key: BlockKey,
    pub(crate) kind: ObjectKind,
    pub(crate) type_name: String,
    pub(crate) footprint: Footprint,
    /// Bytes covered by the checksum (everything before the end-of-stream marker).
    pub(crate) body_len: u64,
    pub(crate) checksum: u64,
    /// Where the footer flatbuffer starts.
    pub(crate) footer_start: u64,
}

/// Counts and hashes what the IPC writer produces.
struct Hashing<'w> {
    inner: &'w mut dyn Write,
    hasher: xxhash_rust::xxh3::Xxh3Default,
    len: u64,
}

impl Write for Hashing<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Checkpoint => "checkpoint",
        ObjectKind::Spill => "spill",
        ObjectKind::Persist => "persist",
        ObjectKind::Exchange => "exchange",
    }
}

/// Write `batch` as an Arrow IPC file into `out`; with `meta`, the footer carries the identity
/// and checksum (and `meta` is sealed with them), without it the file is a plain export.
pub(crate) fn write_file(
    batch: &RecordBatch,
    out: &mut dyn Write,
    meta: Option<&ObjectMeta<'_>>,
) -> Result<(), String> {
    let mut hashing = Hashing {
        inner: out,
        hasher: xxhash_rust::xxh3::Xxh3Default::new(),
        len: 0,
    };
    let options = IpcWriteOptions::try_new(ALIGNMENT, false, MetadataVersion::V5)
        .map_err(|e| e.to_string())?;
    let schema = batch.schema();
    let mut writer = FileWriter::try_new_with_options(&mut hashing, &schema, options)
        .map_err(|e| format!("writing the Arrow IPC header: {e}"))?;
    writer
        .write(batch)
        .map_err(|e| format!("writing the Arrow IPC batch: {e}"))?;
    let (body_len, checksum) = {
        let h = writer.get_ref();
        (h.len, h.hasher.digest())
    };
    if let Some(meta) = meta {
        let f = meta.footprint;
        for (key, value) in [
            ("stepstone.magic", MAGIC.to_string()),
            ("stepstone.format", FORMAT.to_string()),
            ("stepstone.kind", kind_name(meta.kind).to_string()),
            ("stepstone.fingerprint", meta.key.fingerprint.to_hex()),
            ("stepstone.part", meta.key.part.to_string()),
            ("stepstone.type", meta.type_name.to_string()),
            (
                "stepstone.footprint",
                format!(
                    "{} {} {} {}",
                    f.requested, f.resident, f.allocations, f.mapped
                ),
            ),
            ("stepstone.body_len", body_len.to_string()),
            ("stepstone.checksum", format!("{checksum:016x}")),
        ] {
            writer.write_metadata(key, value);
        }
        meta.seal(body_len, checksum);
    }
    writer
        .finish()
        .map_err(|e| format!("writing the Arrow IPC footer: {e}"))
}

/// Read the footer of an IPC file through `file` (`len` bytes): `Ok(None)` when the file does
/// not start like an Arrow file (the caller tries Stepstone's own format), an error text when
/// it is an Arrow file without a valid Stepstone identity ([`IdentityError::Invalid`]), and
/// [`IdentityError::Io`] when reading failed (the file may be fine).
pub(crate) fn read_identity<R: io::Read + Seek + ?Sized>(
    file: &mut R,
    len: u64,
) -> Result<Option<Identity>, IdentityError> {
    let io = |what: &'static str| move |e: std::io::Error| IdentityError::Io(what, e);
    let mut head = [0u8; 6];
    file.seek(SeekFrom::Start(0)).map_err(io("seek"))?;
    if len < 6 {
        return Ok(None);
    }
    match file.read_exact(&mut head) {
        Ok(()) if &head == ARROW_MAGIC => {}
        Ok(()) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io("read the first bytes of")(e)),
    }
    let invalid = IdentityError::Invalid;
    if len < 8 + 8 + 10 {
        return Err(invalid(format!("truncated Arrow IPC file: {len} bytes")));
    }
    let mut tail = [0u8; 10];
    file.seek(SeekFrom::Start(len - 10)).map_err(io("seek"))?;
    file.read_exact(&mut tail)
        .map_err(|e| eof_or(e, "read the footer length of"))?;
    if &tail[4..] != ARROW_MAGIC {
        return Err(invalid(
            "truncated Arrow IPC file: no closing ARROW1 magic".into(),
        ));
    }
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let footer_len = usize::try_from(footer_len)
        .ok()
        .filter(|n| *n > 0 && *n <= MAX_FOOTER && (*n as u64) <= len - 18)
        .ok_or_else(|| {
            invalid(format!(
                "footer length {footer_len} does not fit a {len}-byte file"
            ))
        })?;
    let footer_start = len - 10 - footer_len as u64;
    let mut footer = vec![0u8; footer_len];
    file.seek(SeekFrom::Start(footer_start))
        .map_err(io("seek"))?;
    file.read_exact(&mut footer)
        .map_err(|e| eof_or(e, "read the footer of"))?;
    let metadata = footer_metadata(&footer).map_err(invalid)?;
    parse_identity(&metadata, footer_start)
        .map(Some)
        .map_err(invalid)
}

/// Why an Arrow object's identity could not be read.
#[derive(Debug)]
pub(crate) enum IdentityError {
    /// The file is not a valid Stepstone Arrow object (a verified mismatch).
    Invalid(String),
    /// Reading failed (the file may be fine): what was being done, and the OS error.
    Io(&'static str, std::io::Error),
}

/// A file that ends early is invalid; any other read error is an I/O error.
fn eof_or(e: std::io::Error, what: &'static str) -> IdentityError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        IdentityError::Invalid(format!("truncated Arrow IPC file ({what} it: {e})"))
    } else {
        IdentityError::Io(what, e)
    }
}

/// The custom metadata of a footer flatbuffer (verified by the flatbuffers verifier).
pub(crate) fn footer_metadata(footer: &[u8]) -> Result<HashMap<String, String>, String> {
    let footer =
        arrow_ipc::root_as_footer(footer).map_err(|e| format!("footer is not valid: {e}"))?;
    let mut out = HashMap::new();
    for kv in footer.custom_metadata().into_iter().flatten() {
        if let (Some(k), Some(v)) = (kv.key(), kv.value()) {
            out.insert(k.to_string(), v.to_string());
        }
    }
    Ok(out)
}

fn field<'m>(metadata: &'m HashMap<String, String>, key: &str) -> Result<&'m str, String> {
    metadata.get(key).map(String::as_str).ok_or_else(|| {
        format!("Arrow IPC file without `{key}` in its footer metadata (not a Stepstone object)")
    })
}

fn number(metadata: &HashMap<String, String>, key: &str) -> Result<u64, String> {
    let text = field(metadata, key)?;
    text.parse()
        .map_err(|_| format!("footer metadata `{key}` = {text:?} is not a number"))
}

fn parse_identity(
    metadata: &HashMap<String, String>,
    footer_start: u64,
) -> Result<Identity, String> {
    if field(metadata, "stepstone.magic")? != MAGIC {
        return Err("footer metadata `stepstone.magic` is not STPSTONE".into());
    }
    let format = field(metadata, "stepstone.format")?;
    if format != FORMAT {
        return Err(format!(
            "Arrow object format {format}, this build reads format {FORMAT}"
        ));
    }
    let kind = match field(metadata, "stepstone.kind")? {
        "checkpoint" => ObjectKind::Checkpoint,
        "spill" => ObjectKind::Spill,
        "persist" => ObjectKind::Persist,
        "exchange" => ObjectKind::Exchange,
        other => return Err(format!("unknown object kind {other:?}")),
    };
    let fp = field(metadata, "stepstone.fingerprint")?;
    let fingerprint: Fingerprint = fp
        .parse()
        .map_err(|_| format!("footer fingerprint {fp:?} is not 32 hex digits"))?;
    let part = u32::try_from(number(metadata, "stepstone.part")?)
        .map_err(|_| "part number out of range".to_string())?;
    let figures: Vec<u64> = field(metadata, "stepstone.footprint")?
        .split(' ')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| "footer `stepstone.footprint` is not four numbers".to_string())?;
    let [requested, resident, allocations, mapped] = figures[..] else {
        return Err("footer `stepstone.footprint` is not four numbers".into());
    };
    let mut footprint = Footprint::new(requested, resident, allocations);
    footprint.mapped = mapped;
    let body_len = number(metadata, "stepstone.body_len")?;
    if body_len.checked_add(EOS.len() as u64) != Some(footer_start) {
        return Err(format!(
            "checksummed length {body_len} does not end where the footer starts ({footer_start})"
        ));
    }
    let sum = field(metadata, "stepstone.checksum")?;
    let checksum =
        u64::from_str_radix(sum, 16).map_err(|_| format!("footer checksum {sum:?} is not hex"))?;
    let type_name = field(metadata, "stepstone.type")?.to_string();
    Ok(Identity {
        key: BlockKey { fingerprint, part },
        kind,
        type_name,
        footprint,
        body_len,
        checksum,
        footer_start,
    })
}
