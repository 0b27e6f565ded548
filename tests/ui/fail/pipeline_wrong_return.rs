use stepstone::prelude::*;

#[step]
fn load(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

#[pipeline]
fn nightly(p: &mut Pipeline, rows: u64) -> Vec<u64> {
    let _ = load(p, rows);
    Vec::new()
}

fn main() -> std::process::ExitCode {
    nightly::main()
}
