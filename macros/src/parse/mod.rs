//! Parsing: attribute arguments and function signatures into the [`crate::model`] types,
//! collecting every problem into [`crate::errors::Errors`]. Not responsible for emitting code.

pub(crate) mod mem_size;
pub(crate) mod options;
pub(crate) mod signature;

use crate::errors::Errors;
use crate::model::{ArgKind, PipelineFn, StepFn, StepOptions};
use crate::validate;

/// Parse a `#[step]` function; `None` if its signature cannot be expanded (errors recorded).
pub(crate) fn step(item: syn::ItemFn, errors: &mut Errors) -> Option<StepFn> {
    let before = errors.len();
    validate::signature(&item.sig, "step", errors);
    let args = signature::step_args(&item.sig, errors);
    let output = signature::step_output(&item.sig, errors);
    match output {
        Some(output) if errors.len() == before => Some(StepFn { item, args, output }),
        _ => None,
    }
}

/// Parse a `#[pipeline]` function; `None` if its signature cannot be expanded (errors
/// recorded). `item` loses the parameter attributes the macro consumes either way.
pub(crate) fn pipeline(item: &mut syn::ItemFn, errors: &mut Errors) -> Option<PipelineFn> {
    let before = errors.len();
    validate::signature(&item.sig, "pipeline", errors);
    let params = signature::pipeline_params(&mut item.sig, errors);
    let output = signature::pipeline_output(&item.sig, errors);
    match output {
        Some(output) if errors.len() == before => Some(PipelineFn {
            item: item.clone(),
            params,
            output,
        }),
        _ => None,
    }
}

/// Apply `#[step(per_file = "param")]`: the named parameter becomes the per-file one. A name
/// that is not a by-value parameter of the step is an error spanned on the option's value.
pub(crate) fn per_file(step: &mut StepFn, options: &StepOptions, errors: &mut Errors) {
    let Some(name) = &options.per_file else {
        return;
    };
    let wanted = name.value();
    let arg = step.args.iter_mut().find(|a| a.ident == wanted.as_str());
    match arg {
        Some(arg) if matches!(arg.kind, ArgKind::Param(_)) => {
            if let ArgKind::Param(ty) = &arg.kind {
                arg.kind = ArgKind::PerFile(ty.clone());
            }
        }
        Some(_) => errors.spanned(
            name,
            format!(
                "`per_file` names `{wanted}`, which is a dataset or partition argument; name the \
                 step's `InputFile` parameter (the call passes an `InputGlob`, the body sees one file)"
            ),
        ),
        None => errors.spanned(
            name,
            format!(
                "`per_file` names `{wanted}`, but the step has no parameter of that name; add \
                 `{wanted}: InputFile` (the call passes an `InputGlob`, the body sees one file)"
            ),
        ),
    }
}
