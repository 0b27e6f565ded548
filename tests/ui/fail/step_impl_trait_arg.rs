use stepstone::prelude::*;

#[step]
fn count(items: impl IntoIterator<Item = u64>) -> u64 {
    items.into_iter().count() as u64
}

fn main() {
    let _ = count::body(vec![1]);
}
