use stepstone::prelude::*;

// The step still expands (the unknown option is skipped), so its use below does not cascade.
#[step(checkpiont)]
fn double(values: &Vec<u64>) -> Vec<u64> {
    values.iter().map(|v| v * 2).collect()
}

fn wire(p: &mut Pipeline, values: &Handle<Vec<u64>>) -> Handle<Vec<u64>> {
    double(p, values)
}

fn main() {
    let _ = wire;
}
