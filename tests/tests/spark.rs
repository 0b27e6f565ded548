//! Stepstone on a real Spark standalone cluster (docs/reliability.md rows 31–36 on Spark): the
//! seed with checkpoints on S3 gives the local checksum; a step error fails the run once with
//! its message (Spark does not retry it); an executor JVM killed mid-stage gives the same
//! answer; the driver killed leaves no Stepstone process and a re-run executes no finished
//! segment; a segment is folded as its task ends, not with its whole stage. One test function, one cluster (starting one takes 15–40 s).

mod runs_util;
mod s3_util;
mod spark_util;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use runs_util::{files_starting, json, processes_with, read_json, run_dirs, tail};
use s3_util::Server;
use spark_util::Cluster;

const SEED: &str = env!("CARGO_BIN_EXE_seed");
const SEGMENTS: &str = env!("CARGO_BIN_EXE_segments");
const OBJECTS: &str = env!("CARGO_BIN_EXE_objects");

/// Wait until no process of this checkpoint directory is left (workers, coordinator).
fn assert_none_left(marker: &str, within: Duration) {
    let started = Instant::now();
    while !processes_with(&[marker, "--checkpoint-dir"]).is_empty() {
        assert!(
            started.elapsed() < within,
            "Stepstone processes of {marker} still run: {:?}",
            processes_with(&[marker, "--checkpoint-dir"])
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A submitted run in the background, its output captured.
fn spawn_captured(mut submit: Command) -> Child {
    submit
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The first worker process of a run whose checkpoint directory is `marker` (waits up to 120 s).
fn first_worker(marker: &str) -> u32 {
    let started = Instant::now();
    loop {
        if let Some(pid) = processes_with(&[marker, "--run-task"]).first() {
            return *pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no worker started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Everything a submitted run printed: Spark puts the driver's (the launcher's, the
/// coordinator's) stderr on its stdout.
fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn pipelines_run_on_a_spark_cluster_through_failures() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();

    // 1. The seed (2M rows, 8 partitions, budget 256 MiB) on the cluster, checkpoints on S3
    //    when a server is at hand, gives the checksum of a local run.
    let seed_flags = [
        "--rows",
        "2000000",
        "--partitions",
        "8",
        "--budget",
        "256MiB",
        "--every",
        "10",
        "--no-progress",
    ];
    let local = Command::new(SEED)
        .arg("--checkpoint-dir")
        .arg(tmp.path().join("local"))
        .args(seed_flags)
        .output()
        .unwrap();
    let server = Server::start();
    let (dir, mut submit) = match &server {
        Some(server) => {
            let url = server.url("spark-seed");
            let mut cmd = cluster.submit(
                SEED,
                &[&["--checkpoint-dir", url.as_str()][..], &seed_flags[..]].concat(),
                &[],
            );
            server.configure(&mut cmd);
            (url, cmd)
        }
        None => {
            let dir = tmp.path().join("cluster-seed").display().to_string();
            let cmd = cluster.submit(
                SEED,
                &[&["--checkpoint-dir", dir.as_str()][..], &seed_flags[..]].concat(),
                &[],
            );
            (dir, cmd)
        }
    };
    let out = submit.current_dir(tmp.path()).output().unwrap();
    assert!(out.status.success(), "{}", tail(&out.stderr));
    assert_eq!(
        json(&out)["checksum"].as_f64(),
        json(&local)["checksum"].as_f64(),
        "the seed on Spark ({dir})"
    );
    assert_none_left(&dir, Duration::from_secs(10));

    // 1b. Inputs on S3 (issue 23, item 4): a file and a glob of objects (one partition per
    //     object) are hashed once by the coordinator and read by the workers Spark starts;
    //     same answer as in one process, one task per object.
    if let Some(server) = &server {
        let prefix = server.url("spark-inputs");
        let data = server.backend_at(&prefix, None);
        data.raw_put("in.txt", b"4\n5\n".to_vec()).unwrap();
        for i in 0..4u64 {
            let text = format!("{i}\n{}\n", i * 10 + 1);
            data.raw_put(&format!("data/part-{i}.csv"), text.into_bytes())
                .unwrap();
        }
        let input = format!("{prefix}/in.txt");
        let glob = format!("{prefix}/data/*.csv");
        let args = ["--input", &input, "--glob", &glob, "--no-progress"];
        let local = server
            .command(OBJECTS)
            .arg("--checkpoint-dir")
            .arg(tmp.path().join("objects-local"))
            .args(args)
            .output()
            .unwrap();
        assert!(local.status.success(), "{}", tail(&local.stderr));
        let store = server.url("spark-objects");
        let mut cmd = cluster.submit(
            OBJECTS,
            &[&["--checkpoint-dir", store.as_str()][..], &args[..]].concat(),
            &[],
        );
        server.configure(&mut cmd);
        let out = cmd.current_dir(tmp.path()).output().unwrap();
        assert!(out.status.success(), "{}", tail(&out.stderr));
        assert_eq!(
            json(&out)["answer"],
            json(&local)["answer"],
            "inputs on S3 read by Spark's executors"
        );
        assert_eq!(json(&out)["executed"]["part_sum"], 4, "one task per object");
        assert_none_left(&store, Duration::from_secs(10));
    }

    // 2. A step error and a panic: one failure with the step's message (and the panic's
    //    location), no retry by Spark.
    for (flag, words) in [
        ("--fail-at", "failed: injected failure at adjust step 3"),
        ("--panic-at", "injected panic at adjust step 3"),
    ] {
        let fail_dir = tmp.path().join(flag.trim_start_matches('-'));
        let out = cluster
            .submit(
                SEGMENTS,
                &[
                    "--checkpoint-dir",
                    &fail_dir.display().to_string(),
                    "--no-progress",
                    flag,
                    "3",
                ],
                &[],
            )
            .output()
            .unwrap();
        let all = printed(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{flag}: {}",
            tail(all.as_bytes())
        );
        assert!(
            all.contains("step `adjust` (#3)") && all.contains(words),
            "{flag}: {}",
            tail(all.as_bytes())
        );
        if flag == "--panic-at" {
            assert!(
                all.contains("segments.rs:"),
                "the panic's location: {}",
                tail(all.as_bytes())
            );
        }
        let run = &run_dirs(&fail_dir)[0];
        assert_eq!(read_json(&run.join("report.json"))["status"], "failed");
        for report in files_starting(run, "task-s")
            .iter()
            .filter(|p| !p.to_string_lossy().ends_with(".spec.json"))
        {
            assert!(
                report.to_string_lossy().ends_with("-a1.json"),
                "{flag}: a deterministic failure is not retried: {}",
                report.display()
            );
        }
    }

    // 2b. Spark cannot start (here: a task asks more cores than an executor has, which the
    //     SparkContext refuses at once): the run fails saying so and why, nothing is left
    //     running, and the store is free for the next run.
    let refused_dir = tmp.path().join("spark-refused");
    let refused_marker = refused_dir.display().to_string();
    let out = cluster
        .submit(
            SEGMENTS,
            &["--checkpoint-dir", refused_marker.as_str(), "--no-progress"],
            &["spark.task.cpus=2"],
        )
        .output()
        .unwrap();
    let all = printed(&out);
    assert!(!out.status.success(), "{}", tail(all.as_bytes()));
    assert!(
        all.contains("given up by the engine: Spark did not start (")
            && all.contains("cpus per task"),
        "the run's error names Spark's: {}",
        tail(all.as_bytes())
    );
    assert_none_left(&refused_marker, Duration::from_secs(10));
    let after = Command::new(SEGMENTS)
        .args(["--checkpoint-dir", refused_marker.as_str(), "--no-progress"])
        .output()
        .unwrap();
    assert!(
        after.status.success(),
        "the store is free: {}",
        tail(&after.stderr)
    );

    let flags = ["--partitions", "6", "--sleep-ms", "150", "--no-progress"];
    let reference = Command::new(SEGMENTS)
        .arg("--checkpoint-dir")
        .arg(tmp.path().join("reference"))
        .args(flags)
        .output()
        .unwrap();
    let expected = json(&reference)["checksum"].clone();

    // 3a. A worker process (a Spark task's child) SIGKILLed mid-segment: Spark retries the
    //     task (worker attempt 2 of that segment); same answer. The run has a sink too, so
    //     the coordinator sends two schedules' stages (the sink's, then the output's).
    let worker_dir = tmp.path().join("worker-killed");
    let worker_marker = worker_dir.display().to_string();
    let sink = tmp.path().join("sink.txt");
    let sink_flag = sink.display().to_string();
    let child = spawn_captured(
        cluster.submit(
            SEGMENTS,
            &[
                &["--checkpoint-dir", worker_marker.as_str()][..],
                &flags[..],
                &["--sink", sink_flag.as_str()][..],
            ]
            .concat(),
            &[],
        ),
    );
    let victim = first_worker(&worker_marker);
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", tail(&out.stderr));
    assert_eq!(
        json(&out)["checksum"],
        expected,
        "after a worker process was killed"
    );
    assert_eq!(
        std::fs::read_to_string(&sink).unwrap_or_default(),
        expected.to_string(),
        "the sink's file"
    );
    if killed {
        let run = &run_dirs(&worker_dir)[0];
        let retried = files_starting(run, "task-s")
            .iter()
            .any(|p| p.to_string_lossy().ends_with("-a2.json"));
        assert!(
            retried,
            "Spark retried the killed worker's task as attempt 2"
        );
    }
    assert_none_left(&worker_marker, Duration::from_secs(15));

    // 3b. An executor JVM killed mid-stage: its tasks run again; same answer.
    let kill_dir = tmp.path().join("executor-killed");
    let kill_marker = kill_dir.display().to_string();
    let child = spawn_captured(cluster.submit(
        SEGMENTS,
        &[&["--checkpoint-dir", kill_marker.as_str()][..], &flags[..]].concat(),
        &[],
    ));
    first_worker(&kill_marker);
    std::thread::sleep(Duration::from_millis(500));
    let executors = processes_with(&["CoarseGrainedExecutorBackend"]);
    assert!(!executors.is_empty(), "no executor JVM found");
    let _ = Command::new("kill")
        .args(["-9", &executors[0].to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", tail(&out.stderr));
    assert_eq!(
        json(&out)["checksum"],
        expected,
        "after an executor was killed"
    );
    assert_none_left(&kill_marker, Duration::from_secs(15));

    // 4. The driver killed: nothing of the run is left, and a re-run executes no finished
    //    segment.
    let driver_dir = tmp.path().join("driver-killed");
    let driver_marker = driver_dir.display().to_string();
    let submit_flags = [
        &["--checkpoint-dir", driver_marker.as_str()][..],
        &flags[..],
    ]
    .concat();
    let mut driver = cluster
        .submit(SEGMENTS, &submit_flags, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let finished: Vec<PathBuf> = loop {
        let done: Vec<PathBuf> = run_dirs(&driver_dir)
            .first()
            .map(|r| files_starting(r, "task-s"))
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !p.to_string_lossy().ends_with(".spec.json"))
            .filter(|p| {
                std::fs::read(p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .is_some_and(|o| o["status"] == "succeeded")
            })
            .collect();
        if !done.is_empty() {
            break done;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no segment finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("kill")
        .args(["-9", &driver.id().to_string()])
        .status();
    let _ = driver.wait();
    assert_none_left(&driver_marker, Duration::from_secs(30));
    let finished_tasks: BTreeSet<(u64, u64)> = finished
        .iter()
        .map(|p| read_json(p))
        .flat_map(|o| {
            o["tasks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t["seq"].as_u64().unwrap(), t["index"].as_u64().unwrap()))
        })
        .collect();
    let out = cluster
        .submit(SEGMENTS, &submit_flags, &[])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", tail(&out.stderr));
    assert_eq!(
        json(&out)["checksum"],
        expected,
        "the re-run after the driver was killed"
    );
    let rerun = run_dirs(&driver_dir).last().cloned().unwrap();
    for spec in files_starting(&rerun, "task-s")
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".spec.json"))
    {
        for t in read_json(spec)["tasks"].as_array().unwrap() {
            let task = (t["seq"].as_u64().unwrap(), t["index"].as_u64().unwrap());
            assert!(
                !finished_tasks.contains(&task),
                "the re-run executed task {task:?} of a segment finished before the kill"
            );
        }
    }
    assert_none_left(&driver_marker, Duration::from_secs(10));

    // 5. Speculation: partition 0's first attempt straggles; Spark starts a copy on the other
    //    host, the copy commits, the straggler (if it gets that far) verifies and leaves.
    let spec_dir = tmp.path().join("speculation");
    let spec_marker = spec_dir.display().to_string();
    let out = cluster
        .submit(
            SEGMENTS,
            &[
                "--checkpoint-dir",
                spec_marker.as_str(),
                "--no-progress",
                "--partitions",
                "2",
                "--slow-first-attempt-ms",
                "25000",
            ],
            &[
                "spark.speculation=true",
                "spark.speculation.interval=200ms",
                "spark.speculation.quantile=0.5",
                "spark.speculation.multiplier=1.5",
                "spark.speculation.minTaskRuntime=1s",
            ],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", tail(&out.stderr));
    let two = Command::new(SEGMENTS)
        .arg("--checkpoint-dir")
        .arg(tmp.path().join("reference-2"))
        .args(["--no-progress", "--partitions", "2"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["checksum"], json(&two)["checksum"]);
    let run = run_dirs(&spec_dir).last().cloned().unwrap();
    let reports: Vec<serde_json::Value> = files_starting(&run, "task-s00000-a")
        .iter()
        .map(|p| read_json(p))
        .collect();
    assert!(
        reports
            .iter()
            .any(|r| r["attempt"] == 2 && r["status"] == "succeeded"),
        "the speculative copy (worker attempt 2) finished segment 0: {reports:?}"
    );
    // One object per block: every object an attempt committed verifies, and no key was won
    // twice.
    let mut won = BTreeSet::new();
    for r in &reports {
        for o in r["objects"].as_array().unwrap() {
            if o["commit"] == "won" {
                assert!(won.insert(o["key"].to_string()), "{o} won twice");
            }
        }
    }
    let store = stepstone::store::Store::open_read_only(&spec_dir).unwrap();
    for info in store.list_objects().unwrap() {
        store
            .verify(info.expect("a valid object").key)
            .expect("an intact object");
    }
    assert_none_left(&spec_marker, Duration::from_secs(30));

    // 6. Answers as tasks end: while partition 0's segment straggles (no speculation), the
    //    coordinator has already folded the stage's other segments (the live report counts
    //    their tasks), not only when the whole stage's job ends.
    let answers_dir = tmp.path().join("answers");
    let answers_marker = answers_dir.display().to_string();
    let child = spawn_captured(cluster.submit(
        SEGMENTS,
        &[
            "--checkpoint-dir",
            answers_marker.as_str(),
            "--partitions",
            "4",
            "--slow-first-attempt-ms",
            "10000",
            "--no-progress",
        ],
        &[],
    ));
    let started = Instant::now();
    let mut folded_early = None;
    while folded_early.is_none() && started.elapsed() < Duration::from_secs(180) {
        if let Some(run) = run_dirs(&answers_dir).first() {
            // The live report first: a count read before the straggler's report appeared was
            // folded before the straggler ended.
            let done = std::fs::read(run.join("live.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|live| live["tasks_done"].as_u64())
                .unwrap_or(0);
            let straggler_ended = !files_starting(run, "task-s00000-a").is_empty();
            if done > 0 && !straggler_ended {
                folded_early = Some(done);
            }
            if straggler_ended && folded_early.is_none() {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", tail(&out.stderr));
    assert!(
        folded_early.is_some(),
        "the live report counted no task before the straggling segment ended: answers wait \
         for the whole stage"
    );
    assert_none_left(&answers_marker, Duration::from_secs(30));
}
