use stepstone::prelude::*;

// An error must be an error (or a message): a bare number cannot explain what went wrong.
#[step]
fn parse(text: &String) -> Result<u64, u32> {
    text.trim().parse().map_err(|_| 1)
}

fn main() {
    let _ = parse::body(&"1".to_string());
}
