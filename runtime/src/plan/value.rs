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
    pub(crate) estimate: fn(&(dyn Any + Send + Sync)) -> Footprint,
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
            estimate: |v| {
                v.downcast_ref::<T>()
                    .map(MemSize::estimated_footprint)
                    .unwrap_or_default()
            },
            encode: |v, w| {
                let v = v
                    .downcast_ref::<T>()
                    .ok_or_else(|| format!("value is not a {}", std::any::type_name::<T>()))?;
                encode_chunked(v, w)
            },
            decode: |bytes| {
                let (value, rest) =
                    postcard::take_from_bytes::<T>(bytes).map_err(|e| e.to_string())?;
                if !rest.is_empty() {
                    return Err(format!("{} bytes left over after the value", rest.len()));
                }
                Ok(Arc::new(value) as Value)
            },
        }
    }
}

/// Bytes an encoder collects before handing them to the store's writer.
const ENCODE_CHUNK: usize = 64 * 1024;

/// Encode `value` with postcard into `out`, 64 KiB at a time. Postcard writes every field (often
/// a single byte) separately; through `postcard::to_io` each was a dynamic call into the
/// store's writer, ~300 instructions per seed row. Here a field is a push onto a buffer whose
/// type the compiler knows, and the writer sees one call per chunk.
fn encode_chunked<T: Serialize>(value: &T, out: &mut dyn Write) -> Result<(), String> {
    let mut failed = None;
    let flavor = Chunked {
        buf: Vec::with_capacity(ENCODE_CHUNK),
        out,
        failed: &mut failed,
    };
    let result = postcard::serialize_with_flavor(value, flavor);
    match (result, failed) {
        (_, Some(e)) => Err(e.to_string()),
        (Err(e), None) => Err(e.to_string()),
        (Ok(()), None) => Ok(()),
    }
}

/// A postcard output flavor that buffers into `buf` and writes full chunks to `out`.
struct Chunked<'w> {
    buf: Vec<u8>,
    out: &'w mut dyn Write,
    /// The writer's error, kept to report instead of postcard's generic one.
    failed: &'w mut Option<std::io::Error>,
}

impl Chunked<'_> {
    fn write(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.out.write_all(bytes).map_err(|e| {
            *self.failed = Some(e);
            postcard::Error::SerializeBufferFull
        })
    }

    fn flush_chunk(&mut self) -> postcard::Result<()> {
        let chunk = std::mem::take(&mut self.buf);
        let written = self.write(&chunk);
        self.buf = chunk;
        self.buf.clear();
        written
    }
}

impl postcard::ser_flavors::Flavor for Chunked<'_> {
    type Output = ();

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.buf.len() == ENCODE_CHUNK {
            self.flush_chunk()?;
        }
        self.buf.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if self.buf.len() + data.len() > ENCODE_CHUNK {
            self.flush_chunk()?;
            if data.len() > ENCODE_CHUNK {
                return self.write(data);
            }
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn finalize(mut self) -> postcard::Result<()> {
        self.flush_chunk()
    }
}

/// Where a step's lazy inputs come from while it runs (the executor implements it).
pub(crate) trait LazySource: Sync {
    /// Load lazy input `index` (not resident) and charge it; returns the value and the charge.
    fn fetch(&self, index: usize) -> Result<(Value, u64), String>;
    /// Release a charge taken by `fetch`.
    fn release(&self, bytes: u64);
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
    /// dropped.
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
        Some(self.args.fetch(index))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_encoding_is_postcard_across_chunk_boundaries() {
        // Many small fields (pushes across 64 KiB boundaries) and one field larger than a chunk.
        let value: (Vec<(u64, String)>, String) = (
            (0..20_000u64)
                .map(|i| (i * 7919, format!("t{i}")))
                .collect(),
            "x".repeat(3 * ENCODE_CHUNK + 5),
        );
        let mut out = Vec::new();
        encode_chunked(&value, &mut out).unwrap();
        assert_eq!(out, postcard::to_stdvec(&value).unwrap());
    }

    #[test]
    fn a_failing_writer_is_reported_with_its_own_error() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("no space left on the test device"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let value = vec![7u64; 100_000];
        let err = encode_chunked(&value, &mut Full).unwrap_err();
        assert!(err.contains("no space left on the test device"), "{err}");
        let small = encode_chunked(&1u8, &mut Full).unwrap_err();
        assert!(small.contains("no space left"), "{small}");
    }
}
