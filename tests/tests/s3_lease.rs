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
