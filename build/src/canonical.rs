//! The canonical rendering of Rust tokens that code hashes are taken over: the same for a step's
//! own code (`#[step]`, in `stepstone-macros`) and for the helpers this crate's pass finds, so
//! whitespace, comments, doc comments and the trailing commas rustfmt adds never change a hash.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Append the canonical rendering of `tokens` to `out`.
pub fn render_canonical(tokens: TokenStream, out: &mut String) {
    render(tokens, out, false);
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
