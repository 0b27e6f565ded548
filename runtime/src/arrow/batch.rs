//! [`Batch`]: an Arrow `RecordBatch` as a step value, sized by its buffers and stored as an
//! Arrow IPC file.
//!
//! Responsible for: the value type, its natural derivation API (replace or add columns; the
//! other columns are shared, not copied), its size (each buffer allocation once) and its codec
//! ([`ArrowIpc`]). Not responsible for: the IPC layout (`ipc.rs`, `ipc_read.rs`) or counting
//! buffers shared *between* values (`memory::SharedBuffers`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_schema::{ArrowError, Field, Schema};

use crate::codec::{CodecId, ObjectMeta, Payload, ValueCodec};
use crate::memory::{Footprint, MemSize};
use crate::plan::Data;

/// An Arrow [`RecordBatch`] as a step value.
///
/// A Stepstone-local type rather than `RecordBatch` itself: every serde type is
/// [`Data`] through a blanket impl, and Rust refuses a second impl for a foreign type next to it
/// (E0119: arrow may implement `Serialize` for `RecordBatch` one day), while for a local type
/// it knows there is none. `Batch` derefs to `RecordBatch`, converts both ways for free, and
/// derives new batches by replacing or adding columns, sharing the others.
///
/// ```
/// use std::sync::Arc;
/// use stepstone::arrow::{Batch, arrow_array::{Float64Array, RecordBatch}};
/// let b = Batch::try_from_columns([("value", Arc::new(Float64Array::from(vec![1.0, 2.0])) as _)])?;
/// let doubled = b.with_column("value", Arc::new(Float64Array::from(vec![2.0, 4.0])))?;
/// assert_eq!(doubled.num_rows(), 2);
/// # Ok::<(), stepstone::arrow::arrow_schema::ArrowError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Batch(RecordBatch);

impl Batch {
    /// Wrap a record batch.
    pub fn new(batch: RecordBatch) -> Batch {
        Batch(batch)
    }

    /// A batch from named columns (all of the same length).
    pub fn try_from_columns(
        columns: impl IntoIterator<Item = (&'static str, ArrayRef)>,
    ) -> Result<Batch, ArrowError> {
        RecordBatch::try_from_iter(columns).map(Batch)
    }

    /// The wrapped record batch.
    pub fn into_inner(self) -> RecordBatch {
        self.0
    }

    /// A new batch with column `name` replaced by `array` (appended if there is no such
    /// column). Every other column is shared with `self`, not copied.
    pub fn with_column(&self, name: &str, array: ArrayRef) -> Result<Batch, ArrowError> {
        let schema = self.0.schema();
        let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
        let mut columns: Vec<ArrayRef> = self.0.columns().to_vec();
        let field = Arc::new(Field::new(
            name,
            array.data_type().clone(),
            array.null_count() > 0,
        ));
        match schema.index_of(name) {
            Ok(i) => {
                let nullable = fields[i].is_nullable() || array.null_count() > 0;
                fields[i] = Arc::new(
                    fields[i]
                        .as_ref()
                        .clone()
                        .with_data_type(array.data_type().clone())
                        .with_nullable(nullable),
                );
                columns[i] = array;
            }
            Err(_) => {
                fields.push(field);
                columns.push(array);
            }
        }
        let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
        RecordBatch::try_new(Arc::new(schema), columns).map(Batch)
    }

    /// Column `name` as a concrete array type (`None` if missing or of another type).
    pub fn column_as<A: Array + 'static>(&self, name: &str) -> Option<&A> {
        self.0.column_by_name(name)?.as_any().downcast_ref::<A>()
    }
}

impl std::ops::Deref for Batch {
    type Target = RecordBatch;
    fn deref(&self) -> &RecordBatch {
        &self.0
    }
}

impl From<RecordBatch> for Batch {
    fn from(batch: RecordBatch) -> Batch {
        Batch(batch)
    }
}

impl From<Batch> for RecordBatch {
    fn from(batch: Batch) -> RecordBatch {
        batch.0
    }
}

/// Bytes of the allocation behind `buffer`: its capacity (for a mapped file, the whole map),
/// else (a foreign region whose capacity Arrow reports as 0) the extent this buffer reaches.
fn allocation_bytes(buffer: &Buffer) -> u64 {
    match buffer.capacity() {
        0 => (buffer.ptr_offset() + buffer.len()) as u64,
        n => n as u64,
    }
}

/// Every buffer allocation of `batch` once, as (identity, bytes): identity is the address of
/// the allocation's start, so two slices of one allocation are one entry.
pub(crate) fn buffer_allocations(batch: &RecordBatch) -> Vec<(usize, u64)> {
    let mut seen: HashMap<usize, u64> = HashMap::new();
    let mut add = |b: &Buffer| {
        let entry = seen.entry(b.data_ptr().as_ptr() as usize).or_insert(0);
        *entry = (*entry).max(allocation_bytes(b));
    };
    let mut stack: Vec<_> = batch.columns().iter().map(|c| c.to_data()).collect();
    while let Some(data) = stack.pop() {
        data.buffers().iter().for_each(&mut add);
        if let Some(nulls) = data.nulls() {
            add(nulls.buffer());
        }
        stack.extend(data.child_data().iter().cloned());
    }
    let mut out: Vec<(usize, u64)> = seen.into_iter().collect();
    out.sort_unstable();
    out
}

impl MemSize for Batch {
    fn add_heap(&self, acc: &mut Footprint) {
        for (_, bytes) in buffer_allocations(&self.0) {
            acc.add_allocation(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
    }
}

/// The type label hashed into fingerprints and stored in objects: the type plus its codec's
/// format version, so a change of the Arrow object layout never reuses an old object.
const TYPE_LABEL: &str = "stepstone::arrow::Batch (arrow-ipc, format 1)";

impl Data for Batch {
    type Codec = ArrowIpc;
    fn type_label() -> &'static str {
        TYPE_LABEL
    }
}

/// The codec of [`Batch`]: a plain Arrow IPC file, reloaded by memory-mapping it.
#[derive(Debug, Clone, Copy)]
pub struct ArrowIpc;

impl ValueCodec<Batch> for ArrowIpc {
    const ID: CodecId = CodecId::ArrowIpc;
    const HAS_BUFFERS: bool = true;

    fn encode(
        value: &Batch,
        out: &mut dyn Write,
        meta: Option<&ObjectMeta<'_>>,
    ) -> Result<(), String> {
        super::ipc::write_file(&value.0, out, meta)
    }

    fn decode(payload: Payload) -> Result<Batch, String> {
        match payload {
            Payload::Arrow(file) => file.decode().map(Batch),
            Payload::Bytes(_) => Err("a postcard object cannot hold an Arrow batch".into()),
        }
    }

    fn duplicate(value: &Batch) -> Result<Batch, String> {
        Ok(value.clone())
    }

    fn buffers(value: &Batch) -> Vec<(usize, u64)> {
        buffer_allocations(&value.0)
    }
}
