use stepstone::prelude::*;

#[step]
fn load(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

#[pipeline]
fn nightly(p: &mut Pipeline, jobs: u64) -> Result<Handle<Vec<u64>>> {
    Ok(load(p, jobs))
}

fn main() -> std::process::ExitCode {
    nightly::main()
}
