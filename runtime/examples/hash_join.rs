//! A hash join of two Parquet datasets larger than the budget, then a group-by on a dimension
//! column: facts `(key, value)` joined to dimensions `(key, category)`, summed and counted per
//! category. Both sides are read one row group at a time (`per_file` over
//! `stepstone::arrow::row_groups`) and repartitioned by `key` into the same number of
//! partitions, so they are co-partitioned and `join` runs once per partition pair.
//!
//! ```text
//! # write the data: 20M facts in 20 files of 1M-row groups, 1M dimension rows
//! cargo run --release -p stepstone --example hash_join -- generate /tmp/join 20000000 1000000
//! # run the join under a 384 MiB budget
//! cargo run --release -p stepstone --example hash_join -- --data /tmp/join \
//!     --budget 384MiB --checkpoint-dir /tmp/join-ck --fresh
//! ```
//!
//! `--broadcast true` joins without repartitioning the facts: one hash table of the
//! dimensions is built once and every fact row group probes it (a map with a broadcast input).
//!
//! The output is `(categories, rows, checksum)`: `checksum` = Σ over categories (sorted) of
//! `(i + 1) × sum(value)`, what `bench/files.sh` compares with DuckDB's answer.

use std::process::ExitCode;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use stepstone::arrow::arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use stepstone::arrow::{Batch, read_parquet_split, row_groups, write_parquet_row_groups};
use stepstone::prelude::*;
use stepstone::{BoxError, FileSplit};

/// The fact rows of one row group, only the columns the join needs, repartitioned by `key`.
#[step(per_file = "split", repartition(by = "key", partitions = 32))]
fn facts(split: FileSplit) -> Result<Batch, BoxError> {
    Ok(read_parquet_split(&split, Some(&["key", "value"]))?)
}

/// The dimension rows of one row group, repartitioned by `key` like the facts.
#[step(per_file = "split", repartition(by = "key", partitions = 32))]
fn dims(split: FileSplit) -> Result<Batch, BoxError> {
    Ok(read_parquet_split(&split, Some(&["key", "category"]))?)
}

/// The rows of one Parquet split as they are (the broadcast plan: no repartition).
#[step(per_file = "split")]
fn rows(split: FileSplit, columns: Vec<String>) -> Result<Batch, BoxError> {
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    Ok(read_parquet_split(&split, Some(&columns))?)
}

/// A dimension table: key → category number, and the category names.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize, MemSize)]
struct DimTable {
    ids: FxHashMap<i64, u32>,
    names: Vec<String>,
}

impl DimTable {
    /// Add the `(key, category)` rows of `dims`.
    fn add(&mut self, dims: &Batch) -> Result<(), BoxError> {
        let categories = dims
            .column_as::<StringArray>("category")
            .ok_or("no string column `category`")?;
        let mut numbers: FxHashMap<String, u32> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        self.ids.reserve(dims.num_rows());
        for (row, key) in ints(dims, "key")?.values().iter().enumerate() {
            let name = categories.value(row);
            let number = match numbers.get(name) {
                Some(n) => *n,
                None => {
                    self.names.push(name.to_string());
                    numbers.insert(name.to_string(), self.names.len() as u32 - 1);
                    self.names.len() as u32 - 1
                }
            };
            self.ids.insert(*key, number);
        }
        Ok(())
    }

    /// Probe with the facts: sum and count `value` per category (an inner join: a fact
    /// without a dimension row is dropped).
    fn probe(&self, facts: &Batch) -> Result<Vec<(String, f64, u64)>, BoxError> {
        let values = facts
            .column_as::<Float64Array>("value")
            .ok_or("no Float64 column `value`")?;
        let mut groups = vec![(0.0, 0u64); self.names.len()];
        for (key, value) in ints(facts, "key")?.values().iter().zip(values.values()) {
            if let Some(n) = self.ids.get(key) {
                let group = &mut groups[*n as usize];
                group.0 += value;
                group.1 += 1;
            }
        }
        Ok(self
            .names
            .iter()
            .zip(groups)
            .filter(|(_, (_, n))| *n > 0)
            .map(|(c, (sum, n))| (c.clone(), sum, n))
            .collect())
    }
}

fn ints<'b>(batch: &'b Batch, name: &str) -> Result<&'b Int64Array, BoxError> {
    Ok(batch
        .column_as::<Int64Array>(name)
        .ok_or_else(|| format!("no Int64 column `{name}`"))?)
}

/// One co-partitioned pair: a hash table of the partition's dimensions, probed with its facts.
#[step]
fn join(facts: &Batch, dims: &Batch) -> Result<Vec<(String, f64, u64)>, BoxError> {
    let mut table = DimTable::default();
    table.add(dims)?;
    table.probe(facts)
}

/// The broadcast plan's hash table: every dimension row, built once.
#[step]
fn table(parts: Parts<'_, '_, Batch>) -> Result<DimTable, BoxError> {
    let mut table = DimTable::default();
    for part in parts {
        table.add(&*part?)?;
    }
    Ok(table)
}

/// The broadcast plan's join: one fact row group probes the whole table.
#[step]
fn probe(facts: &Batch, table: &DimTable) -> Result<Vec<(String, f64, u64)>, BoxError> {
    table.probe(facts)
}

/// Every partition's groups merged, sorted by category.
#[step]
fn merge(
    parts: Parts<'_, '_, Vec<(String, f64, u64)>>,
) -> Result<Vec<(String, f64, u64)>, BoxError> {
    let mut all: std::collections::BTreeMap<String, (f64, u64)> = Default::default();
    for part in parts {
        for (category, sum, n) in part?.iter() {
            let entry = all.entry(category.clone()).or_default();
            entry.0 += sum;
            entry.1 += n;
        }
    }
    Ok(all.into_iter().map(|(c, (s, n))| (c, s, n)).collect())
}

/// `(categories, joined rows, checksum)`.
#[step]
fn summary(groups: &Vec<(String, f64, u64)>) -> (u64, u64, f64) {
    let rows = groups.iter().map(|g| g.2).sum();
    let checksum = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (i + 1) as f64 * g.1)
        .sum();
    (groups.len() as u64, rows, checksum)
}

/// `--broadcast true`: build one hash table of every dimension row and probe it with each
/// fact row group (no repartition of the facts: the plan for a dimension side that fits the
/// budget); else repartition both sides by key and join each partition pair.
#[pipeline(budget = "384MiB")]
fn hash_join(
    p: &mut Pipeline,
    #[default("target/join".to_string())] data: String,
    #[default(false)] broadcast: bool,
) -> Result<Handle<(u64, u64, f64)>> {
    let fact_groups = row_groups(&InputGlob::from(format!("{data}/facts/*.parquet")));
    let dim_groups = row_groups(&InputGlob::from(format!("{data}/dims/*.parquet")));
    let joined = if broadcast {
        let columns = |c: [&str; 2]| c.map(str::to_string).to_vec();
        let dims = rows(p, dim_groups, columns(["key", "category"]));
        let table = table(p, &[dims]);
        let facts = rows(p, fact_groups, columns(["key", "value"]));
        probe(p, &facts, &table)
    } else {
        let facts = facts(p, fact_groups);
        let dims = dims(p, dim_groups);
        join(p, &facts, &dims)
    };
    let groups = merge(p, &[joined]);
    Ok(summary(p, &groups))
}

/// A value that looks random and is the same on every run.
fn noise(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31) ^ i
}

/// `generate DIR FACTS DIMS`: `DIR/facts/part-NNN.parquet` (1M-row groups, 20 per file at
/// most) and `DIR/dims/dims.parquet`.
fn generate(dir: &str, facts: u64, dims: u64) -> Result<(), BoxError> {
    const GROUP: u64 = 1_000_000;
    let (fact_dir, dim_dir) = (format!("{dir}/facts"), format!("{dir}/dims"));
    std::fs::create_dir_all(&fact_dir)?;
    std::fs::create_dir_all(&dim_dir)?;
    let dims = dims.max(1);
    for file in 0..facts.div_ceil(GROUP) {
        let ids = file * GROUP..((file + 1) * GROUP).min(facts);
        let keys: ArrayRef = Arc::new(Int64Array::from_iter_values(
            ids.clone().map(|i| (noise(i) % dims) as i64),
        ));
        let values: ArrayRef = Arc::new(Float64Array::from_iter_values(
            ids.map(|i| (noise(i + 1) % 10_000) as f64 / 100.0),
        ));
        let batch = Batch::try_from_columns([("key", keys), ("value", values)])?;
        write_parquet_row_groups(
            &[batch],
            std::path::Path::new(&format!("{fact_dir}/part-{file:04}.parquet")),
        )?;
    }
    let keys: ArrayRef = Arc::new(Int64Array::from_iter_values(0..dims as i64));
    let categories: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..dims).map(|k| format!("c{:03}", noise(k) % 200)),
    ));
    let batch = Batch::try_from_columns([("key", keys), ("category", categories)])?;
    write_parquet_row_groups(
        &[batch],
        std::path::Path::new(&format!("{dim_dir}/dims.parquet")),
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("generate") {
        return hash_join::main();
    }
    let number =
        |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let dir = args.get(2).map_or("target/join", String::as_str);
    match generate(dir, number(3, 20_000_000), number(4, 1_000_000)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the data under {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}
