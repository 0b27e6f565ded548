//! Row 1 of the reliability matrix: kill -9 at random moments. Each test spawns the `chain`
//! binary, SIGKILLs it after a seeded random delay (one to three times in a row on the same
//! directory, so resumes get killed too), checks that every object left behind verifies, then
//! runs to completion and compares the sum with an uninterrupted run. The four tests differ in
//! what the killed run writes (checkpoints, spills only, a checkpoint at every step, a large
//! budget with two parallel jobs) and together kill at least 200 running processes.

mod reliability_util;

use std::process::Stdio;
use std::time::{Duration, Instant};

use reliability_util::{Rng, chain_cmd, chain_expected, run_chain, seed, sum_of, tmp_files};

/// Kills per test (four tests: 208 in all); `STEPSTONE_KILLS=N` raises it for a soak run.
fn kills() -> usize {
    std::env::var("STEPSTONE_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(52)
}

/// Kill `chain ARGS` at random moments until `KILLS` running processes were killed; after every
/// streak of kills, finish the run and compare with the uninterrupted answer.
fn kill_at_random_moments(test: &str, default_seed: u64, rows: usize, steps: u64, args: &[&str]) {
    let seed = seed(test, default_seed);
    let mut rng = Rng::new(seed);
    let (rows_s, steps_s) = (rows.to_string(), steps.to_string());
    let mut argv: Vec<&str> = vec!["--rows", &rows_s, "--steps", &steps_s];
    argv.extend_from_slice(args);

    let clean_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let clean = sum_of(&run_chain(clean_dir.path(), &argv));
    // The delays spread over the length of an uninterrupted run.
    let span_ms = (started.elapsed().as_millis() as u64).clamp(20, 2_000);
    assert_eq!(clean, chain_expected(rows, steps), "uninterrupted run");
    println!("{test}: uninterrupted sum {clean}, kill delays in 0..{span_ms} ms");

    let (mut killed, mut finished_first, mut rounds) = (0usize, 0usize, 0usize);
    let mut mid_run = 0usize;
    let kills = kills();
    while killed < kills {
        rounds += 1;
        assert!(
            rounds < kills * 10,
            "{test}: seed {seed}: the runs finish before the kill too often ({killed} kills in {rounds} rounds)"
        );
        let dir = tempfile::tempdir().unwrap();
        for nth in 0..rng.range(1, 4) {
            let mut child = chain_cmd(dir.path(), &argv)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // A resumed run is shorter than a fresh one: later kills of a streak come sooner.
            let span = (span_ms >> nth).max(5);
            std::thread::sleep(Duration::from_millis(rng.range(0, span)));
            let running = child.try_wait().unwrap().is_none();
            if running {
                child.kill().unwrap(); // SIGKILL
                killed += 1;
            } else {
                finished_first += 1;
            }
            child.wait().unwrap();
            // A killed run leaves complete objects only (the page cache survives a kill -9).
            let left = reliability_util::verify_all(dir.path(), false);
            mid_run += usize::from(running && !left.is_empty());
        }
        let out = run_chain(dir.path(), &argv);
        assert_eq!(
            sum_of(&out),
            clean,
            "{test}: seed {seed}, round {rounds}: the resumed run's sum differs"
        );
        assert_eq!(tmp_files(dir.path()), Vec::<std::path::PathBuf>::new());
    }
    println!(
        "{test}: {killed} kills ({mid_run} with objects already on disk), {finished_first} runs finished before their kill, {rounds} rounds"
    );
}

#[test]
fn kill9_with_checkpoints_and_spills_resumes_to_the_same_sum() {
    kill_at_random_moments(
        "kill9_with_checkpoints_and_spills",
        0x5EED_0001,
        20_000,
        20,
        &["--every", "3"],
    );
}

#[test]
fn kill9_with_spills_only_resumes_to_the_same_sum() {
    kill_at_random_moments(
        "kill9_with_spills_only",
        0x5EED_0002,
        12_000,
        18,
        &["--every", "0", "--budget", "200KiB"],
    );
}

#[test]
fn kill9_with_a_checkpoint_at_every_step_resumes_to_the_same_sum() {
    kill_at_random_moments(
        "kill9_with_a_checkpoint_at_every_step",
        0x5EED_0003,
        2_000,
        24,
        &["--every", "1"],
    );
}

#[test]
fn kill9_with_a_roomy_budget_resumes_to_the_same_sum() {
    kill_at_random_moments(
        "kill9_with_a_roomy_budget",
        0x5EED_0004,
        8_000,
        16,
        &["--every", "4", "--budget", "64MiB", "--jobs", "2"],
    );
}
