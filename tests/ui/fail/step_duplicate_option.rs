use stepstone::prelude::*;

#[step(name = "load", version = "1", name = "read")]
fn load(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

fn main() {
    let _ = load::body(3);
}
