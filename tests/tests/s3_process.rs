//! Real processes on an S3 checkpoint store (SeaweedFS): a run killed in one working directory
//! resumes in another with its own spill directory; the lease (RELIABILITY row 26) refuses a
//! second run naming host, pid and expiry, and is taken over after a kill -9 only once expired;
//! two processes committing the same checkpoints (row 25) both get the right answer; the
//! credentials never appear in any output or report.

mod s3_util;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use s3_util::Server;
use stepstone::store::Store;

const CHAIN: &str = env!("CARGO_BIN_EXE_chain");
const ARGS: [&str; 8] = [
    "--rows", "3000", "--steps", "12", "--every", "3", "--budget", "64KiB",
];

fn chain(server: &Server, url: &str, cwd: &Path, extra: &[&str]) -> Command {
    let mut cmd = server.command(CHAIN);
    cmd.current_dir(cwd)
        .arg("--dir")
        .arg(url)
        .args(ARGS)
        .args(extra);
    cmd
}

fn field(out: &Output, name: &str) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "chain did not print its JSON line ({e}); {:?}\nstdout: {text}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    value[name].clone()
}

/// The answer of a fresh run on a local directory.
fn expected() -> serde_json::Value {
    let dir = s3_util::tempdir();
    let out = Command::new(CHAIN)
        .arg("--dir")
        .arg(dir.path().join("ck"))
        .args(ARGS)
        .output()
        .expect("local chain");
    field(&out, "sum")
}

fn assert_no_secret(server: &Server, what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.contains(server.secret()),
        "the secret key leaked into {what}: {text}"
    );
}

fn check_outputs(server: &Server, out: &Output) {
    assert_no_secret(server, "stdout", &out.stdout);
    assert_no_secret(server, "stderr", &out.stderr);
}

#[test]
fn a_run_killed_in_one_directory_resumes_in_another_from_the_same_prefix() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("anywhere");
    let (machine_a, machine_b) = (s3_util::tempdir(), s3_util::tempdir());
    let crashed = chain(&server, &url, machine_a.path(), &["--abort-after", "7"])
        .output()
        .expect("spawn");
    assert!(
        !crashed.status.success(),
        "the first run aborts after step 7"
    );
    check_outputs(&server, &crashed);
    // Nothing of the store lives in the working directory.
    assert_eq!(std::fs::read_dir(machine_a.path()).expect("ls").count(), 0);

    // Machine B: another working directory, its own spill directory; it waits out the lease
    // the aborted run could not release.
    let resumed = chain(&server, &url, machine_b.path(), &["--wait"])
        .output()
        .expect("spawn");
    check_outputs(&server, &resumed);
    assert_eq!(
        field(&resumed, "sum"),
        expected(),
        "right answer after resuming"
    );
    let reused = field(&resumed, "steps_reused")
        .as_u64()
        .expect("steps_reused");
    assert!(
        reused > 0,
        "checkpoints of the killed run were reused: {reused}"
    );

    // The reports are on S3 and hold no credentials.
    let store = Store::open_read_only_with_backend(server.backend_at(&url, None), Path::new(&url))
        .expect("open");
    let runs = store.list_runs().expect("runs");
    assert!(!runs.is_empty());
    for run in runs {
        if let Some(report) = store.read_run_file(&run, "report.json").expect("read") {
            assert_no_secret(&server, "a run report", &report);
            let text = String::from_utf8_lossy(&report);
            assert!(text.contains(&url), "the report names the store");
        }
    }
}

/// Start a slow holder and wait until its lease object exists.
fn start_holder(server: &Server, url: &str, cwd: &Path) -> Child {
    let mut holder = chain(server, url, cwd, &["--sleep-ms", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn holder");
    let raw = server.backend_at(url, None);
    let pid = format!("\"pid\":{}", holder.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lease = raw.raw_get("LOCK").unwrap_or_default();
        if String::from_utf8_lossy(&lease).contains(&pid) {
            return holder;
        }
        if let Some(status) = holder.try_wait().expect("try_wait") {
            panic!("the holder exited ({status}) before taking the lease");
        }
        assert!(Instant::now() < deadline, "the holder never took the lease");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_lease_refuses_a_second_run_and_a_dead_local_holders_lease_is_taken_at_once() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("lease");
    let cwd = s3_util::tempdir();
    let mut holder = start_holder(&server, &url, cwd.path());

    let refused = chain(&server, &url, cwd.path(), &[])
        .output()
        .expect("spawn");
    check_outputs(&server, &refused);
    let stderr = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(!refused.status.success());
    assert!(
        stderr.contains(&format!("checkpoint store {url} is locked by host "))
            && stderr.contains(&format!(" pid {} until ", holder.id())),
        "{stderr}"
    );

    // kill -9 on this machine: the lease is not released, but its holder is visibly dead
    // (same boot, pid gone), so the next run takes it at once instead of waiting out its
    // lifetime (issue 21). A holder on another host is waited out: `s3_lease.rs`.
    holder.kill().expect("kill -9");
    let _ = holder.wait();
    let next = chain(&server, &url, cwd.path(), &[])
        .output()
        .expect("spawn");
    check_outputs(&server, &next);
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_eq!(field(&next, "sum"), expected());
}

#[test]
fn two_processes_committing_the_same_checkpoints_both_get_the_right_answer() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("two");
    let (a, b) = (s3_util::tempdir(), s3_util::tempdir());
    let first = chain(&server, &url, a.path(), &["--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let second = chain(&server, &url, b.path(), &["--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (first, second) = (
        first.wait_with_output().expect("first"),
        second.wait_with_output().expect("second"),
    );
    check_outputs(&server, &first);
    check_outputs(&server, &second);
    let want = expected();
    assert_eq!(field(&first, "sum"), want);
    assert_eq!(field(&second, "sum"), want);
    let store = Store::open_read_only_with_backend(server.backend_at(&url, None), Path::new(&url))
        .expect("open");
    let mut keys = Vec::new();
    for entry in store.list_objects().expect("list") {
        let info = entry.expect("every object valid");
        store.verify(info.key).expect("verified");
        keys.push(info.key);
    }
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "one object per checkpoint");
    assert!(n > 0);
}

#[test]
fn bad_credentials_fail_clearly_without_printing_the_secret() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("denied");
    let cwd = s3_util::tempdir();
    let wrong = "wrong-secret-also-never-printed";
    let out = chain(&server, &url, cwd.path(), &[])
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .output()
        .expect("spawn");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(wrong) && !stderr.contains(server.secret()),
        "{stderr}"
    );
    assert!(stderr.contains(&url), "the error names the store: {stderr}");
}
