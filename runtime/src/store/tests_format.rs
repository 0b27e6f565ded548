//! Format tests: exact header layout, and every mutation of a written object (byte flips,
//! truncations, extensions, hostile lengths) yields a typed `Corrupt` error, never a panic.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::format::{FIXED_LEN, Header};
use super::tests::{TY, files_under, key, open_with, payload, put};
use super::*;
use crate::plan::Fingerprint;

/// Write one object and return (store, its absolute path, its bytes).
fn written(
    dir: &Path,
    compression: Option<Compression>,
    bytes: &[u8],
) -> (Store, PathBuf, Vec<u8>) {
    let store = open_with(dir, compression);
    let info = put(&store, key(1), ObjectKind::Checkpoint, bytes).unwrap();
    let path = dir.join(&info.path);
    let file = std::fs::read(&path).unwrap();
    (store, path, file)
}

/// Read key(1) after replacing its file with `bytes`; must be `Corrupt`.
fn assert_corrupt(store: &Store, path: &Path, bytes: &[u8], what: &str) {
    std::fs::write(path, bytes).unwrap();
    match store.read(key(1), ObjectKind::Checkpoint, TY) {
        Err(StoreError::Corrupt { path: p, .. }) => assert_eq!(p, path, "{what}"),
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    }
}

#[test]
fn header_layout_is_byte_exact() {
    let header = Header {
        kind: ObjectKind::Spill,
        compression: Compression::Zstd(3),
        key: BlockKey {
            fingerprint: Fingerprint(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            part: 7,
        },
        payload_len: 0x11,
        raw_len: 0x22,
        footprint: Footprint::new(0x33, 0x44, 0x55),
        payload_checksum: 0x66,
        type_name: "u8".to_string(),
        codec: CodecId::Postcard,
    };
    let bytes = header.encode();
    assert_eq!(bytes.len(), FIXED_LEN + 2 + 8);
    assert_eq!(&bytes[0..8], b"STPSTONE");
    assert_eq!(&bytes[8..10], &crate::plan::FORMAT_VERSION.to_le_bytes());
    assert_eq!(&bytes[10..14], &[2, 1, 1, 0]);
    assert_eq!(&bytes[14..18], &3i32.to_le_bytes());
    assert_eq!(
        &bytes[18..34],
        &0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128.to_le_bytes()
    );
    assert_eq!(&bytes[34..38], &7u32.to_le_bytes());
    let words: Vec<u64> = (38..86)
        .step_by(8)
        .map(|i| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()))
        .collect();
    assert_eq!(words, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    assert_eq!(&bytes[86..88], &2u16.to_le_bytes());
    assert_eq!(&bytes[88..90], b"u8");
    assert_eq!(
        &bytes[90..98],
        &xxhash_rust::xxh3::xxh3_64(&bytes[..90]).to_le_bytes()
    );
    assert_eq!(
        Header::decode(&bytes, bytes.len() as u64 + 0x11),
        Ok(header)
    );
}

#[test]
fn every_single_byte_flip_is_corrupt() {
    for compression in [None, Some(Compression::Zstd(1))] {
        let dir = tempfile::tempdir().unwrap();
        let (store, path, file) = written(dir.path(), compression, &payload(3000, 9));
        let header_len = Header::encoded_len(TY.len()) as usize;
        let payload_sample = (header_len..file.len()).step_by(13).chain([file.len() - 1]);
        for i in (0..header_len).chain(payload_sample) {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bytes = file.clone();
                bytes[i] ^= mask;
                assert_corrupt(
                    &store,
                    &path,
                    &bytes,
                    &format!("flip byte {i} with {mask:#x}"),
                );
            }
        }
    }
}

#[test]
fn every_truncation_and_extension_is_corrupt() {
    for compression in [None, Some(Compression::Zstd(1))] {
        let dir = tempfile::tempdir().unwrap();
        let (store, path, file) = written(dir.path(), compression, &payload(700, 4));
        for len in 0..file.len() {
            assert_corrupt(&store, &path, &file[..len], &format!("truncate to {len}"));
        }
        let mut longer = file.clone();
        longer.push(0);
        assert_corrupt(&store, &path, &longer, "one extra byte");
        std::fs::write(&path, &file).unwrap();
        assert_eq!(
            store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
            payload(700, 4)
        );
    }
}

/// A header with a valid header checksum whose fields are rewritten by `edit`.
fn forged(file: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let header_len = Header::encoded_len(TY.len()) as usize;
    let mut bytes = file[..header_len - 8].to_vec();
    edit(&mut bytes);
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    bytes.extend_from_slice(&file[header_len..]);
    bytes
}

#[test]
fn hostile_lengths_are_rejected_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, file) = written(dir.path(), Some(Compression::Zstd(1)), &payload(100, 5));
    let set = |at: usize, value: u64| {
        move |b: &mut Vec<u8>| b[at..at + 8].copy_from_slice(&value.to_le_bytes())
    };
    for (what, bytes) in [
        ("payload_len 2^60", forged(&file, set(38, 1 << 60))),
        ("payload_len u64::MAX", forged(&file, set(38, u64::MAX))),
        ("raw_len 2^60", forged(&file, set(46, 1 << 60))),
    ] {
        std::fs::write(&path, &bytes).unwrap();
        let err = store.read(key(1), ObjectKind::Checkpoint, TY).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{what}: {err:?}");
        assert!(
            err.to_string().contains(if what.starts_with("raw") {
                "cap"
            } else {
                "payload bytes"
            }),
            "{what}: {err}"
        );
        assert!(
            matches!(store.probe(key(1)), Err(StoreError::Corrupt { .. })),
            "{what}"
        );
    }
    // A type-name length above the cap is refused before the name (or checksum) is read.
    let mut long_name = file.clone();
    long_name[86..88].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_corrupt(&store, &path, &long_name, "type name length 65535");
    // A raw length under the cap but more than the payload's zstd bytes can ever decode to
    // (32768× at most): refused from the header, before a buffer is sized from it.
    std::fs::write(&path, forged(&file, set(46, 1 << 30))).unwrap();
    let err = store.read(key(1), ObjectKind::Checkpoint, TY).unwrap_err();
    assert!(
        err.to_string().contains("bytes of zstd can decode to"),
        "{err}"
    );
    // Within that bound but above what this payload decodes to: caught while decoding.
    let stored = u64::from_le_bytes(file[38..46].try_into().unwrap());
    std::fs::write(&path, forged(&file, set(46, stored * 1000))).unwrap();
    let err = store.read(key(1), ObjectKind::Checkpoint, TY).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "payload ends after 100 of the {} bytes",
            stored * 1000
        )),
        "{err}"
    );
}

#[test]
fn zstd_payload_longer_than_declared_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path, file) = written(dir.path(), Some(Compression::Zstd(1)), &payload(100, 5));
    let bytes = forged(&file, |b| b[46..54].copy_from_slice(&99u64.to_le_bytes()));
    std::fs::write(&path, bytes).unwrap();
    let err = store.read(key(1), ObjectKind::Checkpoint, TY).unwrap_err();
    assert!(err.to_string().contains("more than the 99 bytes"), "{err}");
}

#[test]
fn decode_object_matches_the_store_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, file) = written(dir.path(), Some(Compression::Zstd(1)), &payload(5000, 3));
    let (info, bytes) = decode_object(file.clone(), Some(TY)).unwrap();
    let (stored, expected) = store.read(key(1), ObjectKind::Checkpoint, TY).unwrap();
    assert_eq!(
        (info.checksum, info.raw_len, bytes),
        (stored.checksum, stored.raw_len, expected)
    );
    let err = decode_object(file, Some("u8")).unwrap_err();
    assert!(err.to_string().contains("expected `u8`"), "{err}");
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
    Overwrite(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..32)
        )
            .prop_map(|(i, b)| Mutation::Overwrite(i, b)),
    ]
}

fn apply(file: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut bytes = file.to_vec();
    match mutation {
        Mutation::Flip(i, mask) => bytes[i % file.len()] ^= mask,
        Mutation::Truncate(len) => bytes.truncate(len % file.len()),
        Mutation::Extend(extra) => bytes.extend_from_slice(extra),
        Mutation::Overwrite(at, new) => {
            for (j, b) in new.iter().enumerate() {
                let i = (at + j) % file.len();
                bytes[i] = *b;
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_payloads_round_trip_and_mutations_give_typed_errors(
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        zstd in any::<bool>(),
        mutation in mutation(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let compression = zstd.then_some(Compression::Zstd(1));
        let (store, path, file) = written(dir.path(), compression, &data);
        prop_assert_eq!(&store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1, &data);
        let mutated = apply(&file, &mutation);
        std::fs::write(&path, &mutated).unwrap();
        let result = store.read(key(1), ObjectKind::Checkpoint, TY);
        if mutated == file {
            prop_assert_eq!(&result.unwrap().1, &data);
        } else {
            prop_assert!(matches!(result, Err(StoreError::Corrupt { .. })), "{:?}", result);
        }
        let _ = store.probe(key(1));
        prop_assert!(files_under(&dir.path().join("tmp")).is_empty());
    }

    #[test]
    fn random_files_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..512), magic in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let store = open_with(dir.path(), None);
        let info = put(&store, key(1), ObjectKind::Checkpoint, b"x").unwrap();
        let mut file = bytes.clone();
        if magic && file.len() >= 10 {
            file[..8].copy_from_slice(b"STPSTONE");
            file[8..10].copy_from_slice(&crate::plan::FORMAT_VERSION.to_le_bytes());
        }
        std::fs::write(dir.path().join(&info.path), &file).unwrap();
        let result = store.read(key(1), ObjectKind::Checkpoint, TY);
        prop_assert!(matches!(result, Err(StoreError::Corrupt { .. })), "{:?}", result);
        let decoded = decode_object(file, None);
        prop_assert!(matches!(decoded, Err(StoreError::Corrupt { .. })), "{:?}", decoded);
    }
}
