use stepstone::MemSize;

#[derive(MemSize)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}
