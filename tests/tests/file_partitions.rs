//! Datasets from files (issue 24, RELIABILITY row 37): a source partitioned over the files of a
//! glob, where one changed file recomputes its partition and that partition's descendants only,
//! and an added file adds a partition.

use std::path::Path;

use stepstone::report::{RunReport, StepStatus};
use stepstone::{Handle, InputGlob, Pipeline, Policy};
use stepstone_tests::{Counter, config};

/// `data/part-<i>.csv`: rows `key,value` for `i * 100 .. i * 100 + 100`.
fn write_part(dir: &Path, i: u64, scale: u64) {
    let mut text = String::from("key,value\n");
    for r in i * 100..i * 100 + 100 {
        text.push_str(&format!("{},{:06}\n", r % 13, r * scale));
    }
    std::fs::write(dir.join(format!("part-{i}.csv")), text).unwrap();
}

/// Parse `key,value` lines (the header skipped).
fn parse(text: &str) -> Result<Vec<(u64, u64)>, stepstone::BoxError> {
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let (k, v) = line.split_once(',').ok_or("a line without a comma")?;
        rows.push((k.parse()?, v.parse()?));
    }
    Ok(rows)
}

/// `load` (one partition per file, checkpointed) → `double` (per partition, checkpointed) →
/// `total` (reads every partition).
fn sum_files(p: &mut Pipeline, pattern: &str, runs: &Counter) -> Handle<u64> {
    let files = InputGlob::from(pattern);
    let (glob, counter) = (files.clone(), runs.clone());
    let load = p
        .step("load")
        .code("1")
        .policy(Policy::Checkpoint)
        .per_file("files", &files)
        .run(move |a| {
            counter.hit("load");
            parse(&std::fs::read_to_string(glob.file(a.partition())?.path())?)
        });
    let counter = runs.clone();
    let double = p
        .step("double")
        .code("1")
        .policy(Policy::Checkpoint)
        .input(&load)
        .run(move |a| {
            counter.hit("double");
            Ok(a.get::<Vec<(u64, u64)>>(0)?
                .iter()
                .map(|(k, v)| (*k, v * 2))
                .collect::<Vec<_>>())
        });
    let counter = runs.clone();
    p.step("total")
        .code("1")
        .policy(Policy::Checkpoint)
        .lazy_inputs(&[double])
        .run(move |a| {
            counter.hit("total");
            let mut total = 0u64;
            for part in a.parts::<Vec<(u64, u64)>>(0, 1) {
                total += part?.iter().map(|(k, v)| k + v).sum::<u64>();
            }
            Ok(total)
        })
}

fn run(ck: &Path, pattern: &str) -> (u64, RunReport, Counter) {
    let runs = Counter::default();
    let out = stepstone::run(&config(ck, "64MiB"), |p| Ok(sum_files(p, pattern, &runs))).unwrap();
    (out.value, out.report, runs)
}

/// `(partitions, executed)` of step `name`.
fn executed(report: &RunReport, name: &str) -> (u32, u32) {
    let row = report.steps_named(name).next().unwrap();
    (row.partitions, row.partitions_executed)
}

/// Rewrite `file` with other bytes of the same length and put its modification time back.
fn rewrite_keeping_size_and_mtime(file: &Path) {
    let before = std::fs::metadata(file).unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let changed = text.replacen("000", "999", 1);
    assert_eq!(changed.len(), text.len());
    assert_ne!(changed, text);
    std::fs::write(file, changed).unwrap();
    let f = std::fs::File::options().write(true).open(file).unwrap();
    f.set_modified(before.modified().unwrap()).unwrap();
    let after = std::fs::metadata(file).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
}

#[test]
fn one_changed_file_recomputes_its_partition_and_an_added_file_adds_one() {
    let data = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    for i in 0..8 {
        write_part(data.path(), i, 1);
    }
    let pattern = format!("{}/*.csv", data.path().display());

    let (first, report, runs) = run(ck.path(), &pattern);
    assert_eq!(executed(&report, "load"), (8, 8));
    assert_eq!(executed(&report, "double"), (8, 8));
    assert_eq!(runs.get("total"), 1);

    // Nothing changed: every partition and the total are reused.
    let (again, report, runs) = run(ck.path(), &pattern);
    assert_eq!(again, first);
    assert_eq!(
        (runs.get("load"), runs.get("double"), runs.get("total")),
        (0, 0, 0)
    );
    assert_eq!(
        report.steps_named("total").next().unwrap().status,
        StepStatus::Reused
    );

    // One file rewritten with the same size and modification time.
    rewrite_keeping_size_and_mtime(&data.path().join("part-3.csv"));
    let (changed, report, runs) = run(ck.path(), &pattern);
    assert_eq!(executed(&report, "load"), (8, 1), "{report:#?}");
    assert_eq!(executed(&report, "double"), (8, 1));
    assert_eq!(
        (runs.get("load"), runs.get("double"), runs.get("total")),
        (1, 1, 1)
    );
    assert_ne!(changed, first);
    let fresh_ck = tempfile::tempdir().unwrap();
    assert_eq!(
        run(fresh_ck.path(), &pattern).0,
        changed,
        "answer of a fresh run"
    );

    // A ninth file: one more partition, computed alone; the total recomputes.
    write_part(data.path(), 8, 1);
    let (added, report, runs) = run(ck.path(), &pattern);
    assert_eq!(executed(&report, "load"), (9, 1));
    assert_eq!(executed(&report, "double"), (9, 1));
    assert_eq!(runs.get("total"), 1);
    let fresh_ck = tempfile::tempdir().unwrap();
    assert_eq!(run(fresh_ck.path(), &pattern).0, added);

    // A file removed (one sorted before others): the rest are reused where they now stand.
    std::fs::remove_file(data.path().join("part-0.csv")).unwrap();
    let (removed, report, runs) = run(ck.path(), &pattern);
    assert_eq!(executed(&report, "load"), (8, 0));
    assert_eq!(executed(&report, "double"), (8, 0));
    assert_eq!(runs.get("total"), 1);
    let fresh_ck = tempfile::tempdir().unwrap();
    assert_eq!(run(fresh_ck.path(), &pattern).0, removed);
}

#[test]
fn a_glob_without_files_fails_before_anything_runs_naming_the_pattern() {
    let data = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    let pattern = format!("{}/*.csv", data.path().display());
    let runs = Counter::default();
    let err = stepstone::run(&config(ck.path(), "64MiB"), |p| {
        Ok(sum_files(p, &pattern, &runs))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(text.contains("step `load`, parameter `files`"), "{text}");
    assert!(text.contains("no file matches the pattern"), "{text}");
    assert_eq!(runs.get("load"), 0);
}

mod with_macros {
    use super::*;
    use stepstone::{InputFile, step};

    /// One partition per file: `file` is this task's file.
    #[step(per_file = "file", checkpoint)]
    fn load_file(file: InputFile) -> Result<Vec<(u64, u64)>, stepstone::BoxError> {
        parse(&std::fs::read_to_string(file.path())?)
    }

    #[step]
    fn keys_plus_values(rows: &Vec<(u64, u64)>) -> u64 {
        rows.iter().map(|(k, v)| k + v).sum()
    }

    #[step]
    fn add(parts: stepstone::prelude::Parts<'_, '_, u64>) -> Result<u64, stepstone::BoxError> {
        let mut total = 0;
        for part in parts {
            total += *part?;
        }
        Ok(total)
    }

    fn total(ck: &Path, pattern: &str) -> (u64, RunReport) {
        let out = stepstone::run(&config(ck, "64MiB"), |p| {
            let rows = load_file(p, InputGlob::from(pattern));
            let sums = keys_plus_values(p, &rows);
            Ok(add(p, &[sums]))
        })
        .unwrap();
        (out.value, out.report)
    }

    #[test]
    fn a_per_file_step_runs_once_per_file_and_recomputes_only_a_changed_one() {
        let data = tempfile::tempdir().unwrap();
        let ck = tempfile::tempdir().unwrap();
        for i in 0..8 {
            write_part(data.path(), i, 1);
        }
        let pattern = format!("{}/*.csv", data.path().display());
        let (first, report) = total(ck.path(), &pattern);
        let expected: u64 = (0..800u64).map(|r| r % 13 + r).sum();
        assert_eq!(first, expected);
        assert_eq!(executed(&report, "load_file"), (8, 8));
        assert_eq!(executed(&report, "keys_plus_values"), (8, 8));
        rewrite_keeping_size_and_mtime(&data.path().join("part-5.csv"));
        let (second, report) = total(ck.path(), &pattern);
        assert_eq!(executed(&report, "load_file"), (8, 1));
        let fresh = tempfile::tempdir().unwrap();
        assert_eq!(total(fresh.path(), &pattern).0, second);
        assert_ne!(second, first);
    }
}

#[path = "file_sources/parquet_and_csv.rs"]
mod parquet_and_csv;
