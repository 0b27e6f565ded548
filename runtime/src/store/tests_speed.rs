//! Throughput figures for choosing the spill codec (DESIGN: "zstd level 1 or none — measure").
//! Ignored by default; run with
//! `cargo test --release -p stepstone store::tests_speed -- --ignored --nocapture`.
//! Prints figures; asserts only that the round trip is exact.

use std::time::Instant;

use super::tests::{key, tempdir};
use super::*;

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
struct Row {
    id: u64,
    key: u32,
    value: f64,
    tag: String,
}

#[test]
#[ignore = "a measurement, run in release by hand"]
fn seed_rows_write_and_read_throughput() {
    let rows: Vec<Row> = (0..2_000_000u64)
        .map(|id| Row {
            id,
            key: (id % 1000) as u32,
            value: id as f64 * 0.5 + 0.1234,
            tag: format!("t{}", id % 97),
        })
        .collect();
    for compression in [
        Compression::None,
        Compression::Zstd(1),
        Compression::Zstd(3),
    ] {
        for kind in [ObjectKind::Spill, ObjectKind::Checkpoint] {
            let dir = tempdir();
            let options = StoreOptions {
                checkpoint_compression: Some(compression),
                spill_compression: Some(compression),
                ..StoreOptions::default()
            };
            let store = Store::open(dir.path(), "speed", options).unwrap();
            let start = Instant::now();
            let info = store
                .write(key(1), kind, "Vec<Row>", Footprint::default(), &mut |w| {
                    postcard::to_io(&rows, w)
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
                .unwrap();
            let written = start.elapsed();
            let start = Instant::now();
            let (_, bytes) = store.read(key(1), kind, "Vec<Row>").unwrap();
            let read = start.elapsed();
            let start = Instant::now();
            let back: Vec<Row> = postcard::from_bytes(&bytes).unwrap();
            let decoded = start.elapsed();
            assert_eq!(back, rows);
            let mb = info.raw_len as f64 / 1e6;
            println!(
                "{kind:?} {compression:?}: {mb:.1} MB raw -> {:.1} MB stored; write+encode {:.0} ms ({:.0} MB/s), read+verify {:.0} ms ({:.0} MB/s), then postcard decode {:.0} ms",
                info.payload_len as f64 / 1e6,
                written.as_secs_f64() * 1e3,
                mb / written.as_secs_f64(),
                read.as_secs_f64() * 1e3,
                mb / read.as_secs_f64(),
                decoded.as_secs_f64() * 1e3,
            );
        }
    }
}
