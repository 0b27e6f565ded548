//! Paths and visibilities used by generated code: the runtime crate path (`::stepstone` or the
//! `crate = "…"` override) and the visibility a re-export in a companion module needs so that
//! it is exactly as visible as the item it names.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Path, Visibility};

/// `::stepstone`, or the `crate = "…"` override.
pub(crate) fn runtime(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path),
        None => quote!(::stepstone),
    }
}

/// The visibility, one module deeper, that names the same scope as `vis` in the parent:
/// private → `pub(super)`, `pub(super)` → `pub(in super::super)`, `pub(crate)`/`pub` unchanged.
pub(crate) fn one_level_down(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Public(_) => quote!(pub),
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Restricted(r) => {
            let path = &r.path;
            let first = path
                .segments
                .first()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            match first.as_str() {
                "crate" => quote!(#vis),
                "self" if path.segments.len() == 1 => quote!(pub(super)),
                "super" => quote!(pub(in super::#path)),
                _ => quote!(#vis),
            }
        }
    }
}
