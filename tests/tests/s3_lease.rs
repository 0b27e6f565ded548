//! The lease of an S3 checkpoint store, in-process (RELIABILITY row 26; the kill -9 case is in
//! `s3_process.rs`): refused while held, naming host, pid and expiry; free once released; an
//! expired lease taken over by exactly one of several concurrent takers.

mod s3_util;

use std::path::Path;
use std::sync::Arc;

use s3_util::Server;
use stepstone::store::{Backend, Store, StoreError, StoreOptions};

fn open(backend: Arc<dyn Backend>, root: &Path, run: &str) -> Result<Store, StoreError> {
    Store::open_with_backend(backend, root, run, StoreOptions::default())
}

#[test]
fn a_held_lease_refuses_a_second_store_naming_host_pid_and_expiry() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("lease");
    let first = server.backend_at(&url, None);
    let root = first.root();
    let holder = open(first, &root, "holder").expect("first run");
    let err = open(server.backend_at(&url, None), &root, "second").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Leased { .. }), "{err:?}");
    assert!(
        text.contains(&format!("checkpoint store {url} is locked by host "))
            && text.contains(&format!(" pid {} until ", std::process::id())),
        "{text}"
    );
    let err = Store::open_maintenance_with_backend(server.backend_at(&url, None), &root, false)
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Leased { .. }),
        "gc is refused too: {err:?}"
    );
    drop(holder);
    open(server.backend_at(&url, None), &root, "second").expect("free once released");
}

#[test]
fn an_expired_lease_is_taken_over_by_exactly_one_of_several_takers() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("takers");
    let raw = server.backend_at(&url, None);
    let expired = br#"{"host":"gone-host","pid":4242,"expires_unix_ms":1}"#;
    raw.raw_put("LOCK", expired.to_vec())
        .expect("an expired lease");
    let root = raw.root();
    let barrier = std::sync::Barrier::new(4);
    let results: Vec<Result<Store, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (server, root, barrier, url) = (&server, &root, &barrier, &url);
                scope.spawn(move || {
                    let backend = server.backend_at(url, None);
                    barrier.wait();
                    open(backend, root, &format!("taker-{i}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one taker wins: {results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, StoreError::Leased { .. }), "{e:?}");
            assert!(
                !e.to_string().contains("gone-host"),
                "the losers see the winner: {e}"
            );
        }
    }
}

/// Issue 21, item 9: a lease whose holder ran on this boot of this machine and is gone is taken
/// at once; one of another host (another boot) is waited out until it expires.
#[test]
fn a_dead_local_holders_lease_is_taken_at_once_another_hosts_is_not() {
    let Some(server) = Server::start() else {
        return;
    };
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .expect("boot id")
        .trim()
        .to_string();
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead_pid = child.id();
    child.wait().expect("wait");
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 600_000;
    let lease = |host: &str, boot: &str| {
        format!(r#"{{"host":"{host}","pid":{dead_pid},"expires_unix_ms":{until},"boot":"{boot}"}}"#)
    };

    let url = server.url("dead-holder");
    let raw = server.backend_at(&url, None);
    raw.raw_put("LOCK", lease("this-host", &boot).into_bytes())
        .expect("a lease of a dead local process");
    let root = raw.root();
    open(server.backend_at(&url, None), &root, "next").expect("taken at once");

    let url = server.url("other-host");
    let raw = server.backend_at(&url, None);
    raw.raw_put("LOCK", lease("other-host", "another-boot").into_bytes())
        .expect("a lease of another host");
    let root = raw.root();
    let err = open(server.backend_at(&url, None), &root, "next").unwrap_err();
    assert!(
        err.to_string().contains("locked by host other-host"),
        "{err}"
    );
}
