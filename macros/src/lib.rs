//! `#[step]`, `#[pipeline]` and `#[derive(MemSize)]` for Stepstone.
//!
//! Use them through the `stepstone` crate (`stepstone::step`, …), which re-exports them.
//! (Placeholder entry points: the macros work is in progress.)

use proc_macro::TokenStream;

/// Marks a step function.
#[proc_macro_attribute]
pub fn step(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Marks a pipeline function.
#[proc_macro_attribute]
pub fn pipeline(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Derives `stepstone::MemSize`.
#[proc_macro_derive(MemSize, attributes(mem_size))]
pub fn derive_mem_size(_item: TokenStream) -> TokenStream {
    TokenStream::new()
}
