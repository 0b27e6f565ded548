//! Row 11 of the reliability matrix: two real processes on one checkpoint directory. The second
//! gets "locked by pid N" naming the holder; after a kill -9 of the holder the lock is free.

mod reliability_util;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use reliability_util::{chain_cmd, chain_expected, run_chain, sum_of};

const ARGS: [&str; 6] = ["--rows", "2000", "--steps", "12", "--every", "3"];

/// Start a slow holder (each adjust step sleeps) and wait until it has recorded its pid in
/// `LOCK` (it then holds the lock). The wait is bounded so a broken holder fails the test
/// instead of hanging it.
fn start_holder(dir: &Path) -> Child {
    let mut args = ARGS.to_vec();
    args.extend(["--sleep-ms", "1000"]);
    let mut holder = chain_cmd(dir, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = holder.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(dir.join("LOCK")).unwrap_or_default();
        if text.trim() == pid {
            return holder;
        }
        if let Some(status) = holder.try_wait().unwrap() {
            panic!("the holder exited ({status}) before taking the lock");
        }
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_process_gets_locked_by_pid_and_the_lock_is_free_after_kill9() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = start_holder(dir.path());
    let second = run_chain(dir.path(), &ARGS);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("locked by pid {}", holder.id())),
        "names the holder's pid {}: {stderr}",
        holder.id()
    );
    assert!(stderr.contains("--wait"), "says how to fix it: {stderr}");
    assert!(
        holder.try_wait().unwrap().is_none(),
        "the holder is still running"
    );

    holder.kill().unwrap(); // SIGKILL: no destructor, no unlock; the kernel drops the flock
    holder.wait().unwrap();
    let after = run_chain(dir.path(), &ARGS);
    assert_eq!(
        sum_of(&after),
        chain_expected(2000, 12),
        "the lock is free after the crash"
    );
    let recorded = std::fs::read_to_string(dir.path().join("LOCK")).unwrap();
    assert_ne!(
        recorded.trim(),
        holder.id().to_string(),
        "the dead holder's pid was overwritten by the next holder"
    );
}

#[test]
fn wait_blocks_until_the_holder_dies_then_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = start_holder(dir.path());
    let mut args = ARGS.to_vec();
    args.push("--wait");
    let waiter = chain_cmd(dir.path(), &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The holder sleeps a second per step: the waiter is still blocked on the lock a moment
    // later (if it were not blocking it would already have failed with "locked by pid").
    std::thread::sleep(Duration::from_millis(500));
    let mut waiter = waiter;
    assert!(waiter.try_wait().unwrap().is_none(), "--wait blocks");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(sum_of(&out), chain_expected(2000, 12));
}
