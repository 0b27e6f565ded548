//! The code fingerprint of a step: xxh3-128 of the function's tokens rendered canonically.
//!
//! Hashed: the signature (name, argument patterns and types, return type) and the body, token by
//! token. Not hashed: whitespace, comments and doc comments (they are not tokens, or are
//! skipped), the function's attributes and visibility, the `#[step(...)]` options (the runtime
//! adds name, module and version itself), and anything outside the function: callees, type
//! definitions, constants, other crates. Change one of those and you must bump `version = "…"`.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use xxhash_rust::xxh3::xxh3_128;

/// Changes when the canonical rendering changes, so old fingerprints are not reused.
const RENDERING: &str = "stepstone-step-code-v1";

/// The fingerprint of `item` as 32 lowercase hex digits.
pub(crate) fn code_hash(item: &syn::ItemFn) -> String {
    let mut text = String::from(RENDERING);
    text.push('\n');
    render(item.sig.to_token_stream(), &mut text);
    render(item.block.to_token_stream(), &mut text);
    format!("{:032x}", xxh3_128(text.as_bytes()))
}

/// Append a canonical rendering of `tokens`: one space after each token except joint
/// punctuation, `#[doc …]` attributes skipped, invisible groups transparent.
fn render(tokens: TokenStream, out: &mut String) {
    let mut iter = tokens.into_iter().peekable();
    while let Some(tree) = iter.next() {
        match tree {
            TokenTree::Punct(p) if p.as_char() == '#' && iter.peek().is_some_and(is_doc_attribute) => {
                iter.next();
            }
            TokenTree::Punct(p) if p.as_char() == '#' && is_inner_doc(&mut iter) => {}
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                if p.spacing() == proc_macro2::Spacing::Alone {
                    out.push(' ');
                }
            }
            TokenTree::Ident(i) => {
                out.push_str(&i.to_string());
                out.push(' ');
            }
            TokenTree::Literal(l) => {
                out.push_str(&l.to_string());
                out.push(' ');
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                render(g.stream(), out);
                out.push_str(close);
                out.push(' ');
            }
        }
    }
}

/// `[doc = "…"]` (the bracket group of an outer doc comment).
fn is_doc_attribute(tree: &TokenTree) -> bool {
    match tree {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => {
            matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
        }
        _ => false,
    }
}

/// After a `#`: `! [doc = "…"]` (an inner doc comment); consumes it if so.
fn is_inner_doc(iter: &mut std::iter::Peekable<proc_macro2::token_stream::IntoIter>) -> bool {
    let mut ahead = iter.clone();
    let bang = matches!(ahead.next(), Some(TokenTree::Punct(p)) if p.as_char() == '!');
    if bang && ahead.peek().is_some_and(is_doc_attribute) {
        iter.next();
        iter.next();
        return true;
    }
    false
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
        // `a - -b` and `a --b` are different token sequences only when the spacing differs.
        assert_ne!(hash("fn f() -> i32 { 1 - -1 }"), hash("fn f() -> i32 { 1 -= 1 }"));
    }
}
