//! The code fingerprint of a step: xxh3-128 of the function's tokens rendered canonically.
//!
//! Hashed: the signature (name, argument patterns and types, return type) and the body, token by
//! token. Not hashed: whitespace, comments and doc comments (they are not tokens, or are
//! skipped), the function's attributes and visibility, the `#[step(...)]` options (the runtime
//! adds name, module and version itself), and anything outside the function: callees, type
//! definitions, constants, other crates — those enter through the `stepstone-build` table
//! (`helpers.rs`) when the crate has one; otherwise bump `version = "…"`.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use xxhash_rust::xxh3::xxh3_128;

/// Changes when the canonical rendering changes, so old fingerprints are not reused.
const RENDERING: &str = "stepstone-step-code-v1";

/// The fingerprint of `item` as 32 lowercase hex digits.
pub(crate) fn code_hash(item: &syn::ItemFn) -> String {
    let mut text = String::from(RENDERING);
    text.push('\n');
    render(item.sig.to_token_stream(), &mut text, false);
    render(item.block.to_token_stream(), &mut text, false);
    format!("{:032x}", xxh3_128(text.as_bytes()))
}

/// Append a canonical rendering of `tokens`: one space after each token except joint
/// punctuation, `#[doc …]` attributes skipped, invisible groups transparent, and trailing commas
/// that cannot change the meaning dropped (rustfmt adds them when it wraps a list). Inside macro
/// invocations (`name!(…)`) every token counts (`verbatim`), since a macro may tell them apart.
fn render(tokens: TokenStream, out: &mut String, verbatim: bool) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        if let Some(skip) = doc_attribute_len(&trees[i..]) {
            i += skip;
            continue;
        }
        match &trees[i] {
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                if p.spacing() == Spacing::Alone {
                    out.push(' ');
                }
            }
            TokenTree::Ident(ident) => {
                out.push_str(&ident.to_string());
                out.push(' ');
            }
            TokenTree::Literal(l) => {
                out.push_str(&l.to_string());
                out.push(' ');
            }
            TokenTree::Group(g) => {
                let before = &trees[..i];
                let in_macro = verbatim || is_macro_call(before);
                let mut inner: Vec<TokenTree> = g.stream().into_iter().collect();
                if !in_macro && trailing_comma_is_noise(g.delimiter(), before.last(), &inner) {
                    inner.pop();
                }
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                render(inner.into_iter().collect(), out, in_macro);
                out.push_str(close);
                out.push(' ');
            }
        }
        i += 1;
    }
}

/// Tokens of a doc comment at the start of `trees` (`# [doc …]` or `# ! [doc …]`), if any.
fn doc_attribute_len(trees: &[TokenTree]) -> Option<usize> {
    let is_doc_group = |tree: Option<&TokenTree>| match tree {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
            matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
        }
        _ => false,
    };
    if !is_punct(trees.first(), '#') {
        return None;
    }
    if is_doc_group(trees.get(1)) {
        Some(2)
    } else if is_punct(trees.get(1), '!') && is_doc_group(trees.get(2)) {
        Some(3)
    } else {
        None
    }
}

fn is_punct(tree: Option<&TokenTree>, c: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// `name !` just before a group: the group is a macro invocation's input.
fn is_macro_call(before: &[TokenTree]) -> bool {
    match before {
        [.., TokenTree::Ident(_), TokenTree::Punct(bang)] => bang.as_char() == '!',
        _ => false,
    }
}

/// Keywords after which `( … ,)` is a one-element tuple (expression, pattern or type), where the
/// trailing comma is meaningful.
const TUPLE_KEYWORDS: &[&str] = &[
    "as", "box", "break", "const", "dyn", "else", "for", "if", "impl", "in", "let", "loop",
    "match", "move", "mut", "ref", "return", "static", "type", "unsafe", "where", "while", "yield",
];

/// Whether the last token of `inner` is a comma that does not change the meaning: in braces
/// and brackets always; in parentheses when they are a call, a parameter list or a tuple
/// struct pattern (after a name, `)` or `]`), or hold more than one element. (After `>` it may
/// be a return type `-> (T,)` or a match arm `=> (x,)`, so the comma is kept.)
fn trailing_comma_is_noise(
    delimiter: Delimiter,
    before: Option<&TokenTree>,
    inner: &[TokenTree],
) -> bool {
    if !is_punct(inner.last(), ',') {
        return false;
    }
    match delimiter {
        Delimiter::Brace | Delimiter::Bracket => true,
        Delimiter::None => false,
        Delimiter::Parenthesis => {
            let call_like = match before {
                Some(TokenTree::Ident(i)) => !TUPLE_KEYWORDS.contains(&i.to_string().as_str()),
                Some(TokenTree::Group(g)) => {
                    matches!(g.delimiter(), Delimiter::Parenthesis | Delimiter::Bracket)
                }
                _ => false,
            };
            let commas = inner.iter().filter(|t| is_punct(Some(t), ',')).count();
            call_like || commas > 1
        }
    }
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
