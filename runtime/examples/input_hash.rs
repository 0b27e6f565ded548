//! Benchmark of input fingerprinting (README "Performance"): the content hash of a 1 GB input
//! against `cat` of the same file (both from the page cache, paired in one run, alternating),
//! and the per-file cost of a stat-cache hit (stat plus lookup, no read).
//!
//! `cargo run --release -p stepstone --example input_hash [-- --size-mib 1024 --files 10000 --rounds 5]`
//!
//! Prints throughputs, the hash/cat ratio per round and its median, and the stat-cache figure.
//! A benchmark, not a test: nothing is asserted.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stepstone::input::{StatCache, StatKey, hash_file};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn write_input(path: &Path, mib: u64) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    for i in 0..mib {
        for (j, b) in block.iter_mut().enumerate() {
            *b = (i as usize).wrapping_mul(31).wrapping_add(j) as u8;
        }
        out.write_all(&block)?;
    }
    out.flush()
}

fn cat(path: &Path) -> std::io::Result<Duration> {
    let started = Instant::now();
    let status = Command::new("cat")
        .arg(path)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other("cat failed"));
    }
    Ok(started.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mib, files, rounds) = (
        arg("--size-mib", 1024),
        arg("--files", 10_000),
        arg("--rounds", 5),
    );
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input.bin");
    write_input(&input, mib)?;
    cat(&input)?; // into the page cache
    let gib = mib as f64 / 1024.0;
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let cat_time = cat(&input)?;
        let started = Instant::now();
        let hash = hash_file(&input)?;
        let hash_time = started.elapsed();
        let ratio = cat_time.as_secs_f64() / hash_time.as_secs_f64();
        ratios.push(ratio);
        println!(
            "round {round}: cat {:.2} GiB/s, hash {:.2} GiB/s (xxh3-128 {hash:032x}), hash/cat throughput {ratio:.2}x",
            gib / cat_time.as_secs_f64(),
            gib / hash_time.as_secs_f64(),
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "hash/cat throughput over {rounds} paired rounds: median {:.2}x (min {:.2}x, max {:.2}x)",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );

    // Stat-cache hits: small files older than the 2-second racy window, hashed once, then
    // looked up again (what an unchanged input costs on every later run).
    let small = dir.path().join("small");
    std::fs::create_dir(&small)?;
    let paths: Vec<_> = (0..files)
        .map(|i| small.join(format!("f{i}.txt")))
        .collect();
    for (i, p) in paths.iter().enumerate() {
        std::fs::write(p, format!("{i}\n"))?;
    }
    std::thread::sleep(Duration::from_millis(2100));
    let mut cache = StatCache::open(dir.path());
    for p in &paths {
        cache.hash(p, StatKey::of(p)?)?;
    }
    cache.save();
    let mut cache = StatCache::open(dir.path());
    let started = Instant::now();
    for p in &paths {
        cache.hash(p, StatKey::of(p)?)?;
    }
    let per_file = started.elapsed() / files as u32;
    println!("stat-cache hit: {per_file:?} per file over {files} files (stat + lookup, no read)");
    Ok(())
}
