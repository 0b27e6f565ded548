//! `--jobs`: independent ready steps run at the same time, with the same answers and the same
//! budget guarantees as one at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stepstone::{Handle, Pipeline};
use stepstone_tests::{Block, config};

/// Four independent branches of `n` numbers, each transformed twice, then summed.
fn branches(p: &mut Pipeline, n: usize) -> Handle<u64> {
    let mut tips = Vec::new();
    for b in 0..4u64 {
        let src = p
            .step("src")
            .code("1")
            .param(&b)
            .run(move |_| Ok(Block::new(n, b * 1000)));
        let one = p
            .step("one")
            .code("1")
            .param(&b)
            .input(&src)
            .run(move |a| Ok(a.get::<Block>(0)?.plus(b)));
        tips.push(
            p.step("two")
                .code("1")
                .param(&b)
                .input(&one)
                .run(|a| Ok(a.get::<Block>(0)?.plus(1))),
        );
    }
    let k = tips.len();
    p.step("sum").code("1").lazy_inputs(&tips).run(move |a| {
        let mut total = 0u64;
        for part in a.parts::<Block>(0, k) {
            total = total.wrapping_add(part?.sum());
        }
        Ok(total)
    })
}

#[test]
fn parallel_runs_give_the_same_answer_within_the_budget() {
    let one = stepstone::run(&config(tempfile::tempdir().unwrap().path(), "1GiB"), |p| {
        Ok(branches(p, 50_000))
    })
    .unwrap();
    for budget in ["1GiB", "1MiB"] {
        let dir = tempfile::tempdir().unwrap();
        let out = stepstone::run(&config(dir.path(), budget).jobs(2), |p| {
            Ok(branches(p, 50_000))
        })
        .unwrap();
        assert_eq!(out.value, one.value, "budget {budget}");
        assert!(
            out.report.tracked_peak_bytes <= out.report.budget_bytes,
            "budget {budget}: {:?}",
            out.report.tracked_peak_bytes
        );
    }
}

#[test]
fn independent_steps_overlap_with_two_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let inside = Arc::new(AtomicUsize::new(0));
    let overlapped = Arc::new(AtomicBool::new(false));
    let out = stepstone::run(&config(dir.path(), "64MiB").jobs(2), |p| {
        let seed = p.step("seed").code("1").run(|_| Ok(0u64));
        let mut tips = Vec::new();
        for b in 0..2u64 {
            let (inside, overlapped) = (Arc::clone(&inside), Arc::clone(&overlapped));
            let step = p
                .step("wait_for_the_other")
                .code("1")
                .param(&b)
                .input(&seed);
            tips.push(step.run(move |_| {
                // The first to arrive waits (at most 10 s) for the other to arrive while it is
                // still inside its body: only a parallel run can see that.
                if inside.fetch_add(1, Ordering::SeqCst) == 0 {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while inside.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    overlapped.store(inside.load(Ordering::SeqCst) >= 2, Ordering::SeqCst);
                }
                Ok(b)
            }));
        }
        let add = p.step("add").code("1").inputs(&tips);
        Ok(add.run(|a| Ok(a.get::<u64>(0)? + a.get::<u64>(1)?)))
    })
    .unwrap();
    assert_eq!(out.value, 1);
    assert!(
        overlapped.load(Ordering::SeqCst),
        "the two independent steps ran at the same time"
    );
}

#[test]
fn a_step_of_unknown_size_runs_alone_so_parallel_resume_holds_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || config(dir.path(), "1MiB").jobs(2);
    // First run: a checkpointed 400 KB dataset.
    let first = |p: &mut Pipeline| {
        let a = p.step("a").code("1").run(|_| Ok(Block::new(50_000, 1)));
        p.step("a2")
            .code("1")
            .policy(stepstone::Policy::Checkpoint)
            .input(&a)
            .run(|x| Ok(x.get::<Block>(0)?.plus(1)))
    };
    stepstone::run(&cfg(), |p| Ok(first(p))).unwrap();
    // Second run: a new source of unknown size next to a step that reloads the checkpoint.
    // Started together they would hold 1.2 MB; the new source must run alone.
    let out = stepstone::run(&cfg(), |p| {
        let a2 = first(p);
        let b = p.step("b").code("1").run(|_| Ok(Block::new(50_000, 2)));
        let x = p
            .step("x")
            .code("1")
            .input(&a2)
            .run(|x| Ok(x.get::<Block>(0)?.plus(1)));
        Ok(p.step("sum").code("1").input(&b).input(&x).run(|v| {
            Ok(v.get::<Block>(0)?
                .sum()
                .wrapping_add(v.get::<Block>(1)?.sum()))
        }))
    })
    .unwrap();
    let r = &out.report;
    assert!(
        r.tracked_peak_bytes <= r.budget_bytes,
        "tracked peak {} > budget {}",
        r.tracked_peak_bytes,
        r.budget_bytes
    );
}

/// Threads that decoded a [`Traced`] value (the test below checks where lazy loads ran).
static DECODED_ON: std::sync::Mutex<Vec<std::thread::ThreadId>> = std::sync::Mutex::new(Vec::new());

/// Numbers whose decoding notes the thread it ran on.
#[derive(serde::Serialize)]
struct Traced(Vec<u64>);

impl<'de> serde::Deserialize<'de> for Traced {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let numbers = Vec::<u64>::deserialize(d)?;
        DECODED_ON.lock().unwrap().push(std::thread::current().id());
        Ok(Traced(numbers))
    }
}

impl stepstone::memory::MemSize for Traced {
    fn add_heap(&self, acc: &mut stepstone::memory::Footprint) {
        self.0.add_heap(acc);
    }
}

/// Six checkpointed sources and a wide step reading `read` of them one at a time; returns the
/// sum and the thread the wide step's body ran on.
fn wide(
    p: &mut Pipeline,
    read: usize,
    body_thread: Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>,
) -> Handle<u64> {
    let sources: Vec<Handle<Traced>> = (0..6u64)
        .map(|s| {
            p.step("source")
                .code("1")
                .param(&s)
                .policy(stepstone::Policy::Checkpoint)
                .run(move |_| Ok(Traced((0..200_000).map(|i| i * 7 + s).collect())))
        })
        .collect();
    p.step("total")
        .code("1")
        .param(&(read as u64))
        .lazy_inputs(&sources)
        .run(move |a| {
            *body_thread.lock().unwrap() = Some(std::thread::current().id());
            let mut total = 0u64;
            for part in a.parts::<Traced>(0, 6).take(read) {
                total = total.wrapping_add(part?.0.iter().sum::<u64>());
            }
            Ok(total)
        })
}

/// A wide step that runs alone with `--jobs 2` reads its stored inputs on both cores: each
/// input it asks for loads on its own thread while the next loads on another (issue 22: the
/// aggregate of a partitioned run no longer decodes its 64 inputs on one core). Same answer as
/// `--jobs 1`; a body that stops reading early still ends (the loads it never took are joined);
/// the tracked peak stays within the budget.
#[test]
fn a_wide_step_alone_loads_its_stored_inputs_on_every_core() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = |jobs: usize| config(dir.path(), "64MiB").jobs(jobs);
    // First run: the sources are checkpointed (and the sums computed from memory).
    let body = Arc::new(std::sync::Mutex::new(None));
    let first = stepstone::run(&cfg(1), |p| Ok(wide(p, 6, Arc::clone(&body)))).unwrap();
    for (jobs, read) in [(1, 6), (2, 6), (2, 2)] {
        DECODED_ON.lock().unwrap().clear();
        let body = Arc::new(std::sync::Mutex::new(None));
        let out = stepstone::run(&cfg(jobs), |p| Ok(wide(p, read, Arc::clone(&body)))).unwrap();
        if read == 6 {
            assert_eq!(out.value, first.value, "--jobs {jobs}");
        }
        let body = body.lock().unwrap().expect("the wide step ran");
        let decoded = DECODED_ON.lock().unwrap().clone();
        assert!(decoded.len() >= read, "--jobs {jobs}: {decoded:?}");
        let elsewhere = decoded.iter().filter(|t| **t != body).count();
        if jobs == 1 {
            assert_eq!(elsewhere, 0, "--jobs 1 loads on the body's thread");
        } else {
            assert!(
                elsewhere >= read / 2,
                "--jobs 2, {read} read: {elsewhere} of {} loads on another thread",
                decoded.len()
            );
        }
        assert!(
            out.report.tracked_peak_bytes <= out.report.budget_bytes,
            "--jobs {jobs}: {} > {}",
            out.report.tracked_peak_bytes,
            out.report.budget_bytes
        );
    }
}
