//! A real pipeline crate reading external inputs, built with `stepstone-build` in its
//! `build.rs` and run as a user would, run after run (RELIABILITY rows 12 and 22):
//!
//! - an input rewritten with other content of the *same size* and its old mtime (`touch -d`)
//!   recomputes the step that reads it and its descendants, with the new answer;
//! - a file added to a glob recomputes the step reading the glob; removing it again gives the
//!   earlier answer;
//! - a volatile step always runs; when its output is unchanged its descendants are reused, when
//!   it changed they recompute;
//! - editing a helper function recomputes the step that calls it, not its sibling;
//! - a missing input exits 1 naming the path, and no step ran (not even a step whose input
//!   changed and that was recorded before the missing one).
//!
//! The crate is built in `target/tests/macros-probe`, shared with the macros probe (dependencies
//! compiled once for both; two builds of this crate per test run).

mod probe_util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAIN: &str = r#"
use std::process::ExitCode;
use stepstone::prelude::*;

const OFFSET: u64 = 0;

fn scale(x: u64) -> u64 {
    x * 10 + OFFSET
}

fn label(x: u64) -> u64 {
    {label_body}
}

fn parse(text: &str) -> Result<Vec<u64>, String> {
    text.split_whitespace()
        .map(|w| w.parse::<u64>().map_err(|e| format!("bad number {w:?}: {e}")))
        .collect()
}

#[step(checkpoint)]
fn read_numbers(input: InputFile) -> Result<Vec<u64>, String> {
    let text = std::fs::read_to_string(&*input).map_err(|e| e.to_string())?;
    parse(&text)
}

#[step(checkpoint)]
fn total(v: &Vec<u64>) -> u64 {
    v.iter().sum()
}

#[step(checkpoint)]
fn scaled(t: &u64) -> u64 {
    scale(*t)
}

#[step(checkpoint)]
fn labelled(t: &u64) -> u64 {
    label(*t)
}

#[step(checkpoint)]
fn read_parts(parts: InputGlob) -> Result<u64, String> {
    let mut sum = 0;
    for file in parts.iter() {
        let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
        sum += parse(&text)?.iter().sum::<u64>();
    }
    Ok(sum)
}

#[step(volatile, checkpoint)]
fn query(db: String) -> Result<u64, String> {
    let text = std::fs::read_to_string(&db).map_err(|e| e.to_string())?;
    text.trim().parse::<u64>().map_err(|e| e.to_string())
}

#[step(checkpoint)]
fn after_query(q: &u64) -> u64 {
    q + 1
}

#[step(checkpoint)]
fn summary(s: &u64, l: &u64, parts: &u64, q: &u64) -> String {
    format!("scaled={s} labelled={l} parts={parts} query={q}")
}

#[pipeline(name = "inputs")]
fn inputs(
    p: &mut Pipeline,
    #[default(InputFile::from("data/in.txt"))] input: InputFile,
    #[default(InputGlob::from("data/parts/*.txt"))] parts: InputGlob,
    #[default(String::from("data/db.txt"))] db: String,
) -> Result<Handle<String>> {
    let numbers = read_numbers(p, input);
    let t = total(p, &numbers);
    let s = scaled(p, &t);
    let l = labelled(p, &t);
    let g = read_parts(p, parts);
    let q = query(p, db);
    let a = after_query(p, &q);
    Ok(summary(p, &s, &l, &g, &a))
}

fn main() -> ExitCode {
    inputs::main()
}
"#;

/// The crate, its data directory and its build output.
struct Probe {
    dir: tempfile::TempDir,
}

impl Probe {
    fn new() -> Probe {
        let dir = tempfile::tempdir().unwrap();
        let ws = probe_util::workspace();
        let manifest = format!(
            "[package]\nname = \"inputs_probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nstepstone = {{ path = {:?} }}\n\n[build-dependencies]\nstepstone-build = {{ path = {:?} }}\n\n[workspace]\n",
            ws.join("runtime"),
            ws.join("build"),
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::copy(ws.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        std::fs::write(
            dir.path().join("build.rs"),
            "fn main() {\n    stepstone_build::emit();\n}\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("data/parts")).unwrap();
        Probe { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn build(&self, label_body: &str) -> PathBuf {
        std::fs::write(
            self.path("src/main.rs"),
            MAIN.replace("{label_body}", label_body),
        )
        .unwrap();
        probe_util::build(&self.path("Cargo.toml"), "inputs_probe")
    }

    fn run(&self, bin: &Path, n: usize, extra: &[&str]) -> (Output, Option<serde_json::Value>) {
        let report = self.path(&format!("report-{n}.json"));
        let out = Command::new(bin)
            .current_dir(self.dir.path())
            .args(["--checkpoint-dir", "ckpt", "--no-progress", "--report"])
            .arg(&report)
            .args(extra)
            .output()
            .unwrap();
        let json = std::fs::read(&report)
            .ok()
            .map(|b| serde_json::from_slice(&b).unwrap());
        (out, json)
    }

    /// Run; return the printed value and each step's `(status, reason)`.
    fn run_ok(&self, bin: &Path, n: usize) -> (String, Steps) {
        self.run_ok_with(bin, n, &[])
    }

    fn run_ok_with(&self, bin: &Path, n: usize, extra: &[&str]) -> (String, Steps) {
        let (out, json) = self.run(bin, n, extra);
        assert!(
            out.status.success(),
            "run {n} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value = String::from_utf8(out.stdout).unwrap();
        (
            value.lines().last().unwrap_or_default().to_string(),
            Steps(json.unwrap()),
        )
    }
}

struct Steps(serde_json::Value);

impl Steps {
    fn get(&self, name: &str) -> (String, String) {
        let steps = self.0["steps"].as_array().unwrap();
        let step = steps.iter().find(|s| s["name"] == name).unwrap();
        (
            step["status"].as_str().unwrap().to_string(),
            step["reason"].as_str().unwrap().to_string(),
        )
    }
    fn executed(&self, name: &str) -> bool {
        self.get(name).0 == "executed"
    }
    fn reason(&self, name: &str) -> String {
        self.get(name).1
    }
}

/// Write `text` to `path` and set its mtime to a fixed old date with `touch -d`.
fn write_old(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let status = Command::new("touch")
        .args(["-d", "2020-01-02 03:04:05"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn changed_inputs_helpers_and_volatile_steps_recompute_exactly_what_they_reach() {
    let probe = Probe::new();
    write_old(&probe.path("data/in.txt"), "1 2 3");
    write_old(&probe.path("data/parts/a.txt"), "100");
    std::fs::write(probe.path("data/db.txt"), "7").unwrap();
    let bin = probe.build("x + 1");

    let (value, steps) = probe.run_ok(&bin, 1);
    assert_eq!(value, "\"scaled=60 labelled=7 parts=100 query=8\"");
    assert!(steps.executed("read_numbers") && steps.executed("summary"));

    // Nothing changed: the volatile step ran, its output is the same, everything else reused.
    let (value, steps) = probe.run_ok(&bin, 2);
    assert_eq!(value, "\"scaled=60 labelled=7 parts=100 query=8\"");
    assert!(steps.executed("query"));
    assert!(
        steps
            .reason("query")
            .contains("output unchanged: descendants reused"),
        "{}",
        steps.reason("query")
    );
    for step in [
        "read_numbers",
        "total",
        "after_query",
        "read_parts",
        "summary",
    ] {
        assert!(
            !steps.executed(step),
            "{step} ran again: {:?}",
            steps.get(step)
        );
    }

    // Same size, other content, the old mtime put back: recomputed, new answer.
    let before = std::fs::metadata(probe.path("data/in.txt")).unwrap();
    write_old(&probe.path("data/in.txt"), "4 5 6");
    let after = std::fs::metadata(probe.path("data/in.txt")).unwrap();
    assert_eq!(
        (before.len(), before.modified().unwrap()),
        (after.len(), after.modified().unwrap())
    );
    // (With two workers: the checks after a step also hold on the parallel path.)
    let (value, steps) = probe.run_ok_with(&bin, 3, &["--jobs", "2"]);
    assert_eq!(value, "\"scaled=150 labelled=16 parts=100 query=8\"");
    for step in ["read_numbers", "total", "scaled", "labelled", "summary"] {
        assert!(steps.executed(step), "{step}: {:?}", steps.get(step));
    }
    assert!(!steps.executed("read_parts"));
    assert!(
        steps
            .reason("read_numbers")
            .contains("input data/in.txt changed"),
        "{}",
        steps.reason("read_numbers")
    );

    // A file added to the glob.
    write_old(&probe.path("data/parts/b.txt"), "20");
    let (value, steps) = probe.run_ok(&bin, 4);
    assert_eq!(value, "\"scaled=150 labelled=16 parts=120 query=8\"");
    assert!(steps.executed("read_parts") && steps.executed("summary"));
    assert!(!steps.executed("read_numbers") && !steps.executed("total"));
    assert!(
        steps
            .reason("read_parts")
            .contains("input data/parts/b.txt added"),
        "{}",
        steps.reason("read_parts")
    );

    // The volatile step's source changed: its descendants recompute with the new answer.
    std::fs::write(probe.path("data/db.txt"), "41").unwrap();
    let (value, steps) = probe.run_ok(&bin, 5);
    assert_eq!(value, "\"scaled=150 labelled=16 parts=120 query=42\"");
    assert!(steps.executed("after_query") && steps.executed("summary"));
    assert!(
        steps.reason("query").contains("output changed"),
        "{}",
        steps.reason("query")
    );

    // A helper edited: its caller recomputes, its sibling does not.
    let bin = probe.build("x + 2");
    let (value, steps) = probe.run_ok(&bin, 6);
    assert_eq!(value, "\"scaled=150 labelled=17 parts=120 query=42\"");
    assert!(steps.executed("labelled") && steps.executed("summary"));
    assert!(!steps.executed("scaled") && !steps.executed("total"));
    assert!(
        steps.reason("labelled").contains("helper `label` changed"),
        "{}",
        steps.reason("labelled")
    );

    // A file removed from the glob: back to the file set of run 1, whose output the checkpoint
    // directory knows, so the glob step is not even run; the summary follows the new answer.
    std::fs::remove_file(probe.path("data/parts/b.txt")).unwrap();
    let (value, steps) = probe.run_ok(&bin, 9);
    assert_eq!(value, "\"scaled=150 labelled=17 parts=100 query=42\"");
    assert!(steps.executed("summary"));
    assert!(!steps.executed("read_parts") && !steps.executed("labelled"));

    // A missing input: exit 1 naming step, parameter and path.
    let (out, _) = probe.run(&bin, 7, &["--input", "data/missing.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in ["read_numbers", "`input`", "data/missing.txt"] {
        assert!(stderr.contains(needle), "{needle} not in: {stderr}");
    }

    // A glob matching nothing, recorded after an input that changed: no step ran at all (the
    // changed input's step is not run while the pipeline is still being recorded).
    write_old(&probe.path("data/in.txt"), "7 8 9");
    let (out, json) = probe.run(&bin, 8, &["--parts", "data/none/*.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "read_parts",
        "`parts`",
        "data/none/*.txt",
        "no file matches",
    ] {
        assert!(stderr.contains(needle), "{needle} not in: {stderr}");
    }
    let steps = Steps(json.expect("a failed run writes its report"));
    for step in ["read_numbers", "total", "query", "read_parts", "summary"] {
        assert!(!steps.executed(step), "{step} ran: {:?}", steps.get(step));
    }
}
