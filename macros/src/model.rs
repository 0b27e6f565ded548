//! The typed model of a macro input: what `parse` produces and `expand` consumes. Each piece
//! keeps the `syn` original it came from, so expansion and diagnostics can use the user's spans.
//! Not responsible for checking anything (`parse` and `validate` do).

use syn::{Expr, Ident, ItemFn, LitInt, LitStr, Pat, Path, Type};

/// A checkpoint policy named in `#[step(...)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// `checkpoint`: durable, reused by later runs.
    Checkpoint,
    /// `persist`: written to run-local disk at once.
    Persist,
    /// `cache`: memory only, recomputed if evicted.
    Cache,
}

impl Policy {
    /// The option keyword.
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Policy::Checkpoint => "checkpoint",
            Policy::Persist => "persist",
            Policy::Cache => "cache",
        }
    }
}

/// Options of `#[step(...)]`.
#[derive(Default)]
pub(crate) struct StepOptions {
    /// The policy keyword and where it was written.
    pub(crate) policy: Option<(Policy, Ident)>,
    /// `name = "…"`.
    pub(crate) name: Option<LitStr>,
    /// `version = "…"`.
    pub(crate) version: Option<LitStr>,
    /// `crate = "…"`.
    pub(crate) krate: Option<Path>,
    /// `volatile`: the step always executes.
    pub(crate) volatile: bool,
    /// `per_file = "param"`: the step runs once per file of the glob passed for `param`.
    pub(crate) per_file: Option<LitStr>,
    /// `repartition(by = "…", partitions = N)`: the output is hash-repartitioned.
    pub(crate) repartition: Option<Repartition>,
}

/// `repartition(by = "key, other", partitions = 16)` of `#[step(...)]`, validated.
pub(crate) struct Repartition {
    /// The key: column names (`Batch`) or field names (`Vec<Row>`), comma-separated.
    pub(crate) by: LitStr,
    /// The output partition count (≥ 1).
    pub(crate) partitions: LitInt,
}

/// Options of `#[pipeline(...)]`.
#[derive(Default)]
pub(crate) struct PipelineOptions {
    /// `budget = "…"`, already validated.
    pub(crate) budget: Option<LitStr>,
    /// `checkpoint_every = N`, already validated (N ≥ 1).
    pub(crate) checkpoint_every: Option<LitInt>,
    /// `name = "…"`.
    pub(crate) name: Option<LitStr>,
    /// `checkpoint_dir = "…"`.
    pub(crate) checkpoint_dir: Option<LitStr>,
    /// `crate = "…"`.
    pub(crate) krate: Option<Path>,
}

/// What one argument of a step function is.
pub(crate) enum ArgKind {
    /// `&T`: one upstream dataset (a `&Handle<T>` in the pipeline form).
    Dataset(Type),
    /// `&[&T]`: any number of upstream datasets (a `&[Handle<T>]`).
    Datasets(Type),
    /// `Parts<'_, '_, T>`: any number of upstream datasets, loaded one at a time while the
    /// step iterates (lazy inputs; a `&[Handle<T>]` in the pipeline form).
    LazyDatasets(Type),
    /// A by-value parameter, serialized into the fingerprint.
    Param(Type),
    /// `Partitions`: the call says how many partitions the step makes (a partitioned source,
    /// run once per partition; the count is in the fingerprint); the body sees which one.
    Partitions(Type),
    /// The parameter named by `#[step(per_file = "…")]` (an `InputFile` in the body): the call
    /// passes an `InputGlob`, and the step runs once per file of it, each task seeing its file.
    PerFile(Type),
}

/// One argument of a step function.
pub(crate) struct StepArg {
    /// The name used for it in the pipeline form.
    pub(crate) ident: Ident,
    /// What it is.
    pub(crate) kind: ArgKind,
}

/// What a step returns.
pub(crate) struct Output {
    /// The dataset type (`()` for a sink).
    pub(crate) data: Type,
    /// Whether the function returns `Result<data, E>`.
    pub(crate) fallible: bool,
}

/// A `#[step]` function, parsed.
pub(crate) struct StepFn {
    /// The function as written.
    pub(crate) item: ItemFn,
    /// Its arguments, in order.
    pub(crate) args: Vec<StepArg>,
    /// Its output.
    pub(crate) output: Output,
}

/// One command-line parameter of a `#[pipeline]` function.
pub(crate) struct PipelineParam {
    /// The Rust name (`--kebab-name` on the command line).
    pub(crate) ident: Ident,
    /// Its type (parsed with `FromStr`).
    pub(crate) ty: Type,
    /// `#[default(expr)]`.
    pub(crate) default: Option<Expr>,
    /// Doc comment on the parameter, used as the flag's help.
    pub(crate) help: String,
}

/// A `#[pipeline]` function, parsed.
pub(crate) struct PipelineFn {
    /// The function as written, minus the parameter attributes the macro consumes.
    pub(crate) item: ItemFn,
    /// The parameters after `p: &mut Pipeline`.
    pub(crate) params: Vec<PipelineParam>,
    /// The output dataset type and whether the function returns a `Result`.
    pub(crate) output: Output,
}

/// A name pattern used when an argument is not a plain identifier.
pub(crate) fn pattern_ident(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(p.ident.clone()),
        _ => None,
    }
}
