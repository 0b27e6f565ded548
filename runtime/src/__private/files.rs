//! What `#[step(per_file = "…")]` and `#[step(repartition(...))]` expand to: the per-file
//! parameter's two types (body and call) and the repartition recorded after a step. Not a
//! public API.

use super::{Args, BoxError, Handle, InputGlob, Pipeline, StepSpec};
use crate::plan::Data;

/// What a `#[step(per_file = "…")]` parameter is in the body ([`InputFile`](crate::InputFile)
/// or [`FileSplit`](crate::FileSplit)) and what the call passes for it.
pub trait PerFile: Sized {
    /// The call's type: an `InputGlob` for a file, `FileSplits` for a split.
    type Call: Clone + serde::Serialize + Send + Sync + 'static;
    /// The splits the step runs over.
    fn splits(call: &Self::Call) -> std::borrow::Cow<'_, crate::FileSplits>;
    /// What task `partition` sees.
    fn of(call: &Self::Call, partition: crate::Partitions) -> Result<Self, BoxError>;
}

impl PerFile for crate::InputFile {
    type Call = InputGlob;
    fn splits(call: &InputGlob) -> std::borrow::Cow<'_, crate::FileSplits> {
        std::borrow::Cow::Owned(crate::FileSplits::files(call))
    }
    fn of(call: &InputGlob, partition: crate::Partitions) -> Result<Self, BoxError> {
        call.file(partition)
    }
}

impl PerFile for crate::FileSplit {
    type Call = crate::FileSplits;
    fn splits(call: &crate::FileSplits) -> std::borrow::Cow<'_, crate::FileSplits> {
        std::borrow::Cow::Borrowed(call)
    }
    fn of(call: &crate::FileSplits, partition: crate::Partitions) -> Result<Self, BoxError> {
        call.get(partition).cloned()
    }
}

/// `#[step(per_file = "…")]`: the next recorded step runs once per split of `call` (its
/// parameter `param`).
pub fn pend_files<T: PerFile>(
    pipeline: &mut Pipeline,
    spec: &StepSpec,
    param: &str,
    call: &T::Call,
) {
    pipeline.pend_files(spec.name, param, &T::splits(call));
}

/// What a running task of a `per_file` step reads.
pub fn file_of<T: PerFile>(call: &T::Call, args: &Args<'_>) -> Result<T, BoxError> {
    T::of(call, args.partition())
}

/// The builder of the repartition `#[step(repartition(...))]` records after step `spec`: named
/// `<step>/repartition`, with the step's module, code or version, policy, and the key names.
fn repartition_of<'p>(
    pipeline: &'p mut Pipeline,
    spec: &StepSpec,
    by: &[&str],
) -> crate::StepBuilder<'p> {
    let mut builder = pipeline
        .step(&format!("{}/repartition", spec.name))
        .module(spec.module)
        .code(spec.code)
        .param(by);
    if let Some(version) = spec.version {
        builder = builder.version(version);
    }
    if let Some(policy) = spec.policy {
        builder = builder.policy(policy);
    }
    builder
}

/// `#[step(repartition(by = "…", partitions = N))]` on a step returning `Vec<R>`: its output
/// repartitioned by the fields `by` (read by `key`).
pub fn repartition_rows<R, K>(
    pipeline: &mut Pipeline,
    spec: &StepSpec,
    input: &Handle<Vec<R>>,
    partitions: u32,
    by: &[&str],
    key: impl Fn(&R) -> K + Send + Sync + 'static,
) -> Handle<Vec<R>>
where
    R: Clone + Send + Sync + 'static,
    Vec<R>: Data,
    K: std::hash::Hash,
{
    repartition_of(pipeline, spec, by)
        .input(input)
        .repartition(partitions, key)
}

/// `#[step(repartition(by = "…", partitions = N))]` on a step returning a `Batch`: its output
/// repartitioned by the columns `by`.
#[cfg(feature = "arrow")]
pub fn repartition_batches(
    pipeline: &mut Pipeline,
    spec: &StepSpec,
    input: &Handle<crate::arrow::Batch>,
    partitions: u32,
    by: &[&str],
) -> Handle<crate::arrow::Batch> {
    repartition_of(pipeline, spec, &[])
        .input(input)
        .repartition_by(partitions, by)
}
