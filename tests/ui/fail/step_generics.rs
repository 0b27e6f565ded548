use stepstone::prelude::*;

#[step]
fn first<T: Clone>(items: &Vec<T>) -> T {
    items[0].clone()
}

fn main() {
    let _ = first::body(&vec![1u8]);
}
