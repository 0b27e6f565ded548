//! `stepstone spark submit` and `stepstone spark conf`: run a pipeline's segments on Apache
//! Spark, and size the Spark settings for a quota.
//!
//! `submit` writes Stepstone's launcher (`cli/src/spark/launcher.py`, compiled into this
//! binary) to a temp file and runs `spark-submit … launcher.py BINARY FLAGS…`; the launcher is
//! the Spark driver, the binary the run's coordinator (`--runner launcher`), every segment a
//! Spark task running the binary in worker mode. `conf` prints `--conf` lines from the formula
//! in its help. Neither touches the checkpoint store.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use stepstone::memory::{Budget, human_bytes};

use crate::args::{SparkCommand, SparkConfArgs, SparkSubmitArgs};

/// The launcher, shipped inside the CLI.
pub(crate) const LAUNCHER: &str = include_str!("../spark/launcher.py");

/// Run `stepstone spark …`.
pub(crate) fn execute(command: SparkCommand) -> anyhow::Result<()> {
    match command {
        SparkCommand::Submit(args) => submit(&args),
        SparkCommand::Conf(args) => {
            print!("{}", conf_lines(&args)?);
            Ok(())
        }
    }
}

fn submit(args: &SparkSubmitArgs) -> anyhow::Result<()> {
    if !args.binary.is_file() {
        bail!(
            "{}: no such pipeline binary; build it first (cargo build --release) and pass its path",
            args.binary.display()
        );
    }
    for conf in &args.conf {
        let Some((key, _)) = conf.split_once('=') else {
            bail!("--conf {conf}: write it as KEY=VALUE");
        };
        if key.trim() == "spark.executor.pyspark.memory" {
            bail!(
                "--conf {conf}: spark.executor.pyspark.memory caps the address space of the Python worker, and the pipeline process it starts inherits the cap (mapped checkpoints and allocator arenas then fail like an out-of-memory); size spark.executor.memoryOverhead instead (stepstone spark conf)"
            );
        }
    }
    let spark_submit = find_spark_submit(args.spark_submit.as_deref())?;
    let dir = std::env::temp_dir().join(format!("stepstone-spark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let launcher = dir.join("stepstone_launcher.py");
    std::fs::write(&launcher, LAUNCHER).with_context(|| format!("write {}", launcher.display()))?;
    let binary = std::fs::canonicalize(&args.binary)
        .with_context(|| format!("resolve {}", args.binary.display()))?;
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut command = Command::new(&spark_submit);
    command
        .arg("--master")
        .arg(&args.master)
        .arg("--name")
        .arg(format!("stepstone {name}"));
    for conf in &args.conf {
        command.arg("--conf").arg(conf);
    }
    command.arg(&launcher).arg(&binary).args(&args.flags);
    let status = command.status().with_context(|| {
        format!(
            "cannot start {} (pip install pyspark, or set SPARK_HOME)",
            spark_submit.display()
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    let status = status?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => std::process::exit(code),
        None => bail!("spark-submit was killed by a signal"),
    }
}

/// `--spark-submit`, else `$SPARK_HOME/bin/spark-submit`, else `spark-submit` on `PATH`.
fn find_spark_submit(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    if let Some(home) = std::env::var_os("SPARK_HOME").filter(|h| !h.is_empty()) {
        let path = PathBuf::from(home).join("bin").join("spark-submit");
        if path.is_file() {
            return Ok(path);
        }
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("spark-submit"))
        .find(|p| p.is_file());
    on_path.context(
        "spark-submit not found: install Spark's client (pip install pyspark), set SPARK_HOME, or pass --spark-submit PATH",
    )
}

/// The `--conf` lines for `args` (see `stepstone spark conf --help` for the formula).
pub(crate) fn conf_lines(args: &SparkConfArgs) -> anyhow::Result<String> {
    let parse = |what: &str, text: &str| -> anyhow::Result<u64> {
        text.parse::<Budget>()
            .map(Budget::bytes)
            .map_err(|e| anyhow::anyhow!("--{what} {text}: {e}"))
    };
    let quota = parse("quota", &args.quota)?;
    let budget = parse("budget", &args.budget)?;
    const MIB: u64 = 1 << 20;
    let cores = u64::from(args.executor_cores);
    let per_task = budget + budget / 4 + 128 * MIB;
    let overhead = cores * per_task;
    let heap = 1024 * MIB;
    let executor = heap + overhead;
    // The driver: its JVM, the launcher, and the coordinator, which may load one value.
    let driver = heap + budget + 384 * MIB;
    if quota < driver + executor {
        bail!(
            "--quota {}: one executor of {} cores needs {} (JVM {} + {} for {} tasks of budget {}) beside the driver's {}; raise the quota, or lower --budget or --executor-cores",
            args.quota,
            cores,
            human_bytes(executor),
            human_bytes(heap),
            human_bytes(overhead),
            cores,
            human_bytes(budget),
            human_bytes(driver)
        );
    }
    let executors = (quota - driver) / executor;
    let mib = |b: u64| b.div_ceil(MIB);
    Ok(format!(
        "--conf spark.executor.cores={cores} \
         --conf spark.task.cpus=1 \
         --conf spark.executor.memory={}m \
         --conf spark.executor.memoryOverhead={}m \
         --conf spark.dynamicAllocation.maxExecutors={executors} \
         --conf spark.cores.max={}\n",
        mib(heap),
        mib(overhead),
        executors * cores,
    ))
}
