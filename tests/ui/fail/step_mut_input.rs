use stepstone::prelude::*;

#[step]
fn sort(values: &mut Vec<u64>) -> u64 {
    values.sort();
    values[0]
}

fn main() {
    let _ = sort::body(&mut vec![2, 1]);
}
