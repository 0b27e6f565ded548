//! The crate-wide pass: parse every `.rs` file, list the items a step body may use (functions,
//! methods, types, constants, statics, traits, `macro_rules!`), each with a token hash and the
//! identifiers it mentions, then close each step's identifiers over those items.
//!
//! Name resolution is deliberately conservative: any identifier equal to an item's name (or, for
//! a method, to its type's name) pulls that item in, wherever it appears — a local variable
//! called like a helper function includes the helper. Including too much only recomputes more;
//! missing a helper would give a stale result. Not responsible for reading files or writing the
//! table (see the crate root).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{ImplItem, Item};
use xxhash_rust::xxh3::xxh3_128;

/// One helper candidate.
#[derive(Debug, Clone)]
pub(crate) struct Helper {
    /// Shown in reports (`scale`, `Scaler::apply`, `impl Display for Row`).
    pub(crate) display: String,
    /// Identifiers that name it.
    pub(crate) keys: Vec<String>,
    /// Token hash (doc comments left out), 32 hex digits.
    pub(crate) hash: String,
    /// Identifiers its tokens mention.
    pub(crate) mentions: BTreeSet<String>,
}

/// A function marked `#[step]` (or `#[stepstone::step(...)]`).
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) mentions: BTreeSet<String>,
}

/// Everything found in the crate's files.
#[derive(Debug, Default)]
pub(crate) struct Crate {
    pub(crate) helpers: Vec<Helper>,
    pub(crate) steps: Vec<Step>,
    /// `use … as alias` renames: alias → the names it may stand for.
    pub(crate) aliases: HashMap<String, BTreeSet<String>>,
}

impl Crate {
    /// Add the items of one parsed file.
    pub(crate) fn add_file(&mut self, file: &syn::File) {
        for item in &file.items {
            self.add_item(item);
        }
    }

    fn add_item(&mut self, item: &Item) {
        match item {
            Item::Fn(f) => {
                let name = f.sig.ident.to_string();
                if f.attrs.iter().any(is_step_attribute) {
                    let mut mentions = BTreeSet::new();
                    idents(f.sig.to_token_stream(), &mut mentions);
                    idents(f.block.to_token_stream(), &mut mentions);
                    self.steps.push(Step {
                        name: name.clone(),
                        mentions,
                    });
                }
                self.push(name.clone(), vec![name], item.to_token_stream());
            }
            Item::Impl(imp) => self.add_impl(imp),
            Item::Use(u) => self.add_renames(&u.tree),
            Item::Mod(m) => {
                for inner in m.content.iter().flat_map(|(_, items)| items) {
                    self.add_item(inner);
                }
            }
            Item::Struct(s) => self.named(&s.ident, item),
            Item::Enum(e) => self.named(&e.ident, item),
            Item::Union(u) => self.named(&u.ident, item),
            Item::Type(t) => self.named(&t.ident, item),
            Item::Const(c) => self.named(&c.ident, item),
            Item::Static(s) => self.named(&s.ident, item),
            Item::Trait(t) => self.named(&t.ident, item),
            Item::Macro(m) => {
                if let Some(ident) = &m.ident {
                    self.named(ident, item);
                }
            }
            _ => {}
        }
    }

    /// `use a::b as c;` (also inside groups): a body mentioning `c` reaches the items named `b`.
    fn add_renames(&mut self, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => self.add_renames(&p.tree),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.add_renames(t)),
            syn::UseTree::Rename(r) => {
                self.aliases
                    .entry(r.rename.to_string())
                    .or_default()
                    .insert(r.ident.to_string());
            }
            syn::UseTree::Name(_) | syn::UseTree::Glob(_) => {}
        }
    }

    fn named(&mut self, ident: &syn::Ident, item: &Item) {
        let name = ident.to_string();
        self.push(name.clone(), vec![name], item.to_token_stream());
    }

    /// Methods are helpers of their own (named by the method and by the type); the rest of the
    /// block (header, associated types and constants) is one more, named by the type and trait.
    fn add_impl(&mut self, imp: &syn::ItemImpl) {
        let ty = last_ident(&imp.self_ty.to_token_stream()).unwrap_or_default();
        let header = match &imp.trait_ {
            Some((_, path, _)) => format!("impl {} for {ty}", path.to_token_stream()),
            None => format!("impl {ty}"),
        };
        let mut keys = vec![ty.clone()];
        if let Some((_, path, _)) = &imp.trait_
            && let Some(seg) = path.segments.last()
        {
            keys.push(seg.ident.to_string());
        }
        let mut rest = imp.clone();
        rest.items.retain(|i| !matches!(i, ImplItem::Fn(_)));
        for inner in &imp.items {
            match inner {
                ImplItem::Fn(f) => {
                    let method = f.sig.ident.to_string();
                    self.push(
                        format!("{ty}::{method}"),
                        vec![method, ty.clone()],
                        f.to_token_stream(),
                    );
                }
                ImplItem::Const(c) => keys.push(c.ident.to_string()),
                _ => {}
            }
        }
        self.push(header, keys, rest.to_token_stream());
    }

    fn push(&mut self, display: String, keys: Vec<String>, tokens: TokenStream) {
        let mut text = String::new();
        crate::render_canonical(tokens.clone(), &mut text);
        let mut mentions = BTreeSet::new();
        idents(tokens, &mut mentions);
        self.helpers.push(Helper {
            display,
            keys,
            hash: format!("{:032x}", xxh3_128(text.as_bytes())),
            mentions,
        });
    }

    /// For each step name: the helpers its body reaches (display name → hash), transitively.
    /// The step itself is not among them (its own tokens are hashed by `#[step]`).
    pub(crate) fn closure(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, h) in self.helpers.iter().enumerate() {
            for k in &h.keys {
                by_key.entry(k.as_str()).or_default().push(i);
            }
        }
        let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for step in &self.steps {
            let mut seen: BTreeSet<usize> = BTreeSet::new();
            let mut queue: Vec<&String> = step.mentions.iter().collect();
            let mut visited_idents: BTreeSet<&String> = BTreeSet::new();
            while let Some(ident) = queue.pop() {
                if !visited_idents.insert(ident) {
                    continue;
                }
                queue.extend(self.aliases.get(ident.as_str()).into_iter().flatten());
                for &i in by_key.get(ident.as_str()).into_iter().flatten() {
                    if seen.insert(i) {
                        queue.extend(self.helpers[i].mentions.iter());
                    }
                }
            }
            let entry = out.entry(step.name.clone()).or_default();
            for i in seen {
                let h = &self.helpers[i];
                let is_itself = h.display == step.name;
                if !is_itself {
                    entry.insert(h.display.clone(), h.hash.clone());
                }
            }
        }
        out
    }
}

fn is_step_attribute(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "step")
}

/// The last identifier of a type's tokens before any generic arguments (`a::B<C>` → `B`).
fn last_ident(tokens: &TokenStream) -> Option<String> {
    let mut last = None;
    for tree in tokens.clone() {
        match tree {
            TokenTree::Ident(i) => last = Some(i.to_string()),
            TokenTree::Punct(p) if p.as_char() == '<' => break,
            _ => {}
        }
    }
    last
}

/// Every identifier in `tokens`, macro inputs included.
fn idents(tokens: TokenStream, out: &mut BTreeSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(i) => {
                let s = i.to_string();
                out.insert(s.strip_prefix("r#").map(str::to_string).unwrap_or(s));
            }
            TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closure_of(src: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut krate = Crate::default();
        krate.add_file(&syn::parse_file(src).unwrap());
        krate.closure()
    }

    const SRC: &str = r#"
        const FACTOR: u64 = 3;
        /// Scales.
        fn scale(x: u64) -> u64 { x * FACTOR + offset() }
        fn offset() -> u64 { 1 }
        fn unrelated() -> u64 { 9 }
        struct Row { v: u64 }
        impl Row { fn doubled(&self) -> u64 { self.v * 2 } }
        mod inner { pub fn deep() -> u64 { 4 } }
        #[step]
        fn a(v: &Vec<u64>) -> Vec<u64> { v.iter().map(|x| scale(*x)).collect() }
        #[stepstone::step(checkpoint)]
        fn b(r: &Vec<Row>) -> u64 { r.iter().map(|r| r.doubled() + inner::deep()).sum() }
    "#;

    #[test]
    fn steps_reach_their_helpers_transitively_and_nothing_else() {
        let c = closure_of(SRC);
        let a: Vec<&String> = c["a"].keys().collect();
        assert_eq!(a, ["FACTOR", "offset", "scale"]);
        let b: Vec<&String> = c["b"].keys().collect();
        assert_eq!(b, ["Row", "Row::doubled", "deep", "impl Row"]);
    }

    #[test]
    fn a_renamed_import_still_reaches_the_helper() {
        let c = closure_of(
            "mod util { pub fn scale(x: u64) -> u64 { x } }\n\
             use util::{scale as s, other};\n\
             #[step] fn a(x: u64) -> u64 { s(x) }",
        );
        assert!(c["a"].contains_key("scale"), "{:?}", c["a"]);
    }

    #[test]
    fn a_helper_edit_changes_its_hash_but_docs_and_whitespace_do_not() {
        let base = closure_of(SRC);
        let edited = closure_of(&SRC.replace("x * FACTOR", "x * FACTOR * 2"));
        assert_ne!(base["a"]["scale"], edited["a"]["scale"]);
        assert_eq!(base["b"], edited["b"]);
        let reformatted = closure_of(
            &SRC.replace("/// Scales.", "/// Scales x.\n")
                .replace("x * FACTOR", "x  *  FACTOR"),
        );
        assert_eq!(base["a"], reformatted["a"]);
    }
}
