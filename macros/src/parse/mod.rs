//! Parsing: attribute arguments and function signatures into the [`crate::model`] types,
//! collecting every problem into [`crate::errors::Errors`]. Not responsible for emitting code.

pub(crate) mod mem_size;
pub(crate) mod options;
pub(crate) mod signature;

use crate::errors::Errors;
use crate::model::{PipelineFn, StepFn};
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
