//! Behaviour tests of the store: round trips, the commit rules, lock, cleanup, inspection.

use std::path::{Path, PathBuf};

use super::*;

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
    let footprint = Footprint {
        requested: bytes.len() as u64,
        resident: 2 * bytes.len() as u64,
        allocations: 1,
    };
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

fn tempdir() -> tempfile::TempDir {
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
fn open_creates_layout_and_records_pid() {
    let dir = tempdir();
    let store = open(dir.path());
    for sub in ["objects", "tmp", "runs/run-1"] {
        assert!(dir.path().join(sub).is_dir(), "{sub}");
    }
    let lock = std::fs::read_to_string(dir.path().join("LOCK")).unwrap();
    assert_eq!(lock.trim(), std::process::id().to_string());
    assert_eq!(store.root(), dir.path());
    assert_eq!(store.run_dir(), Some(dir.path().join("runs/run-1")));
    let hex = key(7).fingerprint.to_hex();
    let info = put(&store, key(7), ObjectKind::Checkpoint, b"abc").unwrap();
    assert_eq!(
        info.path,
        PathBuf::from(format!("objects/{}/{hex}.0", &hex[..2]))
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
fn second_open_is_locked_with_our_pid_until_dropped() {
    let dir = tempdir();
    let first = open(dir.path());
    let err = Store::open(dir.path(), "run-2", StoreOptions::default()).unwrap_err();
    let pid = std::process::id();
    assert!(
        matches!(err, StoreError::Locked { pid: p, .. } if p == pid),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("locked by pid {pid}")),
        "{err}"
    );
    drop(first);
    Store::open(dir.path(), "run-2", StoreOptions::default()).unwrap();
}

#[test]
fn wait_for_lock_gets_the_lock_once_released() {
    let dir = tempdir();
    let first = open(dir.path());
    let path = dir.path().to_path_buf();
    let waiter = std::thread::spawn(move || {
        let options = StoreOptions {
            wait_for_lock: true,
            ..StoreOptions::default()
        };
        Store::open(&path, "run-2", options).map(|s| s.run_id().map(str::to_string))
    });
    drop(first);
    assert_eq!(waiter.join().unwrap().unwrap(), Some("run-2".to_string()));
}

#[test]
fn open_removes_orphans_and_old_persist_folders_but_keeps_spills() {
    let dir = tempdir();
    let spill = {
        let store = open(dir.path());
        put(&store, key(1), ObjectKind::Persist, b"p").unwrap();
        put(&store, key(2), ObjectKind::Spill, b"s").unwrap()
    };
    std::fs::write(dir.path().join("tmp/abc.0.Checkpoint.1-0.tmp"), b"half").unwrap();
    std::fs::create_dir_all(dir.path().join("tmp/stray-dir")).unwrap();
    std::fs::write(dir.path().join("runs/run-1/report.json"), b"{}").unwrap();
    let store = Store::open(dir.path(), "run-2", StoreOptions::default()).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    assert!(!dir.path().join("runs/run-1/persist").exists());
    assert!(dir.path().join("runs/run-1/report.json").exists());
    assert_eq!(store.probe(key(2)).unwrap(), Some(spill));
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
fn read_only_store_lists_verifies_and_refuses_writes() {
    let dir = tempdir();
    let (good, bad) = {
        let store = open(dir.path());
        (
            put(&store, key(1), ObjectKind::Checkpoint, b"good").unwrap(),
            put(&store, key(2), ObjectKind::Spill, b"bad").unwrap(),
        )
    };
    let bad_path = dir.path().join(&bad.path);
    let mut bytes = std::fs::read(&bad_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&bad_path, bytes).unwrap();
    let stray = dir.path().join(good.path.parent().unwrap()).join("stray");
    std::fs::write(stray, b"?").unwrap();
    let store = Store::open_read_only(dir.path()).unwrap();
    let listed = store.list_objects().unwrap();
    assert_eq!(listed.len(), 3);
    let ok: Vec<_> = listed
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    assert!(ok.contains(&good) && ok.contains(&bad), "{listed:?}");
    assert!(
        listed.iter().any(
            |r| matches!(r, Err(StoreError::Corrupt { reason, .. }) if reason.contains("stray"))
        )
    );
    assert_eq!(store.verify(key(1)).unwrap(), good);
    assert!(matches!(
        store.verify(key(2)),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        put(&store, key(3), ObjectKind::Checkpoint, b"x"),
        Err(StoreError::ReadOnly { .. })
    ));
    assert!(matches!(
        store.write_run_file("x", b"x"),
        Err(StoreError::ReadOnly { .. })
    ));
    assert!(!dir.path().join("objects").join("nope").exists());
    assert!(matches!(
        Store::open_read_only(&dir.path().join("nope")),
        Err(StoreError::Io { .. })
    ));
}
