//! `#[step]`, `#[pipeline]` and `#[derive(MemSize)]` for Stepstone.
//!
//! Use them through the `stepstone` crate (`stepstone::step`, `stepstone::prelude::*`), which
//! re-exports them. This file holds the entry points only: `parse` turns the input into the
//! `model` (collecting every error), `validate` checks signatures, `expand` generates code and
//! `fallback` re-emits the item when it cannot be expanded.

mod errors;
mod expand;
mod fallback;
mod model;
mod parse;
mod validate;

use proc_macro::TokenStream;

use crate::errors::Errors;

/// Marks a step: a function whose output is a dataset in the lineage DAG.
///
/// ```ignore
/// /// Scale every value.
/// #[step]
/// pub fn adjust(prev: &Vec<Row>, i: u32) -> Vec<Row> { /* … */ }
/// ```
///
/// # Expansion
///
/// * **The pipeline form**, under the same name, visibility and doc comment:
///   `pub fn adjust(p: &mut Pipeline, prev: &Handle<Vec<Row>>, i: u32) -> Handle<Vec<Row>>`.
///   Calling it records a node and returns at once (the DAG is lazy). Arguments map as:
///   `&T` → `&Handle<T>` (an upstream dataset); `&[&T]` → `&[Handle<T>]` (any number of
///   upstream datasets, in order, all resident while the step runs); `Parts<'_, '_, T>`
///   (`stepstone::plan::Parts`) → `&[Handle<T>]` (*lazy* inputs: loaded one at a time as the
///   body iterates, each freed when dropped, so they need not fit in memory together); any
///   other type is a *parameter*, passed by value and
///   serialized into the node's fingerprint (it must be `Clone + Serialize + Send + Sync +
///   'static`). The return maps as: `T` → `Handle<T>`; `Result<T, E>` (any type whose last path
///   segment is `Result`, including one-argument aliases like `std::io::Result<T>`) →
///   `Handle<T>`, an `Err` fails the run with the step's name and the error chain. `E` is any
///   `Into<BoxError>` (errors that are `Send + Sync`, `String`, `&str`, `anyhow::Error`) or
///   `Into<Box<dyn Error>>` (e.g. `Box<dyn Error>`, whose message chain is copied since it
///   cannot leave the worker thread); `()` or no return type → `Handle<()>`, a *sink* that
///   runs even if nothing uses its handle. Every input and output type must be
///   `stepstone::Data` (serde both ways, `MemSize`, `Send + Sync + 'static`); a type that is
///   not gets a compile error on the type.
/// * **The body**, exactly as written, at `adjust::body` (a companion `mod adjust`; functions
///   and modules live in different namespaces, so both can be called `adjust`):
///   `assert_eq!(adjust::body(&rows, 3).len(), rows.len())` in a unit test. The body gets the
///   function's non-doc attributes (`#[inline]`, `#[allow(…)]`, …); `#[cfg(…)]` applies to all
///   three items.
///
/// # Options
///
/// * `checkpoint` | `persist` | `cache` (at most one; default: memory-and-disk, subject to
///   `#[pipeline(checkpoint_every = N)]`).
/// * `volatile`: the step always executes (it reads a database, a URL, the clock). Its children
///   see the content hash of its output, so they are reused when it came out the same and
///   recompute when it changed.
/// * `name = "…"`: the step name in fingerprints and reports (default: the function name).
/// * `version = "…"`: replaces the code fingerprint (below) — bump it when something the hash
///   cannot see changes.
/// * `crate = "…"`: path to the runtime crate if it is not `::stepstone` (renamed dependency or
///   re-export); must be absolute (`::name`, an extern-prelude name, or `crate::…`).
/// * `per_file = "file"`: the step is a source with one task per file. The named parameter is
///   an `InputFile` in the body and an `InputGlob` at the call (`load(p, InputGlob::from(
///   "data/*.csv"))`), or a `FileSplit` in the body and a `FileSplits` at the call (Parquet
///   row groups from `stepstone::arrow::row_groups`, byte ranges from
///   `FileSplits::byte_ranges`). Each partition is keyed by its own file's content: one changed
///   file recomputes its partition and that partition's descendants only.
/// * `repartition(by = "key, other", partitions = 16)`: the step's output is hash-repartitioned
///   into that many partitions — by those columns for a `stepstone::arrow::Batch` output, by
///   those fields for a `Vec<Row>` output (`by = "0"` for a tuple field). Datasets
///   repartitioned alike (same key types, same count) are co-partitioned: a step reading two of
///   them runs once per partition pair (a join). The repartition is recorded as
///   `<step>/repartition`.
///
/// # Code fingerprint
///
/// The macro hashes (xxh3-128) the function's signature and body *tokens*, so whitespace,
/// comments and doc comments do not matter, and passes the hash as `StepSpec::code`. Editing the
/// body recomputes the step and everything downstream on the next run; everything upstream is
/// reused. When the crate's `build.rs` calls `stepstone_build::emit()` (both archetypes do), the
/// hash also covers the same-crate functions, methods, types, constants and statics the step
/// uses, transitively, and the crate's `Cargo.lock`; without it they are **not hashed**. Never
/// hashed: the function's attributes, code generated outside `src/`, the compiler version. When
/// one of those changes the result, set or bump `version = "…"` (which replaces the hash).
///
/// Parameters of type `stepstone::InputFile` / `stepstone::InputGlob` are fingerprinted by the
/// content of the files they name (see their docs). Trailing commas that cannot change the meaning
/// are ignored (rustfmt adds them when it wraps a list); other formatting that changes tokens
/// (e.g. rustfmt wrapping a long match arm in braces) counts as an edit. Renaming the step or
/// moving it to another module also recomputes it: its name and module path are part of the
/// node fingerprint.
///
/// # Limits
///
/// Steps are module-level free functions: not methods (`self`), not `async`, not `unsafe`, no
/// generic parameters, no `&mut` inputs, no `impl Trait` arguments or outputs. Declared inside a
/// function body, the companion module cannot see the body (it is re-exported with `use
/// super::…`), so keep steps at module level. A body that takes `Parts` cannot be called from a
/// unit test yet (the runtime has no public constructor for `Parts`); test its logic through a
/// helper that takes an iterator, or run the step in a small pipeline. A module of the same name in the same scope
/// conflicts with the companion module.
#[proc_macro_attribute]
pub fn step(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse::options::step(attr.into(), &mut errors);
    let item_fn = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            errors.at(
                proc_macro2::Span::call_site(),
                "#[step] goes on a module-level `fn`",
            );
            return fallback::verbatim(item.into(), errors.to_compile_errors()).into();
        }
    };
    match parse::step(item_fn.clone(), &mut errors) {
        Some(mut step) => {
            parse::per_file(&mut step, &options, &mut errors);
            let expanded = expand::step::expand(&step, &options);
            let errors = errors.to_compile_errors();
            quote::quote!(#errors #expanded).into()
        }
        None => fallback::step(&item_fn, errors.to_compile_errors()).into(),
    }
}

/// Marks the function that wires steps together, and declares the run defaults.
///
/// ```ignore
/// #[pipeline(budget = "384 MiB", checkpoint_every = 10)]
/// pub fn seed(p: &mut Pipeline, #[default(2_000_000)] rows: u64) -> Result<Handle<f64>> { /* … */ }
///
/// fn main() -> std::process::ExitCode { seed::main() }
/// ```
///
/// # Expansion
///
/// The function stays as written. A companion `mod seed` (same visibility) provides:
/// * `seed::defaults() -> PipelineDefaults`: the attribute's values.
/// * `seed::run(&config, rows) -> stepstone::Result<Outcome<T>>`: run with an explicit
///   `RunConfig` (for tests).
/// * `seed::main() -> ExitCode`: the standard command line of every pipeline binary (`--help`
///   starts with `seed: ` and the function's doc comment, `-h` with its first paragraph) —
///   `--budget SIZE`, `--checkpoint-dir DIR`, `--fresh`, `--jobs N`, `--report FILE`,
///   `--progress`/`--no-progress`, `--wait` — plus one `--kebab-name VALUE` flag per parameter
///   (parsed with `FromStr`; required unless the parameter has `#[default(expr)]` — a bare
///   string literal is converted with `From`, so `#[default("data/in.csv")]` fits a `String`,
///   `PathBuf`, `InputFile` or `InputGlob`; a doc comment on the parameter is its help). It
///   resolves the configuration (flag > environment > `stepstone.toml` > attribute > default),
///   handles SIGINT / SIGTERM (stop at the next safe point), runs, prints the output with
///   `Debug` (or its type name if it has no `Debug`), and exits 0 on success, 1 if the run fails
///   (the error and its source chain on stderr; a panicking step included), 2 on a usage or
///   configuration error, 130 / 143 when SIGINT / SIGTERM stopped the run.
///
/// # Options
///
/// `budget = "384 MiB"` (checked at compile time, same syntax as `--budget`),
/// `checkpoint_every = N` (N ≥ 1), `name = "…"` (default: the function name),
/// `checkpoint_dir = "…"`, `crate = "…"` (as for `#[step]`).
///
/// The first argument must be `&mut Pipeline`; the function returns `Result<Handle<T>>`
/// (stepstone's `Result`) or `Handle<T>`. Parameters must be plain names of owned
/// `FromStr + Clone + Send + Sync + 'static` types.
#[proc_macro_attribute]
pub fn pipeline(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse::options::pipeline(attr.into(), &mut errors);
    let mut item_fn = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            errors.at(
                proc_macro2::Span::call_site(),
                "#[pipeline] goes on a module-level `fn`",
            );
            return fallback::verbatim(item.into(), errors.to_compile_errors()).into();
        }
    };
    match parse::pipeline(&mut item_fn, &mut errors) {
        Some(pipeline) => {
            let expanded = expand::pipeline::expand(&pipeline, &options);
            let errors = errors.to_compile_errors();
            quote::quote!(#errors #expanded).into()
        }
        None => fallback::pipeline(&item_fn, &options, errors.to_compile_errors()).into(),
    }
}

/// Derives `stepstone::MemSize`: `add_heap` visits every field.
///
/// Fields marked `#[mem_size(skip)]` are not counted (for borrowed or shared data the value
/// does not own). Type parameters get a `MemSize` bound. `#[mem_size(crate = "…")]` on the type
/// sets the runtime crate path. Unions are not supported.
#[proc_macro_derive(MemSize, attributes(mem_size))]
pub fn derive_mem_size(item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let input = match syn::parse::<syn::DeriveInput>(item) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error().into(),
    };
    let expanded =
        parse::mem_size::parse(input, &mut errors).map(|parsed| expand::mem_size::expand(&parsed));
    let errors = errors.to_compile_errors();
    quote::quote!(#errors #expanded).into()
}
