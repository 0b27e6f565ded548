//! Parsing of the attribute arguments: `#[step(checkpoint, name = "…")]` and
//! `#[pipeline(budget = "…", checkpoint_every = N)]`. Unknown, duplicate, conflicting and
//! malformed options are collected as errors and skipped, so the rest still applies. Values are
//! validated here too (a budget is parsed exactly as the runtime parses it).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Path};

use crate::errors::Errors;
use crate::model::{PipelineOptions, Policy, Repartition, StepOptions};

const STEP_OPTIONS: &str = "checkpoint, persist, cache, volatile, name = \"…\", version = \"…\", \
     per_file = \"…\", repartition(by = \"…\", partitions = N), crate = \"…\"";
const PIPELINE_OPTIONS: &str =
    "budget = \"…\", checkpoint_every = N, name = \"…\", checkpoint_dir = \"…\", crate = \"…\"";

/// Parse `#[step(...)]` arguments.
pub(crate) fn step(args: TokenStream, errors: &mut Errors) -> StepOptions {
    let mut options = StepOptions::default();
    let mut seen = Seen::default();
    let parser = syn::meta::parser(|meta| {
        let Some(key) = seen.check(&meta, errors) else {
            return skip_value(&meta);
        };
        match key.to_string().as_str() {
            "checkpoint" => set_policy(&mut options, Policy::Checkpoint, &meta, key, errors),
            "persist" => set_policy(&mut options, Policy::Persist, &meta, key, errors),
            "cache" => set_policy(&mut options, Policy::Cache, &meta, key, errors),
            "volatile" => options.volatile = true,
            "name" => options.name = string(&meta, "name = \"load\"", errors)?,
            "version" => options.version = string(&meta, "version = \"2\"", errors)?,
            "crate" => options.krate = crate_path(&meta, errors)?,
            "per_file" => options.per_file = string(&meta, "per_file = \"file\"", errors)?,
            "repartition" => options.repartition = repartition(&meta, errors)?,
            _ => {
                errors.spanned(
                    &meta.path,
                    format!("unknown #[step] option `{key}`; expected one of: {STEP_OPTIONS}"),
                );
                return skip_value(&meta);
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    options
}

/// Parse `#[pipeline(...)]` arguments.
pub(crate) fn pipeline(args: TokenStream, errors: &mut Errors) -> PipelineOptions {
    let mut options = PipelineOptions::default();
    let mut seen = Seen::default();
    let parser = syn::meta::parser(|meta| {
        let Some(key) = seen.check(&meta, errors) else {
            return skip_value(&meta);
        };
        match key.to_string().as_str() {
            "budget" => options.budget = budget(&meta, errors)?,
            "checkpoint_every" => options.checkpoint_every = checkpoint_every(&meta, errors)?,
            "name" => options.name = string(&meta, "name = \"nightly-etl\"", errors)?,
            "checkpoint_dir" => {
                options.checkpoint_dir = string(&meta, "checkpoint_dir = \".stepstone\"", errors)?
            }
            "crate" => options.krate = crate_path(&meta, errors)?,
            _ => {
                errors.spanned(
                    &meta.path,
                    format!(
                        "unknown #[pipeline] option `{key}`; expected one of: {PIPELINE_OPTIONS}"
                    ),
                );
                return skip_value(&meta);
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    options
}

/// Tracks the keys already given, to report duplicates.
#[derive(Default)]
struct Seen {
    keys: Vec<String>,
}

impl Seen {
    /// The option's key, or `None` (error recorded) if it is not a single identifier or was
    /// already given.
    fn check(&mut self, meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> Option<Ident> {
        let Some(key) = meta.path.get_ident().cloned() else {
            errors.spanned(&meta.path, "expected an option name, not a path");
            return None;
        };
        let text = key.to_string();
        if self.keys.contains(&text) {
            errors.spanned(&key, format!("duplicate option `{text}`; give it once"));
            return None;
        }
        self.keys.push(text);
        Some(key)
    }
}

/// Consume `= value` or `(...)` after an option that is being ignored.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

fn set_policy(
    options: &mut StepOptions,
    policy: Policy,
    meta: &ParseNestedMeta<'_>,
    key: Ident,
    errors: &mut Errors,
) {
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        errors.spanned(
            &key,
            format!("`{key}` takes no value: write `#[step({key})]`"),
        );
        let _ = skip_value(meta);
        return;
    }
    if let Some((first, _)) = &options.policy {
        errors.spanned(
            &key,
            format!(
                "conflicting policies `{}` and `{}`: a step has one policy (checkpoint: durable, reused by \
                 later runs; persist: run-local disk; cache: memory only, recomputed if evicted)",
                first.keyword(),
                policy.keyword()
            ),
        );
        return;
    }
    options.policy = Some((policy, key));
}

/// `key = "string"`; a non-string value is an error (recorded) and yields `None`.
fn string(
    meta: &ParseNestedMeta<'_>,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    let key = meta.path.to_token_stream().to_string();
    if !meta.input.peek(syn::Token![=]) {
        errors.spanned(&meta.path, format!("`{key}` needs a value: `{example}`"));
        skip_value(meta)?;
        return Ok(None);
    }
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if !s.value().trim().is_empty() => Ok(Some(s)),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            errors.spanned(&s, format!("`{key}` cannot be empty: `{example}`"));
            Ok(None)
        }
        other => {
            errors.spanned(
                &other,
                format!("`{key}` expects a string literal: `{example}`"),
            );
            Ok(None)
        }
    }
}

fn crate_path(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<Path>> {
    let Some(lit) = string(meta, "crate = \"::stepstone\"", errors)? else {
        return Ok(None);
    };
    match lit.parse::<Path>() {
        Ok(path) => Ok(Some(path)),
        Err(_) => {
            errors.spanned(&lit, "`crate` expects a path to the stepstone crate, e.g. `crate = \"::my_reexport::stepstone\"`");
            Ok(None)
        }
    }
}

/// `budget = "384 MiB"`, parsed exactly like `stepstone::Budget::from_str`.
fn budget(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<LitStr>> {
    let Some(lit) = string(meta, "budget = \"384 MiB\"", errors)? else {
        return Ok(None);
    };
    match parse_size::parse_size(lit.value().trim()) {
        Ok(0) => {
            errors.spanned(
                &lit,
                "a budget must be more than zero bytes; write it like `384MiB`, `2 GiB` or `1.5GB`",
            );
            Ok(None)
        }
        Ok(_) => Ok(Some(lit)),
        Err(e) => {
            errors.spanned(
                &lit,
                format!(
                    "`{}` is not a memory size ({e}); write it like `384MiB`, `2 GiB`, `1.5GB` or a number of bytes",
                    lit.value()
                ),
            );
            Ok(None)
        }
    }
}

/// `checkpoint_every = N` with N ≥ 1 (fits a `u32`).
fn checkpoint_every(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<LitInt>> {
    const EXAMPLE: &str = "checkpoint_every = 10";
    if !meta.input.peek(syn::Token![=]) {
        errors.spanned(
            &meta.path,
            format!("`checkpoint_every` needs a value: `{EXAMPLE}`"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let lit = match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i,
        other => {
            errors.spanned(
                &other,
                format!("`checkpoint_every` expects an integer literal: `{EXAMPLE}`"),
            );
            return Ok(None);
        }
    };
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            errors.spanned(
                &lit,
                "`checkpoint_every` must be at least 1 (every N-th step along a chain becomes a checkpoint); \
                 to turn periodic checkpoints off, remove the option",
            );
            Ok(None)
        }
        Ok(_) => Ok(Some(lit)),
        Err(e) => {
            errors.spanned(
                &lit,
                format!("`checkpoint_every` must be a whole number from 1 to 4294967295: {e}"),
            );
            Ok(None)
        }
    }
}

const REPARTITION: &str = "repartition(by = \"key\", partitions = 16)";

/// `repartition(by = "…", partitions = N)`: both are required, N ≥ 1.
fn repartition(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<Repartition>> {
    if !meta.input.peek(syn::token::Paren) {
        errors.spanned(
            &meta.path,
            format!("`repartition` needs a key and a count: `{REPARTITION}`"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let (mut by, mut partitions) = (None, None);
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("by") {
            by = string(&inner, "by = \"key\"", errors)?;
        } else if inner.path.is_ident("partitions") {
            partitions = partition_count(&inner, errors)?;
        } else {
            errors.spanned(
                &inner.path,
                format!("unknown `repartition` option; write `{REPARTITION}`"),
            );
            skip_value(&inner)?;
        }
        Ok(())
    })?;
    match (by, partitions) {
        (Some(by), Some(partitions)) => Ok(Some(Repartition { by, partitions })),
        _ => {
            errors.spanned(
                &meta.path,
                format!("`repartition` needs both `by` and `partitions`: `{REPARTITION}`"),
            );
            Ok(None)
        }
    }
}

/// `partitions = N` with N from 1 to `u32::MAX`.
fn partition_count(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<Option<LitInt>> {
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) if i.base10_parse::<u32>().is_ok_and(|n| n >= 1) => Ok(Some(i)),
        other => {
            errors.spanned(
                &other,
                "`partitions` must be a whole number from 1 to 4294967295, e.g. `partitions = 16`",
            );
            Ok(None)
        }
    }
}
