//! Codec and compression choice for seed rows (issue 6): postcard vs bitcode (serde mode), each
//! with zstd level 1 or no compression. Prints the encoded sizes once, then measures encode and
//! decode; throughput is given in bytes of the codec's uncompressed encoding, so the time per
//! run (200,000 rows) is the figure to compare across codecs.
//!
//! Before the criterion groups it prints medians of 15 *alternating* rounds of the eight
//! operations (one process, each round runs all eight), which is the figure to compare on a
//! machine shared with other work: criterion runs one benchmark after another, so a change of
//! load between them moves the ratios.
//!
//! `cargo bench -p stepstone --bench codec`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../examples/common/seed.rs"]
mod seed;
use seed::Row;

const ROWS: u64 = 200_000;

/// Seed rows as after the first transform (the shape every step stores).
fn rows() -> Vec<Row> {
    seed::adjust_rows(&seed::generate_rows(ROWS), 7)
}

fn postcard_encode(rows: &[Row]) -> Vec<u8> {
    postcard::to_stdvec(rows).unwrap_or_default()
}

fn postcard_decode(bytes: &[u8]) -> Vec<Row> {
    postcard::from_bytes(bytes).unwrap_or_default()
}

fn bitcode_encode(rows: &[Row]) -> Vec<u8> {
    bitcode::serialize(rows).unwrap_or_default()
}

fn bitcode_decode(bytes: &[u8]) -> Vec<Row> {
    bitcode::deserialize(bytes).unwrap_or_default()
}

/// Postcard, then zstd over the whole buffer (the store streams postcard through a 64 KiB
/// buffer into a zstd stream encoder, which costs the same; writing postcard's many tiny writes
/// straight into a zstd encoder would be ten times slower).
fn postcard_zstd_encode(rows: &[Row]) -> Vec<u8> {
    zstd_compress(&postcard_encode(rows))
}

fn zstd_compress(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, 1).unwrap_or_default()
}

fn zstd_decompress(bytes: &[u8], raw_len: usize) -> Vec<u8> {
    zstd::bulk::decompress(bytes, raw_len).unwrap_or_default()
}

/// Medians over alternating rounds: every round times each operation once.
fn alternating(data: &[Row], pc: &[u8], bc: &[u8], pcz: &[u8], bcz: &[u8]) {
    type Op<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let ops: Vec<Op<'_>> = vec![
        (
            "postcard encode",
            Box::new(|| drop(black_box(postcard_encode(data)))),
        ),
        (
            "postcard decode",
            Box::new(|| drop(black_box(postcard_decode(pc)))),
        ),
        (
            "postcard+zstd1 encode",
            Box::new(|| drop(black_box(postcard_zstd_encode(data)))),
        ),
        (
            "postcard+zstd1 decode",
            Box::new(|| drop(black_box(postcard_decode(&zstd_decompress(pcz, pc.len()))))),
        ),
        (
            "bitcode encode",
            Box::new(|| drop(black_box(bitcode_encode(data)))),
        ),
        (
            "bitcode decode",
            Box::new(|| drop(black_box(bitcode_decode(bc)))),
        ),
        (
            "bitcode+zstd1 encode",
            Box::new(|| drop(black_box(zstd_compress(&bitcode_encode(data))))),
        ),
        (
            "bitcode+zstd1 decode",
            Box::new(|| drop(black_box(bitcode_decode(&zstd_decompress(bcz, bc.len()))))),
        ),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for _ in 0..15 {
        for (i, (_, op)) in ops.iter().enumerate() {
            let start = Instant::now();
            op();
            times[i].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    eprintln!("alternating medians, 15 rounds, {ROWS} rows:");
    for ((name, _), t) in ops.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        eprintln!("  {name:<24} {:8.2} ms", t[t.len() / 2]);
    }
}

fn bench_codecs(c: &mut Criterion) {
    let data = rows();
    let pc = postcard_encode(&data);
    let bc = bitcode_encode(&data);
    let pcz = postcard_zstd_encode(&data);
    let bcz = zstd_compress(&bc);
    assert_eq!(postcard_decode(&pc), data);
    assert_eq!(bitcode_decode(&bc), data);
    assert_eq!(postcard_decode(&zstd_decompress(&pcz, pc.len())), data);
    assert_eq!(bitcode_decode(&zstd_decompress(&bcz, bc.len())), data);
    eprintln!(
        "codec sizes for {ROWS} seed rows: postcard {} B ({:.2} B/row), postcard+zstd1 {} B, bitcode {} B ({:.2} B/row), bitcode+zstd1 {} B",
        pc.len(),
        pc.len() as f64 / ROWS as f64,
        pcz.len(),
        bc.len(),
        bc.len() as f64 / ROWS as f64,
        bcz.len()
    );

    alternating(&data, &pc, &bc, &pcz, &bcz);

    let mut g = c.benchmark_group("codec/postcard");
    g.throughput(Throughput::Bytes(pc.len() as u64));
    g.bench_function("encode", |b| b.iter(|| black_box(postcard_encode(&data))));
    g.bench_function("decode", |b| b.iter(|| black_box(postcard_decode(&pc))));
    g.bench_function("encode_zstd1", |b| {
        b.iter(|| black_box(postcard_zstd_encode(&data)))
    });
    g.bench_function("decode_zstd1", |b| {
        b.iter(|| black_box(postcard_decode(&zstd_decompress(&pcz, pc.len()))))
    });
    g.finish();

    let mut g = c.benchmark_group("codec/bitcode");
    g.throughput(Throughput::Bytes(bc.len() as u64));
    g.bench_function("encode", |b| b.iter(|| black_box(bitcode_encode(&data))));
    g.bench_function("decode", |b| b.iter(|| black_box(bitcode_decode(&bc))));
    g.bench_function("encode_zstd1", |b| {
        b.iter(|| black_box(zstd_compress(&bitcode_encode(&data))))
    });
    g.bench_function("decode_zstd1", |b| {
        b.iter(|| black_box(bitcode_decode(&zstd_decompress(&bcz, bc.len()))))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = bench_codecs }
criterion_main!(benches);
