//! The seed example (`runtime/examples/seed.rs`, the same source) as a binary of the test crate,
//! so process-level tests (signals, corruption of every stored object) run the real workload
//! with its lazy `Parts` aggregate: same flags, same JSON line, same exit codes.

use std::process::ExitCode;

#[path = "../../../runtime/examples/common/seed_macros.rs"]
mod seed_macros;

fn main() -> ExitCode {
    seed_macros::main()
}
