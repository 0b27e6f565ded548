//! Code generation from the parsed model: steps, pipelines, `MemSize` impls, and the code
//! fingerprint. Only called on input that parsed (errors in options are reported beside a
//! normal expansion; errors in signatures go to `fallback`).

pub(crate) mod fingerprint;
pub(crate) mod mem_size;
pub(crate) mod paths;
pub(crate) mod pipeline;
pub(crate) mod step;
