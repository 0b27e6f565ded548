//! What the tests that run pipeline binaries as processes (`processes.rs`, `spark.rs`) read
//! back: the JSON line a run prints, its run folders and attempt reports, and the live
//! processes of a run (from `/proc`: zombies, killed but not yet reaped, do not count).

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The last JSON line of a run's standard output (Spark's driver prints its log there too).
pub fn json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "no JSON line ({e}); {:?}\nstdout: {text}\nstderr: {}",
            out.status,
            tail(&out.stderr)
        )
    })
}

/// The last 40 lines of `bytes` that are not a log's INFO or WARN lines.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains(" INFO ") && !l.contains(" WARN "))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The files of `dir` whose name starts with `prefix`, sorted.
pub fn files_starting(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The run folders of a local checkpoint directory, oldest first.
pub fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    files_starting(&dir.join("runs"), "r")
}

/// Live processes whose command line contains every one of `parts`: pid and arguments.
pub fn processes(parts: &[&str]) -> Vec<(u32, Vec<String>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let text = args.join(" ");
        if !parts.iter().all(|p| text.contains(p)) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie {
            out.push((pid, args));
        }
    }
    out
}

/// Pids of live processes whose command line contains every one of `parts`.
pub fn processes_with(parts: &[&str]) -> Vec<u32> {
    processes(parts).into_iter().map(|(pid, _)| pid).collect()
}
