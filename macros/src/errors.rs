//! The error collector: every problem found while parsing and validating a macro input is
//! recorded here (like serde's `Ctxt`), so one compile reports all of them, each spanned on the
//! user's tokens. Not responsible for deciding what to emit after an error (see `fallback`).

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// Errors collected for one macro invocation.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// An error spanning `tokens` (first to last token).
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// An error at one span.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// A parse error from `syn`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Number of errors collected so far (to tell whether a phase added any).
    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    /// One `compile_error!` per collected error.
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}
