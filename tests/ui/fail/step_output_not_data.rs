use stepstone::prelude::*;

/// Not serializable: no `Serialize`/`Deserialize`, no `MemSize`.
pub struct Summary {
    pub total: u64,
}

#[step]
fn summarize(values: &Vec<u64>) -> Summary {
    Summary { total: values.iter().sum() }
}

fn main() {
    let _ = summarize::body(&vec![1]).total;
}
