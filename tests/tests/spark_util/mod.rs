//! A real Spark standalone cluster for the `spark` tests: the one `.ci/run` started
//! (`STEPSTONE_TEST_SPARK_MASTER`), or a master and two workers (127.0.0.1 and 127.0.0.2, one
//! core each) of our own, started with pyspark's `spark-class` and stopped by PID when dropped.
//!
//! Without pyspark or Java the tests skip with a loud message; under `CI=true` they fail.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running cluster.
pub struct Cluster {
    /// `spark://127.0.0.1:PORT`.
    pub master: String,
    /// pyspark's folder (its `bin/spark-submit`).
    pub spark_home: PathBuf,
    children: Vec<Child>,
    dir: Option<tempfile::TempDir>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Workers first (SIGTERM: they stop their executors), then the master.
        for child in self.children.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn skip(message: &str) -> Option<Cluster> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "CI=true and {message}: the Spark tests must run in CI");
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n!!!!!!!!\n!!! SKIPPING SPARK TEST: {message}\n!!!!!!!!"
    );
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// pyspark's folder, from `SPARK_HOME` or `python3 -c "import pyspark"`.
pub fn spark_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("SPARK_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let home = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !home.is_empty()).then(|| PathBuf::from(home))
}

impl Cluster {
    /// The cluster `.ci/run` started, else one of our own; `None` (after a loud message) when
    /// none can be had outside CI.
    pub fn start() -> Option<Cluster> {
        let Some(spark_home) = spark_home() else {
            return skip("no pyspark (pip install pyspark==4.3.0)");
        };
        if let Ok(master) = std::env::var("STEPSTONE_TEST_SPARK_MASTER") {
            return Some(Cluster {
                master,
                spark_home,
                children: Vec::new(),
                dir: None,
            });
        }
        let java = Command::new("java")
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !java {
            return skip("no Java (Spark needs Java 17: apt-get install openjdk-17-jre-headless)");
        }
        let dir = tempfile::tempdir().expect("temp dir for the cluster");
        let port = free_port();
        let master = format!("spark://127.0.0.1:{port}");
        let class = spark_home.join("bin").join("spark-class");
        let start = |args: &[String], log: &Path, worker_dir: Option<&Path>| -> Child {
            let mut cmd = Command::new(&class);
            cmd.args(args)
                .env("SPARK_NO_DAEMONIZE", "1")
                .env("SPARK_LOG_DIR", dir.path())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(log).expect("a cluster log"));
            if let Some(w) = worker_dir {
                cmd.env("SPARK_WORKER_DIR", w);
            }
            cmd.spawn().expect("start spark-class")
        };
        let master_log = dir.path().join("master.log");
        let mut children = vec![start(
            &[
                "org.apache.spark.deploy.master.Master".into(),
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--webui-port".into(),
                free_port().to_string(),
            ],
            &master_log,
            None,
        )];
        for (i, host) in ["127.0.0.1", "127.0.0.2"].iter().enumerate() {
            let work = dir.path().join(format!("worker{i}"));
            children.push(start(
                &[
                    "org.apache.spark.deploy.worker.Worker".into(),
                    "--host".into(),
                    (*host).into(),
                    "--cores".into(),
                    "1".into(),
                    "--memory".into(),
                    "2g".into(),
                    "--webui-port".into(),
                    free_port().to_string(),
                    master.clone(),
                ],
                &dir.path().join(format!("worker{i}.log")),
                Some(&work),
            ));
        }
        let cluster = Cluster {
            master,
            spark_home,
            children,
            dir: Some(dir),
        };
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let log = std::fs::read_to_string(&master_log).unwrap_or_default();
            if log.matches("Registering worker").count() >= 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the Spark cluster did not come up in 3 minutes; master log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        Some(cluster)
    }

    /// `spark-submit` of Stepstone's launcher (the file `stepstone spark submit` ships) with
    /// `binary` and its `flags`, one executor core per worker, 512 MiB JVMs.
    pub fn submit(&self, binary: &str, flags: &[&str], conf: &[&str]) -> Command {
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src/spark/launcher.py");
        let mut cmd = Command::new(self.spark_home.join("bin").join("spark-submit"));
        cmd.arg("--master").arg(&self.master);
        for c in [
            "spark.executor.memory=512m",
            "spark.executor.cores=1",
            "spark.cores.max=2",
            "spark.ui.enabled=false",
            "spark.ui.showConsoleProgress=false",
        ]
        .iter()
        .chain(conf)
        {
            cmd.arg("--conf").arg(c);
        }
        cmd.arg(launcher).arg(binary).args(flags);
        cmd
    }
}
