//! RELIABILITY row 30: hostile Arrow IPC objects. Truncated footers, bogus buffer offsets and
//! lengths, misaligned buffers, bogus string offsets and random byte flips, each with the stale
//! checksum and re-sealed with a matching one (a hostile file can carry a correct checksum):
//! every read is a typed `Corrupt` error or a valid batch, never a panic or an out-of-bounds
//! read.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::tests::{get, key, put, seed_batch, store};
use crate::store::{ObjectKind, Store, StoreError};

/// A written checkpoint: (dir guard, store, file path, bytes).
fn written() -> (tempfile::TempDir, Store, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let info = put(&s, key(1), ObjectKind::Checkpoint, &seed_batch(300)).unwrap();
    let path = dir.path().join(info.path);
    let bytes = std::fs::read(&path).unwrap();
    (dir, s, path, bytes)
}

/// Where the footer starts and the checksummed body ends.
fn layout(bytes: &[u8]) -> (usize, usize) {
    let n = bytes.len();
    let footer_len = i32::from_le_bytes(bytes[n - 10..n - 6].try_into().unwrap()) as usize;
    let footer_start = n - 10 - footer_len;
    (footer_start, footer_start - 8)
}

/// Recompute the checksum of the (modified) body and write it into the footer in place.
fn reseal(bytes: &mut [u8]) {
    assert!(try_reseal(bytes).is_some(), "the footer can be re-sealed");
}

/// [`reseal`], or `None` when the footer can no longer be found or parsed.
fn try_reseal(bytes: &mut [u8]) -> Option<()> {
    let n = bytes.len();
    if n < 18 || &bytes[n - 6..] != b"ARROW1" {
        return None;
    }
    let footer_len =
        usize::try_from(i32::from_le_bytes(bytes[n - 10..n - 6].try_into().ok()?)).ok()?;
    let footer_start = (n - 10).checked_sub(footer_len)?;
    let body_len = footer_start.checked_sub(8)?;
    let footer = &bytes[footer_start..n - 10];
    let metadata = super::ipc::footer_metadata(footer).ok()?;
    let old = metadata.get("stepstone.checksum")?.clone();
    let new = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes[..body_len]));
    let at = footer
        .windows(old.len())
        .position(|w| w == old.as_bytes())?
        + footer_start;
    if old.len() != 16 {
        return None;
    }
    bytes[at..at + 16].copy_from_slice(new.as_bytes());
    Some(())
}

/// Byte positions of the record batch's Buffer structs (offset: i64, length: i64 each).
fn buffer_positions(bytes: &[u8]) -> Vec<usize> {
    let (footer_start, _) = layout(bytes);
    let footer = arrow_ipc::root_as_footer(&bytes[footer_start..bytes.len() - 10]).unwrap();
    let block = footer.recordBatches().unwrap().get(0);
    let start = block.offset() as usize + 8;
    let end = block.offset() as usize + block.metaDataLength() as usize;
    let message = arrow_ipc::root_as_message(&bytes[start..end]).unwrap();
    let buffers = message.header_as_record_batch().unwrap().buffers().unwrap();
    let base = buffers.bytes().as_ptr() as usize - bytes.as_ptr() as usize;
    (0..buffers.len()).map(|i| base + 16 * i).collect()
}

/// Replace the object with `bytes` and read it: never a panic; `Ok(true)` when it decoded.
fn read_back(s: &Store, path: &Path, bytes: &[u8]) -> Result<bool, String> {
    std::fs::write(path, bytes).unwrap();
    let probed = s.probe_kind(key(1), ObjectKind::Checkpoint);
    match get(s, key(1), ObjectKind::Checkpoint) {
        Ok(batch) => {
            assert!(probed.is_ok());
            // A batch that decodes is a valid one: every column can be read end to end.
            let _ = arrow_ipc::writer::FileWriter::try_new(Vec::new(), &batch.schema())
                .and_then(|mut w| w.write(&batch));
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

fn assert_corrupt(s: &Store, path: &Path, bytes: &[u8], what: &str) {
    match read_back(s, path, bytes) {
        // Either the store's `Corrupt` (identity, checksum) or the decoder's error (a re-sealed
        // file whose structure is bogus): the executor treats both as absent and recomputes.
        Err(e) => assert!(!e.is_empty(), "{what}"),
        Ok(_) => panic!("{what}: a hostile file was accepted"),
    }
    // The store reports it as a typed Corrupt error.
    if let Err(e) = s.read_value(
        key(1),
        ObjectKind::Checkpoint,
        <super::Batch as crate::Data>::type_label(),
    ) {
        assert!(matches!(e, StoreError::Corrupt { .. }), "{what}: {e:?}");
    }
}

#[test]
fn truncated_files_are_corrupt() {
    let (_d, s, path, bytes) = written();
    let (footer_start, body_len) = layout(&bytes);
    for cut in [
        0,
        5,
        7,
        20,
        body_len / 2,
        body_len,
        footer_start + 3,
        bytes.len() - 10,
        bytes.len() - 1,
    ] {
        assert_corrupt(&s, &path, &bytes[..cut], &format!("cut at {cut}"));
    }
}

#[test]
fn a_footer_length_beyond_the_file_is_corrupt() {
    let (_d, s, path, mut bytes) = written();
    let n = bytes.len();
    for bogus in [i32::MAX, -1, n as i32, 0] {
        bytes[n - 10..n - 6].copy_from_slice(&bogus.to_le_bytes());
        assert_corrupt(&s, &path, &bytes, &format!("footer length {bogus}"));
    }
}

#[test]
fn bogus_buffer_offsets_and_lengths_are_rejected_with_and_without_a_matching_checksum() {
    let (_d, s, path, bytes) = written();
    let (_, body_len) = layout(&bytes);
    let positions = buffer_positions(&bytes);
    assert!(positions.len() >= 8, "{positions:?}");
    for &at in &positions {
        for (field, value) in [
            (0, i64::MAX / 2),
            (0, -64),
            (0, body_len as i64),
            (8, i64::MAX),
            (8, -1),
            (8, body_len as i64 * 4),
        ] {
            let mut hostile = bytes.clone();
            hostile[at + field..at + field + 8].copy_from_slice(&value.to_le_bytes());
            assert_corrupt(
                &s,
                &path,
                &hostile,
                &format!("buffer at {at}+{field} = {value}, stale checksum"),
            );
            reseal(&mut hostile);
            assert_corrupt(
                &s,
                &path,
                &hostile,
                &format!("buffer at {at}+{field} = {value}, matching checksum"),
            );
        }
    }
}

#[test]
fn misaligned_buffers_are_rejected_not_copied() {
    let (_d, s, path, bytes) = written();
    for &at in &buffer_positions(&bytes) {
        let length = i64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap());
        if length == 0 {
            continue;
        }
        let mut hostile = bytes.clone();
        let offset = i64::from_le_bytes(hostile[at..at + 8].try_into().unwrap());
        hostile[at..at + 8].copy_from_slice(&(offset + 1).to_le_bytes());
        hostile[at + 8..at + 16].copy_from_slice(&(length - 1).to_le_bytes());
        reseal(&mut hostile);
        assert_corrupt(
            &s,
            &path,
            &hostile,
            &format!("buffer at {at} shifted by one byte"),
        );
    }
}

#[test]
fn bogus_string_offsets_with_a_matching_checksum_are_rejected() {
    let (_d, s, path, bytes) = written();
    // The tag column's offsets buffer is the second-to-last buffer (validity, offsets, data).
    let positions = buffer_positions(&bytes);
    let at = positions[positions.len() - 2];
    let offset = i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let body_start = {
        let (footer_start, _) = layout(&bytes);
        let footer = arrow_ipc::root_as_footer(&bytes[footer_start..bytes.len() - 10]).unwrap();
        let block = footer.recordBatches().unwrap().get(0);
        block.offset() as usize + block.metaDataLength() as usize
    };
    for (index, value) in [(1usize, i32::MAX), (2, -5), (3, 0)] {
        let mut hostile = bytes.clone();
        let p = body_start + offset + 4 * index;
        hostile[p..p + 4].copy_from_slice(&value.to_le_bytes());
        reseal(&mut hostile);
        assert_corrupt(
            &s,
            &path,
            &hostile,
            &format!("string offset {index} = {value}"),
        );
    }
}

#[test]
fn a_plain_arrow_file_without_identity_is_corrupt_not_absent() {
    let (_d, s, path, _) = written();
    let mut plain = Vec::new();
    super::write_ipc_file(&seed_batch(10), &mut plain).unwrap();
    assert_corrupt(&s, &path, &plain, "no stepstone metadata");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]
    #[test]
    fn flipped_bytes_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4), sealed: bool) {
        let (_d, s, path, bytes) = written();
        let mut hostile = bytes.clone();
        for (index, xor) in &flips {
            let at = index.index(hostile.len());
            hostile[at] ^= xor;
        }
        let (_, body_len) = layout(&bytes);
        let in_body = flips.iter().any(|(i, _)| i.index(bytes.len()) < body_len);
        if sealed {
            let _ = try_reseal(&mut hostile); // a flip in the footer may leave nothing to re-seal
        }
        let outcome = read_back(&s, &path, &hostile);
        if !sealed && in_body {
            prop_assert!(outcome.is_err(), "a flipped body byte passed the checksum");
        }
    }
}
