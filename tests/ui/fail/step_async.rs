use stepstone::prelude::*;

#[step]
async fn fetch(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

fn main() {
    let _ = fetch::body(3);
}
