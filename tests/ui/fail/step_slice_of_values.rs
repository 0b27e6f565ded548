use stepstone::prelude::*;

#[step]
fn total(values: &[u64]) -> u64 {
    values.iter().sum()
}

fn main() {
    let _ = total::body(&[1, 2]);
}
