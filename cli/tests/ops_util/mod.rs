//! Helpers for the `checkpoints` and `runs` tests: make a real checkpoint directory by running a
//! small pipeline in-process (a checkpoint, spills under a tiny budget, optionally a failing last
//! step; or a pipeline partitioned over files), run the built `stepstone` binary against it, and redact what varies between runs.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use stepstone::{Budget, Handle, Pipeline, Policy, RunConfig};

/// Numbers in each big dataset (400 KB as `Vec<u64>`): with a 900 KiB budget at most two fit.
const BIG: u64 = 50_000;

/// `source → widen`, two fillers that force `widen` out of memory (a spill), `boundary`
/// (a checkpoint of widen + filler2), then `report`, which fails when `fail` is set.
fn pipeline(p: &mut Pipeline, fail: bool) -> Handle<u64> {
    let source = p
        .step("source")
        .code("1")
        .param(&BIG)
        .run(|_| Ok((0..BIG).collect::<Vec<u64>>()));
    let widen = p.step("widen").code("1").input(&source).run(|a| {
        Ok(a.get::<Vec<u64>>(0)?
            .iter()
            .map(|x| x * 2)
            .collect::<Vec<u64>>())
    });
    let filler = p.step("filler").code("1").input(&source).run(|a| {
        Ok(a.get::<Vec<u64>>(0)?
            .iter()
            .map(|x| x + 1)
            .collect::<Vec<u64>>())
    });
    let filler2 = p.step("filler2").code("1").input(&filler).run(|a| {
        Ok(a.get::<Vec<u64>>(0)?
            .iter()
            .map(|x| x + 2)
            .collect::<Vec<u64>>())
    });
    let boundary = p
        .step("boundary")
        .code("1")
        .policy(Policy::Checkpoint)
        .input(&widen)
        .input(&filler2)
        .run(|a| {
            let (w, f) = (a.get::<Vec<u64>>(0)?, a.get::<Vec<u64>>(1)?);
            Ok(w.iter()
                .zip(f.iter())
                .map(|(x, y)| x ^ y)
                .take(1000)
                .collect::<Vec<u64>>())
        });
    p.step("report").code("1").input(&boundary).run(move |a| {
        if fail {
            return Err("the warehouse is down (test failure)".into());
        }
        Ok(a.get::<Vec<u64>>(0)?.iter().sum::<u64>())
    })
}

/// Run the demo pipeline once on `dir`; `Err` when it failed (as asked).
pub(crate) fn demo_run(dir: &Path, fail: bool) -> Result<stepstone::RunReport, stepstone::Error> {
    let budget: Budget = "900KiB".parse().unwrap();
    let config = RunConfig::new("ops-demo")
        .budget(budget)
        .checkpoint_dir(dir)
        .jobs(1);
    stepstone::run(&config, |p| Ok(pipeline(p, fail))).map(|o| o.report)
}

/// `part-<i>.csv` in `data`: one number per line, `i * 100 .. i * 100 + 100` times `scale`.
pub(crate) fn write_part(data: &Path, i: u64, scale: u64) {
    let text: String = (i * 100..i * 100 + 100)
        .map(|n| format!("{}\n", n * scale))
        .collect();
    std::fs::write(data.join(format!("part-{i}.csv")), text).unwrap();
}

/// A pipeline over the files `data/*.csv`, everything checkpointed: `load` (one partition per
/// file: its numbers) → `double` (per partition) → `total` (reads every partition). Every
/// step's key is salted by its file, so none is keyed by its bare fingerprint. `bodies` counts
/// the step bodies that ran; `total_code` is the code version of `total` (another one makes
/// it recompute from the stored partitions). Returns the total and the report.
pub(crate) fn per_file_run(
    dir: &Path,
    data: &Path,
    bodies: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    total_code: &str,
) -> Result<(u64, stepstone::RunReport), stepstone::Error> {
    use std::sync::atomic::Ordering;
    let config = RunConfig::new("ops-files").checkpoint_dir(dir).jobs(1);
    let files = stepstone::InputGlob::from(format!("{}/*.csv", data.display()));
    stepstone::run(&config, |p| {
        let (glob, ran) = (files.clone(), bodies.clone());
        let load = p
            .step("load")
            .code("1")
            .policy(Policy::Checkpoint)
            .per_file("files", &files)
            .run(move |a| {
                ran.fetch_add(1, Ordering::SeqCst);
                let text = std::fs::read_to_string(glob.file(a.partition())?.path())?;
                let numbers: Result<Vec<u64>, _> = text.lines().map(str::parse).collect();
                Ok(numbers?)
            });
        let ran = bodies.clone();
        let double = p
            .step("double")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&load)
            .run(move |a| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(a.get::<Vec<u64>>(0)?
                    .iter()
                    .map(|n| n * 2)
                    .collect::<Vec<u64>>())
            });
        let ran = bodies.clone();
        Ok(p.step("total")
            .code(total_code)
            .policy(Policy::Checkpoint)
            .lazy_inputs(&[double])
            .run(move |a| {
                ran.fetch_add(1, Ordering::SeqCst);
                let mut total = 0u64;
                for part in a.parts::<Vec<u64>>(0, 1) {
                    total += part?.iter().sum::<u64>();
                }
                Ok(total)
            }))
    })
    .map(|o| (o.value, o.report))
}

/// A directory after one completed run.
pub(crate) fn completed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    demo_run(dir.path(), false).unwrap();
    dir
}

/// A directory after a failed run (spills and the checkpoint left behind).
pub(crate) fn failed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(demo_run(dir.path(), true).is_err());
    dir
}

/// Run `stepstone ARGS --dir DIR`.
pub(crate) fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stepstone"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("STEPSTONE_CHECKPOINT_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Object files under `dir/objects` (relative paths, sorted).
pub(crate) fn object_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir.join("objects")).unwrap().flatten() {
        for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
            out.push(format!(
                "objects/{}/{}",
                sub.file_name().to_string_lossy(),
                f.file_name().to_string_lossy()
            ));
        }
    }
    out.sort();
    out
}

/// Replace what varies between runs (run ids, fingerprints, ages, times, RSS, temp paths).
pub(crate) fn redact(text: &str, dir: &Path) -> String {
    let mut t = text.replace(&dir.display().to_string(), "[DIR]");
    let rules: [(&str, &str); 8] = [
        (r"(r\d{6,}-)?\d{8}T\d{6}Z-\d+-\d+", "[RUN]"),
        (r"\b[0-9a-f]{32}\b", "[FP]"),
        (r"\b[0-9a-f]{16}\b", "[SUM]"),
        (r"objects/[0-9a-f]{2}/", "objects/[xx]/"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"\b\d+[smhd]\b", "[AGE]"),
        (r"\d+\.\d+ s\b|\b\d+\.\d{2,3}\b", "[SECS]"),
        (r"RSS peak \S+ \S+", "RSS peak [RSS]"),
    ];
    for (pattern, with) in rules {
        t = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&t, with)
            .into_owned();
    }
    t
}
