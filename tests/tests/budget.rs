//! The memory budget: same answer under a tiny budget, tracked peak within it, Belady eviction
//! order, and a clear error when one step cannot fit.

use stepstone::report::StepStatus;
use stepstone::{Handle, Pipeline, Policy};
use stepstone_tests::{Block, config};

/// 1 + 60 chained steps of `n` u64s each, keeping every 12th (long-range uses), summed at the end.
fn chain(p: &mut Pipeline, n: usize) -> Handle<u64> {
    let mut cur = p
        .step("source")
        .code("1")
        .param(&n)
        .run(move |_| Ok(Block::new(n, 1)));
    let mut kept = Vec::new();
    for i in 1..=60u64 {
        cur = p
            .step("plus")
            .code("1")
            .param(&i)
            .input(&cur)
            .run(move |a| Ok(a.get::<Block>(0)?.plus(i)));
        if i % 12 == 0 {
            kept.push(cur.clone());
        }
    }
    let k = kept.len();
    p.step("total").code("1").inputs(&kept).run(move |a| {
        Ok(a.slice::<Block>(0, k)?
            .iter()
            .fold(0u64, |s, b| s.wrapping_add(b.sum())))
    })
}

#[test]
fn tiny_budget_gives_the_same_answer_within_budget() {
    let (big_dir, small_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let n = 50_000; // 400 KB per dataset; 61 datasets = 24 MB in all, 12 times the budget
    let roomy = stepstone::run(&config(big_dir.path(), "1GiB"), |p| Ok(chain(p, n))).unwrap();
    let tight = stepstone::run(&config(small_dir.path(), "2MiB"), |p| Ok(chain(p, n))).unwrap();
    assert_eq!(roomy.value, tight.value);
    let r = &tight.report;
    assert!(
        r.tracked_peak_bytes <= r.budget_bytes,
        "peak {} > budget {}",
        r.tracked_peak_bytes,
        r.budget_bytes
    );
    assert!(
        r.totals.spilled_bytes > 0,
        "a budget ten times below the data must spill"
    );
    assert!(r.totals.reloaded_bytes > 0);
    assert_eq!(roomy.report.totals.spilled_bytes, 0);
    // Without a failure the spill objects are gone after the run.
    assert!(stepstone_tests::files_under(&small_dir.path().join("objects"), "").is_empty());
}

#[test]
fn farthest_next_use_is_evicted_first() {
    let dir = tempfile::tempdir().unwrap();
    // a, b, c: ~80 KB each. Budget fits three values (plus the step output) only.
    let outcome = stepstone::run(&config(dir.path(), "300KiB"), |p| {
        let a = p.step("a").code("1").run(|_| Ok(Block::new(10_000, 1)));
        let b = p.step("b").code("1").run(|_| Ok(Block::new(10_000, 2)));
        let c = p.step("c").code("1").run(|_| Ok(Block::new(10_000, 3)));
        let d = p
            .step("d")
            .code("1")
            .input(&b)
            .run(|x| Ok(x.get::<Block>(0)?.plus(1))); // needs room
        let e = p
            .step("e")
            .code("1")
            .input(&c)
            .input(&d)
            .run(|x| Ok(x.get::<Block>(0)?.plus(x.get::<Block>(1)?.sum())));
        let g = p
            .step("g")
            .code("1")
            .input(&a)
            .input(&e)
            .run(|x| Ok(x.get::<Block>(0)?.sum() ^ x.get::<Block>(1)?.sum()));
        Ok(g)
    })
    .unwrap();
    let first_spill = outcome
        .report
        .events
        .iter()
        .find(|e| e.kind == "spill")
        .map(|e| e.step.clone());
    assert_eq!(
        first_spill.as_deref(),
        Some("a"),
        "a is used last, so it goes first: {:?}",
        outcome.report.events
    );
    assert!(outcome.report.tracked_peak_bytes <= outcome.report.budget_bytes);
}

#[test]
fn a_step_that_cannot_fit_fails_before_running_with_the_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let err = stepstone::run(&config(dir.path(), "1MiB"), |p| {
        let big = p.step("load").code("1").run(|_| Ok(Block::new(100_000, 0))); // 800 KB
        let twice = p
            .step("double_up")
            .code("1")
            .input(&big)
            .run(|a| Ok(a.get::<Block>(0)?.plus(1)));
        Ok(twice)
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("step `double_up`"), "{err}");
    assert!(err.contains("1 MiB"), "names the budget: {err}");
    assert!(err.contains("KiB"), "names the sizes: {err}");
    for fix in ["raise the budget", "split the step", "checkpoint"] {
        assert!(err.contains(fix), "names the fix `{fix}`: {err}");
    }
    let report: stepstone::RunReport =
        serde_json::from_slice(&std::fs::read(latest_report(dir.path())).unwrap()).unwrap();
    let failed: Vec<_> = report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .map(|s| &s.name)
        .collect();
    assert_eq!(failed, ["double_up"]);
}

#[test]
fn checkpoint_every_marks_every_nth_step_of_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    let out = stepstone::run(
        &config(dir.path(), "64MiB").checkpoint_every(Some(3)),
        |p| Ok(chain(p, 10)),
    )
    .unwrap();
    let checkpoints: Vec<usize> = out
        .report
        .steps
        .iter()
        .filter(|s| s.policy == Policy::Checkpoint)
        .map(|s| s.seq)
        .collect();
    // Along the chain every 3rd step; `total` (seq 61) reads only checkpoints (multiples of 12),
    // so it is the 1st step after a checkpoint, not the 3rd.
    let expected: Vec<usize> = (1..=20).map(|k| 3 * k).collect();
    assert_eq!(checkpoints, expected);
    assert_eq!(out.report.totals.checkpoints_written, 20);
}

fn latest_report(dir: &std::path::Path) -> std::path::PathBuf {
    let mut reports = stepstone_tests::files_under(&dir.join("runs"), "report.json");
    reports.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    reports.pop().expect("a report")
}

#[test]
fn the_input_of_a_checkpoint_is_freed_not_spilled() {
    let dir = tempfile::tempdir().unwrap();
    // Budget for two blocks: computing c needs b and c; a must go. b feeds only the
    // checkpoint c, so once c is durable b is dead and must be freed, never written.
    let out = stepstone::run(&config(dir.path(), "900KiB"), |p| {
        let a = p.step("a").code("1").run(|_| Ok(Block::new(50_000, 0)));
        let b = p
            .step("b")
            .code("1")
            .input(&a)
            .run(|x| Ok(x.get::<Block>(0)?.plus(1)));
        let c = p
            .step("c")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&b)
            .run(|x| Ok(x.get::<Block>(0)?.plus(1)));
        let d = p
            .step("d")
            .code("1")
            .input(&c)
            .run(|x| Ok(x.get::<Block>(0)?.plus(1)));
        Ok(p.step("e")
            .code("1")
            .input(&d)
            .run(|x| Ok(x.get::<Block>(0)?.sum())))
    })
    .unwrap();
    let spilled: Vec<_> = out
        .report
        .events
        .iter()
        .filter(|e| e.kind == "spill")
        .map(|e| e.step.clone())
        .collect();
    assert!(
        spilled.is_empty(),
        "nothing needs a spill here: {spilled:?}"
    );
}

#[test]
fn spilled_inputs_that_cannot_fit_together_fail_before_they_are_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    // Three 400 KB values under a 900 KiB budget: the first ones are spilled while the later
    // ones are computed; a step needing all three at once must fail without reloading them.
    let err = stepstone::run(&config(dir.path(), "900KiB"), |p| {
        let parts: Vec<_> = (0..3u64)
            .map(|i| {
                p.step("part")
                    .code("1")
                    .param(&i)
                    .run(move |_| Ok(Block::new(50_000, i)))
            })
            .collect();
        Ok(p.step("all_at_once").code("1").inputs(&parts).run(|a| {
            Ok(a.slice::<Block>(0, 3)?
                .iter()
                .map(|b| b.sum())
                .fold(0u64, u64::wrapping_add))
        }))
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("step `all_at_once`") && err.contains("inputs alone"),
        "{err}"
    );
    let report: stepstone::RunReport =
        serde_json::from_slice(&std::fs::read(latest_report(dir.path())).unwrap()).unwrap();
    assert!(
        report.tracked_peak_bytes <= report.budget_bytes,
        "{} > {}",
        report.tracked_peak_bytes,
        report.budget_bytes
    );
    assert!(
        !report.events.iter().any(|e| e.kind == "reload"),
        "nothing was reloaded for a step that cannot run"
    );
}
