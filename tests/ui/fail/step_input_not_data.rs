use stepstone::prelude::*;
use std::time::Instant;

// `Instant` has no serde representation and no `MemSize`: it cannot be stored or spilled.
#[step]
fn elapsed(started: &Instant) -> u64 {
    started.elapsed().as_secs()
}

fn main() {
    let _ = elapsed::body(&Instant::now());
}
