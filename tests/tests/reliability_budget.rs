//! Row 13 of the reliability matrix: an impossible budget fails with a clear error (step, sizes,
//! budget, fixes) before the OS runs out of memory. The in-process version is
//! `budget::a_step_that_cannot_fit_fails_before_running_with_the_fixes`; here the `chain`
//! binary runs in a child process under `ulimit -v 512 MiB` with a 280 MB dataset: with a
//! 64 MiB budget it stops with the budget error and exit code 1, while with an 8 GiB budget
//! (which the runtime cannot hold it to) the same run dies when the OS refuses memory.

mod reliability_util;

use std::process::{Command, Output};

use reliability_util::CHAIN;

/// `chain` with 35 M rows (280 MB) and one adjust step, under `ulimit -v 512 MiB`.
fn big_chain(budget: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 524288; exec \"$0\" \"$@\"")
        .arg(CHAIN)
        .arg("--dir")
        .arg(dir.path())
        .args(["--rows", "35000000", "--steps", "1", "--every", "0"])
        .args(["--budget", budget])
        .output()
        .unwrap()
}

#[test]
fn an_impossible_budget_fails_with_a_clear_error_before_the_os_refuses_memory() {
    let out = big_chain("64MiB");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a clean exit: {stderr}");
    for part in [
        "step `generate`",
        "64 MiB",
        "MiB",
        "raise the budget",
        "split the step",
    ] {
        assert!(stderr.contains(part), "`{part}` missing from: {stderr}");
    }
}

#[test]
fn without_the_budget_check_the_same_run_dies_when_the_os_refuses_memory() {
    let out = big_chain("8GiB");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the address-space limit must stop this run"
    );
    assert!(
        out.status.code().is_none() || stderr.contains("memory allocation"),
        "killed by the allocator, not by a budget error: {:?} {stderr}",
        out.status
    );
    assert!(!stderr.contains("raise the budget"), "{stderr}");
}
