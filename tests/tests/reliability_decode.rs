//! Row 18 of the reliability matrix: round trips for every codec and format, and random or
//! mutated input into every decoder, never a panic or a hang. Values of several shapes go
//! through postcard and the store (uncompressed and zstd, checkpoint and spill) and come back
//! equal; random buffers and mutated valid objects go into `decode_object` and must give a
//! typed error; run reports round-trip through JSON, and random or mutated report bytes give a
//! parse error. The object decoder also has a cargo-fuzz target (`fuzz/`, docs/reliability.md).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use stepstone::store::{
    BlockKey, Compression, ObjectKind, Store, StoreError, StoreOptions, decode_object,
};
use stepstone::{Fingerprint, Footprint, RunReport};
use stepstone_tests::Block;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Write `value` with the store (`compression`, `kind`), read it back through `Store::read` and
/// through `decode_object` on the file's bytes, decode with postcard; both must equal `value`.
fn round_trip<T>(value: &T, compression: Option<Compression>, kind: ObjectKind, id: u128)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        checkpoint_compression: compression,
        spill_compression: compression,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), "rt", options).unwrap();
    let key = BlockKey {
        fingerprint: Fingerprint(id),
        part: (id % 7) as u32,
    };
    let type_name = std::any::type_name::<T>();
    let mut encode = |w: &mut dyn std::io::Write| {
        postcard::to_io(value, w)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let info = store
        .write(key, kind, type_name, Footprint::default(), &mut encode)
        .unwrap();
    let (_, bytes) = store.read(key, kind, type_name).unwrap();
    assert_eq!(&postcard::from_bytes::<T>(&bytes).unwrap(), value);
    let file = std::fs::read(dir.path().join(&info.path)).unwrap();
    let (decoded_info, payload) = decode_object(file, Some(type_name)).unwrap();
    assert_eq!(decoded_info.key, key);
    assert_eq!(payload, bytes);
}

fn codec() -> impl Strategy<Value = (Option<Compression>, ObjectKind)> {
    (
        prop_oneof![
            Just(None),
            Just(Some(Compression::Zstd(1))),
            Just(Some(Compression::Zstd(-5))),
            Just(Some(Compression::Zstd(19)))
        ],
        prop_oneof![Just(ObjectKind::Checkpoint), Just(ObjectKind::Spill)],
    )
}

type Nested = (
    u32,
    Option<String>,
    Vec<(u8, i64)>,
    BTreeMap<String, Vec<u8>>,
);

proptest! {
    #![proptest_config(config())]

    #[test]
    fn numbers_round_trip(v in prop::collection::vec(any::<u64>(), 0..5000), (c, k) in codec(), id in any::<u128>()) {
        round_trip(&v, c, k, id);
    }

    #[test]
    fn blocks_round_trip(data in prop::collection::vec(any::<u64>(), 0..2000), label in ".{0,40}", (c, k) in codec(), id in any::<u128>()) {
        round_trip(&Block { data, label }, c, k, id);
    }

    #[test]
    fn nested_values_round_trip(v in any::<Nested>(), (c, k) in codec(), id in any::<u128>()) {
        round_trip(&v, c, k, id);
    }

    #[test]
    fn strings_and_floats_round_trip(s in any::<String>(), f in prop::collection::vec(any::<f64>().prop_filter("NaN != NaN", |x| !x.is_nan()), 0..100), (c, k) in codec()) {
        round_trip(&(s, f), c, k, 1);
    }

    #[test]
    fn random_buffers_never_panic_the_object_decoder(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(decode_object(bytes, None).is_err());
    }

    #[test]
    fn random_buffers_with_a_valid_magic_never_panic_the_object_decoder(tail in prop::collection::vec(any::<u8>(), 0..600), version in any::<bool>()) {
        let mut bytes = b"STPSTONE".to_vec();
        if version {
            bytes.extend_from_slice(&stepstone::plan::FORMAT_VERSION.to_le_bytes());
        }
        bytes.extend(tail);
        prop_assert!(decode_object(bytes, None).is_err());
    }

    #[test]
    fn mutated_objects_give_a_typed_error(
        which in 0usize..4,
        at in any::<usize>(),
        mask in 1u8..=255,
        cut in any::<usize>(),
        extra in prop::collection::vec(any::<u8>(), 1..64),
        how in 0u8..3,
    ) {
        let valid = &valid_objects()[which];
        let mut bytes = valid.clone();
        match how {
            0 => bytes[at % valid.len()] ^= mask,
            1 => bytes.truncate(cut % valid.len()),
            _ => bytes.extend(extra),
        }
        match decode_object(bytes, None) {
            Err(StoreError::Corrupt { .. }) => {}
            other => prop_assert!(false, "expected Corrupt, got {:?}", other.map(|(i, _)| i)),
        }
    }

    #[test]
    fn random_bytes_never_panic_the_report_parser(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = serde_json::from_slice::<RunReport>(&bytes);
    }

    #[test]
    fn mutated_reports_never_panic_the_report_parser(at in any::<usize>(), mask in 1u8..=255, cut in any::<usize>()) {
        let report = report_json();
        let mut flipped = report.clone();
        flipped[at % report.len()] ^= mask;
        let _ = serde_json::from_slice::<RunReport>(&flipped);
        prop_assert!(serde_json::from_slice::<RunReport>(&report[..cut % report.len()]).is_err());
    }
}

/// Valid objects of four kinds (none/zstd × small/large), built once.
fn valid_objects() -> &'static Vec<Vec<u8>> {
    static OBJECTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        for (i, (compression, len)) in [
            (None, 10usize),
            (None, 3000),
            (Some(Compression::Zstd(3)), 10),
            (Some(Compression::Zstd(3)), 3000),
        ]
        .into_iter()
        .enumerate()
        {
            let options = StoreOptions {
                checkpoint_compression: compression,
                ..StoreOptions::default()
            };
            let store = Store::open(dir.path(), &format!("v{i}"), options).unwrap();
            let value: Vec<u64> = (0..len as u64).map(|x| x * 7919).collect();
            let key = BlockKey {
                fingerprint: Fingerprint(i as u128 + 1),
                part: 0,
            };
            let mut encode = |w: &mut dyn std::io::Write| {
                postcard::to_io(&value, w)
                    .map(drop)
                    .map_err(|e| e.to_string())
            };
            let info = store
                .write(
                    key,
                    ObjectKind::Checkpoint,
                    "Vec<u64>",
                    Footprint::default(),
                    &mut encode,
                )
                .unwrap();
            out.push(std::fs::read(dir.path().join(info.path)).unwrap());
        }
        out
    })
}

/// The JSON report of a small real run, built once.
fn report_json() -> Vec<u8> {
    static REPORT: OnceLock<Vec<u8>> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let out = stepstone::run(&stepstone_tests::config(dir.path(), "1MiB"), |p| {
                let a = p.step("a").code("1").run(|_| Ok(Block::new(100, 1)));
                Ok(p.step("b")
                    .code("1")
                    .input(&a)
                    .run(|x| Ok(x.get::<Block>(0)?.sum())))
            })
            .unwrap();
            serde_json::to_vec_pretty(&out.report).unwrap()
        })
        .clone()
}

#[test]
fn run_reports_round_trip_through_json() {
    let bytes = report_json();
    let report: RunReport = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(serde_json::to_vec_pretty(&report).unwrap(), bytes);
    assert!(!report.steps.is_empty());
}
