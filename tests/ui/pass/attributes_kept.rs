//! Attributes and odd names survive: `cfg` applies to everything the macro generates, other
//! attributes reach the body, raw identifiers work.
#![deny(warnings)]

use stepstone::prelude::*;

/// Compiled only in tests: in this binary neither the step nor its module exist.
#[cfg(test)]
#[step]
fn only_in_tests(n: u64) -> u64 {
    n
}

#[cfg(not(test))]
#[step]
#[inline]
#[must_use]
#[allow(clippy::needless_pass_by_value)]
fn everywhere(label: String) -> String {
    label
}

#[step(name = "match")]
fn r#match(values: &Vec<u8>, r#type: u8) -> Vec<u8> {
    values.iter().copied().filter(|v| *v == r#type).collect()
}

fn main() {
    assert_eq!(everywhere::body("x".to_string()), "x");
    assert_eq!(r#match::body(&vec![1, 2, 1], 1), vec![1, 1]);
    let _ = r#match as fn(&mut Pipeline, &Handle<Vec<u8>>, u8) -> Handle<Vec<u8>>;
}
