//! `#[pipeline]` with every option, parameters with and without defaults, and both return forms.
#![deny(warnings)]

use stepstone::prelude::*;

#[step]
fn numbers(n: u64) -> Vec<u64> {
    (0..n).collect()
}

#[step(checkpoint)]
fn total(v: &Vec<u64>) -> u64 {
    v.iter().sum()
}

/// Sum of `0..n`.
#[pipeline(budget = "384 MiB", checkpoint_every = 10, name = "sums", checkpoint_dir = "target/ui-sums")]
pub fn sums(
    p: &mut Pipeline,
    /// How many numbers.
    #[default(1000)]
    n: u64,
    label: String,
) -> Result<Handle<u64>> {
    let _ = label;
    let v = numbers(p, n);
    Ok(total(p, &v))
}

/// The infallible return form, no parameters.
#[pipeline]
fn plain(p: &mut Pipeline) -> Handle<Vec<u64>> {
    numbers(p, 3)
}

fn main() {
    let d = sums::defaults();
    assert_eq!(d.name, "sums");
    assert_eq!(d.budget, Some("384 MiB"));
    assert_eq!(d.checkpoint_every, Some(10));
    assert_eq!(d.checkpoint_dir, Some("target/ui-sums"));
    assert_eq!(plain::defaults().name, "plain");
    assert_eq!(plain::defaults().budget, None);
    let _ = sums::run as fn(&RunConfig, u64, String) -> stepstone::Result<stepstone::Outcome<u64>>;
    let _ = plain::run as fn(&RunConfig) -> stepstone::Result<stepstone::Outcome<Vec<u64>>>;
    let _ = sums::main as fn() -> std::process::ExitCode;
    let _ = plain::main as fn() -> std::process::ExitCode;
}
