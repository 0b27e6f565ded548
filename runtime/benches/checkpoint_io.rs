//! Checkpoint write and reload throughput of seed rows, against raw `write` + `fsync` and raw
//! `read` of the same bytes (issue 6: target ≥ 0.8× each).
//!
//! Benchmarks (200,000 seed rows, ≈ 3.3 MB of postcard, in a temp dir on the working disk):
//! - `write/raw`: `File::create` + `write_all` of the pre-encoded bytes + `fsync` + rename +
//!   directory fsync (what any durable writer pays);
//! - `write/store_bytes`: `Store::write(Checkpoint)` of the same pre-encoded bytes (the store's
//!   own cost: header, xxh3 checksum, temp file, fsync, rename, directory fsync);
//! - `write/store_encode`: the same with postcard encoding of the rows streamed in (what a
//!   checkpoint step pays);
//! - `read/raw`: `std::fs::read` of the same bytes (page cache);
//! - `read/store_bytes`: `Store::read` (header and payload checksum verified);
//! - `read/raw_decode`, `read/store_decode`: the same followed by the postcard decode of the rows.
//!
//! `cargo bench -p stepstone --bench checkpoint_io`

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stepstone::store::{BlockKey, ObjectKind, Store, StoreOptions};
use stepstone::{Fingerprint, Footprint};

#[path = "../examples/common/seed.rs"]
mod seed;
use seed::Row;

const ROWS: u64 = 200_000;
const TYPE: &str = "Vec<Row>";

/// Seed rows as after the first transform (the shape every step stores).
fn rows() -> Vec<Row> {
    seed::adjust_rows(&seed::generate_rows(ROWS), 7)
}

fn key(n: u64) -> BlockKey {
    BlockKey {
        fingerprint: Fingerprint(
            u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1,
        ),
        part: 0,
    }
}

fn raw_write(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join("raw.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join("raw.bin"))?;
    std::fs::File::open(dir)?.sync_all()
}

fn store_write(
    store: &Store,
    n: u64,
    encode: &mut dyn FnMut(&mut dyn Write) -> Result<(), String>,
) {
    let k = key(n);
    let info = store.write(
        k,
        ObjectKind::Checkpoint,
        TYPE,
        Footprint::default(),
        encode,
    );
    black_box(info.ok());
    // First writer wins: remove it so the next iteration writes again (outside the timing).
}

fn bench_write(c: &mut Criterion) {
    let data = rows();
    let bytes = postcard::to_stdvec(&data).unwrap_or_default();
    let raw_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = Store::open(store_dir.path(), "bench", StoreOptions::default())
        .unwrap_or_else(|e| panic!("open store: {e}"));
    let mut g = c.benchmark_group("checkpoint_io/write");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("raw", |b| {
        b.iter(|| raw_write(raw_dir.path(), black_box(&bytes)).unwrap_or_else(|e| panic!("{e}")))
    });
    g.bench_function("store_bytes", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                store_write(&store, 1, &mut |w| {
                    w.write_all(&bytes).map_err(|e| e.to_string())
                });
                total += start.elapsed();
                let _ = store.remove(key(1), ObjectKind::Checkpoint);
            }
            total
        })
    });
    g.bench_function("store_encode", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                store_write(&store, 1, &mut |w| {
                    postcard::to_io(&data, w)
                        .map(drop)
                        .map_err(|e| e.to_string())
                });
                total += start.elapsed();
                let _ = store.remove(key(1), ObjectKind::Checkpoint);
            }
            total
        })
    });
    g.finish();
}

fn bench_read(c: &mut Criterion) {
    let data = rows();
    let bytes = postcard::to_stdvec(&data).unwrap_or_default();
    let raw_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    raw_write(raw_dir.path(), &bytes).unwrap_or_else(|e| panic!("{e}"));
    let raw_path = raw_dir.path().join("raw.bin");
    let store_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = Store::open(store_dir.path(), "bench", StoreOptions::default())
        .unwrap_or_else(|e| panic!("open store: {e}"));
    store_write(&store, 0, &mut |w| {
        w.write_all(&bytes).map_err(|e| e.to_string())
    });
    let read = || {
        store
            .read(key(0), ObjectKind::Checkpoint, TYPE)
            .unwrap_or_else(|e| panic!("read: {e}"))
            .1
    };
    assert_eq!(read(), bytes);
    let mut g = c.benchmark_group("checkpoint_io/read");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("raw", |b| {
        b.iter(|| black_box(std::fs::read(&raw_path).unwrap_or_default()))
    });
    g.bench_function("store_bytes", |b| b.iter(|| black_box(read())));
    g.bench_function("raw_decode", |b| {
        b.iter(|| {
            let buf = std::fs::read(&raw_path).unwrap_or_default();
            black_box(postcard::from_bytes::<Vec<Row>>(&buf).ok())
        })
    });
    g.bench_function("store_decode", |b| {
        b.iter(|| black_box(postcard::from_bytes::<Vec<Row>>(&read()).ok()))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = bench_write, bench_read }
criterion_main!(benches);
