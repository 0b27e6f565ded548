//! What to emit when the input cannot be expanded: the errors, the item as written (so the body
//! is still type-checked and IDEs keep working), and the names other code expects (`<step>::body`,
//! `<pipeline>::{defaults, main}`) so one mistake does not cascade into unresolved-name errors.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::{paths, pipeline};
use crate::model::PipelineOptions;

/// A step whose signature cannot be expanded.
pub(crate) fn step(item: &syn::ItemFn, errors: TokenStream) -> TokenStream {
    let has_receiver = item.sig.receiver().is_some();
    if has_receiver {
        // A method: the item lives in an `impl` block, where a module cannot be declared.
        return quote!(#errors #item);
    }
    let name = &item.sig.ident;
    let vis = &item.vis;
    let inner_vis = paths::one_level_down(vis);
    quote! {
        #errors
        #item
        #[doc(hidden)]
        #vis mod #name {
            #[allow(unused_imports)]
            #inner_vis use super::#name as body;
        }
    }
}

/// A pipeline whose signature cannot be expanded.
pub(crate) fn pipeline(
    item: &syn::ItemFn,
    options: &PipelineOptions,
    errors: TokenStream,
) -> TokenStream {
    if item.sig.receiver().is_some() {
        return quote!(#errors #item);
    }
    let rt = paths::runtime(options.krate.as_ref());
    let module = pipeline::module(&item.sig.ident, &item.vis, &[], options, &rt, None);
    quote!(#errors #item #module)
}

/// Input that is not what the attribute applies to: the errors and the tokens unchanged.
pub(crate) fn verbatim(item: TokenStream, errors: TokenStream) -> TokenStream {
    quote!(#errors #item)
}
