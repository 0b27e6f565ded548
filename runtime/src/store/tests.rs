//! Behaviour tests of the store: round trips, the commit rules, lock, cleanup, inspection.

use std::path::{Path, PathBuf};

use super::*;
use crate::plan::Fingerprint;

pub(super) const TY: &str = "alloc::vec::Vec<u64>";

pub(super) fn key(n: u128) -> BlockKey {
    BlockKey {
        fingerprint: Fingerprint(n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)),
        part: 0,
    }
}

pub(super) fn open(dir: &Path) -> Store {
    open_with(dir, None)
}

pub(super) fn open_with(dir: &Path, compression: Option<Compression>) -> Store {
    let options = StoreOptions {
        wait_for_lock: false,
        checkpoint_compression: compression,
        spill_compression: compression,
        number_runs: false,
        attach: false,
    };
    match Store::open(dir, "run-1", options) {
        Ok(store) => store,
        Err(e) => panic!("open {}: {e}", dir.display()),
    }
}

/// Some bytes that compress a little (so zstd paths are exercised with real frames).
pub(super) fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 4 == 0 {
                x as u8
            } else {
                (i / 64 % 251) as u8
            }
        })
        .collect()
}

/// Write `bytes` in chunks of 1000 through the encoder callback.
pub(super) fn put(
    store: &Store,
    key: BlockKey,
    kind: ObjectKind,
    bytes: &[u8],
) -> Result<ObjectInfo, StoreError> {
    let footprint = Footprint::new(bytes.len() as u64, 2 * bytes.len() as u64, 1);
    store.write(key, kind, TY, footprint, &mut |w| {
        bytes
            .chunks(1000)
            .try_for_each(|c| w.write_all(c))
            .map_err(|e| e.to_string())
    })
}

pub(super) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_under(&path))
            } else {
                out.push(path)
            }
        }
    }
    out.sort();
    out
}

pub(super) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn round_trip_every_kind_with_and_without_zstd() {
    for compression in [
        None,
        Some(Compression::None),
        Some(Compression::Zstd(1)),
        Some(Compression::Zstd(9)),
    ] {
        let dir = tempdir();
        let store = open_with(dir.path(), compression);
        for (i, kind) in [
            ObjectKind::Checkpoint,
            ObjectKind::Spill,
            ObjectKind::Persist,
        ]
        .into_iter()
        .enumerate()
        {
            let bytes = payload(1_000_000 + i, i as u64);
            let written = put(&store, key(i as u128), kind, &bytes).unwrap();
            assert_eq!(written.kind, kind);
            assert_eq!(written.raw_len, bytes.len() as u64);
            assert_eq!(written.footprint.resident, 2 * bytes.len() as u64);
            let on_disk = std::fs::metadata(dir.path().join(&written.path))
                .unwrap()
                .len();
            assert_eq!(written.file_len, on_disk);
            let (info, back) = store.read(key(i as u128), kind, TY).unwrap();
            assert_eq!(info, written);
            assert_eq!(back, bytes, "{kind:?} {compression:?}");
            if matches!(compression, Some(Compression::Zstd(_))) {
                assert!(
                    info.payload_len < info.raw_len,
                    "zstd should shrink {info:?}"
                );
            }
        }
        assert_eq!(files_under(&dir.path().join("tmp")), Vec::<PathBuf>::new());
    }
}

#[test]
fn empty_payload_round_trips() {
    let dir = tempdir();
    let store = open_with(dir.path(), Some(Compression::Zstd(1)));
    put(&store, key(1), ObjectKind::Checkpoint, &[]).unwrap();
    assert_eq!(
        store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
        Vec::<u8>::new()
    );
}

#[test]
fn checkpoint_first_writer_wins_without_encoding_again() {
    let dir = tempdir();
    let store = open(dir.path());
    let first = put(&store, key(1), ObjectKind::Checkpoint, b"first").unwrap();
    let mut called = false;
    let second = store
        .write(
            key(1),
            ObjectKind::Checkpoint,
            TY,
            Footprint::default(),
            &mut |w| {
                called = true;
                w.write_all(b"second").map_err(|e| e.to_string())
            },
        )
        .unwrap();
    assert!(
        !called,
        "the encoder of a duplicate checkpoint must not run"
    );
    assert_eq!(second, first);
    assert_eq!(
        store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
        b"first"
    );
}

#[test]
fn spill_is_replaced_by_checkpoint_but_never_replaces_one() {
    let dir = tempdir();
    let store = open(dir.path());
    put(&store, key(1), ObjectKind::Spill, b"spilled").unwrap();
    assert_eq!(
        store.probe(key(1)).unwrap().unwrap().kind,
        ObjectKind::Spill
    );
    let info = put(&store, key(1), ObjectKind::Checkpoint, b"durable").unwrap();
    assert_eq!(info.kind, ObjectKind::Checkpoint);
    let again = put(&store, key(1), ObjectKind::Spill, b"spilled again").unwrap();
    assert_eq!(again.kind, ObjectKind::Checkpoint);
    store.remove(key(1), ObjectKind::Spill).unwrap();
    let (info, bytes) = store.read(key(1), ObjectKind::Spill, TY).unwrap();
    assert_eq!(
        (info.kind, bytes.as_slice()),
        (ObjectKind::Checkpoint, &b"durable"[..])
    );
    store.remove(key(1), ObjectKind::Checkpoint).unwrap();
    assert_eq!(store.probe(key(1)).unwrap(), None);
    store.remove(key(1), ObjectKind::Checkpoint).unwrap();
}

#[test]
fn corrupt_checkpoint_is_replaced_by_the_next_write() {
    let dir = tempdir();
    let store = open(dir.path());
    let info = put(&store, key(1), ObjectKind::Checkpoint, &payload(5000, 1)).unwrap();
    let path = dir.path().join(&info.path);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        store.read(key(1), ObjectKind::Checkpoint, TY),
        Err(StoreError::Corrupt { .. })
    ));
    put(&store, key(1), ObjectKind::Checkpoint, b"fresh").unwrap();
    assert_eq!(
        store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
        b"fresh"
    );
}

#[test]
fn type_mismatch_is_corrupt_naming_both_types() {
    let dir = tempdir();
    let store = open(dir.path());
    put(&store, key(1), ObjectKind::Checkpoint, b"x").unwrap();
    let err = store
        .read(key(1), ObjectKind::Checkpoint, "alloc::string::String")
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        text.contains(TY) && text.contains("alloc::string::String"),
        "{text}"
    );
}

#[test]
fn object_at_another_blocks_path_is_corrupt() {
    let dir = tempdir();
    let store = open(dir.path());
    let info = put(&store, key(1), ObjectKind::Checkpoint, b"x").unwrap();
    let other = put(&store, key(2), ObjectKind::Checkpoint, b"y").unwrap();
    std::fs::copy(dir.path().join(&info.path), dir.path().join(&other.path)).unwrap();
    let err = store.read(key(2), ObjectKind::Checkpoint, TY).unwrap_err();
    assert!(err.to_string().contains("sits at the path of"), "{err}");
}

#[test]
fn encoder_error_leaves_no_file_behind() {
    for compression in [None, Some(Compression::Zstd(1))] {
        for kind in [
            ObjectKind::Checkpoint,
            ObjectKind::Spill,
            ObjectKind::Persist,
        ] {
            let dir = tempdir();
            let store = open_with(dir.path(), compression);
            let err = store
                .write(key(1), kind, TY, Footprint::default(), &mut |w| {
                    w.write_all(&payload(600_000, 3))
                        .map_err(|e| e.to_string())?;
                    Err("the value refused to serialize".to_string())
                })
                .unwrap_err();
            assert!(matches!(err, StoreError::Encode { .. }), "{err:?}");
            assert!(
                err.to_string().contains("the value refused to serialize"),
                "{err}"
            );
            assert_eq!(
                files_under(&dir.path().join("objects")),
                Vec::<PathBuf>::new()
            );
            assert_eq!(files_under(&dir.path().join("tmp")), Vec::<PathBuf>::new());
            assert_eq!(store.probe_kind(key(1), kind).unwrap(), None);
        }
    }
}

#[test]
fn run_files_are_written_whole_and_names_are_checked() {
    let dir = tempdir();
    let store = open(dir.path());
    let path = store
        .write_run_file("report.json", b"{\"ok\":true}")
        .unwrap();
    assert_eq!(path, dir.path().join("runs/run-1/report.json"));
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"ok\":true}");
    store.write_run_file("report.json", b"{}").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    for bad in ["../escape", "", ".hidden", "a/b"] {
        assert!(
            matches!(store.write_run_file(bad, b"x"), Err(StoreError::Io { .. })),
            "{bad}"
        );
    }
    assert!(!dir.path().join("runs/escape").exists());
    assert_eq!(files_under(&dir.path().join("tmp")), Vec::<PathBuf>::new());
}

#[test]
fn finish_run_removes_only_persist_objects() {
    let dir = tempdir();
    let store = open(dir.path());
    put(&store, key(1), ObjectKind::Persist, b"p").unwrap();
    put(&store, key(2), ObjectKind::Checkpoint, b"c").unwrap();
    assert_eq!(
        store.probe(key(1)).unwrap().unwrap().kind,
        ObjectKind::Persist
    );
    store.finish_run().unwrap();
    store.finish_run().unwrap();
    assert_eq!(store.probe_kind(key(1), ObjectKind::Persist).unwrap(), None);
    assert!(store.probe(key(2)).unwrap().is_some());
    store.remove(key(1), ObjectKind::Persist).unwrap();
}

#[test]
fn probe_reads_only_the_header() {
    let dir = tempdir();
    let store = open(dir.path());
    let info = put(&store, key(1), ObjectKind::Spill, &payload(4000, 2)).unwrap();
    let path = dir.path().join(&info.path);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(store.probe(key(1)).unwrap(), Some(info));
    let err = store.read(key(1), ObjectKind::Spill, TY).unwrap_err();
    assert!(
        err.to_string().contains("payload checksum mismatch"),
        "{err}"
    );
}

#[test]
fn threads_share_one_store() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let dir = tempdir();
    let store = open_with(dir.path(), Some(Compression::Zstd(1)));
    send_sync(&store);
    std::thread::scope(|scope| {
        for t in 0..4u128 {
            let store = &store;
            scope.spawn(move || {
                for i in 0..8u128 {
                    let k = key(t * 100 + i);
                    let kind = if i % 2 == 0 {
                        ObjectKind::Spill
                    } else {
                        ObjectKind::Checkpoint
                    };
                    let bytes = payload(10_000 + i as usize, (t * 100 + i) as u64);
                    put(store, k, kind, &bytes).unwrap();
                    assert_eq!(store.read(k, kind, TY).unwrap().1, bytes);
                }
            });
        }
    });
    let listed = Store::open_read_only(dir.path())
        .unwrap()
        .list_objects()
        .unwrap();
    assert_eq!(listed.iter().filter(|r| r.is_ok()).count(), 32);
}
