use stepstone::prelude::*;

#[derive(Clone)]
pub struct Threshold(pub u64);

#[step]
fn filter(values: &Vec<u64>, threshold: Threshold) -> Vec<u64> {
    values.iter().copied().filter(|v| *v > threshold.0).collect()
}

fn main() {
    let _ = filter::body(&vec![1], Threshold(0));
}
