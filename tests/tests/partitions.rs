//! Partitioned datasets: a source made of N partitions, steps that run once per partition,
//! reductions that read the partitions one at a time, a hash shuffle for group-by — with the
//! same answers as unpartitioned runs, the budget held per partition, per-partition resume,
//! and clear errors for what cannot work (RELIABILITY row 27).

mod reliability_util;

use std::collections::BTreeMap;
use std::process::Command;

use reliability_util::{SEED, reports, seed_checksum};
use stepstone::report::StepStatus;
use stepstone::{Handle, Pipeline, Policy};
use stepstone_tests::config;

/// `(key, value)` rows `0..n` of partition `p` of `parts`, squared and summed per key by a
/// reduction that sees one partition at a time.
fn squares(p: &mut Pipeline, n: u64, parts: u32) -> Handle<u64> {
    let src = p
        .step("src")
        .code("1")
        .param(&n)
        .partitions(parts)
        .run(move |a| {
            Ok(a.partition()
                .range(n)
                .map(|i| (i % 7, i))
                .collect::<Vec<(u64, u64)>>())
        });
    let sq = p.step("square").code("1").input(&src).run(|a| {
        Ok(a.get::<Vec<(u64, u64)>>(0)?
            .iter()
            .map(|(k, v)| (*k, v * v))
            .collect::<Vec<(u64, u64)>>())
    });
    p.step("sum").code("1").lazy_inputs(&[sq]).run(|a| {
        let mut total = 0u64;
        for part in a.parts::<Vec<(u64, u64)>>(0, 1) {
            total = total.wrapping_add(part?.iter().map(|(_, v)| v).sum::<u64>());
        }
        Ok(total)
    })
}

#[test]
fn every_partition_count_gives_the_unpartitioned_answer() {
    let expected: u64 = (0..10_000u64).map(|i| i * i).sum();
    for parts in [1u32, 2, 3, 7, 16] {
        for jobs in [1usize, 2] {
            let dir = tempfile::tempdir().unwrap();
            let out = stepstone::run(&config(dir.path(), "64MiB").jobs(jobs), |p| {
                Ok(squares(p, 10_000, parts))
            })
            .unwrap();
            assert_eq!(out.value, expected, "{parts} partitions, {jobs} jobs");
            let square = out.report.steps_named("square").next().unwrap();
            assert_eq!(square.partitions, parts, "{square:?}");
            assert_eq!(square.partitions_executed, parts, "{square:?}");
            assert_eq!(square.executions, parts);
            assert_eq!(square.status, StepStatus::Executed);
        }
    }
}

/// Numbered rows `(id, pad)` of about `row_bytes` each; `big` makes partition 2 hold `big`
/// times more rows than the others.
fn padded(p: &mut Pipeline, parts: u32, rows: u64, big: u64) -> Handle<Vec<Vec<u8>>> {
    p.step("padded")
        .code("1")
        .param(&(rows, big))
        .partitions(parts)
        .run(move |a| {
            let n = if a.partition().index() == 2 {
                rows * big
            } else {
                rows
            };
            Ok((0..n)
                .map(|i| vec![i as u8; 1000])
                .collect::<Vec<Vec<u8>>>())
        })
}

#[test]
fn a_partition_that_cannot_fit_names_step_partition_sizes_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = stepstone::run(&config(dir.path(), "16MiB"), |p| {
        let rows = padded(p, 4, 1_000, 40);
        let n = 1;
        Ok(p.step("count")
            .code("1")
            .lazy_inputs(&[rows])
            .run(move |a| {
                let mut total = 0usize;
                for part in a.parts::<Vec<Vec<u8>>>(0, n) {
                    total += part?.len();
                }
                Ok(total)
            }))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(text.contains("step `padded`, partition 2 of 4"), "{text}");
    assert!(text.contains("budget is 16 MiB"), "{text}");
    assert!(text.contains("use more partitions"), "{text}");
    let report = reports(dir.path()).pop().flatten().unwrap();
    let padded = report.steps_named("padded").next().unwrap();
    assert_eq!(padded.status, StepStatus::Failed, "{padded:?}");
}

#[test]
fn a_known_oversized_input_partition_fails_the_next_step_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    // First run: a budget the big partition fits, so it is checkpointed with its size.
    let record = |p: &mut Pipeline| {
        let rows = padded(p, 4, 1_000, 30);
        let kept = p
            .step("kept")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&rows)
            .run(|a| Ok(a.get::<Vec<Vec<u8>>>(0)?.clone()));
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = ran.clone();
        let lens = p.step("lens").code("1").input(&kept).run(move |a| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(a.get::<Vec<Vec<u8>>>(0)?.len() as u64)
        });
        (lens, ran)
    };
    let total = |p: &mut Pipeline, lens: Handle<u64>| {
        p.step("total").code("1").lazy_inputs(&[lens]).run(|a| {
            Ok(a.parts::<u64>(0, 1)
                .map(|x| x.map(|v| *v))
                .sum::<Result<u64, _>>()?)
        })
    };
    let out = stepstone::run(&config(dir.path(), "256MiB"), |p| {
        let (lens, _) = record(p);
        Ok(total(p, lens))
    })
    .unwrap();
    assert_eq!(out.value, 3 * 1_000 + 30_000);
    // Second run, smaller budget, `lens` changed: its input partition 2 is known too large.
    let err = stepstone::run(&config(dir.path(), "16MiB"), |p| {
        let rows = padded(p, 4, 1_000, 30);
        let kept = p
            .step("kept")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&rows)
            .run(|a| Ok(a.get::<Vec<Vec<u8>>>(0)?.clone()));
        let lens = p.step("lens").code("2").input(&kept).run(|a| {
            // Partition 2's input is known to be too large: it must never start.
            assert_ne!(a.partition().index(), 2, "partition 2 ran");
            Ok(a.get::<Vec<Vec<u8>>>(0)?.len() as u64)
        });
        Ok(total(p, lens))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(text.contains("step `lens`, partition 2 of 4"), "{text}");
    assert!(text.contains("its inputs alone need"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn zero_or_mismatched_partitions_are_plan_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = stepstone::run(&config(dir.path(), "64MiB"), |p| Ok(squares(p, 10, 0))).unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(text.contains("0 partitions were asked for"), "{text}");
    let err = stepstone::run(&config(dir.path(), "64MiB"), |p| {
        let a = p.step("a").code("1").partitions(3).run(|_| Ok(1u64));
        let b = p.step("b").code("1").partitions(4).run(|_| Ok(2u64));
        let both = p
            .step("both")
            .code("1")
            .input(&a)
            .input(&b)
            .run(|a| Ok(a.get::<u64>(0)? + a.get::<u64>(1)?));
        Ok(p.step("total")
            .code("1")
            .lazy_inputs(&[both])
            .run(|a| Ok(a.parts::<u64>(0, 1).count())))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&err);
    assert!(text.contains("partitioned differently"), "{text}");
    let err = stepstone::run(&config(dir.path(), "64MiB"), |p| {
        Ok(p.step("a").code("1").partitions(3).run(|_| Ok(1u64)))
    })
    .unwrap_err();
    assert!(
        stepstone::error_chain(&err).contains("makes 3 partitions"),
        "{err}"
    );
}

#[test]
fn an_unpartitioned_input_is_read_by_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let out = stepstone::run(&config(dir.path(), "64MiB"), |p| {
        let offset = p.step("offset").code("1").run(|_| Ok(1_000u64));
        let src = p
            .step("src")
            .code("1")
            .partitions(5)
            .run(|a| Ok(u64::from(a.partition().index())));
        let shifted = p
            .step("shifted")
            .code("1")
            .input(&src)
            .input(&offset)
            .run(|a| Ok(a.get::<u64>(0)? + a.get::<u64>(1)?));
        Ok(p.step("all").code("1").lazy_inputs(&[shifted]).run(|a| {
            Ok(a.parts::<u64>(0, 1)
                .map(|x| x.map(|v| *v))
                .collect::<Result<Vec<u64>, _>>()?)
        }))
    })
    .unwrap();
    assert_eq!(out.value, vec![1000, 1001, 1002, 1003, 1004]);
}

/// Rows `(key, value)`: `n` rows over `keys` keys, in `parts` partitions, about 1 KiB each.
fn keyed(p: &mut Pipeline, n: u64, keys: u64, parts: u32) -> Handle<Vec<(u64, u64, Vec<u8>)>> {
    p.step("keyed")
        .code("1")
        .param(&(n, keys))
        .partitions(parts)
        .run(move |a| {
            Ok(a.partition()
                .range(n)
                .map(|i| ((i * 7919) % keys, i, vec![0u8; 1000]))
                .collect::<Vec<_>>())
        })
}

/// Group-by through a hash shuffle: per key, the count and the sum of values.
fn group_by(
    p: &mut Pipeline,
    n: u64,
    keys: u64,
    parts: u32,
    out_parts: u32,
) -> Handle<Vec<(u64, u64, u64)>> {
    let rows = keyed(p, n, keys, parts);
    let by_key = p
        .step("by_key")
        .code("1")
        .input(&rows)
        .repartition(out_parts, |r: &(u64, u64, Vec<u8>)| r.0);
    let groups = p.step("groups").code("1").input(&by_key).run(|a| {
        let mut g: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for (k, v, _) in a.get::<Vec<(u64, u64, Vec<u8>)>>(0)?.iter() {
            let e = g.entry(*k).or_default();
            e.0 += 1;
            e.1 += v;
        }
        Ok(g.into_iter()
            .map(|(k, (c, s))| (k, c, s))
            .collect::<Vec<_>>())
    });
    p.step("collect").code("1").lazy_inputs(&[groups]).run(|a| {
        let mut all = Vec::new();
        for part in a.parts::<Vec<(u64, u64, u64)>>(0, 1) {
            all.extend(part?.iter().copied());
        }
        all.sort_unstable();
        Ok(all)
    })
}

#[test]
fn a_shuffle_groups_data_four_times_the_budget() {
    let (n, keys) = (64_000u64, 1_000u64);
    let mut expected: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in 0..n {
        let e = expected.entry((i * 7919) % keys).or_default();
        e.0 += 1;
        e.1 += i;
    }
    let expected: Vec<(u64, u64, u64)> =
        expected.into_iter().map(|(k, (c, s))| (k, c, s)).collect();
    // ~64 MiB of rows (1 KiB each plus overhead) under a 16 MiB budget.
    for jobs in [1usize, 2] {
        let dir = tempfile::tempdir().unwrap();
        let out = stepstone::run(&config(dir.path(), "16MiB").jobs(jobs), |p| {
            Ok(group_by(p, n, keys, 16, 16))
        })
        .unwrap();
        assert_eq!(out.value, expected, "{jobs} jobs");
        let r = &out.report;
        assert!(
            r.tracked_peak_bytes <= r.budget_bytes,
            "{} > {}",
            r.tracked_peak_bytes,
            r.budget_bytes
        );
        assert!(
            r.totals.spilled_bytes > r.budget_bytes,
            "the data did not exceed the budget: {:?}",
            r.totals
        );
        let split = r.steps_named("by_key/split").next().unwrap();
        assert_eq!(split.partitions, 16 * 16, "{split:?}");
        assert_eq!(r.steps_named("by_key").next().unwrap().partitions, 16);
    }
    // Another output partition count gives the same groups.
    let dir = tempfile::tempdir().unwrap();
    let out = stepstone::run(&config(dir.path(), "16MiB"), |p| {
        Ok(group_by(p, n, keys, 16, 32))
    })
    .unwrap();
    assert_eq!(out.value, expected);
}

/// The seed binary at 200,000 rows under 40 MiB, one task at a time (deterministic order),
/// checkpointing every `every` steps, with `extra` flags.
fn seed(dir: &std::path::Path, every: &str, extra: &[&str]) -> std::process::Output {
    Command::new(SEED)
        .args([
            "--rows",
            "200000",
            "--budget",
            "40MiB",
            "--jobs",
            "1",
            "--no-progress",
        ])
        .args(["--every", every])
        .arg("--checkpoint-dir")
        .arg(dir)
        .args(extra)
        .output()
        .expect("spawn seed")
}

#[test]
fn the_seed_checksum_is_the_same_for_every_partition_count() {
    let dir = tempfile::tempdir().unwrap();
    let one = seed_checksum(&seed(&dir.path().join("1"), "5", &[]));
    for parts in ["3", "8"] {
        let got = seed_checksum(&seed(
            &dir.path().join(parts),
            "5",
            &["--partitions", parts],
        ));
        assert!(
            ((got - one) / one).abs() < 1e-9,
            "{parts} partitions: {got} vs {one}"
        );
    }
    let zero = seed(&dir.path().join("0"), "5", &["--partitions", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{zero:?}");
}

#[test]
fn a_crash_after_step_15_resumes_without_running_steps_1_to_10() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = seed(
        dir.path(),
        "10",
        &["--partitions", "8", "--crash-after-step", "15"],
    );
    assert!(!crashed.status.success(), "{crashed:?}");
    let resumed = seed(dir.path(), "10", &["--partitions", "8"]);
    let other = tempfile::tempdir().unwrap();
    let fresh = seed(other.path(), "10", &["--partitions", "8"]);
    assert_eq!(seed_checksum(&resumed), seed_checksum(&fresh));
    let report = reports(dir.path()).pop().flatten().unwrap();
    for step in &report.steps {
        if step.seq <= 10 {
            assert_eq!(step.partitions_executed, 0, "{step:?}");
        }
    }
    let s10 = report.steps.iter().find(|s| s.seq == 10).unwrap();
    assert_eq!(
        (s10.status, s10.partitions_reused),
        (StepStatus::Reused, 8),
        "{s10:?}"
    );
}

#[test]
fn a_crash_in_the_middle_of_a_step_keeps_its_stored_partitions() {
    let dir = tempfile::tempdir().unwrap();
    // Step 15 is a checkpoint (every 5): abort once its partition 3 of 8 is stored.
    let crashed = seed(
        dir.path(),
        "5",
        &["--partitions", "8", "--crash-after-partition", "15:3"],
    );
    assert!(!crashed.status.success(), "{crashed:?}");
    let resumed = seed(dir.path(), "5", &["--partitions", "8"]);
    let other = tempfile::tempdir().unwrap();
    let fresh = seed(other.path(), "5", &["--partitions", "8"]);
    assert_eq!(seed_checksum(&resumed), seed_checksum(&fresh));
    let report = reports(dir.path()).pop().flatten().unwrap();
    let s15 = report.steps.iter().find(|s| s.seq == 15).unwrap();
    assert!(s15.partitions_reused >= 4, "{s15:?}");
    assert_eq!(
        s15.partitions_reused + s15.partitions_executed,
        8,
        "{s15:?}"
    );
    // Partitions run one chain after another (one task at a time here): partitions 0-2 and
    // steps 0-15 of partition 3 are not run again; the rest of partition 3 (steps 16-20), all
    // 21 steps of partitions 4-7 and the aggregate are: 5 + 84 + 1 tasks.
    let tasks =
        |r: &stepstone::RunReport| r.steps.iter().map(|s| s.partitions_executed).sum::<u32>();
    let fresh_report = reports(other.path()).pop().flatten().unwrap();
    assert_eq!(tasks(&fresh_report), 8 * 21 + 1);
    assert_eq!(tasks(&report), 90, "{:#?}", report.steps);
}
