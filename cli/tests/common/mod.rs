//! Helpers shared by the CLI integration tests: run the built binary, make archetype folders,
//! and check that nothing outside a destination was touched.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `stepstone` binary built for these tests, with a clean environment for archetype paths.
pub(crate) fn stepstone() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stepstone"));
    command
        .env_remove("STEPSTONE_ARCHETYPE_PATH")
        .env_remove("STEPSTONE_ARCHETYPES")
        .stdin(Stdio::null());
    command
}

/// Run `stepstone ARGS` and return its output.
pub(crate) fn run(args: &[&str]) -> Output {
    stepstone().args(args).output().unwrap()
}

/// Exit code of an output (-1 if killed by a signal).
pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Stderr as text.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Stdout as text.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A minimal manifest header with `status`.
pub(crate) fn header(name: &str, status: &str) -> String {
    format!(
        "[archetype]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"test\"\nowner = \"tests\"\nstatus = \"{status}\"\n"
    )
}

/// Write an archetype folder at `dir` with `manifest` and `files` (path, bytes).
pub(crate) fn archetype(dir: &Path, manifest: &str, files: &[(&str, &[u8])]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("archetype.toml"), manifest).unwrap();
    for (path, bytes) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir.to_path_buf()
}

/// A scratch area: `root/sentinel.txt` (must stay untouched) and `root/out/` for destinations.
pub(crate) struct Scratch {
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) const SENTINEL: &str = "sentinel: must never change\n";

impl Scratch {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sentinel.txt"), SENTINEL).unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        Scratch { dir }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn dest(&self) -> PathBuf {
        self.root().join("out/dest")
    }

    /// Every path below the root (sorted, relative), not following symlinks.
    pub(crate) fn listing(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                out.push(path.strip_prefix(base).unwrap().display().to_string());
                if entry.file_type().unwrap().is_dir() {
                    walk(base, &path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root(), self.root(), &mut out);
        out.sort();
        out
    }

    /// The sentinel is unchanged and nothing but `before` exists.
    pub(crate) fn assert_untouched(&self, before: &[String]) {
        let sentinel = std::fs::read_to_string(self.root().join("sentinel.txt")).unwrap();
        assert_eq!(sentinel, SENTINEL, "sentinel file changed");
        assert_eq!(
            self.listing(),
            before,
            "files appeared or disappeared outside the destination"
        );
    }
}
