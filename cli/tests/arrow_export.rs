//! `stepstone checkpoints export FP --format parquet|arrow --out F` on a real run's Arrow
//! checkpoint: the files read back to the same batch; a postcard object is refused with why.

mod ops_util;

use std::sync::Arc;

use ops_util::{cli, code, stderr};
use stepstone::arrow::arrow_array::{Float64Array, StringArray, UInt64Array};
use stepstone::arrow::{Batch, read_parquet};
use stepstone::{Policy, RunConfig};

fn sample() -> Batch {
    Batch::try_from_columns([
        ("id", Arc::new(UInt64Array::from_iter_values(0..1000)) as _),
        (
            "value",
            Arc::new(Float64Array::from_iter_values(
                (0..1000).map(|i| i as f64 / 4.0),
            )) as _,
        ),
        (
            "tag",
            Arc::new(StringArray::from_iter_values(
                (0..1000).map(|i| format!("t{}", i % 7)),
            )) as _,
        ),
    ])
    .unwrap()
}

/// A run with an Arrow checkpoint (`table`) and a postcard one (`rows`); their fingerprints.
fn run(dir: &std::path::Path) -> (String, String) {
    let config = RunConfig::new("export").checkpoint_dir(dir);
    stepstone::run(&config, |p| {
        let table = p
            .step("table")
            .code("1")
            .policy(Policy::Checkpoint)
            .run(|_| Ok(sample()));
        let rows = p
            .step("rows")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&table)
            .run(|a| Ok(a.get::<Batch>(0)?.num_rows() as u64));
        Ok(rows)
    })
    .unwrap();
    let ls = cli(dir, &["checkpoints", "ls", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&ls.stdout).unwrap();
    let fp = |step: &str| {
        rows.iter()
            .find(|r| r["step"] == step)
            .and_then(|r| r["fingerprint"].as_str())
            .unwrap_or_else(|| panic!("{rows:?}"))
            .to_string()
    };
    (fp("table"), fp("rows"))
}

#[test]
fn an_arrow_checkpoint_exports_to_parquet_and_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = run(dir.path());
    let parquet = dir.path().join("out.parquet");
    let out = cli(
        dir.path(),
        &[
            "checkpoints",
            "export",
            &table[..10],
            "--format",
            "parquet",
            "--out",
            parquet.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let back = read_parquet(&stepstone::InputFile::new(&parquet)).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0], sample());

    let arrow = dir.path().join("out.arrow");
    let out = cli(
        dir.path(),
        &[
            "checkpoints",
            "export",
            &table,
            "--format",
            "arrow",
            "--out",
            arrow.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let file = std::fs::File::open(&arrow).unwrap();
    let reader = stepstone::arrow::read_ipc_file(file).unwrap();
    assert_eq!(reader, vec![sample()]);
}

#[test]
fn a_postcard_object_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rows) = run(dir.path());
    let target = dir.path().join("no.parquet");
    let out = cli(
        dir.path(),
        &[
            "checkpoints",
            "export",
            &rows,
            "--format",
            "parquet",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("postcard carries no schema"),
        "{}",
        stderr(&out)
    );
    assert!(!target.exists());
}
