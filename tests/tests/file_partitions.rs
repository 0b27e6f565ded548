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

mod parquet_and_csv {
    use super::*;
    use std::sync::Arc;
    use stepstone::arrow::arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use stepstone::arrow::{Batch, CsvOptions};
    use stepstone::{FileSplit, FileSplits, step};

    const GROUPS: u64 = 40;
    const ROWS: u64 = 40_000;

    /// A value that does not compress: the file on disk stays larger than the budget.
    fn noise(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ (i << 7)
    }

    /// `GROUPS` row groups of `ROWS` rows (`key`, `value`, `tag`); returns the file and the
    /// sum of `value` over rows whose key is even (computed in memory, plainly).
    fn write_facts(dir: &Path) -> (std::path::PathBuf, f64) {
        let mut batches = Vec::new();
        let mut expected = 0.0;
        for g in 0..GROUPS {
            let ids = g * ROWS..(g + 1) * ROWS;
            let keys: Vec<i64> = ids.clone().map(|i| (noise(i) % 1000) as i64).collect();
            let values: Vec<f64> = ids.clone().map(|i| (noise(i) >> 11) as f64 / 1e9).collect();
            expected += keys
                .iter()
                .zip(&values)
                .filter(|(k, _)| *k % 2 == 0)
                .map(|(_, v)| v)
                .sum::<f64>();
            let tags: Vec<String> = ids.map(|i| format!("{:016x}", noise(i + 1))).collect();
            batches.push(
                Batch::try_from_columns([
                    ("key", Arc::new(Int64Array::from(keys)) as ArrayRef),
                    ("value", Arc::new(Float64Array::from(values)) as ArrayRef),
                    ("tag", Arc::new(StringArray::from(tags)) as ArrayRef),
                ])
                .unwrap(),
            );
        }
        let path = dir.join("facts.parquet");
        stepstone::arrow::write_parquet_row_groups(&batches, &path).unwrap();
        (path, expected)
    }

    #[step(per_file = "split")]
    fn read_group(split: FileSplit) -> Result<Batch, stepstone::BoxError> {
        Ok(stepstone::arrow::read_parquet_split(
            &split,
            Some(&["key", "value"]),
        )?)
    }

    #[step]
    fn even_sum(batch: &Batch) -> Result<(u64, f64), stepstone::BoxError> {
        let keys = batch.column_as::<Int64Array>("key").ok_or("no key")?;
        let values = batch.column_as::<Float64Array>("value").ok_or("no value")?;
        assert!(batch.column_as::<StringArray>("tag").is_none(), "projected");
        let sum = keys
            .values()
            .iter()
            .zip(values.values())
            .filter(|(k, _)| *k % 2 == 0)
            .map(|(_, v)| v)
            .sum();
        Ok((batch.num_rows() as u64, sum))
    }

    #[step]
    fn combine(
        parts: stepstone::prelude::Parts<'_, '_, (u64, f64)>,
    ) -> Result<(u64, f64), stepstone::BoxError> {
        let mut total = (0, 0.0);
        for part in parts {
            let (rows, sum) = *part?;
            total = (total.0 + rows, total.1 + sum);
        }
        Ok(total)
    }

    #[test]
    fn a_parquet_file_larger_than_the_budget_is_read_one_row_group_at_a_time() {
        let data = tempfile::tempdir().unwrap();
        let ck = tempfile::tempdir().unwrap();
        let (path, expected) = write_facts(data.path());
        let budget = 12u64 << 20;
        let file_len = std::fs::metadata(&path).unwrap().len();
        assert!(
            file_len > budget,
            "the file ({file_len} bytes) must exceed the budget"
        );
        let glob = InputGlob::from(format!("{}/*.parquet", data.path().display()));
        let out = stepstone::run(&config(ck.path(), "12MiB"), |p| {
            let groups = read_group(p, stepstone::arrow::row_groups(&glob));
            let sums = even_sum(p, &groups);
            Ok(combine(p, &[sums]))
        })
        .unwrap();
        let (rows, sum) = out.value;
        assert_eq!(rows, GROUPS * ROWS);
        assert!(
            (sum - expected).abs() <= expected.abs() * 1e-9,
            "{sum} vs {expected}"
        );
        assert_eq!(
            executed(&out.report, "read_group"),
            (GROUPS as u32, GROUPS as u32)
        );
        let peak = out.report.tracked_peak_bytes;
        assert!(
            peak <= budget,
            "tracked peak {peak} over the budget {budget}"
        );
    }

    #[step(per_file = "split")]
    fn csv_range(split: FileSplit) -> Result<Batch, stepstone::BoxError> {
        Ok(stepstone::arrow::read_csv_split(
            &split,
            &CsvOptions::default(),
        )?)
    }

    #[step]
    fn ids_sum(batch: &Batch) -> Result<(u64, i64), stepstone::BoxError> {
        let ids = batch.column_as::<Int64Array>("id").ok_or("no id column")?;
        Ok((batch.num_rows() as u64, ids.values().iter().sum()))
    }

    #[step]
    fn add_pairs(
        parts: stepstone::prelude::Parts<'_, '_, (u64, i64)>,
    ) -> Result<(u64, i64), stepstone::BoxError> {
        let mut total = (0, 0);
        for part in parts {
            let (n, s) = *part?;
            total = (total.0 + n, total.1 + s);
        }
        Ok(total)
    }

    #[test]
    fn a_large_csv_file_is_split_into_byte_ranges_that_read_every_line_once() {
        let data = tempfile::tempdir().unwrap();
        let ck = tempfile::tempdir().unwrap();
        let mut text = String::from("id,name\n");
        let n = 30_000i64;
        for i in 0..n {
            text.push_str(&format!("{i},{}\n", "n".repeat((i % 23) as usize)));
        }
        std::fs::write(data.path().join("big.csv"), &text).unwrap();
        let glob = InputGlob::from(format!("{}/*.csv", data.path().display()));
        let splits = FileSplits::byte_ranges(&glob, 64 << 10);
        let expected_parts = text.len().div_ceil(64 << 10);
        assert_eq!(splits.len(), expected_parts);
        let out = stepstone::run(&config(ck.path(), "64MiB"), |p| {
            let parts = csv_range(p, splits);
            let sums = ids_sum(p, &parts);
            Ok(add_pairs(p, &[sums]))
        })
        .unwrap();
        assert_eq!(out.value, (n as u64, (0..n).sum()));
        assert_eq!(
            executed(&out.report, "csv_range"),
            (expected_parts as u32, expected_parts as u32)
        );
    }
}
