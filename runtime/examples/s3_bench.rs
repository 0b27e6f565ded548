//! Checkpoint write and reload on an S3 server against a raw `PUT` / `GET` of the same bytes with
//! the same client (`object_store`'s S3 client, one request, payload in memory). Prints the
//! median of each and of the paired ratios (raw time / store time: 1.0 = as fast as the raw
//! request). Used by `bench/s3.sh`; never asserted in tests.
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:8333 AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=… \
//! AWS_SECRET_ACCESS_KEY=… cargo run --release -p stepstone --example s3_bench -- \
//!     --url s3://stepstone/bench --mib 64 --rounds 7
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use stepstone::memory::Footprint;
use stepstone::plan::Fingerprint;
use stepstone::store::{BlockKey, ObjectKind, S3Backend, Store, StoreOptions};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> ExitCode {
    let url = arg("--url").unwrap_or_else(|| "s3://stepstone/bench".into());
    let mib: usize = arg("--mib").and_then(|s| s.parse().ok()).unwrap_or(64);
    let rounds: usize = arg("--rounds").and_then(|s| s.parse().ok()).unwrap_or(7);
    match run(&url, mib, rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(url: &str, mib: usize, rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let stamp = std::process::id();
    let url = format!("{url}/{stamp}");
    let backend = Arc::new(S3Backend::open(&url, None)?);
    let root = PathBuf::from(&url);
    let store = Store::open_with_backend(backend.clone(), &root, "bench", StoreOptions::default())?;
    let bytes: Vec<u8> = (0..mib << 20)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let type_name = "alloc::vec::Vec<u8>";
    let (mut put, mut write, mut get, mut read) = (vec![], vec![], vec![], vec![]);
    let (mut write_ratio, mut read_ratio) = (vec![], vec![]);
    let (mut staging, mut multipart) = (vec![], vec![]);
    let local_dir = std::env::temp_dir().join(format!("s3-bench-local-{stamp}"));
    let local = Store::open(&local_dir, "bench", StoreOptions::default())?;
    let bucket = url
        .strip_prefix("s3://")
        .and_then(|r| r.split('/').next())
        .unwrap_or("stepstone");
    let client = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_endpoint(std::env::var("AWS_ENDPOINT_URL").unwrap_or_default())
        .build()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for round in 0..rounds {
        let hex = format!("{:032x}", 0xbe00 + round);
        let key = BlockKey {
            fingerprint: hex.parse::<Fingerprint>()?,
            part: 0,
        };
        // Alternate which goes first: the server is still busy with the previous upload for a
        // while, and that must not always fall on the same side.
        let raw_put_op = || -> Result<f64, Box<dyn std::error::Error>> {
            let t = Instant::now();
            backend.raw_put(&format!("raw/{round}"), bytes.clone())?;
            Ok(t.elapsed().as_secs_f64())
        };
        let store_write_op = || -> Result<f64, Box<dyn std::error::Error>> {
            let t = Instant::now();
            store.write(
                key,
                ObjectKind::Checkpoint,
                type_name,
                Footprint::default(),
                &mut |w: &mut dyn Write| w.write_all(&bytes).map_err(|e| e.to_string()),
            )?;
            Ok(t.elapsed().as_secs_f64())
        };
        let (raw_put, store_write) = if round % 2 == 0 {
            let a = raw_put_op()?;
            (a, store_write_op()?)
        } else {
            let b = store_write_op()?;
            (raw_put_op()?, b)
        };
        // For scale: the same encode into a local file (a spill into a local store, no fsync)
        // and a bare multipart upload of the bytes.
        let t = Instant::now();
        local.write(
            key,
            ObjectKind::Spill,
            type_name,
            Footprint::default(),
            &mut |w: &mut dyn Write| w.write_all(&bytes).map_err(|e| e.to_string()),
        )?;
        staging.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        raw_multipart(&client, &rt, &format!("{stamp}/mp/{round}"), &bytes)?;
        multipart.push(t.elapsed().as_secs_f64());
        let raw_get_op = || -> Result<(f64, bytes::Bytes), Box<dyn std::error::Error>> {
            let t = Instant::now();
            let got = backend.raw_get_bytes(&format!("raw/{round}"))?;
            Ok((t.elapsed().as_secs_f64(), got))
        };
        let store_read_op = || -> Result<(f64, Vec<u8>), Box<dyn std::error::Error>> {
            let t = Instant::now();
            let (_, back) = store.read(key, ObjectKind::Checkpoint, type_name)?;
            Ok((t.elapsed().as_secs_f64(), back))
        };
        let ((raw_get, got), (store_read, back)) = if round % 2 == 0 {
            let a = raw_get_op()?;
            (a, store_read_op()?)
        } else {
            let b = store_read_op()?;
            (raw_get_op()?, b)
        };
        if back != bytes || got[..] != bytes[..] {
            return Err("a round trip returned other bytes".into());
        }
        eprintln!(
            "round {round}: put {raw_put:.3}s write {store_write:.3}s get {raw_get:.3}s read {store_read:.3}s"
        );
        put.push(raw_put);
        write.push(store_write);
        get.push(raw_get);
        read.push(store_read);
        write_ratio.push(raw_put / store_write);
        read_ratio.push(raw_get / store_read);
    }
    drop(local);
    let _ = std::fs::remove_dir_all(&local_dir);
    eprintln!(
        "local spill write (same encode into a local file) median {:.3}s; bare multipart upload median {:.3}s",
        median(staging.clone()),
        median(multipart.clone())
    );
    let mb = mib as f64 * 1.048_576;
    println!(
        "{{\"mib\":{mib},\"rounds\":{rounds},\"raw_put_s\":{:.3},\"checkpoint_write_s\":{:.3},\"write_vs_put\":{:.2},\"raw_get_s\":{:.3},\"reload_s\":{:.3},\"reload_vs_get\":{:.2},\"checkpoint_write_mb_s\":{:.0},\"reload_mb_s\":{:.0},\"local_spill_write_s\":{:.3},\"bare_multipart_s\":{:.3}}}",
        median(put),
        median(write.clone()),
        median(write_ratio),
        median(get),
        median(read.clone()),
        median(read_ratio),
        mb / median(write),
        mb / median(read),
        median(staging),
        median(multipart),
    );
    Ok(())
}

/// Upload `bytes` with a bare multipart upload (16 MiB parts, 2 in flight): the store's upload
/// without the store.
fn raw_multipart(
    client: &object_store::aws::AmazonS3,
    rt: &tokio::runtime::Runtime,
    key: &str,
    bytes: &[u8],
) -> Result<(), Box<dyn std::error::Error>> {
    use object_store::ObjectStoreExt;
    let path = object_store::path::Path::from(format!("bench/{key}"));
    rt.block_on(async {
        let upload = client.put_multipart(&path).await?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, 16 << 20);
        for piece in bytes.chunks(1 << 20) {
            writer.wait_for_capacity(2).await?;
            writer.write(piece);
        }
        writer.finish().await?;
        Ok::<_, object_store::Error>(())
    })?;
    Ok(())
}
