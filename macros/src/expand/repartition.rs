//! Expansion of `#[step(repartition(by = "…", partitions = N))]`: the step's recorded output
//! handed to a hash repartition, by field names for a `Vec<Row>` output and by column names for
//! a `Batch` output. Any other output type is a compile error on the type.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use crate::model::{Repartition, StepFn};
use crate::parse::signature::generic_arg_of;

/// What the pipeline form returns: `handle` itself, or its repartition.
pub(crate) fn wrap(
    step: &StepFn,
    repartition: Option<&Repartition>,
    rt: &TokenStream,
    [pipeline, spec, handle]: [&Ident; 3],
) -> TokenStream {
    let Some(r) = repartition else {
        return quote!(#handle);
    };
    let span = r.by.span();
    let names: Vec<String> =
        r.by.value()
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
    if names.is_empty() {
        return quote_spanned!(span=> ::core::compile_error!(
            "`by` names no key: write the key's field (`Vec<Row>`) or column (`Batch`) names, comma-separated"
        ));
    }
    let partitions = &r.partitions;
    let data = &step.output.data;
    if let Some(row) = generic_arg_of(data, "Vec") {
        let row_var = Ident::new("__row", Span::mixed_site());
        let mut members = Vec::new();
        for name in &names {
            match syn::parse_str::<syn::Member>(name) {
                Ok(member) => members.push(with_span(member, span)),
                Err(_) => {
                    let msg = format!("`{name}` is not a field name or tuple index");
                    return quote_spanned!(span=> ::core::compile_error!(#msg));
                }
            }
        }
        return quote! {
            #rt::__private::repartition_rows::<#row, _>(
                #pipeline, &#spec, &#handle, #partitions, &[#(#names),*],
                |#row_var: &#row| (#(::core::clone::Clone::clone(&#row_var.#members),)*),
            )
        };
    }
    if is_batch(data) {
        return quote! {
            #rt::__private::repartition_batches(#pipeline, &#spec, &#handle, #partitions, &[#(#names),*])
        };
    }
    let span = syn::spanned::Spanned::span(data);
    quote_spanned!(span=> ::core::compile_error!(
        "`repartition` needs a step returning `Vec<Row>` (keyed by fields) or `stepstone::arrow::Batch` (keyed by columns)"
    ))
}

/// Whether the type's last path segment is `Batch`.
fn is_batch(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Batch"),
        _ => false,
    }
}

/// The member, spanned on the user's `by` string (an unknown field is reported there).
fn with_span(member: syn::Member, span: Span) -> syn::Member {
    match member {
        syn::Member::Named(ident) => syn::Member::Named(Ident::new(&ident.to_string(), span)),
        syn::Member::Unnamed(index) => syn::Member::Unnamed(syn::Index {
            index: index.index,
            span,
        }),
    }
}
