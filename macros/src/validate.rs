//! Signature-wide checks shared by `#[step]` and `#[pipeline]`: what the runtime cannot
//! support (async, generics, unsafe, foreign ABIs, variadics), each reported on its token.
//! Option values are validated where they are parsed (`parse::options`).

use quote::ToTokens;
use syn::Signature;

use crate::errors::Errors;

/// Report every unsupported part of `sig`; `what` is `step` or `pipeline`.
pub(crate) fn signature(sig: &Signature, what: &str, errors: &mut Errors) {
    if let Some(token) = &sig.asyncness {
        errors.spanned(
            token,
            format!(
                "`async fn` is not supported by #[{what}]: the runtime runs steps on its own worker threads; \
                 make the function synchronous (block on async work inside it if you must)"
            ),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.spanned(
            token,
            format!(
                "`unsafe fn` is not supported by #[{what}]: use an `unsafe` block inside the body"
            ),
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(
            abi,
            format!(
                "#[{what}] functions use the Rust ABI: remove `{}`",
                abi.to_token_stream()
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, format!("#[{what}] functions cannot be variadic"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
        let tokens = quote::quote!(#generics #where_clause);
        errors.spanned(
            tokens,
            format!(
                "generic parameters are not supported by #[{what}]: the runtime must know each stored value's \
                 concrete type; write concrete types (one #[{what}] per type if you need several)"
            ),
        );
    }
}
