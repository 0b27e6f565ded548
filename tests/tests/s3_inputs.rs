//! Inputs on S3 (issue 23, item 4) against a real S3 server (SeaweedFS): `InputFile` and
//! `InputGlob` take `s3://` URLs; each object version is downloaded once to hash it (the record
//! `inputs/objects.json` in the checkpoint store, local or S3), so an unchanged re-run downloads
//! nothing and executes nothing; a changed object recomputes what read it (per file partition:
//! only its partition, RELIABILITY row 37 on S3); Parquet row groups are read over S3 with a
//! projection; a missing object or an empty glob fails before any step runs, naming step,
//! parameter and URL; an object overwritten after it was hashed fails the step that reads it and
//! nothing is stored; `--runner processes` gives the same answer and its workers download no
//! object to hash it, and a worker that finds an object changed since its coordinator hashed it
//! fails the run with a message.
//!
//! Downloads are counted from the `info` event the runtime logs for each object it downloads to
//! hash (`RUST_LOG=stepstone::input=info`; workers write to the same stderr).

mod s3_util;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use s3_util::Server;
use stepstone::arrow::Batch;
use stepstone::arrow::arrow_array::{ArrayRef, Int64Array, StringArray};
use stepstone::store::S3Backend;

const OBJECTS: &str = env!("CARGO_BIN_EXE_objects");
const DOWNLOAD: &str = "downloading an input object to hash it";

/// One run of the `objects` pipeline.
struct Run {
    out: Output,
    json: serde_json::Value,
}

impl Run {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn ok(&self) -> bool {
        self.out.status.success()
    }
    fn answer(&self) -> Vec<u64> {
        assert!(self.ok(), "the run failed: {}", self.stderr());
        serde_json::from_value(self.json["answer"].clone()).expect("answer")
    }
    fn executed(&self, step: &str) -> u64 {
        self.json["executed"][step]
            .as_u64()
            .unwrap_or_else(|| panic!("no step {step} in {}; stderr: {}", self.json, self.stderr()))
    }
    /// Objects downloaded to be hashed, by this process and its workers.
    fn downloads(&self) -> usize {
        self.stderr().matches(DOWNLOAD).count()
    }
}

fn objects(server: &Server, store: &str, args: &[&str]) -> Run {
    let cwd = s3_util::tempdir();
    let out = server
        .command(OBJECTS)
        .current_dir(cwd.path())
        .env("RUST_LOG", "stepstone=warn,stepstone::input=info")
        .args(["--checkpoint-dir", store, "--no-progress"])
        .args(args)
        .output()
        .expect("run the objects pipeline");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(server.secret()) && !text.contains(server.secret()),
        "the secret leaked: {stderr}"
    );
    Run { out, json }
}

/// A folder of objects: `s3://stepstone/<name>-…`.
struct Objects {
    url: String,
    backend: Arc<S3Backend>,
}

impl Objects {
    fn new(server: &Server, name: &str) -> Objects {
        let url = server.url(name);
        let backend = server.backend_at(&url, None);
        Objects { url, backend }
    }
    fn put(&self, key: &str, bytes: impl Into<Vec<u8>>) -> String {
        self.backend.raw_put(key, bytes.into()).expect("put object");
        self.at(key)
    }
    fn at(&self, key: &str) -> String {
        format!("{}/{key}", self.url)
    }
}

/// The record of input objects in the store at `store` (a local path or an s3:// URL).
fn record(server: &Server, store: &str) -> serde_json::Value {
    let bytes = if store.starts_with("s3://") {
        server
            .backend_at(store, None)
            .raw_get("inputs/objects.json")
            .expect("the record is in the S3 store")
    } else {
        std::fs::read(Path::new(store).join("inputs/objects.json")).expect("the record")
    };
    serde_json::from_slice(&bytes).expect("the record is JSON")
}

#[test]
fn an_input_file_on_s3_is_hashed_once_per_version_and_a_change_recomputes() {
    let Some(server) = Server::start() else {
        return;
    };
    let data = Objects::new(&server, "file");
    let local = s3_util::tempdir();
    let stores = [
        local.path().join("ck").display().to_string(),
        server.url("ck"),
    ];
    for store in &stores {
        let url = data.put("in.txt", "1\n2\n3\n");
        let first = objects(&server, store, &["--input", &url]);
        assert_eq!(first.answer(), [6], "{store}");
        assert_eq!(first.executed("file_sum"), 1);
        assert_eq!(first.downloads(), 1, "{}", first.stderr());
        let recorded = record(&server, store)["objects"][&url].clone();
        assert!(recorded["etag"].is_string(), "{recorded}");

        // Unchanged: nothing executes, nothing is downloaded, the record is untouched.
        let again = objects(&server, store, &["--input", &url]);
        assert_eq!(again.answer(), [6]);
        assert_eq!(again.executed("file_sum"), 0, "{store}: {}", again.json);
        assert_eq!(again.downloads(), 0, "{}", again.stderr());
        assert_eq!(record(&server, store)["objects"][&url], recorded);

        // Other bytes, same size: hashed again, recomputed.
        data.put("in.txt", "1\n2\n4\n");
        let changed = objects(&server, store, &["--input", &url]);
        assert_eq!(changed.answer(), [7]);
        assert_eq!(changed.executed("file_sum"), 1);
        assert_eq!(changed.downloads(), 1);
        assert_ne!(record(&server, store)["objects"][&url], recorded);
    }
}

/// `part-<i>.csv`: the numbers `i*10 .. i*10+10`, scaled.
fn part(i: u64, scale: u64) -> String {
    (i * 10..i * 10 + 10)
        .map(|n| format!("{}\n", n * scale))
        .collect()
}

fn glob_total(parts: &[(u64, u64)]) -> u64 {
    parts
        .iter()
        .map(|(i, scale)| (i * 10..i * 10 + 10).map(|n| n * scale).sum::<u64>() * 2)
        .sum()
}

#[test]
fn a_glob_on_s3_runs_one_partition_per_object_and_a_changed_object_recomputes_only_its_own() {
    let Some(server) = Server::start() else {
        return;
    };
    let data = Objects::new(&server, "glob");
    for i in 0..4 {
        data.put(&format!("data/part-{i}.csv"), part(i, 1));
    }
    // Not matched by `data/*.csv`: a dotfile, a deeper key, another suffix.
    data.put("data/.part-9.csv", "1000\n");
    data.put("data/sub/part-8.csv", "1000\n");
    data.put("data/part-7.txt", "1000\n");
    let pattern = data.at("data/*.csv");
    let store = server.url("ck");
    let args = ["--glob", pattern.as_str()];

    let first = objects(&server, &store, &args);
    let mut parts: Vec<(u64, u64)> = (0..4).map(|i| (i, 1)).collect();
    assert_eq!(first.answer(), [glob_total(&parts)]);
    assert_eq!(first.executed("part_sum"), 4);
    assert_eq!(first.downloads(), 4);

    let again = objects(&server, &store, &args);
    assert_eq!(again.answer(), [glob_total(&parts)]);
    assert_eq!(
        (again.executed("part_sum"), again.executed("part_double")),
        (0, 0)
    );
    assert_eq!(again.downloads(), 0, "{}", again.stderr());

    data.put("data/part-2.csv", part(2, 3));
    parts[2] = (2, 3);
    let changed = objects(&server, &store, &args);
    assert_eq!(changed.answer(), [glob_total(&parts)]);
    assert_eq!(
        (
            changed.executed("part_sum"),
            changed.executed("part_double")
        ),
        (1, 1),
        "only the changed object's partition and its descendant"
    );
    assert_eq!(changed.downloads(), 1);

    // `**` crosses folders: the deeper key joins (the dotfile still does not). Another
    // pattern is another step, but only the new object is downloaded to hash it.
    let deep = objects(&server, &store, &["--glob", &data.at("data/**/*.csv")]);
    assert_eq!(deep.answer(), [glob_total(&parts) + 1000 * 2]);
    assert_eq!(deep.executed("part_sum"), 5);
    assert_eq!(deep.downloads(), 1, "{}", deep.stderr());
}

#[test]
fn parquet_row_groups_on_s3_are_read_per_partition_with_a_projection() {
    let Some(server) = Server::start() else {
        return;
    };
    let local = s3_util::tempdir();
    let file = local.path().join("t.parquet");
    let batches: Vec<Batch> = (0..3i64)
        .map(|g| {
            let x: ArrayRef = Arc::new(Int64Array::from_iter_values(g * 100..g * 100 + 100));
            let pad: ArrayRef = Arc::new(StringArray::from_iter_values(
                (0..100).map(|i| format!("row {i} of group {g}: {}", "y".repeat(200))),
            ));
            Batch::try_from_columns([("x", x), ("pad", pad)]).expect("batch")
        })
        .collect();
    stepstone::arrow::write_parquet_row_groups(&batches, &file).expect("write parquet");
    let data = Objects::new(&server, "parquet");
    data.put("t/a.parquet", std::fs::read(&file).expect("read parquet"));
    let store = server.url("ck");
    let run = objects(&server, &store, &["--parquet", &data.at("t/*.parquet")]);
    assert_eq!(run.answer(), [(0..300u64).sum::<u64>()], "{}", run.stderr());
    assert_eq!(run.executed("group_sum"), 3, "one partition per row group");
    let again = objects(&server, &store, &["--parquet", &data.at("t/*.parquet")]);
    assert_eq!(again.executed("group_sum"), 0);
    assert_eq!(again.downloads(), 0);
}

#[test]
fn a_missing_object_or_an_empty_glob_fails_before_any_step_naming_step_parameter_and_url() {
    let Some(server) = Server::start() else {
        return;
    };
    let data = Objects::new(&server, "missing");
    let store = s3_util::tempdir();
    let store = store.path().join("ck").display().to_string();
    let absent = data.at("nope.txt");
    let run = objects(&server, &store, &["--input", &absent]);
    assert!(!run.ok());
    let err = run.stderr();
    for want in [
        "file_sum",
        "input",
        absent.as_str(),
        "check the bucket and the key",
    ] {
        assert!(err.contains(want), "`{want}` missing from: {err}");
    }
    assert!(!err.contains(DOWNLOAD));

    let empty = data.at("nothing/*.csv");
    let run = objects(&server, &store, &["--glob", &empty]);
    assert!(!run.ok());
    let err = run.stderr();
    for want in ["part_sum", "files", empty.as_str(), "no file matches"] {
        assert!(err.contains(want), "`{want}` missing from: {err}");
    }

    let bucket = "s3://no-such-bucket-stepstone/k.txt";
    let run = objects(&server, &store, &["--input", bucket]);
    assert!(!run.ok());
    let err = run.stderr();
    for want in ["file_sum", "input", bucket] {
        assert!(err.contains(want), "`{want}` missing from: {err}");
    }
}

#[test]
fn an_object_overwritten_after_it_was_hashed_fails_its_step_and_nothing_is_stored() {
    let Some(server) = Server::start() else {
        return;
    };
    let data = Objects::new(&server, "race");
    let url = data.put("in.txt", "1\n2\n3\n");
    let store = server.url("ck");
    let run = objects(
        &server,
        &store,
        &["--input", &url, "--overwrite", &url, "--with", "5\n5\n"],
    );
    assert!(!run.ok(), "the step read a version it had not hashed");
    let err = run.stderr();
    assert!(
        err.contains("changed after it was hashed") && err.contains(&url),
        "{err}"
    );
    // Nothing was stored for it: the next run executes it, on the new content.
    let next = objects(&server, &store, &["--input", &url]);
    assert_eq!(next.answer(), [10]);
    assert_eq!(next.executed("file_sum"), 1);
}

#[test]
fn with_processes_the_answer_is_the_same_and_workers_download_nothing_to_hash() {
    let Some(server) = Server::start() else {
        return;
    };
    let data = Objects::new(&server, "workers");
    let input = data.put("in.txt", "4\n5\n");
    for i in 0..4 {
        data.put(&format!("data/part-{i}.csv"), part(i, 1));
    }
    let pattern = data.at("data/*.csv");
    let args = ["--input", input.as_str(), "--glob", pattern.as_str()];
    let inline = objects(&server, &server.url("ck"), &args);
    let expected = inline.answer();

    let store = server.url("ck");
    let processes = [&args[..], &["--runner", "processes", "--jobs", "2"]].concat();
    let run = objects(&server, &store, &processes);
    assert_eq!(run.answer(), expected);
    assert_eq!(run.executed("part_sum"), 4);
    assert_eq!(
        run.downloads(),
        5,
        "each object downloaded once, by the coordinator: {}",
        run.stderr()
    );
    let again = objects(&server, &store, &processes);
    assert_eq!(again.answer(), expected);
    assert_eq!((again.downloads(), again.executed("part_sum")), (0, 0));

    // The coordinator hashes part-1, then (in `file_sum`, before any worker starts) it is
    // overwritten: the worker that records the glob again finds another version than the
    // coordinator recorded and fails the run, saying so.
    let store = server.url("ck");
    let other = data.at("data/part-1.csv");
    let mut raced = processes.clone();
    raced.extend(["--overwrite", other.as_str(), "--with", "1\n"]);
    let run = objects(&server, &store, &raced);
    assert!(!run.ok(), "a worker computed from a version nobody hashed");
    let err = run.stderr();
    assert!(
        err.contains("changed after the coordinator hashed it") && err.contains(&other),
        "{err}"
    );
}
