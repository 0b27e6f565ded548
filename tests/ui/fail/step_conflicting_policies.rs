use stepstone::prelude::*;

#[step(checkpoint, cache)]
fn load(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

fn main() {
    let _ = load::body(3);
}
