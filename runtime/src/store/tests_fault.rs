//! Fault tests through [`FaultFs`]: ENOSPC/EIO at every write and sync, short writes, and power
//! loss at every sync point. The directory must always hold the old state or the new one.

use std::path::Path;
use std::sync::Arc;

use super::fault::{FaultError, FaultFs, FaultOp, PowerLoss};
use super::tests::{TY, files_under, key, payload, put};
use super::*;

fn open_faulty(dir: &Path, compression: Option<Compression>) -> (Store, FaultFs) {
    let fs = FaultFs::new(Arc::new(LocalFs));
    let options = StoreOptions {
        checkpoint_compression: compression,
        spill_compression: compression,
        ..StoreOptions::default()
    };
    let store = Store::open_with_backend(Arc::new(fs.clone()), dir, "run-f", options).unwrap();
    (store, fs)
}

/// How many `op`s one checkpoint write of `bytes` performs on a clean directory.
fn ops_of_one_write(op: FaultOp, kind: ObjectKind, bytes: &[u8]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open_faulty(dir.path(), None);
    let before = fs.count(op);
    put(&store, key(1), kind, bytes).unwrap();
    fs.count(op) - before
}

#[test]
fn enospc_or_eio_at_every_write_leaves_no_partial_object() {
    let bytes = payload(700_000, 8);
    let writes = ops_of_one_write(FaultOp::Write, ObjectKind::Checkpoint, &bytes);
    assert!(
        writes >= 3,
        "a 700 kB object should take several writes, took {writes}"
    );
    for kind in [ObjectKind::Checkpoint, ObjectKind::Spill] {
        for n in 1..=writes {
            for error in [FaultError::NoSpace, FaultError::Io] {
                let dir = tempfile::tempdir().unwrap();
                let (store, fs) = open_faulty(dir.path(), None);
                fs.fail(FaultOp::Write, fs.count(FaultOp::Write) + n, error);
                let err = put(&store, key(1), kind, &bytes).unwrap_err();
                let text = err.to_string();
                assert!(matches!(err, StoreError::Io { op: "write", .. }), "{err:?}");
                assert!(text.contains("tmp/") && text.contains("bytes"), "{text}");
                assert!(text.contains(&key(1).fingerprint.to_hex()), "{text}");
                if error == FaultError::NoSpace {
                    assert!(text.contains("free disk space"), "{text}");
                }
                assert_eq!(
                    files_under(&dir.path().join("objects")),
                    Vec::<PathBuf>::new()
                );
                assert_eq!(files_under(&dir.path().join("tmp")), Vec::<PathBuf>::new());
                drop(store);
                let later = tests::open(dir.path());
                put(&later, key(1), kind, &bytes).unwrap();
                assert_eq!(later.read(key(1), kind, TY).unwrap().1, bytes);
            }
        }
    }
}

#[test]
fn eio_on_the_checkpoint_fsync_fails_that_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open_faulty(dir.path(), None);
    fs.fail(FaultOp::Sync, fs.count(FaultOp::Sync) + 1, FaultError::Io);
    let err = put(&store, key(1), ObjectKind::Checkpoint, b"data").unwrap_err();
    assert!(matches!(err, StoreError::Io { op: "fsync", .. }), "{err:?}");
    assert_eq!(store.probe(key(1)).unwrap(), None);
    assert_eq!(files_under(&dir.path().join("tmp")), Vec::<PathBuf>::new());
    put(&store, key(1), ObjectKind::Checkpoint, b"data").unwrap();
    assert_eq!(
        store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
        b"data"
    );
}

#[test]
fn short_writes_still_round_trip() {
    for compression in [None, Some(Compression::Zstd(1))] {
        let dir = tempfile::tempdir().unwrap();
        let (store, fs) = open_faulty(dir.path(), compression);
        fs.short_writes(true);
        let bytes = payload(300_000, 6);
        put(&store, key(1), ObjectKind::Checkpoint, &bytes).unwrap();
        store.write_run_file("report.json", b"{}").unwrap();
        assert_eq!(
            store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
            bytes
        );
    }
}

#[test]
fn power_loss_keeps_only_synced_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (store, fs) = open_faulty(dir.path(), None);
    put(&store, key(1), ObjectKind::Checkpoint, b"durable").unwrap();
    put(&store, key(2), ObjectKind::Spill, b"volatile").unwrap();
    drop(store);
    fs.power_loss(PowerLoss::DropUnsynced).unwrap();
    let store = tests::open(dir.path());
    assert_eq!(
        store.read(key(1), ObjectKind::Checkpoint, TY).unwrap().1,
        b"durable"
    );
    assert_eq!(store.probe(key(2)).unwrap(), None);
}

/// After a crash at any point of a checkpoint write over an existing spill, followed by a power
/// loss, the block reads as the old spill or the new checkpoint, or (torn unsynced data) is
/// reported corrupt — never anything else.
fn crash_at_every_sync(mode: PowerLoss, op: FaultOp) {
    let (mut olds, mut news) = (0, 0);
    let new = payload(20_000, 2);
    let total = ops_of_one_write(op, ObjectKind::Checkpoint, &new) + 1;
    for n in 1..=total {
        let dir = tempfile::tempdir().unwrap();
        put(
            &tests::open(dir.path()),
            key(1),
            ObjectKind::Spill,
            b"old spill",
        )
        .unwrap();
        let (store, fs) = open_faulty(dir.path(), None);
        fs.fail(op, fs.count(op) + n, FaultError::Io);
        let result = put(&store, key(1), ObjectKind::Checkpoint, &new);
        drop(store);
        fs.power_loss(mode).unwrap();
        let store = tests::open(dir.path());
        match store.read(key(1), ObjectKind::Checkpoint, TY) {
            Ok((info, bytes)) if info.kind == ObjectKind::Spill => {
                assert_eq!(bytes, b"old spill");
                olds += 1;
            }
            Ok((_, bytes)) => {
                assert_eq!(bytes, new, "crash at {op:?} {n}");
                news += 1;
            }
            Err(StoreError::Corrupt { .. }) => assert!(matches!(mode, PowerLoss::TearUnsynced(_))),
            Err(e) => panic!("crash at {op:?} {n}: {e}"),
        }
        if result.is_ok() {
            let info = store.probe(key(1)).unwrap().unwrap();
            assert_eq!(
                info.kind,
                ObjectKind::Checkpoint,
                "a reported success must survive power loss"
            );
        }
        assert_eq!(files_under(&dir.path().join("tmp")), Vec::<PathBuf>::new());
    }
    assert!(
        olds > 0 && news > 0,
        "{op:?}: {olds} old, {news} new outcomes"
    );
}

#[test]
fn crash_and_power_loss_at_every_sync_keep_old_or_new_state() {
    crash_at_every_sync(PowerLoss::DropUnsynced, FaultOp::Sync);
    crash_at_every_sync(PowerLoss::TearUnsynced(7), FaultOp::Sync);
}

#[test]
fn crash_and_power_loss_at_every_write_or_rename_keep_old_or_new_state() {
    crash_at_every_sync(PowerLoss::DropUnsynced, FaultOp::Write);
    crash_at_every_sync(PowerLoss::TearUnsynced(3), FaultOp::Rename);
}
