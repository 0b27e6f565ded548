use stepstone::prelude::*;

#[step]
struct Load {
    rows: u64,
}

fn main() {
    let _ = Load { rows: 1 }.rows;
}
