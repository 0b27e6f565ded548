//! The hash shuffle of Arrow batches: the bodies of a repartition's split and gather tasks
//! for [`Batch`] values (`StepBuilder::repartition_by`, `#[step(repartition(...))]`).
//!
//! A split task encodes its partition's key columns with Arrow's row format (`arrow-row`: one
//! byte string per row, equal exactly when the keys are equal and of the same types), hashes
//! each with xxh3, and cuts the batch into one bucket per output partition with `take`. A
//! gather task concatenates bucket j of every split task. Not responsible for where buckets
//! live (each is a block like any other: spilled as Arrow IPC when the budget needs).

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};

use super::Batch;
use crate::plan::{Args, BoxError, Buckets, Compute, Value};

/// Which of `buckets` buckets each row of `batch` belongs to, by xxh3 of the row encoding of
/// its `by` columns. A missing column is an error naming it and the columns there are.
pub fn bucket_of_rows(
    batch: &RecordBatch,
    by: &[String],
    buckets: u32,
) -> Result<Vec<u32>, BoxError> {
    let schema = batch.schema();
    let mut keys: Vec<ArrayRef> = Vec::with_capacity(by.len());
    for name in by {
        let index = schema.index_of(name).map_err(|_| {
            let have: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            format!("repartition by `{name}`: the batch has no such column (it has {have:?})")
        })?;
        keys.push(Arc::clone(batch.column(index)));
    }
    let fields = keys
        .iter()
        .map(|k| SortField::new(k.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let rows = converter.convert_columns(&keys)?;
    let n = u64::from(buckets.max(1));
    Ok(rows
        .iter()
        .map(|row| (xxhash_rust::xxh3::xxh3_64(row.as_ref()) % n) as u32)
        .collect())
}

/// The body of a split task: input 0 (a [`Batch`]) cut into `buckets` batches by the key
/// columns `by`, each becoming its own block.
pub(crate) fn split(buckets: u32, by: Vec<String>) -> Compute {
    Arc::new(move |args: &Args<'_>| {
        let batch = args.get::<Batch>(0)?;
        let bucket = bucket_of_rows(batch, &by, buckets)?;
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); buckets.max(1) as usize];
        for (row, b) in bucket.iter().enumerate() {
            rows[*b as usize].push(row as u32);
        }
        drop(bucket);
        let mut values: Vec<Value> = Vec::with_capacity(rows.len());
        for indices in rows {
            let indices = UInt32Array::from(indices);
            let part = arrow_select::take::take_record_batch(batch, &indices)?;
            values.push(Arc::new(Batch::new(part)) as Value);
        }
        Ok(Arc::new(Buckets(values)) as Value)
    })
}

/// The body of a gather task: its buckets (every eager input, one per split task)
/// concatenated in split order.
pub(crate) fn gather() -> Compute {
    Arc::new(|args: &Args<'_>| -> Result<Value, BoxError> {
        let parts = args.slice::<Batch>(0, args.len())?;
        let Some(first) = parts.first() else {
            return Err("a repartition gathered no buckets".into());
        };
        let schema = first.schema();
        if let Some(other) = parts.iter().find(|p| p.schema() != schema) {
            return Err(format!(
                "the partitions being repartitioned have different schemas ({:?} and {:?}); \
                 give every partition the same columns and types",
                schema,
                other.schema()
            )
            .into());
        }
        let joined = arrow_select::concat::concat_batches(&schema, parts.iter().map(|b| &***b))?;
        Ok(Arc::new(Batch::new(joined)) as Value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Int64Array, StringArray};

    fn batch(keys: Vec<i64>, names: Vec<&str>) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("k", Arc::new(Int64Array::from(keys)) as ArrayRef),
            ("s", Arc::new(StringArray::from(names)) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn equal_keys_land_in_the_same_bucket_in_any_batch() {
        let a = batch(vec![1, 2, 3, 1], vec!["x", "y", "x", "x"]);
        let b = batch(vec![3, 1, 9], vec!["x", "x", "z"]);
        let by = ["k".to_string(), "s".to_string()];
        let (ba, bb) = (
            bucket_of_rows(&a, &by, 8).unwrap(),
            bucket_of_rows(&b, &by, 8).unwrap(),
        );
        assert_eq!(ba[0], ba[3]);
        assert_eq!(ba[0], bb[1]);
        assert_eq!(ba[2], bb[0]);
        assert!(ba.iter().chain(&bb).all(|b| *b < 8));
        // Spread: 1,000 distinct keys over 16 buckets leave none empty.
        let many = batch((0..1000).collect(), vec!["x"; 1000]);
        let spread = bucket_of_rows(&many, &by[..1], 16).unwrap();
        assert!((0..16).all(|b| spread.contains(&b)));
    }

    #[test]
    fn a_missing_key_column_is_named() {
        let a =
            RecordBatch::try_from_iter([("k", Arc::new(Int32Array::from(vec![1])) as ArrayRef)])
                .unwrap();
        let err = bucket_of_rows(&a, &["key".into()], 4)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no such column") && err.contains("\"k\""),
            "{err}"
        );
    }
}
