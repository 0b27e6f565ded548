//! Input files inside one process (RELIABILITY row 23 and the early cutoff of an input step):
//! a file that changes while its step reads it fails that step with a clear error and nothing is
//! stored for it; an input whose new content gives the same output leaves the descendants
//! reused, and one that gives another output recomputes them; hand-written steps
//! (`StepBuilder::volatile`, `StepBuilder::input_file`) behave the same.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use stepstone::prelude::*;
use stepstone::report::StepStatus;
use stepstone::{InputFile, Outcome, Policy};

static APPEND_WHILE_READING: AtomicBool = AtomicBool::new(false);
static DOUBLE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[step(checkpoint)]
fn line_count(input: InputFile) -> Result<u64, String> {
    let text = std::fs::read_to_string(&*input).map_err(|e| e.to_string())?;
    if APPEND_WHILE_READING.load(Ordering::SeqCst) {
        // Another process writing the file while the step reads it.
        std::fs::write(&*input, format!("{text}more\n")).map_err(|e| e.to_string())?;
    }
    Ok(text.lines().count() as u64)
}

#[step(checkpoint)]
fn doubled(n: &u64) -> u64 {
    DOUBLE_RUNS.fetch_add(1, Ordering::SeqCst);
    n * 2
}

fn run(dir: &Path, input: &Path) -> stepstone::Result<Outcome<u64>> {
    let config = RunConfig::new("inputs-run").checkpoint_dir(dir.join("ckpt"));
    let input = InputFile::from(input);
    stepstone::run(&config, |p| {
        let n = line_count(p, input);
        Ok(doubled(p, &n))
    })
}

fn row<'a>(outcome: &'a Outcome<u64>, name: &str) -> &'a stepstone::report::StepReport {
    outcome
        .report
        .steps
        .iter()
        .find(|s| s.name == name)
        .unwrap()
}

#[test]
fn input_steps_fail_on_a_file_changed_while_read_and_cut_off_unchanged_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\n").unwrap();

    // Row 23: the file grows while the step reads it.
    APPEND_WHILE_READING.store(true, Ordering::SeqCst);
    let err = run(dir.path(), &input).unwrap_err();
    APPEND_WHILE_READING.store(false, Ordering::SeqCst);
    let text = stepstone::error_chain(&err);
    assert!(text.contains("line_count"), "{text}");
    assert!(text.contains("changed while the step read it"), "{text}");
    assert!(text.contains("in.txt"), "{text}");

    // Nothing was stored for it: the next run computes it from the file as it is now.
    let first = run(dir.path(), &input).unwrap();
    assert_eq!(first.value, 6, "three lines, doubled");
    assert_eq!(row(&first, "line_count").status, StepStatus::Executed);
    assert_eq!(DOUBLE_RUNS.load(Ordering::SeqCst), 1);

    // Other content, same number of lines: the input step runs, its descendant is reused.
    std::fs::write(&input, "x\ny\nmore\n").unwrap();
    let same = run(dir.path(), &input).unwrap();
    assert_eq!(same.value, 6);
    let reason = &row(&same, "line_count").reason;
    assert_eq!(row(&same, "line_count").status, StepStatus::Executed);
    assert!(
        reason.contains("changed") && reason.contains("output unchanged: descendants reused"),
        "{reason}"
    );
    assert_eq!(row(&same, "doubled").status, StepStatus::Reused);
    assert_eq!(DOUBLE_RUNS.load(Ordering::SeqCst), 1);
    assert!(row(&same, "line_count").content.output_hash.is_some());

    // One more line: the descendant recomputes with the new answer.
    std::fs::write(&input, "x\ny\nmore\nlast\n").unwrap();
    let changed = run(dir.path(), &input).unwrap();
    assert_eq!(changed.value, 8);
    assert_eq!(row(&changed, "doubled").status, StepStatus::Executed);
    assert_eq!(DOUBLE_RUNS.load(Ordering::SeqCst), 2);

    // Back to content seen before: resolved from the record, nothing runs.
    std::fs::write(&input, "x\ny\nmore\n").unwrap();
    let again = run(dir.path(), &input).unwrap();
    assert_eq!(again.value, 6);
    assert_ne!(row(&again, "line_count").status, StepStatus::Executed);
    assert_eq!(DOUBLE_RUNS.load(Ordering::SeqCst), 2);
}

static SOURCE: AtomicU64 = AtomicU64::new(1);
static CHILD_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Hand-written steps: a volatile source (reads `SOURCE`) and an input step, each with a child.
fn hand_written(dir: &Path, input: &Path) -> stepstone::Result<Outcome<u64>> {
    let config = RunConfig::new("hand").checkpoint_dir(dir.join("ckpt"));
    let input = InputFile::from(input);
    stepstone::run(&config, move |p| {
        let source = p
            .step("source")
            .code("1")
            .policy(Policy::Checkpoint)
            .volatile()
            .run(|_| Ok(SOURCE.load(Ordering::SeqCst)));
        let read = p
            .step("read")
            .code("1")
            .input_file("input", &input)
            .param(&input)
            .run({
                let input = input.clone();
                move |_| Ok(std::fs::read(&*input)?.len() as u64)
            });
        let child = p
            .step("child")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&source)
            .input(&read)
            .run(|a| {
                CHILD_RUNS.fetch_add(1, Ordering::SeqCst);
                Ok(a.get::<u64>(0)? * 100 + a.get::<u64>(1)?)
            });
        Ok(child)
    })
}

#[test]
fn hand_written_volatile_and_input_steps_cut_off_like_macro_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "abc").unwrap();
    assert_eq!(hand_written(dir.path(), &input).unwrap().value, 103);
    assert_eq!(CHILD_RUNS.load(Ordering::SeqCst), 1);

    // The volatile source ran again with the same output: the child is reused.
    let again = hand_written(dir.path(), &input).unwrap();
    assert_eq!(again.value, 103);
    assert_eq!(row(&again, "source").status, StepStatus::Executed);
    assert_eq!(CHILD_RUNS.load(Ordering::SeqCst), 1);

    // Its output changed: the child recomputes.
    SOURCE.store(2, Ordering::SeqCst);
    assert_eq!(hand_written(dir.path(), &input).unwrap().value, 203);
    assert_eq!(CHILD_RUNS.load(Ordering::SeqCst), 2);

    // The input file changed: the child recomputes with the new answer.
    std::fs::write(&input, "abcd").unwrap();
    assert_eq!(hand_written(dir.path(), &input).unwrap().value, 204);
    assert_eq!(CHILD_RUNS.load(Ordering::SeqCst), 3);
}

/// Issue 21, item 4: an input that is not a regular file — a FIFO (what `<(…)` and a pipe on
/// `/dev/stdin` are), a device like `/dev/zero` — is refused before any step runs, with the
/// reason; a FIFO without a writer no longer hangs the run (nor is a drained stream stored as
/// an empty answer).
#[test]
fn pipes_fifos_and_devices_are_refused_as_inputs_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let (done, finished) = std::sync::mpsc::channel();
    let root = dir.path().to_path_buf();
    // On a thread, so that a hang fails this test instead of stalling the suite.
    std::thread::spawn(move || {
        let fifo = run(&root, &root.join("in.fifo")).map(|o| o.value);
        let zero = run(&root, Path::new("/dev/zero")).map(|o| o.value);
        let _ = done.send((
            fifo.map_err(|e| stepstone::error_chain(&e)),
            zero.map_err(|e| stepstone::error_chain(&e)),
        ));
    });
    let (fifo, zero) = finished
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("a FIFO without a writer or /dev/zero as an input hung the run");
    let fifo = fifo.expect_err("a FIFO is not an input");
    assert!(fifo.contains("a pipe (FIFO), not a regular file"), "{fifo}");
    assert!(
        fifo.contains("in.fifo") && fifo.contains("line_count"),
        "{fifo}"
    );
    let zero = zero.expect_err("a device is not an input");
    assert!(zero.contains("a device, not a regular file"), "{zero}");
}
