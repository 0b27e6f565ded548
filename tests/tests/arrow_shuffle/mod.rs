//! The hash shuffle of Arrow batches (issue 24): a group-by and a join of data four times the
//! budget, by `#[step(repartition(...))]` and `StepBuilder::repartition_by`, with the tracked
//! peak under the budget and the answer of a plain in-memory computation; and the same macro
//! option on serde rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use stepstone::arrow::Batch;
use stepstone::arrow::arrow_array::{ArrayRef, Int64Array};
use stepstone::prelude::Parts;
use stepstone::{BoxError, Partitions, step};
use stepstone_tests::config;

const PARTS: u32 = 16;
const ROWS: u64 = 400_000;
const KEYS: u64 = 50_000;
const GROUPS: i64 = 7;

fn noise(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(31) ^ i
}

/// Fact row `i`: `(key, value)`.
fn fact(i: u64) -> (i64, i64) {
    ((noise(i) % KEYS) as i64, (noise(i + 7) % 1000) as i64)
}

fn int64(values: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(values))
}

fn column<'b>(batch: &'b Batch, name: &str) -> Result<&'b [i64], BoxError> {
    Ok(batch
        .column_as::<Int64Array>(name)
        .ok_or_else(|| format!("no Int64 column `{name}`"))?
        .values())
}

/// `PARTS × ROWS` facts (16 bytes a row: about 100 MB), repartitioned by `key`.
#[step(repartition(by = "key", partitions = 16))]
fn facts(part: Partitions) -> Result<Batch, BoxError> {
    let range = part.index() as u64 * ROWS..(part.index() as u64 + 1) * ROWS;
    let (keys, values): (Vec<i64>, Vec<i64>) = range.map(fact).unzip();
    Ok(Batch::try_from_columns([
        ("key", int64(keys)),
        ("value", int64(values)),
    ])?)
}

/// Sum of `value` per key of one partition.
#[step]
fn sum_by_key(facts: &Batch) -> Result<Vec<(i64, i64)>, BoxError> {
    let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
    for (k, v) in column(facts, "key")?.iter().zip(column(facts, "value")?) {
        *sums.entry(*k).or_default() += v;
    }
    Ok(sums.into_iter().collect())
}

/// A hash join of one partition pair: sum of `value` per dimension `group`.
#[step]
fn join_groups(facts: &Batch, dims: &Batch) -> Result<Vec<(i64, i64)>, BoxError> {
    let group: std::collections::HashMap<i64, i64> = column(dims, "key")?
        .iter()
        .copied()
        .zip(column(dims, "group")?.iter().copied())
        .collect();
    let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
    for (k, v) in column(facts, "key")?.iter().zip(column(facts, "value")?) {
        let g = group
            .get(k)
            .ok_or_else(|| format!("key {k} has no dimension row in its partition"))?;
        *sums.entry(*g).or_default() += v;
    }
    Ok(sums.into_iter().collect())
}

/// Every partition's `(key, sum)` pairs, merged; fails if a key is in two partitions.
#[step]
fn merge(parts: Parts<'_, '_, Vec<(i64, i64)>>) -> Result<Vec<(i64, i64)>, BoxError> {
    let mut all: BTreeMap<i64, i64> = BTreeMap::new();
    for part in parts {
        for (k, v) in part?.iter() {
            if all.insert(*k, *v).is_some() {
                return Err(format!("key {k} is in two partitions").into());
            }
        }
    }
    Ok(all.into_iter().collect())
}

/// Sums of pairs of every partition (a key may repeat across partitions).
#[step]
fn add_up(parts: Parts<'_, '_, Vec<(i64, i64)>>) -> Result<Vec<(i64, i64)>, BoxError> {
    let mut all: BTreeMap<i64, i64> = BTreeMap::new();
    for part in parts {
        for (k, v) in part?.iter() {
            *all.entry(*k).or_default() += v;
        }
    }
    Ok(all.into_iter().collect())
}

#[test]
fn group_by_and_join_of_four_times_the_budget_hold_it_and_agree_with_memory() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 24u64 << 20;
    let data_bytes = u64::from(PARTS) * ROWS * 16;
    assert!(data_bytes >= 4 * budget, "{data_bytes} bytes of facts");
    let out = stepstone::run(&config(dir.path(), "24MiB"), |p| {
        let facts = facts(p, Partitions::new(PARTS));
        let dims = p.step("dims").code("1").partitions(4).run(|a| {
            let keys: Vec<i64> = a.partition().range(KEYS).map(|k| k as i64).collect();
            let groups = keys.iter().map(|k| k % GROUPS).collect();
            Ok(Batch::try_from_columns([
                ("key", int64(keys)),
                ("group", int64(groups)),
            ])?)
        });
        let dims = p
            .step("dims_by_key")
            .code("1")
            .input(&dims)
            .repartition_by(PARTS, &["key"]);
        let per_key = sum_by_key(p, &facts);
        let by_key = merge(p, &[per_key]);
        let per_group = join_groups(p, &facts, &dims);
        let by_group = add_up(p, &[per_group]);
        Ok(p.step("both")
            .code("1")
            .input(&by_key)
            .input(&by_group)
            .run(|a| {
                Ok((
                    a.get::<Vec<(i64, i64)>>(0)?.clone(),
                    a.get::<Vec<(i64, i64)>>(1)?.clone(),
                ))
            }))
    })
    .unwrap();
    let mut by_key: BTreeMap<i64, i64> = BTreeMap::new();
    let mut by_group: BTreeMap<i64, i64> = BTreeMap::new();
    for i in 0..u64::from(PARTS) * ROWS {
        let (k, v) = fact(i);
        *by_key.entry(k).or_default() += v;
        *by_group.entry(k % GROUPS).or_default() += v;
    }
    let (keys, groups) = out.value;
    assert_eq!(keys, by_key.into_iter().collect::<Vec<_>>());
    assert_eq!(groups, by_group.into_iter().collect::<Vec<_>>());
    let join = out.report.steps_named("join_groups").next().unwrap();
    assert_eq!((join.partitions, join.partitions_executed), (PARTS, PARTS));
    let peak = out.report.tracked_peak_bytes;
    assert!(
        peak <= budget,
        "tracked peak {peak} over the budget {budget}"
    );
    assert!(
        out.report.totals.spilled_bytes > 0,
        "{:?}",
        out.report.totals
    );
}

/// Serde rows `(key, value)` repartitioned by the tuple's field `0` through the macro.
#[step(repartition(by = "0", partitions = 4))]
fn pairs(part: Partitions) -> Vec<(u64, u64)> {
    part.range(10_000).map(|i| (i % 37, i)).collect()
}

#[test]
fn serde_rows_repartition_by_a_field_from_the_macro() {
    let dir = tempfile::tempdir().unwrap();
    let out = stepstone::run(&config(dir.path(), "64MiB"), |p| {
        let rows = pairs(p, Partitions::new(3));
        let sums = p.step("sums").code("1").input(&rows).run(|a| {
            let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
            for (k, v) in a.get::<Vec<(u64, u64)>>(0)? {
                *sums.entry(*k as i64).or_default() += *v as i64;
            }
            Ok(sums.into_iter().collect::<Vec<_>>())
        });
        Ok(merge(p, &[sums]))
    })
    .unwrap();
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for i in 0..10_000i64 {
        *expected.entry(i % 37).or_default() += i;
    }
    assert_eq!(out.value, expected.into_iter().collect::<Vec<_>>());
    let gather = out.report.steps_named("pairs/repartition").next().unwrap();
    assert_eq!(gather.partitions, 4);
}
