//! Helpers shared by the `reliability_*` test files: the chain pipeline (in process, so it can
//! run on a fault-injecting backend, and as the `chain` binary for process-level tests), a
//! seeded random number generator, and the check that every object in a checkpoint directory
//! verifies. Not a test target itself (a folder with `mod.rs`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stepstone::store::{ObjectInfo, ObjectKind, Store, StoreError};
use stepstone::{Handle, Pipeline};
use stepstone_tests::Block;

/// The `chain` test binary (see `tests/src/bin/chain.rs`).
pub(crate) const CHAIN: &str = env!("CARGO_BIN_EXE_chain");
/// The `seed` test binary: the seed example's source (see `tests/src/bin/seed.rs`).
pub(crate) const SEED: &str = env!("CARGO_BIN_EXE_seed");
/// The `hostile` test binary (see `tests/src/bin/hostile.rs`).
pub(crate) const HOSTILE: &str = env!("CARGO_BIN_EXE_hostile");

/// A `chain` command on `dir` with extra flags.
pub(crate) fn chain_cmd(dir: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(CHAIN);
    cmd.arg("--dir").arg(dir).args(extra);
    cmd
}

/// Run `chain` to the end.
pub(crate) fn run_chain(dir: &Path, extra: &[&str]) -> Output {
    chain_cmd(dir, extra).output().expect("spawn chain")
}

/// The `sum` a successful `chain` printed; panics with its output otherwise.
pub(crate) fn sum_of(out: &Output) -> u64 {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "chain did not print its JSON line ({e}); status {:?}\nstdout: {text}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    value["sum"].as_u64().expect("sum is a number")
}

/// The `checksum` of the JSON line a successful `seed` printed; panics with its output otherwise.
pub(crate) fn seed_checksum(out: &Output) -> f64 {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "seed did not print its JSON line ({e}); status {:?}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    value["checksum"].as_f64().expect("checksum is a number")
}

/// Every run report of `dir`, oldest first (`None` for a run that wrote none).
pub(crate) fn reports(dir: &Path) -> Vec<Option<stepstone::RunReport>> {
    let store = Store::open_read_only(dir).expect("open the checkpoint directory");
    store
        .list_runs()
        .expect("list runs")
        .iter()
        .map(|run| {
            let bytes = store.read_run_file(run, "report.json").ok().flatten()?;
            serde_json::from_slice(&bytes).ok()
        })
        .collect()
}

/// A tiny xorshift64* generator: deterministic, seeded, printed by the tests that use it.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is mapped to a fixed non-zero state).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
    /// The next number.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `lo..hi` (`hi > lo`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The seed for a test: `STEPSTONE_TEST_SEED` when set (to replay a failure), else `default`.
/// Printed so a failing run can be replayed.
pub(crate) fn seed(test: &str, default: u64) -> u64 {
    let seed = std::env::var("STEPSTONE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("{test}: seed {seed} (replay with STEPSTONE_TEST_SEED={seed})");
    seed
}

/// Every file under `objects/` must be a valid object whose payload verifies. Returns their
/// headers. `allow_corrupt_spills`: after a simulated power loss an unsynced spill may be
/// empty, torn or missing (documented in docs/design.md (Storage)); such files are tolerated, but a
/// file whose header says "checkpoint" must still verify.
pub(crate) fn verify_all(dir: &Path, allow_corrupt_spills: bool) -> Vec<ObjectInfo> {
    let Ok(store) = Store::open_read_only(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in store.list_objects().expect("list objects") {
        match entry {
            Ok(info) => match store.verify(info.key) {
                Ok(info) => out.push(info),
                Err(e) if allow_corrupt_spills && info.kind == ObjectKind::Spill => {
                    println!("tolerated (unsynced spill after power loss): {e}");
                }
                Err(e) => panic!("a visible {:?} object does not verify: {e}", info.kind),
            },
            Err(e @ StoreError::Corrupt { .. }) if allow_corrupt_spills => {
                println!("tolerated (unsynced file after power loss): {e}");
            }
            Err(e) => panic!("a visible object is not valid: {e}"),
        }
    }
    out
}

/// Files under `dir/tmp` (orphans or leftovers).
pub(crate) fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    stepstone_tests::files_under(&dir.join("tmp"), "")
}

/// The expected answer of [`chain`] with these parameters, computed without the runtime.
pub(crate) fn chain_expected(rows: usize, steps: u64) -> u64 {
    let base = Block::new(rows, 3);
    let mut kept = Vec::new();
    let mut added = 0u64;
    for i in 1..=steps {
        added += i;
        if i % 3 == 0 {
            kept.push(base.plus(added).sum());
        }
    }
    // The last dataset is kept once more (twice when `steps` is a multiple of 3).
    kept.push(base.plus(added).sum());
    kept.into_iter().fold(0u64, u64::wrapping_add)
}

/// The `chain` binary's pipeline, in process: generate, `steps` adjust steps (every 3rd kept
/// for the end), a fold over the kept datasets, a checkpointed result. Run it with
/// `checkpoint_every` set so some adjust steps are checkpoints, and a small budget so the kept
/// datasets spill.
pub(crate) fn chain(p: &mut Pipeline, rows: usize, steps: u64) -> Handle<u64> {
    stepstone_tests::chain_pipeline(p, rows, steps, std::time::Duration::ZERO)
}
