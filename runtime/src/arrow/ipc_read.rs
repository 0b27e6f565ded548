//! Decoding an Arrow IPC object that the store has mapped: checksum, then a walk of the
//! checksummed body that bounds every message and buffer before Arrow's decoder sees it.
//!
//! Responsible for: [`VerifiedFile`] (a whole mapped file whose checksum matched) and turning
//! it into a `RecordBatch` zero-copy with `FileDecoder` (buffers keep pointing into the map).
//! Every length and offset is checked against the body first, because the decoder slices with
//! panicking bounds checks; misaligned buffers are an error (never silently copied); Arrow's
//! full validation stays on (a hostile file can carry a correct checksum, so the checksum is
//! never taken as proof that offsets inside a string column are sane). Not responsible for:
//! mapping (see `mmap.rs`) or finding the file (the store).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::{Block, MessageHeader, MetadataVersion};

use super::ipc::{ALIGNMENT, ARROW_MAGIC, EOS, Identity};
use crate::codec::VerifiedFile;

/// Where one message sits: its block (as the footer would list it) and its header type.
struct Message {
    block: Block,
    header: MessageHeader,
}

impl VerifiedFile {
    /// Check `buffer` (the whole file) against `identity`: size, end-of-stream marker and the
    /// checksum of the body.
    pub(crate) fn verify(buffer: Buffer, identity: &Identity) -> Result<VerifiedFile, String> {
        let body_len = usize::try_from(identity.body_len).map_err(|_| "body too large")?;
        let footer_start = usize::try_from(identity.footer_start).map_err(|_| "file too large")?;
        if buffer.len() < footer_start + 10 || buffer.len() < 8 {
            return Err(format!(
                "truncated: {} bytes, the footer starts at {footer_start}",
                buffer.len()
            ));
        }
        if buffer[body_len..footer_start] != EOS {
            return Err("no end-of-stream marker before the footer".into());
        }
        let computed = xxhash_rust::xxh3::xxh3_64(&buffer[..body_len]);
        if computed != identity.checksum {
            return Err(format!(
                "checksum mismatch (stored {:016x}, computed {computed:016x})",
                identity.checksum
            ));
        }
        Ok(VerifiedFile {
            buffer,
            body_len,
            footer_start,
        })
    }

    /// Bytes of the whole file.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Whether the file is empty (never, for a verified file).
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The whole file (e.g. to copy it out for `checkpoints export --format arrow`).
    pub fn bytes(&self) -> &[u8] {
        &self.buffer
    }

    /// Decode the file's one record batch; its buffers point into the mapped file.
    pub fn decode(&self) -> Result<RecordBatch, String> {
        // Defence in depth: every bound the decoder slices by is checked below, but a decoder
        // panic on some input we did not foresee must still be an error, never a crash.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.decode_checked()))
            .unwrap_or_else(|_| Err("the Arrow decoder rejected the file (panicked)".into()))
    }

    fn decode_checked(&self) -> Result<RecordBatch, String> {
        let body = &self.buffer[..self.body_len];
        let messages = walk(body)?;
        let Some((first, rest)) = messages.split_first() else {
            return Err("no schema message".into());
        };
        if first.header != MessageHeader::Schema {
            return Err("the first message is not a schema".into());
        }
        let schema_message = parse(body, &first.block)?;
        let schema = schema_message
            .header_as_schema()
            .ok_or("schema message without a schema")
            .and_then(|s| arrow_ipc::convert::try_fb_to_schema(s).map_err(|_| "bad schema"))
            .map_err(|e| e.to_string())?;
        self.check_footer(rest)?;
        let mut decoder =
            FileDecoder::new(Arc::new(schema), MetadataVersion::V5).with_require_alignment(true);
        let mut batch = None;
        for m in rest {
            let data = self.buffer.slice_with_length(
                m.block.offset() as usize,
                m.block.metaDataLength() as usize + m.block.bodyLength() as usize,
            );
            match m.header {
                MessageHeader::DictionaryBatch => decoder
                    .read_dictionary(&m.block, &data)
                    .map_err(|e| format!("dictionary: {e}"))?,
                MessageHeader::RecordBatch if batch.is_none() => {
                    batch = decoder
                        .read_record_batch(&m.block, &data)
                        .map_err(|e| format!("record batch: {e}"))?;
                }
                MessageHeader::RecordBatch => {
                    return Err("more than one record batch (not a Stepstone object)".into());
                }
                other => return Err(format!("unexpected message {other:?}")),
            }
        }
        batch.ok_or_else(|| "no record batch".to_string())
    }

    /// The footer (not checksummed) must list exactly the blocks the body holds, so a reader
    /// that trusts the footer (pyarrow, DuckDB) sees what we verified.
    fn check_footer(&self, messages: &[Message]) -> Result<(), String> {
        let footer = &self.buffer[self.footer_start..self.buffer.len() - 10];
        let footer = arrow_ipc::root_as_footer(footer).map_err(|e| format!("footer: {e}"))?;
        let listed: Vec<(i64, i32, i64)> = footer
            .dictionaries()
            .into_iter()
            .flatten()
            .chain(footer.recordBatches().into_iter().flatten())
            .map(|b| (b.offset(), b.metaDataLength(), b.bodyLength()))
            .collect();
        let mut walked: Vec<(i64, i32, i64)> = messages
            .iter()
            .map(|m| {
                (
                    m.block.offset(),
                    m.block.metaDataLength(),
                    m.block.bodyLength(),
                )
            })
            .collect();
        let mut listed_sorted = listed;
        listed_sorted.sort_unstable();
        walked.sort_unstable();
        if listed_sorted != walked {
            return Err("the footer's blocks do not match the file's messages".into());
        }
        Ok(())
    }
}

/// Parse the message flatbuffer of `block` (already bounded by [`walk`]).
fn parse<'b>(body: &'b [u8], block: &Block) -> Result<arrow_ipc::Message<'b>, String> {
    let start = block.offset() as usize;
    let meta = &body[start..start + block.metaDataLength() as usize];
    let prefix = if meta[..4] == [0xff; 4] { 8 } else { 4 };
    arrow_ipc::root_as_message(&meta[prefix..]).map_err(|e| format!("message: {e}"))
}

/// Read a little-endian i32 at `at`, if the body has it.
fn i32_at(body: &[u8], at: usize) -> Option<i32> {
    let bytes = body.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Walk the encapsulated messages of `body`, checking each frame, body and buffer range.
fn walk(body: &[u8]) -> Result<Vec<Message>, String> {
    if body.len() < 8 || &body[..6] != ARROW_MAGIC {
        return Err("no ARROW1 magic".into());
    }
    // The magic is padded to 8 bytes, or (arrow-rs) to the write alignment.
    let mut at = 8;
    while at < ALIGNMENT && i32_at(body, at) == Some(0) {
        at += 8;
    }
    let mut out = Vec::new();
    while at < body.len() {
        let (prefix, meta_len) = match i32_at(body, at) {
            Some(-1) => (8usize, i32_at(body, at + 4)),
            other => (4usize, other),
        };
        let meta_len = meta_len
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("bad message length at offset {at}"))?;
        let meta_end = at
            .checked_add(prefix + meta_len)
            .filter(|end| *end <= body.len())
            .ok_or_else(|| format!("message at offset {at} runs past the body"))?;
        if at % 8 != 0 {
            return Err(format!("message at offset {at} is not 8-byte aligned"));
        }
        let message = arrow_ipc::root_as_message(&body[at + prefix..meta_end])
            .map_err(|e| format!("message at offset {at}: {e}"))?;
        let body_len = usize::try_from(message.bodyLength())
            .map_err(|_| format!("negative body length at offset {at}"))?;
        let end = meta_end
            .checked_add(body_len)
            .filter(|end| *end <= body.len())
            .ok_or_else(|| format!("message body at offset {at} runs past the file"))?;
        check_buffers(&message, body_len, at)?;
        out.push(Message {
            block: Block::new(at as i64, (prefix + meta_len) as i32, body_len as i64),
            header: message.header_type(),
        });
        at = end;
    }
    Ok(out)
}

/// Every buffer of a record batch (or dictionary) must lie inside its message body, and every
/// node's length and null count must be non-negative; compressed bodies are refused.
fn check_buffers(
    message: &arrow_ipc::Message<'_>,
    body_len: usize,
    at: usize,
) -> Result<(), String> {
    let batch = match message.header_type() {
        MessageHeader::RecordBatch => message.header_as_record_batch(),
        MessageHeader::DictionaryBatch => {
            message.header_as_dictionary_batch().and_then(|d| d.data())
        }
        _ => return Ok(()),
    };
    let batch = batch.ok_or_else(|| format!("message at offset {at} has no batch"))?;
    if batch.compression().is_some() {
        return Err(format!(
            "message at offset {at} is compressed (Stepstone writes none)"
        ));
    }
    for b in batch.buffers().into_iter().flatten() {
        let fits = usize::try_from(b.offset())
            .ok()
            .zip(usize::try_from(b.length()).ok())
            .and_then(|(o, l)| o.checked_add(l))
            .is_some_and(|end| end <= body_len);
        if !fits {
            return Err(format!(
                "buffer at {}+{} lies outside the {body_len}-byte body of the message at offset {at}",
                b.offset(),
                b.length()
            ));
        }
    }
    for n in batch.nodes().into_iter().flatten() {
        if n.length() < 0 || n.null_count() < 0 || n.null_count() > n.length() {
            return Err(format!(
                "bad field node ({} rows, {} nulls) at offset {at}",
                n.length(),
                n.null_count()
            ));
        }
    }
    if batch.length() < 0 {
        return Err(format!("negative row count at offset {at}"));
    }
    Ok(())
}
