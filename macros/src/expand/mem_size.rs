//! Expansion of `#[derive(MemSize)]`: `add_heap` calls `add_heap` on every field that is not
//! `#[mem_size(skip)]`; type parameters get a `MemSize` bound.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Data, Fields, Ident, Index};

use crate::expand::paths;
use crate::parse::mem_size::MemSizeInput;

/// The `impl MemSize for …` block.
pub(crate) fn expand(parsed: &MemSizeInput) -> TokenStream {
    let rt = paths::runtime(parsed.krate.as_ref());
    let input = &parsed.input;
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param
            .bounds
            .push(syn::parse_quote!(#rt::__private::MemSize));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let acc = Ident::new("acc", Span::mixed_site());
    let body = match &input.data {
        Data::Struct(s) => {
            let skips = parsed.skips.first().map(Vec::as_slice).unwrap_or_default();
            let calls = s
                .fields
                .iter()
                .zip(skips)
                .enumerate()
                .filter(|(_, (_, skip))| !**skip)
                .map(|(i, (f, _))| {
                    let member = match &f.ident {
                        Some(ident) => quote!(#ident),
                        None => {
                            let index = Index::from(i);
                            quote!(#index)
                        }
                    };
                    quote!(#rt::__private::MemSize::add_heap(&self.#member, #acc);)
                });
            quote!(#(#calls)*)
        }
        Data::Enum(e) => {
            let arms = e.variants.iter().zip(&parsed.skips).map(|(v, skips)| {
                let variant = &v.ident;
                let (pattern, calls) = variant_pattern(&v.fields, skips, &rt, &acc);
                quote!(Self::#variant #pattern => { #(#calls)* })
            });
            if e.variants.is_empty() {
                quote!(match *self {})
            } else {
                quote!(match self { #(#arms)* })
            }
        }
        Data::Union(_) => quote!(),
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #rt::__private::MemSize for #name #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn add_heap(&self, #acc: &mut #rt::__private::Footprint) {
                #body
            }
        }
    }
}

/// A pattern binding the fields to measure, and the calls on them.
fn variant_pattern(
    fields: &Fields,
    skips: &[bool],
    rt: &TokenStream,
    acc: &Ident,
) -> (TokenStream, Vec<TokenStream>) {
    let mut calls = Vec::new();
    let mut binds = Vec::new();
    for (i, (field, skip)) in fields.iter().zip(skips).enumerate() {
        let binding = format_ident!("field{}", i, span = Span::mixed_site());
        if !*skip {
            calls.push(quote!(#rt::__private::MemSize::add_heap(#binding, #acc);));
        }
        binds.push(match (&field.ident, *skip) {
            (Some(ident), false) => quote!(#ident: #binding),
            (Some(ident), true) => quote!(#ident: _),
            (None, false) => quote!(#binding),
            (None, true) => quote!(_),
        });
    }
    let pattern = match fields {
        Fields::Named(_) => quote!({ #(#binds),* }),
        Fields::Unnamed(_) => quote!(( #(#binds),* )),
        Fields::Unit => quote!(),
    };
    (pattern, calls)
}
