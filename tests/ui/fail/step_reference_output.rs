use stepstone::prelude::*;

#[step]
fn first(values: &Vec<u64>) -> &u64 {
    &values[0]
}

fn main() {
    let _ = first::body(&vec![1]);
}
