//! Row 10 of the reliability matrix: hostile length prefixes. Objects whose header claims 2^60
//! payload or decoded bytes, and a valid object whose postcard payload claims a 2^60-element
//! `Vec`, are decoded by the `hostile` binary in a child process under `ulimit -v 512 MiB`: a
//! decoder that trusted the length would abort the process; it must exit with a typed error.
//! The same objects are planted in a checkpoint directory and the `chain` binary, under the same
//! limit, reports them corrupt and recomputes.

mod reliability_util;

use std::path::Path;
use std::process::{Command, Output};

use reliability_util::{CHAIN, HOSTILE, chain_expected, run_chain, sum_of};
use stepstone::store::{
    BlockKey, Compression, ObjectKind, Store, StoreError, StoreOptions, decode_object,
};
use stepstone::{Fingerprint, Footprint};

/// Address-space limit of the child processes.
const LIMIT_KIB: u64 = 512 * 1024;
const HUGE: u64 = 1 << 60;

/// Run `program args` under `ulimit -v`.
fn under_ulimit_v(program: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .output()
        .unwrap()
}

/// A valid object holding `payload` (stored with `compression`), as file bytes.
fn object(payload: &[u8], compression: Option<Compression>, type_name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        checkpoint_compression: compression,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), "craft", options).unwrap();
    let key = BlockKey {
        fingerprint: Fingerprint(7),
        part: 0,
    };
    let mut encode = |w: &mut dyn std::io::Write| w.write_all(payload).map_err(|e| e.to_string());
    let info = store
        .write(
            key,
            ObjectKind::Checkpoint,
            type_name,
            Footprint::default(),
            &mut encode,
        )
        .unwrap();
    std::fs::read(dir.path().join(info.path)).unwrap()
}

/// Overwrite the u64 at `at` and fix the header checksum, so only the length check can object.
fn patch_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    let name_len = usize::from(u16::from_le_bytes([bytes[86], bytes[87]]));
    let end = 88 + name_len;
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..end]);
    bytes[end..end + 8].copy_from_slice(&sum.to_le_bytes());
}

const PAYLOAD_LEN: usize = 38;
const RAW_LEN: usize = 46;

/// Decode `bytes` in a child under `ulimit -v`; it must exit 0 with `rejected:`.
fn hostile_rejects(bytes: &[u8], what: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("object");
    std::fs::write(&path, bytes).unwrap();
    let out = under_ulimit_v(HOSTILE, &[path.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: status {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("rejected:"), "{what}: {stdout}");
    stdout
}

/// postcard bytes of a `Vec<u64>` (or a `Block`'s first field) claiming `HUGE` elements.
fn huge_vec_payload() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut n = HUGE;
    while n >= 0x80 {
        bytes.push((n as u8) | 0x80);
        n >>= 7;
    }
    bytes.push(n as u8);
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    bytes
}

#[test]
fn a_header_claiming_2_pow_60_payload_bytes_is_rejected_before_allocating() {
    let mut bytes = object(&[1, 2, 3], None, "u64");
    patch_u64(&mut bytes, PAYLOAD_LEN, HUGE);
    patch_u64(&mut bytes, RAW_LEN, HUGE);
    let err = decode_object(bytes.clone(), None).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    let out = hostile_rejects(&bytes, "payload_len 2^60");
    assert!(out.contains("payload bytes"), "{out}");
}

#[test]
fn a_compressed_header_claiming_huge_decoded_lengths_is_rejected_before_allocating() {
    let valid = object(&[9u8; 1000], Some(Compression::Zstd(1)), "u64");
    // 2^60 is over the 1 TiB cap; 2^39 and 400 MiB are under it, but more than a few dozen
    // bytes of zstd can ever decode to: rejected from the header, no buffer reserved.
    for raw in [HUGE, 1 << 39, 400 << 20] {
        let mut bytes = valid.clone();
        patch_u64(&mut bytes, RAW_LEN, raw);
        match decode_object(bytes.clone(), None).unwrap_err() {
            StoreError::Corrupt { reason, .. } => {
                assert!(reason.contains("decoded length"), "raw {raw}: {reason}")
            }
            other => panic!("raw {raw}: {other}"),
        }
        hostile_rejects(&bytes, &format!("zstd raw_len {raw}"));
    }
}

#[test]
fn a_payload_claiming_2_pow_60_elements_after_a_valid_checksum_fails_to_decode() {
    let bytes = object(&huge_vec_payload(), None, "Vec<u64>");
    let (_, payload) = decode_object(bytes.clone(), None).unwrap();
    assert!(postcard::from_bytes::<Vec<u64>>(&payload).is_err());
    let out = hostile_rejects(&bytes, "Vec of 2^60 elements");
    assert!(out.contains("rejected: payload"), "{out}");
}

/// Replace every `Block` object of a `chain` run with `craft(valid object bytes)` and delete
/// the others (the `u64` ones: any few bytes with a valid checksum are *some* u64 — a checksum
/// proves the bytes are the ones written, not that a value is right), so the next run must read
/// the crafted ones.
fn plant(dir: &Path, craft: impl Fn(Vec<u8>) -> Vec<u8>) {
    let store = Store::open_read_only(dir).unwrap();
    let mut planted = 0;
    for info in store.list_objects().unwrap() {
        let info = info.unwrap();
        let path = dir.join(&info.path);
        if !info.type_name.ends_with("Block") {
            std::fs::remove_file(&path).unwrap();
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, craft(bytes)).unwrap();
        planted += 1;
    }
    assert!(planted > 0);
}

#[test]
fn a_run_under_ulimit_v_recomputes_hostile_objects() {
    let args = ["--rows", "3000", "--steps", "9", "--every", "3"];
    let expected = chain_expected(3000, 9);
    type Craft = fn(Vec<u8>) -> Vec<u8>;
    let crafts: [(&str, Craft); 2] = [
        ("payload_len 2^60", |mut b| {
            patch_u64(&mut b, PAYLOAD_LEN, HUGE);
            b
        }),
        ("a valid checksum over a 2^60-element Vec", |b| {
            // Keep the header's identity (key, kind, type), replace the payload.
            let info = decode_object(b, None).unwrap().0;
            let store_dir = tempfile::tempdir().unwrap();
            let store = Store::open(store_dir.path(), "craft", StoreOptions::default()).unwrap();
            let payload = huge_vec_payload();
            let mut encode =
                |w: &mut dyn std::io::Write| w.write_all(&payload).map_err(|e| e.to_string());
            let made = store
                .write(
                    info.key,
                    info.kind,
                    &info.type_name,
                    info.footprint,
                    &mut encode,
                )
                .unwrap();
            std::fs::read(store_dir.path().join(made.path)).unwrap()
        }),
    ];
    for (what, craft) in crafts {
        let dir = tempfile::tempdir().unwrap();
        let first = run_chain(dir.path(), &args);
        assert_eq!(sum_of(&first), expected);
        plant(dir.path(), craft);
        let mut argv: Vec<&std::ffi::OsStr> = vec!["--dir".as_ref(), dir.path().as_os_str()];
        argv.extend(args.iter().map(std::ffi::OsStr::new));
        let out = under_ulimit_v(CHAIN, &argv);
        assert_eq!(sum_of(&out), expected, "{what}: recomputed under ulimit -v");
        assert!(out.status.success(), "{what}");
        let line: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
        let executed = line["executed"].as_array().unwrap();
        assert!(
            executed.iter().any(|s| s.as_u64() == Some(0)),
            "{what}: the crafted objects were refused, so everything back to `generate` ran: {line}"
        );
    }
}

/// Wait for `child` at most `secs` seconds (a hung run fails the test instead of hanging it).
fn wait_bounded(mut child: std::process::Child, secs: u64) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the run hung (killed after {secs} s); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn fifos_in_place_of_objects_and_reports_never_hang_a_run() {
    let args = ["--rows", "3000", "--steps", "9", "--every", "3"];
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        sum_of(&run_chain(dir.path(), &args)),
        chain_expected(3000, 9)
    );
    // Every object and the previous run's report become FIFOs: opening one for reading would
    // block until a writer appears, which never happens.
    let mut planted = stepstone_tests::files_under(&dir.path().join("objects"), "");
    planted.extend(stepstone_tests::files_under(
        &dir.path().join("runs"),
        "report.json",
    ));
    for path in &planted {
        std::fs::remove_file(path).unwrap();
        let made = Command::new("mkfifo").arg(path).status().unwrap();
        assert!(made.success());
    }
    let child = Command::new(CHAIN)
        .arg("--dir")
        .arg(dir.path())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, 60);
    assert_eq!(sum_of(&out), chain_expected(3000, 9), "recomputed");
}

#[test]
fn symlinks_and_directories_in_place_of_objects_are_recomputed_and_nothing_outside_is_touched() {
    let args = ["--rows", "3000", "--steps", "9", "--every", "3"];
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("sentinel");
    std::fs::write(&sentinel, b"do not touch").unwrap();
    assert_eq!(
        sum_of(&run_chain(dir.path(), &args)),
        chain_expected(3000, 9)
    );
    let objects = stepstone_tests::files_under(&dir.path().join("objects"), "");
    for (i, path) in objects.iter().enumerate() {
        std::fs::remove_file(path).unwrap();
        if i % 2 == 0 {
            std::os::unix::fs::symlink(&sentinel, path).unwrap();
        } else {
            std::os::unix::fs::symlink(outside.path(), path).unwrap();
        }
    }
    let out = run_chain(dir.path(), &args);
    assert_eq!(sum_of(&out), chain_expected(3000, 9), "recomputed");
    assert_eq!(std::fs::read(&sentinel).unwrap(), b"do not touch");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    // The links were replaced by real, verified objects.
    for info in reliability_util::verify_all(dir.path(), false) {
        let meta = std::fs::symlink_metadata(dir.path().join(info.path)).unwrap();
        assert!(meta.file_type().is_file());
    }
}
