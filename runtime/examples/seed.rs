//! The seed workload (`shared/workloads/seed.md`) written with the macros: the same computation,
//! flags and JSON line as `seed_builder.rs`, with `#[step]`/`#[pipeline]` doing the wiring.
//!
//! ```text
//! cargo run --release -p stepstone --example seed -- \
//!     --rows 2000000 --budget 384MiB --every 10 --checkpoint-dir /tmp/seed --fresh
//! ```
//! Flags: the standard run flags of every pipeline (`--budget`, `--checkpoint-dir`, `--fresh`,
//! `--jobs`, `--report`, …) plus `--rows N`, `--every N` (overrides `checkpoint_every`; 0: off)
//! and `--crash-after-step K` (abort right after step K's output is stored; 0 = generate).
//! The last line of stdout is one JSON object with the checksum and the run's figures.

use std::process::ExitCode;

#[path = "common/seed_macros.rs"]
mod seed_macros;

fn main() -> ExitCode {
    seed_macros::main()
}
