//! The code fingerprint of a step: xxh3-128 of the function's tokens rendered canonically
//! ([`stepstone_build::render_canonical`], the rendering the helper table uses too).
//!
//! Hashed: the signature (name, argument patterns and types, return type) and the body, token by
//! token. Not hashed: whitespace, comments and doc comments (they are not tokens, or are
//! skipped), the function's attributes and visibility, the `#[step(...)]` options (the runtime
//! adds name, module and version itself), and anything outside the function: callees, type
//! definitions, constants, other crates — those enter through the `stepstone-build` table
//! (`helpers.rs`) when the crate has one; otherwise bump `version = "…"`.

use quote::ToTokens;
use stepstone_build::render_canonical;
use xxhash_rust::xxh3::xxh3_128;

/// Changes when the canonical rendering changes, so old fingerprints are not reused.
const RENDERING: &str = "stepstone-step-code-v1";

/// The fingerprint of `item` as 32 lowercase hex digits.
pub(crate) fn code_hash(item: &syn::ItemFn) -> String {
    let mut text = String::from(RENDERING);
    text.push('\n');
    render_canonical(item.sig.to_token_stream(), &mut text);
    render_canonical(item.block.to_token_stream(), &mut text);
    format!("{:032x}", xxh3_128(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(src: &str) -> String {
        code_hash(&syn::parse_str(src).unwrap())
    }

    #[test]
    fn whitespace_and_comments_do_not_change_the_hash() {
        let a = hash("fn f(x: &Vec<u64>, k: u32) -> u64 { x.iter().sum::<u64>() + k as u64 }");
        let b = hash(
            "/// docs\nfn f(\n  x: &Vec<u64>, // the data\n  k: u32,\n) -> u64 {\n  /* sum */ x.iter()\n  .sum::<u64>() + k as u64\n}",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn body_signature_and_inner_docs() {
        let base = hash("fn f(x: u32) -> u32 { x + 1 }");
        assert_ne!(base, hash("fn f(x: u32) -> u32 { x + 2 }"));
        assert_ne!(base, hash("fn f(x: u64) -> u32 { x + 1 }"));
        assert_ne!(base, hash("fn f(x: u32) -> u32 { x+=1; x }"));
        assert_eq!(base, hash("fn f(x: u32) -> u32 { //! inner doc\n x + 1 }"));
        assert_eq!(base, hash("#[inline] pub fn f(x: u32) -> u32 { x + 1 }"));
        assert_ne!(
            hash("fn f() -> i32 { 1 - -1 }"),
            hash("fn f() -> i32 { 1 -= 1 }")
        );
    }

    #[test]
    fn trailing_commas_count_only_where_they_mean_something() {
        let same = |a: &str, b: &str| assert_eq!(hash(a), hash(b), "{a} vs {b}");
        let differ = |a: &str, b: &str| assert_ne!(hash(a), hash(b), "{a} vs {b}");
        same(
            "fn f(x: u32) -> u32 { g(x) }",
            "fn f(\n    x: u32,\n) -> u32 {\n    g(\n        x,\n    )\n}",
        );
        same(
            "fn f(x: u32) -> S { S { a: x, b: [1, 2] } }",
            "fn f(x: u32) -> S { S { a: x, b: [1, 2,], } }",
        );
        same(
            "fn f(x: u32) -> u32 { match x { 0 => 1, _ => 2 } }",
            "fn f(x: u32) -> u32 { match x { 0 => 1, _ => 2, } }",
        );
        same(
            "fn f(x: (u32, u32)) -> u32 { h::<u8>(x.0, x.1) }",
            "fn f(x: (u32, u32,)) -> u32 { h::<u8>(x.0, x.1,) }",
        );
        differ(
            "fn f(x: u32) -> (u32,) { (x,) }",
            "fn f(x: u32) -> (u32,) { (x) }",
        );
        differ(
            "fn f(x: (u32,)) -> u32 { let (a,) = x; a }",
            "fn f(x: (u32,)) -> u32 { let (a) = x; a }",
        );
        differ("fn f() -> u32 { m!(1,) }", "fn f() -> u32 { m!(1) }");
        differ(
            "fn f(x: u32) -> (u32,) { (x,) }",
            "fn f(x: u32) -> (u32) { (x,) }",
        );
        differ(
            "fn f(x: u32) -> (u32,) { match x { _ => (x,) } }",
            "fn f(x: u32) -> (u32,) { match x { _ => (x) } }",
        );
    }
}
