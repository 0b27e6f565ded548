//! Run configuration: budget, checkpoint directory, resume behaviour, parallelism, progress.
//!
//! Each setting is resolved from, first wins: the command-line flag ([`RunArgs`]), the
//! environment (`STEPSTONE_BUDGET`, `STEPSTONE_CHECKPOINT_DIR`, `STEPSTONE_SPILL_DIR`),
//! `stepstone.toml` in the current directory, the `#[pipeline]` attribute ([`PipelineDefaults`]),
//! the built-in default. The checkpoint directory may be an `s3://bucket/prefix` URL; its spills
//! then go to the local spill directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::memory::Budget;
use crate::plan::Fingerprint;

/// The environment variable that sets the budget.
pub const ENV_BUDGET: &str = "STEPSTONE_BUDGET";
/// The environment variable that sets the checkpoint directory.
pub const ENV_CHECKPOINT_DIR: &str = "STEPSTONE_CHECKPOINT_DIR";
/// The environment variable that sets the local spill directory of an `s3://` store.
pub const ENV_SPILL_DIR: &str = "STEPSTONE_SPILL_DIR";
/// The environment variable that sets the runner (`threads` or `processes`).
pub const ENV_RUNNER: &str = "STEPSTONE_RUNNER";
/// The project configuration file read from the current directory.
pub const CONFIG_FILE: &str = "stepstone.toml";
/// The checkpoint directory when nothing sets one.
pub const DEFAULT_CHECKPOINT_DIR: &str = ".stepstone";

/// Errors in configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A size could not be parsed.
    #[error("{source_name}: {source}")]
    Budget {
        /// Where the value came from (`--budget`, `STEPSTONE_BUDGET`, `stepstone.toml`, …).
        source_name: String,
        /// The parse error.
        #[source]
        source: crate::memory::ParseBudgetError,
    },
    /// `stepstone.toml` could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column when known.
        message: String,
    },
    /// `checkpoint_every` or `jobs` out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Defaults a pipeline declares in its `#[pipeline(...)]` attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineDefaults {
    /// Pipeline name (reports, lock messages).
    pub name: String,
    /// `budget = "…"`.
    pub budget: Option<&'static str>,
    /// `checkpoint_every = N`.
    pub checkpoint_every: Option<u32>,
    /// `checkpoint_dir = "…"`.
    pub checkpoint_dir: Option<&'static str>,
}

/// Whether to draw a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// On a terminal only.
    #[default]
    Auto,
    /// Always (even when stderr is not a terminal).
    Always,
    /// Never.
    Never,
}

/// The standard run flags every pipeline binary accepts (flatten into your own clap parser).
///
/// This doc comment does not become
/// the binary's description (the pipeline's own name and doc comment do).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(about = None, long_about = None)]
pub struct RunArgs {
    /// Memory budget for datasets, e.g. `384MiB`, `2 GiB`, `1.5GB` [env: STEPSTONE_BUDGET]
    #[arg(long, value_name = "SIZE")]
    pub budget: Option<String>,
    /// Checkpoint directory or `s3://bucket/prefix` [env: STEPSTONE_CHECKPOINT_DIR] [default: ./.stepstone]
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Local directory for spills when checkpoints are on S3 [env: STEPSTONE_SPILL_DIR] [default: a temp folder]
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Ignore checkpoints and spills of earlier runs (they are overwritten as steps recompute)
    #[arg(long)]
    pub fresh: bool,
    /// Steps run in parallel at most [default: number of cores]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Also write the run report (JSON) to this file
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Draw a progress bar even when stderr is not a terminal
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,
    /// Never draw a progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Wait for another run holding the checkpoint directory instead of failing
    #[arg(long)]
    pub wait: bool,
    /// Where tasks run: `threads` (in this process) or `processes` (child processes of this
    /// binary, each running a partition's chain of steps under its share of the budget)
    /// [env: STEPSTONE_RUNNER] [default: threads]
    #[arg(long, value_name = "RUNNER")]
    pub runner: Option<Runner>,
    /// Worker mode: run the task (segment) this spec file describes, then exit (0 done, 1 a
    /// step failed, 2 refused, 3 transient). Started by a coordinator, not by hand.
    #[arg(long, value_name = "SPEC", hide = true)]
    pub run_task: Option<PathBuf>,
    /// Worker mode: the attempt number of the task.
    #[arg(long, value_name = "N", hide = true, requires = "run_task")]
    pub attempt: Option<u32>,
    /// Worker mode: exit when the parent goes away (`stdin`: standard input reaches its end).
    #[arg(long, value_name = "HOW", hide = true, requires = "run_task")]
    pub lifeline: Option<Lifeline>,
}

/// Where a run's tasks execute (`--runner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum Runner {
    /// In this process: one task at a time, or `--jobs` worker threads.
    #[default]
    Threads,
    /// In child processes of this binary, `--jobs` at a time: each runs a segment (a
    /// partition's chain of steps) under `budget / jobs`, and only values other segments read
    /// cross, as stored objects. A killed child is retried; a step's error is not.
    Processes,
    /// Like `Processes`, but the segments run wherever an engine's launcher puts them (the
    /// Spark launcher, `stepstone spark submit`): stages go out as `@stepstone` JSON lines on
    /// standard output and one answer per segment comes back on standard input. Each segment
    /// gets the whole budget (the engine places tasks). Protocol: docs/design.md.
    Launcher,
}

/// How a worker notices that its parent is gone (`--lifeline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum Lifeline {
    /// Standard input is a pipe from the parent: its end means the parent is gone.
    Stdin,
}

/// A worker's task: the spec it runs and how it was started.
#[derive(Debug, Clone)]
pub struct WorkerTask {
    /// The segment to run.
    pub spec: Arc<crate::exec::TaskSpec>,
    /// The attempt number (1 for the first).
    pub attempt: u32,
    /// Watch for the parent's end.
    pub lifeline: Option<Lifeline>,
}

/// Something that happened during a run, for observers (progress bars, tests, crash drills).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A step's output was computed, admitted and (per its policy) written.
    StepStored {
        /// Record order of the node in the pipeline (stable across runs of the same code).
        seq: usize,
        /// Step name.
        step: String,
        /// Node fingerprint.
        fingerprint: Fingerprint,
    },
    /// One partition of a partitioned step was computed, admitted and written (per policy);
    /// [`Event::StepStored`] follows once every partition of the step is.
    PartitionStored {
        /// Record order of the node.
        seq: usize,
        /// Step name.
        step: String,
        /// The partition, `0..partitions`.
        partition: u32,
        /// How many partitions (blocks) the step's output has.
        partitions: u32,
    },
}

/// A callback for [`Event`]s.
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// Everything a run needs to know.
#[derive(Clone)]
pub struct RunConfig {
    /// Pipeline name.
    pub pipeline: String,
    /// Memory budget for datasets.
    pub budget: Budget,
    /// Checkpoint directory (or `s3://bucket/prefix`).
    pub checkpoint_dir: PathBuf,
    /// Local directory for spills, persist copies and temp files of an `s3://` store (`None`: a
    /// fresh temp folder, removed at run end). Unused by a local checkpoint directory.
    pub spill_dir: Option<PathBuf>,
    /// Ignore objects of earlier runs.
    pub fresh: bool,
    /// Parallel steps at most (≥ 1).
    pub jobs: usize,
    /// Make every N-th step along each chain a checkpoint.
    pub checkpoint_every: Option<u32>,
    /// Wait for the directory lock.
    pub wait_for_lock: bool,
    /// Progress bar.
    pub progress: Progress,
    /// Extra copy of the report.
    pub report_path: Option<PathBuf>,
    /// Print the human summary table to stderr at the end.
    pub print_summary: bool,
    /// Install SIGINT / SIGTERM handlers so a signal stops the run at its next safe point with
    /// status `interrupted` instead of killing the process (set on the command-line path,
    /// [`RunConfig::resolve`]; off for [`RunConfig::new`], where an embedding application may
    /// call [`crate::exec::request_stop`] itself).
    pub handle_signals: bool,
    /// Recorded-but-not-run nodes after which pending checkpoints are materialized, keeping the
    /// DAG bounded in very long loops.
    pub lookahead: usize,
    /// Event callback.
    pub observer: Option<Observer>,
    /// Also sample RSS in a background thread at this interval (default: off; the timeline is
    /// then sampled at step boundaries and at every new tracked peak).
    pub sample_memory_every: Option<std::time::Duration>,
    /// Storage backend for the checkpoint directory (`None`: the local file system). Tests use
    /// it to run whole pipelines on a fault-injecting backend.
    pub backend: Option<Arc<dyn crate::store::Backend>>,
    /// Where tasks run (`--runner`).
    pub runner: Runner,
    /// Worker mode (`--run-task`): this process runs one segment of a coordinator's run.
    pub worker: Option<WorkerTask>,
    /// With [`Runner::Processes`]: the program and arguments that start a worker (`None`: this
    /// executable with this process's own arguments, less `--runner`). The worker must record
    /// the same pipeline: a pipeline binary given the same flags. The coordinator appends
    /// `--run-task SPEC --attempt N --lifeline stdin`.
    pub worker_command: Option<Vec<std::ffi::OsString>>,
}

impl fmt::Debug for RunConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunConfig")
            .field("pipeline", &self.pipeline)
            .field("budget", &self.budget)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("spill_dir", &self.spill_dir)
            .field("fresh", &self.fresh)
            .field("jobs", &self.jobs)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("wait_for_lock", &self.wait_for_lock)
            .field("progress", &self.progress)
            .field("lookahead", &self.lookahead)
            .field("runner", &self.runner)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl RunConfig {
    /// A configuration with built-in defaults: 1 GiB, `./.stepstone`, all cores.
    pub fn new(pipeline: impl Into<String>) -> Self {
        RunConfig {
            pipeline: pipeline.into(),
            budget: Budget::DEFAULT,
            checkpoint_dir: PathBuf::from(DEFAULT_CHECKPOINT_DIR),
            spill_dir: None,
            fresh: false,
            jobs: default_jobs(),
            checkpoint_every: None,
            wait_for_lock: false,
            progress: Progress::Auto,
            report_path: None,
            print_summary: false,
            handle_signals: false,
            lookahead: 1024,
            observer: None,
            sample_memory_every: None,
            backend: None,
            runner: Runner::Threads,
            worker: None,
            worker_command: None,
        }
    }

    /// Set the budget.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }
    /// Set the checkpoint directory.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = dir.into();
        self
    }

    /// Set the local spill directory of an `s3://` checkpoint store.
    pub fn spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }
    /// Ignore objects of earlier runs.
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }
    /// Make every N-th step along each chain a checkpoint (`None` or 0: off).
    pub fn checkpoint_every(mut self, every: Option<u32>) -> Self {
        self.checkpoint_every = every.filter(|n| *n > 0);
        self
    }
    /// Parallel steps at most.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }
    /// Where tasks run.
    pub fn runner(mut self, runner: Runner) -> Self {
        self.runner = runner;
        self
    }
    /// Register an event callback.
    pub fn observer(mut self, observer: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }
    /// Run on this storage backend instead of the local file system (tests: fault injection).
    pub fn backend(mut self, backend: Arc<dyn crate::store::Backend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Resolve flags > environment > `stepstone.toml` (in the current directory) > attribute >
    /// default.
    pub fn resolve(args: &RunArgs, defaults: &PipelineDefaults) -> Result<Self, ConfigError> {
        let file = ProjectFile::load(Path::new(CONFIG_FILE))?;
        Self::resolve_with(args, defaults, &|k| std::env::var(k).ok(), &file)
    }

    /// [`RunConfig::resolve`] with an explicit environment and project file (for tests).
    pub fn resolve_with(
        args: &RunArgs,
        defaults: &PipelineDefaults,
        env: &dyn Fn(&str) -> Option<String>,
        file: &ProjectFile,
    ) -> Result<Self, ConfigError> {
        let mut config = RunConfig::new(defaults.name.clone());
        let budget_sources = [
            ("--budget".to_string(), args.budget.clone()),
            (ENV_BUDGET.to_string(), env(ENV_BUDGET)),
            (file.source("budget"), file.budget.clone()),
            (
                "#[pipeline(budget)]".to_string(),
                defaults.budget.map(str::to_string),
            ),
        ];
        if let Some((source_name, text)) = budget_sources
            .into_iter()
            .find_map(|(s, v)| v.map(|v| (s, v)))
        {
            config.budget = text.parse().map_err(|source| ConfigError::Budget {
                source_name,
                source,
            })?;
        }
        if let Some(dir) = args
            .checkpoint_dir
            .clone()
            .or_else(|| env(ENV_CHECKPOINT_DIR).map(PathBuf::from))
            .or_else(|| file.checkpoint_dir.clone())
            .or_else(|| defaults.checkpoint_dir.map(PathBuf::from))
        {
            if let Some(rest) = dir.to_str().and_then(|d| d.strip_prefix("s3://"))
                && rest.split('/').next().is_none_or(str::is_empty)
            {
                return Err(ConfigError::Invalid(format!(
                    "checkpoint directory {}: no bucket name; write it as s3://bucket/prefix",
                    dir.display()
                )));
            }
            config.checkpoint_dir = dir;
        }
        config.spill_dir = args
            .spill_dir
            .clone()
            .or_else(|| env(ENV_SPILL_DIR).map(PathBuf::from))
            .or_else(|| file.spill_dir.clone());
        config.checkpoint_every = file
            .checkpoint_every
            .or(defaults.checkpoint_every)
            .filter(|n| *n > 0);
        if let Some(jobs) = args.jobs.or(file.jobs) {
            if jobs == 0 {
                return Err(ConfigError::Invalid("--jobs must be at least 1".into()));
            }
            config.jobs = jobs;
        }
        config.fresh = args.fresh;
        config.wait_for_lock = args.wait;
        config.report_path = args.report.clone();
        config.progress = match (args.progress, args.no_progress) {
            (_, true) => Progress::Never,
            (true, false) => Progress::Always,
            _ => Progress::Auto,
        };
        config.print_summary = true;
        config.handle_signals = true;
        config.runner = match (args.runner, env(ENV_RUNNER)) {
            (Some(runner), _) => runner,
            (None, Some(text)) => <Runner as clap::ValueEnum>::from_str(text.trim(), true)
                .map_err(|_| {
                    ConfigError::Invalid(format!(
                        "{ENV_RUNNER}={text}: not a runner; use `threads`, `processes` or `launcher`"
                    ))
                })?,
            (None, None) => Runner::Threads,
        };
        if let Some(path) = &args.run_task {
            let spec = crate::exec::TaskSpec::read(path).map_err(ConfigError::Invalid)?;
            config.budget = Budget(spec.budget_bytes);
            config.jobs = 1;
            config.runner = Runner::Threads;
            config.progress = Progress::Never;
            config.print_summary = false;
            config.report_path = None;
            config.worker = Some(WorkerTask {
                spec: Arc::new(spec),
                attempt: args.attempt.unwrap_or(1),
                lifeline: args.lifeline,
            });
        }
        Ok(config)
    }
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The settings a project may put in `stepstone.toml` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Memory budget, e.g. `"384MiB"`.
    pub budget: Option<String>,
    /// Checkpoint directory (or `s3://bucket/prefix`).
    pub checkpoint_dir: Option<PathBuf>,
    /// Local spill directory of an `s3://` store.
    pub spill_dir: Option<PathBuf>,
    /// Checkpoint every N steps along each chain.
    pub checkpoint_every: Option<u32>,
    /// Parallel steps at most.
    pub jobs: Option<usize>,
    /// Where it was read from (for messages).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl ProjectFile {
    /// Read `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ProjectFile::default()),
            Err(e) => {
                return Err(ConfigError::File {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
            }
        };
        let mut file: ProjectFile = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        file.path = Some(path.to_path_buf());
        Ok(file)
    }

    fn source(&self, key: &str) -> String {
        match &self.path {
            Some(p) => format!("{} ({key})", p.display()),
            None => format!("{CONFIG_FILE} ({key})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> PipelineDefaults {
        PipelineDefaults {
            name: "t".into(),
            budget: Some("1GiB"),
            checkpoint_every: Some(10),
            checkpoint_dir: None,
        }
    }

    #[test]
    fn flag_beats_env_beats_file_beats_attribute() {
        let file = ProjectFile {
            budget: Some("3MiB".into()),
            ..Default::default()
        };
        let env_set = |k: &str| (k == ENV_BUDGET).then(|| "2MiB".to_string());
        let env_none = |_: &str| None;
        let flag = RunArgs {
            budget: Some("1MiB".into()),
            ..Default::default()
        };
        let none = RunArgs::default();
        let d = defaults();
        assert_eq!(
            RunConfig::resolve_with(&flag, &d, &env_set, &file)
                .unwrap()
                .budget,
            Budget(1 << 20)
        );
        assert_eq!(
            RunConfig::resolve_with(&none, &d, &env_set, &file)
                .unwrap()
                .budget,
            Budget(2 << 20)
        );
        assert_eq!(
            RunConfig::resolve_with(&none, &d, &env_none, &file)
                .unwrap()
                .budget,
            Budget(3 << 20)
        );
        let empty = ProjectFile::default();
        assert_eq!(
            RunConfig::resolve_with(&none, &d, &env_none, &empty)
                .unwrap()
                .budget,
            Budget(1 << 30)
        );
        let bare = PipelineDefaults::default();
        assert_eq!(
            RunConfig::resolve_with(&none, &bare, &env_none, &empty)
                .unwrap()
                .budget,
            Budget::DEFAULT
        );
    }

    #[test]
    fn bad_budget_names_its_source() {
        let env = |k: &str| (k == ENV_BUDGET).then(|| "12 parsecs".to_string());
        let e = RunConfig::resolve_with(
            &RunArgs::default(),
            &defaults(),
            &env,
            &ProjectFile::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("STEPSTONE_BUDGET: `12 parsecs`"),
            "{e}"
        );
    }

    #[test]
    fn project_file_rejects_unknown_keys_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stepstone.toml");
        std::fs::write(&path, "budget = \"1MiB\"\nbudgt = 3\n").unwrap();
        let e = ProjectFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("budgt") && e.contains("line 2"), "{e}");
    }
    #[test]
    fn s3_checkpoint_dir_and_spill_dir_resolve_from_flag_env_and_file() {
        let file = ProjectFile {
            checkpoint_dir: Some("s3://bucket/from-file".into()),
            spill_dir: Some("/file/spill".into()),
            ..Default::default()
        };
        let env = |k: &str| (k == ENV_SPILL_DIR).then(|| "/env/spill".to_string());
        let resolved = RunConfig::resolve_with(&RunArgs::default(), &defaults(), &env, &file);
        let config = resolved.unwrap();
        assert_eq!(
            config.checkpoint_dir,
            PathBuf::from("s3://bucket/from-file")
        );
        assert_eq!(config.spill_dir, Some(PathBuf::from("/env/spill")));
        let no_env = |_: &str| None;
        let config = RunConfig::resolve_with(&RunArgs::default(), &defaults(), &no_env, &file);
        assert_eq!(
            config.unwrap().spill_dir,
            Some(PathBuf::from("/file/spill"))
        );
        let bad = RunArgs {
            checkpoint_dir: Some("s3:///prefix".into()),
            ..Default::default()
        };
        let err = RunConfig::resolve_with(&bad, &defaults(), &no_env, &file).unwrap_err();
        assert!(err.to_string().contains("no bucket name"), "{err}");
    }
}
