//! `stepstone spark`: the launcher's own unit tests (Python, no Spark needed), the sizing
//! formula of `spark conf`, and what `spark submit` refuses before it starts anything. The
//! launcher on a real cluster: tests/tests/spark.rs.

use std::path::Path;
use std::process::Command;

const STEPSTONE: &str = env!("CARGO_BIN_EXE_stepstone");

fn stepstone(args: &[&str]) -> std::process::Output {
    Command::new(STEPSTONE)
        .args(args)
        .output()
        .expect("run stepstone")
}

#[test]
fn the_launchers_unit_tests_pass() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/spark");
    let out = Command::new("python3")
        .args(["-m", "unittest", "-v", "test_launcher"])
        .current_dir(&folder)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs the launcher's tests");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Ran 10 tests"), "{text}");
    // The stage tests need pyspark; they skip (loudly) without it, but not under CI.
    if text.contains("skipped") {
        eprintln!("SKIPPED: some launcher tests (pyspark is not installed): {text}");
        assert!(
            std::env::var_os("CI").is_none(),
            "pyspark is missing under CI: {text}"
        );
    }
}

#[test]
fn spark_conf_sizes_executors_for_the_quota_and_budget() {
    let out = stepstone(&[
        "spark",
        "conf",
        "--quota",
        "100GB",
        "--budget",
        "4GiB",
        "--executor-cores",
        "4",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // 4 tasks × (1.25 × 4 GiB + 128 MiB) = 20,992 MiB of overhead beside a 1 GiB heap: 21.5 GiB
    // an executor; (93.1 GiB − the driver's 5.4 GiB) / 21.5 GiB = 4 executors.
    for part in [
        "--conf spark.executor.cores=4",
        "--conf spark.executor.memory=1024m",
        "--conf spark.executor.memoryOverhead=20992m",
        "--conf spark.dynamicAllocation.maxExecutors=4",
        "--conf spark.cores.max=16",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert!(!text.contains("pyspark.memory"), "{text}");
    let small = stepstone(&["spark", "conf", "--quota", "4GB", "--budget", "4GiB"]);
    assert_eq!(small.status.code(), Some(1));
    let err = String::from_utf8_lossy(&small.stderr);
    assert!(
        err.contains("--quota 4GB") && err.contains("raise the quota"),
        "{err}"
    );
    let bad = stepstone(&["spark", "conf", "--quota", "lots", "--budget", "4GiB"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--quota lots"));
}

#[test]
fn spark_submit_refuses_what_cannot_work_before_starting_spark() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-pipeline");
    let out = stepstone(&[
        "spark",
        "submit",
        "--master",
        "local[1]",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no such pipeline binary"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = tmp.path().join("pipeline");
    std::fs::write(&binary, "#!/bin/sh\n").unwrap();
    let out = stepstone(&[
        "spark",
        "submit",
        "--master",
        "local[1]",
        "--conf",
        "spark.executor.pyspark.memory=2g",
        binary.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spark.executor.pyspark.memory") && err.contains("memoryOverhead"),
        "{err}"
    );
    let out = stepstone(&[
        "spark",
        "submit",
        "--master",
        "local[1]",
        "--spark-submit",
        tmp.path().join("nothing-here").to_str().unwrap(),
        binary.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pip install pyspark"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
