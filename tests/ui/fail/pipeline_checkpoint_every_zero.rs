use stepstone::prelude::*;

#[step]
fn load(rows: u64) -> Vec<u64> {
    (0..rows).collect()
}

#[pipeline(checkpoint_every = 0)]
fn nightly(p: &mut Pipeline, rows: u64) -> Result<Handle<Vec<u64>>> {
    Ok(load(p, rows))
}

fn main() -> std::process::ExitCode {
    nightly::main()
}
