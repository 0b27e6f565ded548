use stepstone::prelude::*;

// Every problem is reported at once, each on its own tokens.
#[step(persist, chekpoint, persist)]
async fn merge<T>(left: &mut Vec<u64>, right: impl AsRef<[u64]>) -> Vec<u64> {
    left.extend_from_slice(right.as_ref());
    left.clone()
}

fn main() {}
