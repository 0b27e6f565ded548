//! Helpers shared by the tests that build a real crate against the workspace's runtime and run
//! it as a child process (`macros_probe.rs`, `inputs_probe.rs`): where the workspace is, the one
//! target folder they share (the runtime and its dependencies compile once for all of them), and
//! the offline build. Not a test target itself (a folder with `mod.rs`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test crate lives in the workspace")
        .to_path_buf()
}

/// The target folder every probe crate builds into.
pub(crate) fn target() -> PathBuf {
    workspace().join("target/tests/macros-probe")
}

/// `cargo build --offline` of the crate at `manifest` into [`target`]; returns the binary
/// `bin`. Panics with cargo's stderr when the build fails.
pub(crate) fn build(manifest: &Path, bin: &str) -> PathBuf {
    let target = target();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("spawn cargo");
    assert!(
        out.status.success(),
        "probe build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("debug").join(bin)
}
