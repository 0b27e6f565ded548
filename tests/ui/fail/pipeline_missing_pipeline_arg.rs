use stepstone::prelude::*;

#[step]
fn load(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

#[pipeline]
fn nightly(rows: u64) -> Result<Handle<Vec<u64>>> {
    let _ = rows;
    todo!()
}

fn main() -> std::process::ExitCode {
    nightly::main()
}
