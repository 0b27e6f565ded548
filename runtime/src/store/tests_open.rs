//! Tests of opening a checkpoint directory: layout, lock, orphan cleanup, read-only inspection.

use std::path::PathBuf;

use super::tests::{key, open, put, tempdir};
use super::*;

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

/// Without the `s3` feature an `s3://` store is recognized and refused, for a run and for
/// inspection alike, with the feature to add; nothing is created locally.
#[cfg(not(feature = "s3"))]
#[test]
fn s3_url_without_the_feature_is_refused_with_the_fix() {
    let cwd_entries = || std::fs::read_dir(".").unwrap().count();
    let before = cwd_entries();
    let url = std::path::Path::new("s3://bucket/some/prefix/");
    let errors = [
        Store::open(url, "run-1", StoreOptions::default()).unwrap_err(),
        Store::open_read_only(url).unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(&err, StoreError::S3NotBuilt { url } if url == "s3://bucket/some/prefix"),
            "{err:?}"
        );
        let text = err.to_string();
        for part in [
            "checkpoint directory s3://bucket/some/prefix:",
            "built without the `s3` feature",
            "features = [\"s3\"]",
            "--features s3",
        ] {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
    }
    assert_eq!(cwd_entries(), before, "something was created locally");
}
