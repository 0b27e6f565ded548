//! Helpers: a `stepstone ui` process on a free loopback port, raw HTTP requests (so a path
//! like `/../x` reaches the server as typed), headless Chromium, and pipelines that make the
//! runs the tests look at.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stepstone::{Budget, Handle, Pipeline, Policy, RunConfig};

/// `CI=true`: a missing browser or S3 server fails instead of skipping.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Say loudly that a test skipped (straight to stderr: the harness hides a passing test's
/// `eprintln!`).
pub(crate) fn skip(test: &str, why: &str) {
    assert!(!in_ci(), "CI=true and {why}: {test} must run in CI");
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n*** SKIPPED {test}: {why} ***\n"
    );
}

/// A running `stepstone ui`, killed when dropped.
pub(crate) struct UiServer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl UiServer {
    /// `stepstone ui --dir DIR --bind 127.0.0.1:0` with `env` added; waits for its URL.
    pub(crate) fn start(dir: &str, env: &[(&str, String)]) -> UiServer {
        UiServer::start_with(dir, &[], env)
    }

    /// [`UiServer::start`] with more arguments.
    pub(crate) fn start_with(dir: &str, args: &[&str], env: &[(&str, String)]) -> UiServer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stepstone"));
        command
            .args(["ui", "--dir", dir, "--bind", "127.0.0.1:0"])
            .args(args)
            .env_remove("STEPSTONE_CHECKPOINT_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start stepstone ui");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the URL line");
        let addr = line
            .trim()
            .strip_prefix("http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("stepstone ui printed {line:?}, not its URL"))
            .to_string();
        UiServer { child, addr }
    }

    /// `http://ADDR/path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET `path` exactly as given, with `Host: ADDR`.
    pub(crate) fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &self.addr.clone())
    }

    /// `method path` with the given Host header.
    pub(crate) fn request(&self, method: &str, path: &str, host: &str) -> Reply {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to stepstone ui");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        Reply::parse(&raw)
    }

    /// GET `path` and parse the JSON body (asserting 200).
    pub(crate) fn json(&self, path: &str) -> serde_json::Value {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", reply.body))
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// Header lines, lowercased names: `name: value`.
    pub(crate) headers: Vec<String>,
    pub(crate) body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .map(|l| match l.split_once(':') {
                Some((k, v)) => format!("{}: {}", k.to_ascii_lowercase(), v.trim()),
                None => l.to_string(),
            })
            .collect();
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The value of header `name` (lowercase).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find_map(|h| h.strip_prefix(&format!("{name}: ")))
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The DOM of `url` after its scripts ran, from headless Chromium; `None` (after a loud
/// message) when there is no browser outside CI.
pub(crate) fn browser_dom(test: &str, url: &str) -> Option<String> {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        skip(
            test,
            "no /usr/bin/chromium (apt-get install -y --no-install-recommends chromium)",
        );
        return None;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        let _ = stdout.read_to_string(&mut dom);
        dom
    });
    let started = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish loading {url} in 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(reader.join().unwrap())
}

/// How many times `needle` occurs in `haystack`.
pub(crate) fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The configuration of the tests' own pipelines on `dir`.
pub(crate) fn config(name: &str, dir: &Path) -> RunConfig {
    RunConfig::new(name)
        .budget("64MiB".parse::<Budget>().unwrap())
        .checkpoint_dir(dir)
        .jobs(1)
}

/// A partitioned run: `src` (4 partitions) → `square` (per partition) → `total` (checkpoint).
pub(crate) fn partitioned_run(config: &RunConfig) -> stepstone::RunReport {
    let out = stepstone::run(
        config,
        |p: &mut Pipeline| -> stepstone::Result<Handle<u64>> {
            let src = p
                .step("src")
                .code("1")
                .partitions(4)
                .run(|a| Ok(a.partition().range(4_000).collect::<Vec<u64>>()));
            let sq = p.step("square").code("1").input(&src).run(|a| {
                Ok(a.get::<Vec<u64>>(0)?
                    .iter()
                    .map(|v| v * v)
                    .collect::<Vec<u64>>())
            });
            Ok(p.step("total")
                .code("1")
                .policy(Policy::Checkpoint)
                .lazy_inputs(&[sq])
                .run(|a| {
                    let mut total = 0u64;
                    for part in a.parts::<Vec<u64>>(0, 1) {
                        total = total.wrapping_add(part?.iter().sum::<u64>());
                    }
                    Ok(total)
                }))
        },
    )
    .expect("the partitioned run completes");
    out.report
}
