//! A real crate written with the macros, compiled and run as a user would: editing a step's body
//! between two runs recomputes that step and its descendants only (whitespace and comments do
//! not count; `version = "…"` overrides the code hash), and the generated `main()` has the
//! standard command line with exit codes 0 / 1 / 2.
//!
//! Each test writes a small crate into a temporary directory and builds it with the cargo that
//! runs the tests, in `target/tests/macros-probe` (dependencies are compiled once and reused).

mod probe_util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The probe pipeline: `source → double → total`, all checkpoints, plus a sink `check`.
/// `{double}` is replaced by the `double` step (attribute and function).
const TEMPLATE: &str = r#"
use std::process::ExitCode;
use stepstone::prelude::*;

#[step(checkpoint)]
fn source(n: u64) -> Vec<u64> {
    (0..n).collect()
}

{double}

#[step(checkpoint)]
fn total(v: &Vec<u64>) -> u64 {
    v.iter().sum()
}

#[step]
fn check(total: &u64, limit: u64) -> Result<(), String> {
    if *total > limit {
        return Err(format!("total {total} is over the limit {limit}"));
    }
    Ok(())
}

/// Sums doubled numbers.
///
/// (Only in the long help: second paragraph.)
#[pipeline(name = "probe")]
fn probe(
    p: &mut Pipeline,
    /// How many numbers.
    #[default(10)]
    n: u64,
    #[default(1_000_000)] limit: u64,
    /// Ignored label.
    #[default(String::from("none"))]
    label: String,
) -> Result<Handle<u64>> {
    let _ = label;
    let s = source(p, n);
    let d = double(p, &s);
    let t = total(p, &d);
    check(p, &t, limit);
    Ok(t)
}

fn main() -> ExitCode {
    probe::main()
}
"#;

const DOUBLE_V1: &str = "#[step(checkpoint)]\nfn double(v: &Vec<u64>) -> Vec<u64> {\n    v.iter().map(|x| x * 2).collect()\n}";

/// A crate built from [`TEMPLATE`].
struct Probe {
    name: &'static str,
    src: tempfile::TempDir,
}

impl Probe {
    fn new(name: &'static str) -> Probe {
        let src = tempfile::tempdir().unwrap();
        let runtime = probe_util::workspace().join("runtime");
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nstepstone = {{ path = {runtime:?} }}\n\n[workspace]\n"
        );
        std::fs::write(src.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::copy(
            probe_util::workspace().join("Cargo.lock"),
            src.path().join("Cargo.lock"),
        )
        .unwrap();
        std::fs::create_dir(src.path().join("src")).unwrap();
        Probe { name, src }
    }

    /// Build the crate with `double` as given; returns the binary.
    fn build(&self, double: &str) -> PathBuf {
        let main = TEMPLATE.replace("{double}", double);
        std::fs::write(self.src.path().join("src/main.rs"), main).unwrap();
        probe_util::build(&self.src.path().join("Cargo.toml"), self.name)
    }
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

/// Run with `--report`, return (last stdout line, [(step, status)] for source, double, total).
fn run_statuses(bin: &Path, dir: &Path, run: usize) -> (String, Vec<(String, String)>) {
    let report = dir.join(format!("report-{run}.json"));
    let ckpt = dir.join("ckpt");
    let args = [
        "--checkpoint-dir",
        ckpt.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--no-progress",
    ];
    let out = self::run(bin, &args);
    assert!(
        out.status.success(),
        "run {run} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = stdout.lines().last().unwrap_or_default().to_string();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let steps = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] != "check")
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (value, steps)
}

fn expect(value: &str, source: &str, double: &str, total: &str) -> (String, Vec<(String, String)>) {
    let steps = [("source", source), ("double", double), ("total", total)];
    (
        value.to_string(),
        steps
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect(),
    )
}

#[test]
fn editing_a_step_body_recomputes_it_and_its_descendants_only() {
    let probe = Probe::new("probe_edit");
    let dir = tempfile::tempdir().unwrap();
    let bin = probe.build(DOUBLE_V1);
    let all = "executed";
    assert_eq!(
        run_statuses(&bin, dir.path(), 1),
        expect("90", all, all, all)
    );
    assert_eq!(
        run_statuses(&bin, dir.path(), 2),
        expect("90", "skipped", "skipped", "reused")
    );

    let tripled = "#[step(checkpoint)]\nfn double(v: &Vec<u64>) -> Vec<u64> {\n    v.iter().map(|x| x * 3).collect()\n}";
    let bin = probe.build(tripled);
    assert_eq!(
        run_statuses(&bin, dir.path(), 3),
        expect("135", "reused", all, all)
    );

    let reformatted = "/// Now with docs.\n#[step(checkpoint)]\nfn double(\n    v: &Vec<u64>, // input\n) -> Vec<u64> {\n    /* same */ v.iter()\n        .map(|x| x*3)\n        .collect()\n}";
    let bin = probe.build(reformatted);
    assert_eq!(
        run_statuses(&bin, dir.path(), 4),
        expect("135", "skipped", "skipped", "reused")
    );
}

/// Issue 21, item 1: a crate with no `build.rs` (the README's "A pipeline" example) whose step
/// calls a same-crate helper: editing the helper recomputes the step (it used to reuse the
/// stale answer), editing an unrelated function does not.
#[test]
fn editing_a_helper_without_a_build_script_recomputes_its_caller() {
    let probe = Probe::new("probe_helper");
    let dir = tempfile::tempdir().unwrap();
    let with = |factor: u64, unrelated: &str| {
        format!(
            "#[step(checkpoint)]\nfn double(v: &Vec<u64>) -> Vec<u64> {{\n    v.iter().map(|x| x * factor()).collect()\n}}\n\
             fn factor() -> u64 {{\n    {factor}\n}}\nfn unrelated() -> &'static str {{ {unrelated:?} }}\n"
        )
    };
    assert!(!probe.src.path().join("build.rs").exists());
    let all = "executed";
    let bin = probe.build(&with(2, "a"));
    assert_eq!(
        run_statuses(&bin, dir.path(), 1),
        expect("90", all, all, all)
    );
    let bin = probe.build(&with(3, "a"));
    assert_eq!(
        run_statuses(&bin, dir.path(), 2),
        expect("135", "reused", all, all),
        "the helper changed: its caller and the descendants recompute"
    );
    let bin = probe.build(&with(3, "b"));
    assert_eq!(
        run_statuses(&bin, dir.path(), 3),
        expect("135", "skipped", "skipped", "reused"),
        "a function no step reaches changed: everything is reused"
    );
}

#[test]
fn version_overrides_the_code_hash() {
    let probe = Probe::new("probe_version");
    let dir = tempfile::tempdir().unwrap();
    let versioned = |version: &str, factor: u64| {
        format!(
            "#[step(checkpoint, version = \"{version}\")]\nfn double(v: &Vec<u64>) -> Vec<u64> {{\n    \
             v.iter().map(|x| x * {factor}).collect()\n}}"
        )
    };
    let all = "executed";
    let bin = probe.build(&versioned("1", 2));
    assert_eq!(
        run_statuses(&bin, dir.path(), 1),
        expect("90", all, all, all)
    );
    // The body changes but the version does not: the stored results are reused (by design).
    let bin = probe.build(&versioned("1", 4));
    assert_eq!(
        run_statuses(&bin, dir.path(), 2),
        expect("90", "skipped", "skipped", "reused")
    );
    // Bumping the version recomputes the step and what depends on it.
    let bin = probe.build(&versioned("2", 4));
    assert_eq!(
        run_statuses(&bin, dir.path(), 3),
        expect("180", "reused", all, all)
    );
}

#[test]
fn the_generated_main_has_the_standard_command_line_and_exit_codes() {
    let probe = Probe::new("probe_cli");
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    let bin = probe.build(DOUBLE_V1);
    help_lists_every_flag(&bin);
    usage_errors_exit_2(&bin, ckpt.to_str().unwrap());
    runs_exit_0_or_1(&bin, ckpt.to_str().unwrap());
}

fn help_lists_every_flag(bin: &Path) {
    let help = run(bin, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8(help.stdout).unwrap();
    let flags = [
        "--budget",
        "--checkpoint-dir",
        "--fresh",
        "--jobs",
        "--report",
        "--no-progress",
        "--wait",
    ];
    for flag in flags
        .iter()
        .chain(&["--n <N>", "--limit <LIMIT>", "--label <LABEL>"])
    {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("How many numbers"), "{help}");
    // The pipeline's name and doc comment first (not the doc of the flattened run flags).
    assert!(help.starts_with("probe: Sums doubled numbers."), "{help}");
    assert!(!help.contains("The standard run flags"), "{help}");
    assert!(
        help.contains("[default: none]") && help.contains("[default: 1_000_000]"),
        "{help}"
    );
    assert!(
        help.contains("second paragraph"),
        "--help has the whole doc comment: {help}"
    );
    let short = run(bin, &["-h"]);
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(short.starts_with("probe: Sums doubled numbers."), "{short}");
    assert!(
        !short.contains("second paragraph"),
        "-h has the first paragraph: {short}"
    );
}

fn usage_errors_exit_2(bin: &Path, ckpt: &str) {
    let bad_value = run(bin, &["--n", "many"]);
    assert_eq!(bad_value.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_value.stderr).contains("--n"),
        "{bad_value:?}"
    );

    let bad_budget = run(bin, &["--budget", "12 parsecs", "--checkpoint-dir", ckpt]);
    assert_eq!(bad_budget.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_budget.stderr);
    assert!(
        stderr.contains("--budget") && stderr.contains("12 parsecs"),
        "{stderr}"
    );
}

fn runs_exit_0_or_1(bin: &Path, ckpt: &str) {
    let failed = run(
        bin,
        &["--limit", "5", "--checkpoint-dir", ckpt, "--no-progress"],
    );
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("`check`") && stderr.contains("total 90 is over the limit 5"),
        "{stderr}"
    );

    let ok = run(
        bin,
        &["--n", "4", "--checkpoint-dir", ckpt, "--no-progress"],
    );
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap().lines().last(),
        Some("12")
    );
}
