//! The example of the README ("Datasets from files") compiles as written, with the bodies
//! the README elides filled in; `main` runs it on a folder of CSV files and a Parquet file.
#![deny(warnings)]

use std::sync::Arc;

use stepstone::BoxError;
use stepstone::arrow::arrow_array::{ArrayRef, Int64Array};
use stepstone::arrow::{Batch, CsvOptions, FileError};
use stepstone::prelude::*;

#[step(per_file = "file", checkpoint)]   // one partition per file of the glob the call passes
fn load(file: InputFile) -> Result<Batch, FileError> {
    stepstone::arrow::read_csv(&file, &CsvOptions::default())
}

#[step(per_file = "split")]              // one partition per Parquet row group (or byte range)
fn facts(split: FileSplit) -> Result<Batch, FileError> {
    stepstone::arrow::read_parquet_split(&split, Some(&["key", "value"]))   // projection
}

#[step(repartition(by = "key", partitions = 4))]   // output hash-repartitioned by column `key`
fn clean(batch: &Batch) -> Batch { batch.clone() }

#[step(repartition(by = "0", partitions = 4))]     // serde rows: by a field
fn pairs(batch: &Batch) -> Result<Vec<(i64, i64)>, BoxError> {
    let k = batch.column_as::<Int64Array>("key").ok_or("no key")?;
    let v = batch.column_as::<Int64Array>("value").ok_or("no value")?;
    Ok(k.values().iter().copied().zip(v.values().iter().copied()).collect())
}

#[step]                                  // two datasets repartitioned alike: runs per pair
fn join(facts: &Batch, dims: &Batch) -> Result<u64, BoxError> {
    Ok((facts.num_rows() + dims.num_rows()) as u64)
}

#[step]
fn total(parts: Parts<'_, '_, u64>) -> Result<u64, ArgError> {
    parts.map(|p| p.map(|n| *n)).sum()
}

fn main() -> std::result::Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!("readme-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for i in 0..3 {
        std::fs::write(dir.join(format!("{i}.csv")), format!("key,value\n{i},1\n{i},2\n"))?;
    }
    let column = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let batch = Batch::try_from_columns([("key", column(vec![1, 2])), ("value", column(vec![3, 4]))])?;
    stepstone::arrow::write_parquet_row_groups(&[batch.clone(), batch], &dir.join("f.parquet"))?;
    let config = RunConfig::new("readme-files").checkpoint_dir(dir.join("ck"));
    let out = stepstone::run(&config, |p| {
        let parts = load(p, InputGlob::from(format!("{}/*.csv", dir.display())));
        let groups = facts(p, stepstone::arrow::row_groups(&InputGlob::from(format!("{}/*.parquet", dir.display()))));
        let (a, b) = (clean(p, &parts), clean(p, &groups));
        let _rows = pairs(p, &groups);
        let joined = join(p, &a, &b);
        Ok(total(p, &[joined]))
    })?;
    std::fs::remove_dir_all(&dir)?;
    assert_eq!(out.value, 6 + 4);
    Ok(())
}
