//! Row 12 of the reliability matrix: a stale checkpoint is never reused. Changing a step's code
//! hash, a parameter or its output type between runs recomputes exactly that step and its
//! descendants; everything else is reused, and the report gives each step's status and reason.

use stepstone::report::StepStatus;
use stepstone::{Handle, Outcome, Pipeline, Policy};
use stepstone_tests::{Block, Counter, config};

/// What differs from the first run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    None,
    /// b's code hash.
    Code,
    /// b's parameter.
    Param,
    /// b's output type (`Vec<u64>` instead of `Block`).
    Type,
}

/// a → b → c → d, and a → e beside it; f = d + e. Every step is a checkpoint.
fn graph(p: &mut Pipeline, counter: &Counter, change: Change) -> Handle<u64> {
    let pol = Policy::Checkpoint;
    let hit = |name: &'static str| {
        let c = counter.clone();
        move || c.hit(name)
    };
    let ha = hit("a");
    let a = p.step("a").code("1").policy(pol).run(move |_| {
        ha();
        Ok(Block::new(1_000, 1))
    });
    let (hb, hc) = (hit("b"), hit("c"));
    let param: u64 = if change == Change::Param { 7 } else { 5 };
    let code = if change == Change::Code { "2" } else { "1" };
    let c = if change == Change::Type {
        let b = p
            .step("b")
            .code(code)
            .param(&param)
            .policy(pol)
            .input(&a)
            .run(move |x| {
                hb();
                Ok(x.get::<Block>(0)?.plus(param).data)
            });
        p.step("c").code("1").policy(pol).input(&b).run(move |x| {
            hc();
            Ok(Block {
                data: x.get::<Vec<u64>>(0)?.clone(),
                label: "c".into(),
            }
            .plus(1))
        })
    } else {
        let b = p
            .step("b")
            .code(code)
            .param(&param)
            .policy(pol)
            .input(&a)
            .run(move |x| {
                hb();
                Ok(x.get::<Block>(0)?.plus(param))
            });
        p.step("c").code("1").policy(pol).input(&b).run(move |x| {
            hc();
            Ok(x.get::<Block>(0)?.plus(1))
        })
    };
    let hd = hit("d");
    let d = p.step("d").code("1").policy(pol).input(&c).run(move |x| {
        hd();
        Ok(x.get::<Block>(0)?.sum())
    });
    let he = hit("e");
    let e = p.step("e").code("1").policy(pol).input(&a).run(move |x| {
        he();
        Ok(x.get::<Block>(0)?.sum())
    });
    let hf = hit("f");
    p.step("f")
        .code("1")
        .policy(pol)
        .input(&d)
        .input(&e)
        .run(move |x| {
            hf();
            Ok(x.get::<u64>(0)?.wrapping_add(*x.get::<u64>(1)?))
        })
}

fn run(dir: &std::path::Path, change: Change) -> (Counter, Outcome<u64>) {
    let counter = Counter::default();
    let out = stepstone::run(&config(dir, "4MiB"), |p| Ok(graph(p, &counter, change))).unwrap();
    (counter, out)
}

fn status(out: &Outcome<u64>, name: &str) -> (StepStatus, String) {
    let s = out.report.steps_named(name).next().unwrap();
    (s.status, s.reason.clone())
}

#[test]
fn a_changed_code_param_or_type_recomputes_that_step_and_descendants_only() {
    for change in [Change::Code, Change::Param, Change::Type] {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = run(dir.path(), Change::None);
        assert_eq!(first.total(), 6);
        let (counter, out) = run(dir.path(), change);
        let ran: Vec<usize> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|n| counter.get(n))
            .collect();
        assert_eq!(
            ran,
            vec![0, 1, 1, 1, 0, 1],
            "{change:?}: b and its descendants c, d, f"
        );
        let why_b = match change {
            Change::Code => "stale: its code (or version) changed",
            Change::Param => "stale: its parameters changed",
            _ => "stale: its output type changed",
        };
        for name in ["b", "c", "d", "f"] {
            let (st, reason) = status(&out, name);
            assert_eq!(st, StepStatus::Executed, "{change:?}: {name}");
            let why = if name == "b" {
                why_b
            } else {
                "an upstream step"
            };
            assert!(
                reason.contains(why),
                "{change:?}: {name}: `{why}` not in: {reason}"
            );
            println!("{change:?}: {name}: executed, reason: {reason}");
        }
        for name in ["a", "e"] {
            let (st, reason) = status(&out, name);
            assert_eq!(st, StepStatus::Reused, "{change:?}: {name}");
            assert!(
                reason.contains("checkpoint from an earlier run"),
                "{change:?}: {name}: {reason}"
            );
        }
        // The old checkpoints stay on disk but are never read for the new fingerprints; the
        // new run is reused as a whole next time.
        let (again, out) = run(dir.path(), change);
        assert_eq!(again.total(), 0, "{change:?}");
        assert_eq!(status(&out, "f").0, StepStatus::Reused);
    }
}

#[test]
fn changing_back_reuses_the_original_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (_, original) = run(dir.path(), Change::None);
    let (_, changed) = run(dir.path(), Change::Param);
    assert_ne!(changed.value, original.value);
    let (counter, back) = run(dir.path(), Change::None);
    assert_eq!(back.value, original.value);
    assert_eq!(
        counter.total(),
        0,
        "the original checkpoints are still valid"
    );
}
