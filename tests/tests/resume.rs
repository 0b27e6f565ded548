//! Resume: running again on the same directory reuses checkpoints and the spills of a failed
//! run, and never runs a step upstream of a stored object; `--fresh` ignores them; a changed
//! step recomputes itself and its descendants only; a corrupt object is recomputed.

use std::process::Command;

use stepstone::report::StepStatus;
use stepstone::{Handle, Pipeline};
use stepstone_tests::{Block, Counter, config, files_under};

const CHAIN: &str = env!("CARGO_BIN_EXE_chain");

fn chain(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(CHAIN)
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn executed(v: &serde_json::Value) -> Vec<u64> {
    v["executed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_u64())
        .collect()
}

#[test]
fn resume_after_abort_starts_from_the_checkpoints() {
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = json(&chain(clean_dir.path(), &["--every", "3"]));

    let dir = tempfile::tempdir().unwrap();
    let crashed = chain(dir.path(), &["--every", "3", "--abort-after", "12"]);
    assert!(!crashed.status.success(), "the abort must kill the run");
    let resumed = json(&chain(dir.path(), &["--every", "3"]));
    assert_eq!(resumed["sum"], clean["sum"]);
    // Checkpoints at 3, 6, 9, 12 (and the kept values are exactly those): only 13.. run again.
    let ran = executed(&resumed);
    assert_eq!(ran.first(), Some(&13), "executed {ran:?} after resume");
    assert!(resumed["steps_reused"].as_u64().unwrap() >= 4);
}

#[test]
fn resume_after_abort_reuses_the_spills_of_the_dead_run() {
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = json(&chain(clean_dir.path(), &["--every", "0"]));

    let dir = tempfile::tempdir().unwrap();
    // No checkpoints at all; the 400 KiB budget forces the kept datasets (3, 6, 9) to spill.
    let crashed = chain(dir.path(), &["--every", "0", "--abort-after", "12"]);
    assert!(!crashed.status.success());
    assert!(
        !files_under(&dir.path().join("objects"), "").is_empty(),
        "spills survive the crash"
    );
    let resumed = json(&chain(dir.path(), &["--every", "0"]));
    assert_eq!(resumed["sum"], clean["sum"]);
    let ran = executed(&resumed);
    assert!(
        ran.iter().all(|s| *s > 9),
        "nothing upstream of the spilled step 9 runs: {ran:?}"
    );
    assert!(resumed["steps_reused"].as_u64().unwrap() >= 3);
    let left = files_under(&dir.path().join("objects"), "");
    assert_eq!(
        left.len(),
        1,
        "the completed run deletes the spills; only the result checkpoint stays: {left:?}"
    );
}

#[test]
fn fresh_ignores_stored_objects() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    let build = |p: &mut Pipeline, c: &Counter| -> Handle<u64> {
        let c = c.clone();
        let x = p
            .step("x")
            .code("1")
            .policy(stepstone::Policy::Checkpoint)
            .run(move |_| {
                c.hit("x");
                Ok(Block::new(10, 0))
            });
        p.step("s")
            .code("1")
            .input(&x)
            .run(|a| Ok(a.get::<Block>(0)?.sum()))
    };
    stepstone::run(&config(dir.path(), "1MiB"), |p| Ok(build(p, &counter))).unwrap();
    stepstone::run(&config(dir.path(), "1MiB"), |p| Ok(build(p, &counter))).unwrap();
    assert_eq!(counter.get("x"), 1);
    stepstone::run(&config(dir.path(), "1MiB").fresh(true), |p| {
        Ok(build(p, &counter))
    })
    .unwrap();
    assert_eq!(counter.get("x"), 2);
}

/// Four checkpointed steps a → b → c → d; `changed` alters one step's code hash or parameter.
fn abcd(p: &mut Pipeline, counter: &Counter, code_b: &str, param_c: u64) -> Handle<u64> {
    let policy = stepstone::Policy::Checkpoint;
    let c1 = counter.clone();
    let a = p.step("a").code("1").policy(policy).run(move |_| {
        c1.hit("a");
        Ok(Block::new(100, 1))
    });
    let c2 = counter.clone();
    let b = p
        .step("b")
        .code(code_b)
        .policy(policy)
        .input(&a)
        .run(move |x| {
            c2.hit("b");
            Ok(x.get::<Block>(0)?.plus(1))
        });
    let c3 = counter.clone();
    let c = p
        .step("c")
        .code("1")
        .param(&param_c)
        .policy(policy)
        .input(&b)
        .run(move |x| {
            c3.hit("c");
            Ok(x.get::<Block>(0)?.plus(param_c))
        });
    let c4 = counter.clone();
    p.step("d")
        .code("1")
        .policy(policy)
        .input(&c)
        .run(move |x| {
            c4.hit("d");
            Ok(x.get::<Block>(0)?.sum())
        })
}

#[test]
fn a_changed_step_recomputes_itself_and_descendants_only() {
    let dir = tempfile::tempdir().unwrap();
    let run = |code_b: &str, param_c: u64| {
        let counter = Counter::default();
        let out = stepstone::run(&config(dir.path(), "1MiB"), |p| {
            Ok(abcd(p, &counter, code_b, param_c))
        })
        .unwrap();
        (counter, out)
    };
    let (first, _) = run("1", 5);
    assert_eq!(first.total(), 4);
    let (same, _) = run("1", 5);
    assert_eq!(same.total(), 0, "nothing changed: everything reused");
    let (code, out) = run("2", 5);
    assert_eq!(
        (code.get("a"), code.get("b"), code.get("c"), code.get("d")),
        (0, 1, 1, 1)
    );
    let a = out.report.steps_named("a").next().unwrap();
    assert_eq!(
        a.status,
        StepStatus::Reused,
        "a is upstream of the change: loaded, not computed"
    );
    let d = out.report.steps_named("d").next().unwrap();
    assert_eq!(d.status, StepStatus::Executed);
    let reason = |name: &str| out.report.steps_named(name).next().unwrap().reason.clone();
    assert!(
        reason("b").contains("stale: its code"),
        "the report says why: {}",
        reason("b")
    );
    assert!(reason("c").contains("an upstream step"), "{}", reason("c"));
    let (param, out) = run("2", 6);
    let c = out.report.steps_named("c").next().unwrap();
    assert!(c.reason.contains("its parameters"), "{}", c.reason);
    assert_eq!(
        (
            param.get("a"),
            param.get("b"),
            param.get("c"),
            param.get("d")
        ),
        (0, 0, 1, 1)
    );
}

#[test]
fn a_corrupt_checkpoint_is_reported_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let counter = Counter::default();
    let first = stepstone::run(&config(dir.path(), "1MiB"), |p| {
        Ok(abcd(p, &counter, "1", 5))
    })
    .unwrap();
    let objects = files_under(&dir.path().join("objects"), "");
    assert_eq!(objects.len(), 4);
    // Flip one payload byte of the last checkpoint (d's, the only one the next run needs).
    let d_fp = first
        .report
        .steps_named("d")
        .next()
        .unwrap()
        .fingerprint
        .to_hex();
    let d_path = objects
        .iter()
        .find(|p| p.to_string_lossy().contains(&d_fp))
        .unwrap();
    let mut bytes = std::fs::read(d_path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(d_path, bytes).unwrap();

    let again = Counter::default();
    let second =
        stepstone::run(&config(dir.path(), "1MiB"), |p| Ok(abcd(p, &again, "1", 5))).unwrap();
    assert_eq!(second.value, first.value);
    assert_eq!(again.get("d"), 1, "d recomputed from c's checkpoint");
    assert_eq!(again.get("c"), 0);
    let d = second.report.steps_named("d").next().unwrap();
    assert!(
        d.reason.contains("corrupt"),
        "the report says why: {}",
        d.reason
    );
    assert!(
        second
            .report
            .events
            .iter()
            .any(|e| e.kind == "corrupt" && e.step == "d")
    );
}

#[test]
fn a_held_lock_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _held = stepstone::store::Store::open(dir.path(), "holder", Default::default()).unwrap();
    let err = stepstone::run(&config(dir.path(), "1MiB"), |p| {
        Ok(p.step("x").code("1").run(|_| Ok(1u64)))
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("locked by pid {}", std::process::id())),
        "{err}"
    );
}
