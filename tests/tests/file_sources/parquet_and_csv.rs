//! Parquet by row group and CSV by byte range (issue 24): a file larger than the budget read
//! one row group at a time, a row-group source where one rewritten file recomputes only its
//! row groups, and byte ranges that read every line once.

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

/// Three row groups of 100 rows whose `value` is `base + row`.
fn write_groups(path: &Path, base: i64) {
    let batches: Vec<Batch> = (0..3)
        .map(|g| {
            let keys: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100));
            let values = (0..100).map(|r| (base + g * 100 + r) as f64);
            let values: ArrayRef = Arc::new(Float64Array::from_iter_values(values));
            Batch::try_from_columns([("key", keys), ("value", values)]).unwrap()
        })
        .collect();
    stepstone::arrow::write_parquet_row_groups(&batches, path).unwrap();
}

#[step(per_file = "split", checkpoint)]
fn stored_group(split: FileSplit) -> Result<Batch, stepstone::BoxError> {
    Ok(stepstone::arrow::read_parquet_split(&split, None)?)
}

fn group_sums(ck: &Path, pattern: &str) -> ((u64, f64), RunReport) {
    let config = config(ck, "64MiB").jobs(2);
    let out = stepstone::run(&config, |p| {
        let groups = stored_group(p, stepstone::arrow::row_groups(&InputGlob::from(pattern)));
        let sums = even_sum(p, &groups);
        Ok(combine(p, &[sums]))
    })
    .unwrap();
    (out.value, out.report)
}

#[test]
fn a_rewritten_parquet_file_recomputes_only_its_row_groups() {
    let data = tempfile::tempdir().unwrap();
    let ck = tempfile::tempdir().unwrap();
    write_groups(&data.path().join("a.parquet"), 0);
    write_groups(&data.path().join("b.parquet"), 1000);
    let pattern = format!("{}/*.parquet", data.path().display());
    let (first, report) = group_sums(ck.path(), &pattern);
    assert_eq!(first.0, 600);
    assert_eq!(executed(&report, "stored_group"), (6, 6));
    write_groups(&data.path().join("b.parquet"), 5000);
    let (second, report) = group_sums(ck.path(), &pattern);
    assert_eq!(
        executed(&report, "stored_group"),
        (6, 3),
        "only b's row groups"
    );
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(group_sums(fresh.path(), &pattern).0, second);
    assert!(second.1 > first.1);
}
