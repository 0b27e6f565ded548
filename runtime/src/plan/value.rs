//! Type erasure of the values that cross step boundaries.
//!
//! The DAG holds values of many types; each node carries a [`ValueOps`] table of monomorphized
//! functions (size, encode, decode) for its output type, and a type-erased compute closure.

use std::any::Any;
use std::io::Write;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::memory::{Footprint, MemSize};

/// What a value must be to cross a step boundary: thread-safe, owned, serde-serializable, with
/// a memory size. Blanket-implemented.
pub trait Data: Serialize + DeserializeOwned + MemSize + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + MemSize + Send + Sync + 'static> Data for T {}

/// A boxed error from a step body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A type-erased value held by the runtime.
pub(crate) type Value = Arc<dyn Any + Send + Sync>;

/// A type-erased step body: inputs in, output out.
pub(crate) type Compute = Arc<dyn Fn(&Args<'_>) -> Result<Value, BoxError> + Send + Sync>;

/// Monomorphized operations for one output type.
#[derive(Clone, Copy)]
pub(crate) struct ValueOps {
    pub(crate) type_name: &'static str,
    pub(crate) is_unit: bool,
    pub(crate) footprint: fn(&(dyn Any + Send + Sync)) -> Footprint,
    pub(crate) encode: fn(&(dyn Any + Send + Sync), &mut dyn Write) -> Result<(), String>,
    pub(crate) decode: fn(&[u8]) -> Result<Value, String>,
}

impl std::fmt::Debug for ValueOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueOps")
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

impl ValueOps {
    pub(crate) fn of<T: Data>() -> ValueOps {
        ValueOps {
            type_name: std::any::type_name::<T>(),
            is_unit: std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>(),
            footprint: |v| {
                v.downcast_ref::<T>()
                    .map(MemSize::footprint)
                    .unwrap_or_default()
            },
            encode: |v, w| {
                let v = v
                    .downcast_ref::<T>()
                    .ok_or_else(|| format!("value is not a {}", std::any::type_name::<T>()))?;
                postcard::to_io(v, w).map(|_| ()).map_err(|e| e.to_string())
            },
            decode: |bytes| {
                postcard::from_bytes::<T>(bytes)
                    .map(|v| Arc::new(v) as Value)
                    .map_err(|e| e.to_string())
            },
        }
    }
}

/// The inputs of a running step, in the order they were declared.
pub struct Args<'a> {
    pub(crate) step: &'a str,
    pub(crate) values: &'a [Value],
}

/// An input was asked for with the wrong index or type (a bug in a hand-written step).
#[derive(Debug, thiserror::Error)]
#[error("step `{step}`: input #{index} {problem}")]
pub struct ArgError {
    step: String,
    index: usize,
    problem: String,
}

impl<'a> Args<'a> {
    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// Whether the step has no inputs.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// Input `index` as a `&T`.
    pub fn get<T: Data>(&self, index: usize) -> Result<&'a T, ArgError> {
        let err = |problem: String| ArgError {
            step: self.step.to_string(),
            index,
            problem,
        };
        let value = self
            .values
            .get(index)
            .ok_or_else(|| err(format!("does not exist ({} inputs)", self.values.len())))?;
        value
            .downcast_ref::<T>()
            .ok_or_else(|| err(format!("is not a {}", std::any::type_name::<T>())))
    }
    /// Inputs `start..start + len` as `&T`s (for `&[&T]` arguments).
    pub fn slice<T: Data>(&self, start: usize, len: usize) -> Result<Vec<&'a T>, ArgError> {
        (start..start + len).map(|i| self.get::<T>(i)).collect()
    }
}
