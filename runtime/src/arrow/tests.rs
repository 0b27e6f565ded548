//! Arrow values end to end below the executor: store round trips (checkpoint, spill, persist)
//! as plain IPC files reloaded zero-copy from a map, identity checks, sizes, CSV and Parquet.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Float64Array, StringArray, UInt32Array, UInt64Array};

use super::*;
use crate::Data;
use crate::memory::{Footprint, MemSize};
use crate::plan::Fingerprint;
use crate::store::{
    BlockKey, CodecId, ObjectKind, ObjectMeta, Payload, Store, StoreError, StoreOptions,
};

/// The seed's columns for `rows` rows.
pub(super) fn seed_batch(rows: u64) -> Batch {
    let ids: Vec<u64> = (0..rows).collect();
    Batch::try_from_columns([
        ("id", Arc::new(UInt64Array::from(ids.clone())) as _),
        (
            "key",
            Arc::new(UInt32Array::from_iter_values(
                ids.iter().map(|i| (i % 1000) as u32),
            )) as _,
        ),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| *i as f64 * 0.5),
            )) as _,
        ),
        (
            "tag",
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("t{}", i % 97)),
            )) as _,
        ),
    ])
    .unwrap()
}

pub(super) fn key(n: u128) -> BlockKey {
    BlockKey {
        fingerprint: Fingerprint(n * 0x9e37_79b9_7f4a_7c15),
        part: 0,
    }
}

pub(super) fn store(dir: &Path) -> Store {
    Store::open(dir, "run-a", StoreOptions::default()).unwrap()
}

/// Write `batch` at `key` as `kind` through the store, as the executor does.
pub(super) fn put(
    store: &Store,
    key: BlockKey,
    kind: ObjectKind,
    batch: &Batch,
) -> Result<crate::store::ObjectInfo, StoreError> {
    let mut encode = |w: &mut dyn std::io::Write, meta: Option<&ObjectMeta<'_>>| {
        <ArrowIpc as crate::store::ValueCodec<Batch>>::encode(batch, w, meta)
    };
    store.write_value(
        key,
        kind,
        Batch::type_label(),
        CodecId::ArrowIpc,
        batch.footprint(),
        &mut encode,
    )
}

pub(super) fn get(store: &Store, key: BlockKey, kind: ObjectKind) -> Result<Batch, String> {
    let (_, payload) = store
        .read_value(key, kind, Batch::type_label())
        .map_err(|e| e.to_string())?;
    <ArrowIpc as crate::store::ValueCodec<Batch>>::decode(payload)
}

#[test]
fn every_kind_round_trips_and_is_a_plain_aligned_ipc_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let batch = seed_batch(10_000);
    for (n, kind) in [
        (1, ObjectKind::Checkpoint),
        (2, ObjectKind::Spill),
        (3, ObjectKind::Persist),
    ] {
        let info = put(&s, key(n), kind, &batch).unwrap();
        assert_eq!(info.codec, CodecId::ArrowIpc);
        let bytes = std::fs::read(dir.path().join(&info.path)).unwrap();
        assert_eq!(&bytes[..6], b"ARROW1");
        assert_eq!(&bytes[bytes.len() - 6..], b"ARROW1");
        assert_eq!(get(&s, key(n), kind).unwrap(), batch);
        // arrow's own reader opens it and finds the identity in the footer.
        let reader =
            arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        assert_eq!(reader.custom_metadata()["stepstone.magic"], "STPSTONE");
        assert_eq!(
            reader.custom_metadata()["stepstone.fingerprint"],
            key(n).fingerprint.to_hex()
        );
        let probed = s.probe_kind(key(n), kind).unwrap().unwrap();
        assert_eq!(
            (probed.kind, probed.type_name.as_str()),
            (kind, Batch::type_label())
        );
        assert_eq!(probed.checksum, info.checksum);
    }
}

#[test]
fn reload_is_zero_copy_from_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let batch = seed_batch(50_000);
    let info = put(&s, key(1), ObjectKind::Checkpoint, &batch).unwrap();
    let back = get(&s, key(1), ObjectKind::Checkpoint).unwrap();
    let values = back.column_as::<Float64Array>("value").unwrap();
    let data = values.to_data();
    let buffer = &data.buffers()[0];
    // The buffer's allocation is the mapped file itself (no copy was made).
    assert_eq!(buffer.capacity() as u64, info.file_len);
    assert_eq!(
        buffer.as_ptr() as usize % 64,
        0,
        "buffers are 64-byte aligned in the map"
    );
    // All columns live in one allocation (the map): counted once.
    let allocations = batch::buffer_allocations(&back);
    assert_eq!(allocations.len(), 1, "{allocations:?}");
}

#[test]
fn identity_mismatches_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let info = put(&s, key(1), ObjectKind::Checkpoint, &seed_batch(10)).unwrap();
    let err = s
        .read_value(key(1), ObjectKind::Checkpoint, "alloc::vec::Vec<u64>")
        .unwrap_err();
    assert!(
        err.to_string().contains("expected `alloc::vec::Vec<u64>`"),
        "{err}"
    );
    // The file moved to another block's path: its footer names the first block.
    let other = dir
        .path()
        .join(&info.path)
        .with_file_name(format!("{}.0", key(2).fingerprint.to_hex()));
    let other_dir = other
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(&key(2).fingerprint.to_hex()[..2]);
    std::fs::create_dir_all(&other_dir).unwrap();
    std::fs::copy(
        dir.path().join(&info.path),
        other_dir.join(other.file_name().unwrap()),
    )
    .unwrap();
    let err = s
        .read_value(key(2), ObjectKind::Checkpoint, Batch::type_label())
        .unwrap_err();
    assert!(err.to_string().contains("sits at the path of"), "{err}");
}

#[test]
fn a_postcard_value_still_uses_the_stepstone_format() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut encode =
        |w: &mut dyn std::io::Write| crate::store::codec_postcard_for_tests(&vec![1u64, 2], w);
    let info = s
        .write(
            key(1),
            ObjectKind::Spill,
            "v",
            Footprint::default(),
            &mut encode,
        )
        .unwrap();
    assert_eq!(info.codec, CodecId::Postcard);
    let (_, payload) = s.read_value(key(1), ObjectKind::Spill, "v").unwrap();
    assert!(matches!(payload, Payload::Bytes(_)));
    assert!(<ArrowIpc as crate::store::ValueCodec<Batch>>::decode(payload).is_err());
}

#[test]
fn with_column_shares_the_other_columns() {
    let batch = seed_batch(1000);
    let values: Vec<f64> = (0..1000).map(|i| i as f64).collect();
    let next = batch
        .with_column("value", Arc::new(Float64Array::from(values)))
        .unwrap();
    let a = batch::buffer_allocations(&batch);
    let b = batch::buffer_allocations(&next);
    let shared = a.iter().filter(|x| b.contains(x)).count();
    assert_eq!(shared, a.len() - 1, "only the value column is new");
    let added = next
        .with_column("extra", Arc::new(UInt32Array::from(vec![1u32; 1000])))
        .unwrap();
    assert_eq!(added.num_columns(), 5);
    assert!(
        batch
            .with_column("bad", Arc::new(UInt32Array::from(vec![1u32; 3])))
            .is_err()
    );
    // The footprint counts each allocation once and at least the data.
    assert!(batch.footprint().requested >= 1000 * (8 + 4 + 8));
}

#[test]
fn csv_and_parquet_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "id,value,tag\n1,0.5,a\n2,1.5,b\n3,2.5,c\n").unwrap();
    let batch = read_csv(&crate::InputFile::new(&csv), &CsvOptions::default()).unwrap();
    assert_eq!((batch.num_rows(), batch.num_columns()), (3, 3));
    let out = dir.path().join("out.parquet");
    write_parquet(&[batch.clone(), batch.clone()], &out).unwrap();
    let back = read_parquet(&crate::InputFile::new(&out)).unwrap();
    let rows: usize = back.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 6);
    assert_eq!(back[0].slice(0, 3), *batch);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    let missing = read_csv(
        &crate::InputFile::new(dir.path().join("nope.csv")),
        &CsvOptions::default(),
    );
    assert!(missing.unwrap_err().to_string().contains("nope.csv"));
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, b"not parquet").unwrap();
    assert!(
        read_parquet(&crate::InputFile::new(&bad))
            .unwrap_err()
            .to_string()
            .contains("bad.parquet")
    );
    // A failed sink leaves the earlier file untouched.
    assert!(write_parquet(&[], &out).is_err());
    assert_eq!(read_parquet(&crate::InputFile::new(&out)).unwrap().len(), 1);
}
