//! Classification of a function signature into the model: which step arguments are datasets
//! (`&T`, `&[&T]`) and which are parameters, what the output type is, and which pipeline
//! arguments become command-line flags. Unsupported argument forms are recorded as errors
//! spanned on the argument. Signature-wide checks (async, generics, …) live in `validate`.

use quote::format_ident;
use syn::{
    Attribute, Expr, FnArg, GenericArgument, PathArguments, ReturnType, Signature, Type, TypePath,
};

use crate::errors::Errors;
use crate::model::{ArgKind, Output, PipelineParam, StepArg, pattern_ident};

/// The arguments of a step, in order.
pub(crate) fn step_args(sig: &Signature, errors: &mut Errors) -> Vec<StepArg> {
    let mut args = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                errors.spanned(
                    receiver,
                    "a step is a free function: `self` receivers are not supported; move the body into a \
                     module-level `fn` that takes the value as an argument",
                );
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        let Some(kind) = arg_kind(&typed.ty, errors) else {
            continue;
        };
        let ident = pattern_ident(&typed.pat).unwrap_or_else(|| format_ident!("arg{}", index));
        args.push(StepArg { ident, kind });
    }
    args
}

fn arg_kind(ty: &Type, errors: &mut Errors) -> Option<ArgKind> {
    match ty {
        Type::Reference(r) if r.mutability.is_some() => {
            let (and, mutability) = (&r.and_token, &r.mutability);
            errors.spanned(
                quote::quote!(#and #mutability),
                "`&mut` inputs are not supported: a dataset is shared and immutable once computed; take `&T` \
                 and return a new value",
            );
            None
        }
        Type::Reference(r) => match &*r.elem {
            Type::Slice(slice) => match &*slice.elem {
                Type::Reference(inner) if inner.mutability.is_none() => {
                    Some(ArgKind::Datasets((*inner.elem).clone()))
                }
                _ => {
                    errors.spanned(
                        ty,
                        "`&[T]` is not a step input: take `&Vec<T>` for one dataset, or `&[&T]` for any number \
                         of datasets",
                    );
                    None
                }
            },
            Type::ImplTrait(_) => impl_trait_error(&r.elem, errors),
            elem => Some(ArgKind::Dataset(elem.clone())),
        },
        Type::ImplTrait(_) => impl_trait_error(ty, errors),
        other => match last_generic_arg_of(other, "Parts") {
            Some(data) => Some(ArgKind::LazyDatasets(data.clone())),
            None if is_partitions(other) => Some(ArgKind::Partitions(other.clone())),
            None => Some(ArgKind::Param(other.clone())),
        },
    }
}

fn impl_trait_error<T>(ty: &Type, errors: &mut Errors) -> Option<T> {
    errors.spanned(
        ty,
        "`impl Trait` arguments are not supported: a step's inputs are stored and its parameters are \
         serialized into its fingerprint, so each needs one concrete type (e.g. `&Vec<Row>`, `u32`, `String`)",
    );
    None
}

/// The output of a step: `T`, `Result<T, E>`, `()` or nothing (a sink).
pub(crate) fn step_output(sig: &Signature, errors: &mut Errors) -> Option<Output> {
    let ty = match &sig.output {
        ReturnType::Default => {
            return Some(Output {
                data: syn::parse_quote!(()),
                fallible: false,
            });
        }
        ReturnType::Type(_, ty) => &**ty,
    };
    let (data, fallible) = match result_ok_type(ty) {
        Some(ok) => (ok.clone(), true),
        None => (ty.clone(), false),
    };
    match &data {
        Type::ImplTrait(_) => errors.spanned(
            &data,
            "`impl Trait` outputs are not supported: a step's output is stored, spilled and reloaded, so it \
             needs a concrete type",
        ),
        Type::Reference(_) => errors.spanned(
            &data,
            "a step returns an owned value (it is stored, spilled and reloaded): return `T`, not `&T`",
        ),
        _ => return Some(Output { data, fallible }),
    }
    None
}

/// `T` if `ty` is a path whose last segment is `Result<T>` or `Result<T, E>`.
pub(crate) fn result_ok_type(ty: &Type) -> Option<&Type> {
    generic_arg_of(ty, "Result")
}

/// The type arguments of `ty` if its last path segment is `name<…>`.
fn type_args_of<'a>(ty: &'a Type, name: &str) -> Option<impl DoubleEndedIterator<Item = &'a Type>> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    Some(args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }))
}

/// Whether `ty` is `Partitions` (or a path ending in it, like `stepstone::Partitions`).
fn is_partitions(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Partitions" && s.arguments.is_empty()),
        _ => false,
    }
}

/// The first type argument of `ty` if its last path segment is `name<…>`.
pub(crate) fn generic_arg_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    type_args_of(ty, name)?.next()
}

/// The last type argument of `ty` if its last path segment is `name<…>` (`Parts<'_, '_, T>`).
fn last_generic_arg_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    type_args_of(ty, name)?.next_back()
}

/// Flags every pipeline binary already has (a parameter cannot take their names).
const STANDARD_FLAGS: &[&str] = &[
    "budget",
    "checkpoint-dir",
    "fresh",
    "jobs",
    "report",
    "progress",
    "no-progress",
    "wait",
    "help",
];

/// Check that the first argument is `&mut Pipeline`; returns the remaining arguments as flags.
pub(crate) fn pipeline_params(sig: &mut Signature, errors: &mut Errors) -> Vec<PipelineParam> {
    let mut inputs = sig.inputs.iter_mut();
    match inputs.next() {
        Some(FnArg::Typed(first)) if is_pipeline_ref(&first.ty) => {}
        Some(other) => errors.spanned(
            &*other,
            "the first argument of a #[pipeline] function is the pipeline it records steps into: \
             write `p: &mut Pipeline`",
        ),
        None => errors.at(
            sig.paren_token.span.join(),
            "a #[pipeline] function takes `p: &mut Pipeline` as its first argument (the pipeline it records \
             steps into)",
        ),
    }
    inputs
        .filter_map(|input| pipeline_param(input, errors))
        .collect()
}

fn is_pipeline_ref(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) if r.mutability.is_some() => match &*r.elem {
            Type::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Pipeline"),
            _ => false,
        },
        _ => false,
    }
}

fn pipeline_param(input: &mut FnArg, errors: &mut Errors) -> Option<PipelineParam> {
    let FnArg::Typed(typed) = input else {
        errors.spanned(
            &*input,
            "a #[pipeline] function is a free function: `self` receivers are not supported",
        );
        return None;
    };
    let (default, help) = take_param_attrs(&mut typed.attrs, errors);
    let Some(ident) = pattern_ident(&typed.pat) else {
        errors.spanned(
            &typed.pat,
            "pipeline parameters become `--flags`: give each a plain name, e.g. `rows: u64`",
        );
        return None;
    };
    if matches!(&*typed.ty, Type::Reference(_) | Type::ImplTrait(_)) {
        errors.spanned(
            &typed.ty,
            "pipeline parameters are parsed from the command line: use an owned type that implements `FromStr` \
             (e.g. `PathBuf` instead of `&Path`, `String` instead of `&str`)",
        );
        return None;
    }
    let flag = ident.to_string().trim_start_matches("r#").replace('_', "-");
    if STANDARD_FLAGS.contains(&flag.as_str()) {
        errors.spanned(
            &ident,
            format!("parameter `{ident}` would clash with the standard `--{flag}` flag every pipeline has; rename it"),
        );
        return None;
    }
    Some(PipelineParam {
        ident,
        ty: (*typed.ty).clone(),
        default,
        help,
    })
}

/// Remove `#[default(expr)]` and doc comments from a parameter (they are not allowed on
/// function parameters after expansion).
fn take_param_attrs(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> (Option<Expr>, String) {
    let mut default = None;
    let mut help = Vec::new();
    attrs.retain(|attr| {
        if attr.path().is_ident("default") {
            match attr.parse_args::<Expr>() {
                Ok(expr) if default.is_none() => default = Some(expr),
                Ok(_) => errors.spanned(attr, "duplicate `#[default(…)]`; give it once"),
                Err(e) => errors.push(e),
            }
            false
        } else if attr.path().is_ident("doc") {
            if let syn::Meta::NameValue(nv) = &attr.meta
                && let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
            {
                help.push(s.value().trim().to_string());
            }
            false
        } else {
            true
        }
    });
    (default, help.join(" "))
}

/// The output of a pipeline function: `Result<Handle<T>, E>` or `Handle<T>`.
pub(crate) fn pipeline_output(sig: &Signature, errors: &mut Errors) -> Option<Output> {
    const HELP: &str = "a #[pipeline] function returns the handle of its output dataset: \
                        `Result<Handle<T>>` (stepstone's Result) or `Handle<T>`";
    let ty = match &sig.output {
        ReturnType::Type(_, ty) => &**ty,
        ReturnType::Default => {
            errors.at(sig.paren_token.span.close(), HELP);
            return None;
        }
    };
    let (handle, fallible) = match result_ok_type(ty) {
        Some(ok) => (ok, true),
        None => (ty, false),
    };
    match generic_arg_of(handle, "Handle") {
        Some(data) => Some(Output {
            data: data.clone(),
            fallible,
        }),
        None => {
            errors.spanned(ty, HELP);
            None
        }
    }
}
