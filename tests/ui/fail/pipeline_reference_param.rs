use stepstone::prelude::*;

#[step]
fn load(path: String) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[pipeline]
fn nightly(p: &mut Pipeline, input: &str) -> Result<Handle<Vec<u8>>> {
    Ok(load(p, input.to_string()))
}

fn main() -> std::process::ExitCode {
    nightly::main()
}
