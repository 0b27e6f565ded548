use stepstone::step;

#[step(repartition(by = "key", partitions = 4))]
fn total(rows: &Vec<u64>) -> u64 {
    rows.iter().sum()
}

fn main() {}
