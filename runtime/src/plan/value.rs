//! Type erasure of the values that cross step boundaries.
//!
//! The DAG holds values of many types; each node carries a [`ValueOps`] table of monomorphized
//! functions (size, encode, decode) for its output type, and a type-erased compute closure.

use std::any::Any;
use std::io::Write;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{CodecId, ObjectMeta, Payload, Postcard, ValueCodec};
use crate::memory::{Footprint, MemSize};

/// What a value must be to cross a step boundary: thread-safe, owned, with a memory size and a
/// codec that belongs to its type. Every serde type is `Data` with the [`Postcard`] codec
/// (blanket impl); `stepstone::arrow::Batch` (feature `arrow`) is `Data` with the Arrow IPC
/// codec. A type that is not serde implements it by naming its [`ValueCodec`].
pub trait Data: MemSize + Send + Sync + Sized + 'static {
    /// How values of this type are stored.
    type Codec: ValueCodec<Self>;

    /// The type's name as stored in objects and hashed into fingerprints. Defaults to
    /// `std::any::type_name`; a type whose codec has its own format version names it here, so
    /// a format change never reuses an old object.
    fn type_label() -> &'static str {
        std::any::type_name::<Self>()
    }
}

impl<T: Serialize + DeserializeOwned + MemSize + Send + Sync + 'static> Data for T {
    type Codec = Postcard;
}

/// A boxed error from a step body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A type-erased value held by the runtime.
pub(crate) type Value = Arc<dyn Any + Send + Sync>;

/// A type-erased step body: inputs in, output out.
pub(crate) type Compute = Arc<dyn Fn(&Args<'_>) -> Result<Value, BoxError> + Send + Sync>;

/// A type-erased encoder: value, writer, the stored identity (`None` when only hashing).
pub(crate) type EncodeValue =
    fn(&(dyn Any + Send + Sync), &mut dyn Write, Option<&ObjectMeta<'_>>) -> Result<(), String>;

/// A type-erased buffer lister: the value's buffers as (identity, bytes).
pub(crate) type ListBuffers = fn(&(dyn Any + Send + Sync)) -> Vec<(usize, u64)>;

/// Monomorphized operations for one output type.
#[derive(Clone, Copy)]
pub(crate) struct ValueOps {
    pub(crate) type_name: &'static str,
    pub(crate) is_unit: bool,
    /// The object format of the type's codec.
    pub(crate) codec: CodecId,
    pub(crate) footprint: fn(&(dyn Any + Send + Sync)) -> Footprint,
    pub(crate) estimate: fn(&(dyn Any + Send + Sync)) -> Footprint,
    pub(crate) encode: EncodeValue,
    pub(crate) decode: fn(Payload) -> Result<Value, String>,
    /// The value's buffers as (identity, bytes), for the shared-buffer ledger
    /// ([`crate::memory::SharedBuffers`]); `None` for types without shared buffers. The
    /// executor does not call it yet (the ledger is wired in with the executor's restructuring).
    #[allow(dead_code)]
    pub(crate) buffers: Option<ListBuffers>,
}

impl std::fmt::Debug for ValueOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueOps")
            .field("type_name", &self.type_name)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl ValueOps {
    pub(crate) fn of<T: Data>() -> ValueOps {
        let buffers: Option<ListBuffers> = if <T::Codec as ValueCodec<T>>::HAS_BUFFERS {
            Some(|v| {
                v.downcast_ref::<T>()
                    .map(<T::Codec as ValueCodec<T>>::buffers)
                    .unwrap_or_default()
            })
        } else {
            None
        };
        ValueOps {
            type_name: T::type_label(),
            is_unit: std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>(),
            codec: <T::Codec as ValueCodec<T>>::ID,
            footprint: |v| {
                v.downcast_ref::<T>()
                    .map(MemSize::footprint)
                    .unwrap_or_default()
            },
            estimate: |v| {
                v.downcast_ref::<T>()
                    .map(MemSize::estimated_footprint)
                    .unwrap_or_default()
            },
            encode: |v, w, meta| {
                let v = v
                    .downcast_ref::<T>()
                    .ok_or_else(|| format!("value is not a {}", std::any::type_name::<T>()))?;
                <T::Codec as ValueCodec<T>>::encode(v, w, meta)
            },
            decode: |payload| {
                let value = <T::Codec as ValueCodec<T>>::decode(payload)?;
                Ok(Arc::new(value) as Value)
            },
            buffers,
        }
    }
}

/// Where a step's lazy inputs come from while it runs (the executor implements it).
pub(crate) trait LazySource: Sync {
    /// Load lazy input `index` (not resident) and charge it; returns the value and the charge.
    fn fetch(&self, index: usize) -> Result<(Value, u64), String>;
    /// Release a charge taken by `fetch`.
    fn release(&self, bytes: u64);
}

/// Loads of lazy inputs started ahead of a step's body, on other threads (the executor
/// implements it when the task may use more than one core): [`Parts`] loads the input it is asked
/// for on its own thread while the next [`LazyAhead::width`] stored ones load beside it, so a
/// wide step reading many stored inputs decodes them on every core it was given.
pub(crate) trait LazyAhead: Sync {
    /// How many loads may run beside the body's own.
    fn width(&self) -> usize;
    /// Start loading `index` in the background (ignored when it already started).
    fn start(&self, index: usize);
    /// The result of `index` if its load was started (waiting for it), else `None`.
    fn take(&self, index: usize) -> Option<Result<(Value, u64), String>>;
}

/// A lazy input as the executor hands it over: already resident, or to be fetched on demand.
pub(crate) enum LazySlot {
    Resident(Value),
    Stored,
}

/// The inputs of a running step, in the order they were declared.
pub struct Args<'a> {
    pub(crate) step: &'a str,
    /// Which partition of how many this task computes.
    pub(crate) partition: super::Partitions,
    pub(crate) values: &'a [Value],
    pub(crate) lazy: &'a [LazySlot],
    /// Where each lazy input's partitions start in `lazy` (and the end); empty: one slot each.
    pub(crate) lazy_starts: &'a [usize],
    pub(crate) source: Option<&'a dyn LazySource>,
    /// Loads started ahead of the body (`None`: one at a time, on the body's thread).
    pub(crate) ahead: Option<&'a dyn LazyAhead>,
}

/// An input was asked for with the wrong index or type (a bug in a hand-written step), or a
/// lazy input could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("step `{step}`: input #{index} {problem}")]
pub struct ArgError {
    step: String,
    index: usize,
    problem: String,
}

impl<'a> Args<'a> {
    /// Number of (eager) inputs.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// Whether the step has no eager inputs.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    fn error(&self, index: usize, problem: String) -> ArgError {
        ArgError {
            step: self.step.to_string(),
            index,
            problem,
        }
    }
    /// Input `index` as a `&T`.
    pub fn get<T: Data>(&self, index: usize) -> Result<&'a T, ArgError> {
        let value = self.values.get(index).ok_or_else(|| {
            self.error(
                index,
                format!("does not exist ({} inputs)", self.values.len()),
            )
        })?;
        value
            .downcast_ref::<T>()
            .ok_or_else(|| self.error(index, format!("is not a {}", std::any::type_name::<T>())))
    }
    /// Inputs `start..start + len` as `&T`s (for `&[&T]` arguments).
    pub fn slice<T: Data>(&self, start: usize, len: usize) -> Result<Vec<&'a T>, ArgError> {
        (start..start + len).map(|i| self.get::<T>(i)).collect()
    }
    /// Which partition (of how many) this task computes: `Partitions::single()` for a step
    /// that is not partitioned.
    pub fn partition(&self) -> super::Partitions {
        self.partition
    }
    /// Number of lazy inputs.
    pub fn lazy_len(&self) -> usize {
        if self.lazy_starts.is_empty() {
            self.lazy.len()
        } else {
            self.lazy_starts.len() - 1
        }
    }
    /// Lazy inputs `start..start + len`, loaded one at a time as the iterator advances (every
    /// partition of a partitioned one, in order); each [`Part`] releases its memory when
    /// dropped. A step that runs alone with more than one core (`--jobs N`, a worker's share)
    /// loads the next stored inputs on the spare cores while it loads the one asked for, as far
    /// as they fit the budget; the order and the values are the same.
    pub fn parts<T: Data>(&self, start: usize, len: usize) -> Parts<'_, 'a, T> {
        let slot = |i: usize| match self.lazy_starts.get(i) {
            Some(s) => *s,
            None if self.lazy_starts.is_empty() => i,
            None => self.lazy.len(),
        };
        Parts {
            args: self,
            next: slot(start),
            end: slot(start + len),
            _type: std::marker::PhantomData,
        }
    }

    fn fetch<T: Data>(&self, index: usize) -> Result<Part<'a, T>, ArgError> {
        let slot = self.lazy.get(index).ok_or_else(|| {
            self.error(
                index,
                format!("is not a lazy input ({} lazy inputs)", self.lazy.len()),
            )
        })?;
        let (value, bytes) = match slot {
            LazySlot::Resident(v) => (Arc::clone(v), 0),
            LazySlot::Stored => {
                let source = self
                    .source
                    .ok_or_else(|| self.error(index, "has no source to load from".into()))?;
                source
                    .fetch(index)
                    .map_err(|e| self.error(index, format!("could not be loaded: {e}")))?
            }
        };
        self.part(index, value, bytes)
    }

    /// Lazy input `index` when a load may have started ahead for it: its result, else loaded
    /// here while the next stored inputs up to `end` start loading beside it.
    fn fetch_ahead<T: Data>(
        &self,
        ahead: &dyn LazyAhead,
        index: usize,
        end: usize,
    ) -> Result<Part<'a, T>, ArgError> {
        if let Some(loaded) = ahead.take(index) {
            let (value, bytes) =
                loaded.map_err(|e| self.error(index, format!("could not be loaded: {e}")))?;
            return self.part(index, value, bytes);
        }
        if matches!(self.lazy.get(index), Some(LazySlot::Stored)) {
            let stored = (index + 1..end.min(self.lazy.len()))
                .filter(|&i| matches!(self.lazy.get(i), Some(LazySlot::Stored)));
            for i in stored.take(ahead.width()) {
                ahead.start(i);
            }
        }
        self.fetch(index)
    }

    /// The loaded `value` of lazy input `index` (charged `bytes`) as a `T`.
    fn part<T: Data>(
        &self,
        index: usize,
        value: Value,
        bytes: u64,
    ) -> Result<Part<'a, T>, ArgError> {
        let release = self.source;
        match value.downcast::<T>() {
            Ok(value) => Ok(Part {
                value,
                bytes,
                source: release,
            }),
            Err(_) => {
                if let Some(s) = release {
                    s.release(bytes);
                }
                Err(self.error(index, format!("is not a {}", std::any::type_name::<T>())))
            }
        }
    }
}

/// Call `body` with lazy inputs made of `values` — for unit tests of a step that takes
/// [`Parts`] (outside a pipeline nothing needs loading).
///
/// ```
/// use stepstone::plan::{Parts, with_parts};
/// fn total(parts: Parts<'_, '_, Vec<u64>>) -> u64 {
///     parts.map(|p| p.map(|p| p.iter().sum::<u64>()).unwrap_or(0)).sum()
/// }
/// assert_eq!(with_parts(vec![vec![1, 2], vec![3]], total), 6);
/// ```
pub fn with_parts<T: Data, R>(values: Vec<T>, body: impl FnOnce(Parts<'_, '_, T>) -> R) -> R {
    let slots: Vec<LazySlot> = values
        .into_iter()
        .map(|v| LazySlot::Resident(Arc::new(v)))
        .collect();
    let args = Args {
        step: "test",
        partition: super::Partitions::single(),
        values: &[],
        lazy: &slots,
        lazy_starts: &[],
        source: None,
        ahead: None,
    };
    body(args.parts(0, slots.len()))
}

/// Lazy inputs, loaded one at a time (see [`Args::parts`]).
pub struct Parts<'s, 'a, T> {
    args: &'s Args<'a>,
    next: usize,
    end: usize,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<'a, T: Data> Iterator for Parts<'_, 'a, T> {
    type Item = Result<Part<'a, T>, ArgError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(match self.args.ahead {
            Some(ahead) => self.args.fetch_ahead(ahead, index, self.end),
            None => self.args.fetch(index),
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end.saturating_sub(self.next);
        (n, Some(n))
    }
}

/// One lazy input, in memory while this value lives.
pub struct Part<'a, T> {
    value: Arc<T>,
    bytes: u64,
    source: Option<&'a dyn LazySource>,
}

impl<T> std::ops::Deref for Part<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Part<'_, T> {
    fn drop(&mut self) {
        if let Some(source) = self.source
            && self.bytes > 0
        {
            source.release(self.bytes);
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Part<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}
