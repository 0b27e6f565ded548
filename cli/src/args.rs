//! Command-line grammar of `stepstone` (clap derive): every subcommand, flag and help text.
//!
//! This module only describes what the user can type; it does no work. Each subcommand's
//! behaviour lives in `cmd/<name>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod catalog;
pub(crate) use catalog::{
    CatalogArgs, CheckArgs, PublishArgs, PublishStatus, TemplateExportArgs, TemplateFormat,
    UpdateArgs,
};

const AFTER_HELP: &str = "\
Examples:
  stepstone new demo                      scaffold ./demo from the default archetype (batch-etl)
  stepstone new demo --run                scaffold, then build and run its pipeline once
  stepstone new pr --archetype iterative --define iterations=50 --no-input
  stepstone new lake --archetype lakehouse   Parquet/CSV folders as partitions: join, group, Parquet
  stepstone archetypes list               the archetypes this binary knows
  stepstone archetypes check ./my-arch    lint an archetype folder (add --build to test it)
  stepstone archetypes publish ./my-arch --catalog ../catalog --approver alice
  stepstone new demo --catalog ../catalog --archetype batch-etl@1.1.0
  stepstone update --dry-run              in a generated project: take the latest archetype
  stepstone check                         in a generated project: drift against its archetype
  stepstone completions bash > /etc/bash_completion.d/stepstone
  stepstone checkpoints ls --dir .stepstone   objects: step, kind, size, age, run
  stepstone runs show latest              the last run's summary table
  stepstone ui --open                     a web page of the runs (local; s3://bucket/prefix too)

Exit codes: 0 success, 1 failure (the message says what and how to fix it), 2 usage error.";

/// Scaffold pipelines that apply the CHECKPOINT pattern from approved archetypes.
#[derive(Debug, Parser)]
#[command(name = "stepstone", version, about, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new pipeline project from an archetype.
    #[command(after_help = NEW_HELP)]
    New(NewArgs),
    /// Update a generated project to a newer archetype version (3-way merge, no git needed).
    #[command(after_help = catalog::UPDATE_HELP)]
    Update(UpdateArgs),
    /// Report a generated project's drift from its archetype version (exit 1 on drift).
    #[command(after_help = catalog::CHECK_HELP)]
    Check(CheckArgs),
    /// List, show, lint, test, publish and deprecate archetypes.
    #[command(subcommand)]
    Archetypes(ArchetypesCommand),
    /// Inspect, verify and garbage-collect the objects of a checkpoint directory.
    #[command(subcommand)]
    Checkpoints(CheckpointsCommand),
    /// List and show run reports; plot memory over time; draw the lineage graph.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Serve a web page of the runs: steps and why they ran, lineage, memory, live progress.
    #[command(after_help = UI_HELP)]
    Ui(UiArgs),
    /// Run a pipeline's segments on Apache Spark; size the Spark settings for a quota.
    #[command(subcommand)]
    Spark(SparkCommand),
    /// Print a shell completion script to standard output.
    #[command(after_help = "Example:\n  stepstone completions zsh > ~/.zfunc/_stepstone")]
    Completions {
        /// The shell to complete for.
        shell: Shell,
    },
}

const NEW_HELP: &str = "\
Examples:
  stepstone new demo                         ./demo from batch-etl, prompting on a terminal
  stepstone new demo --no-input --dest /tmp/demo --define rows=100000
  stepstone new km --archetype iterative --answers answers.toml
  stepstone new lake --archetype lakehouse --define partitions=32
  stepstone new demo --run                   scaffold, then `cargo run --release` inside it

Answers come from (first wins): --define, --answers, an interactive prompt (on a terminal,
without --no-input), the archetype's default. The archetype, its version and the answers are
recorded in DEST/.stepstone/archetype.toml; that file is also a valid --answers file.";

/// Arguments of `stepstone new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Project (package) name: lowercase letters, digits, `-` and `_`, starting with a letter.
    pub(crate) name: String,

    /// Archetype to use, `NAME` (its latest approved version) or `NAME@VERSION` (see
    /// `stepstone archetypes list`) [default: batch-etl].
    #[arg(long, short = 'a', value_name = "NAME[@VERSION]")]
    pub(crate) archetype: Option<String>,

    #[command(flatten)]
    pub(crate) sources: SourceArgs,

    #[command(flatten)]
    pub(crate) catalogs: CatalogArgs,

    /// Folder to create [default: ./NAME].
    #[arg(long)]
    pub(crate) dest: Option<PathBuf>,

    /// Answer a variable: `--define rows=5000` (repeatable).
    #[arg(long = "define", short = 'D', value_name = "K=V", value_parser = parse_define)]
    pub(crate) defines: Vec<(String, String)>,

    /// TOML file of answers (`key = value`, or an `[answers]` table).
    #[arg(long, value_name = "FILE")]
    pub(crate) answers: Option<PathBuf>,

    /// Never prompt: use defaults for everything not given.
    #[arg(long)]
    pub(crate) no_input: bool,

    /// Write into a non-empty destination (files with the same names are replaced).
    #[arg(long)]
    pub(crate) force: bool,

    /// Use an archetype whose status is `experimental` (or, from --archetype-path only,
    /// `deprecated`; a deprecated catalog version is always refused).
    #[arg(long)]
    pub(crate) allow_unapproved: bool,

    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,

    /// After rendering, build and run the new project once (its output is shown): `cargo run`
    /// in the profile this stepstone was built with (`dev` for `cargo run -p stepstone-cli`,
    /// `release` when installed), in a target directory shared by the projects `new --run`
    /// builds (`$XDG_CACHE_HOME/stepstone/target`, else `~/.cache/stepstone/target`), so the
    /// next project reuses the compiled dependencies; a `CARGO_TARGET_DIR` set in the
    /// environment is used instead.
    #[arg(long)]
    pub(crate) run: bool,

    /// With `--run`: build the project with `--release` even when this stepstone is a debug
    /// build (an optimized binary; the first release build of the Arrow/Parquet stack takes
    /// minutes).
    #[arg(long)]
    pub(crate) release: bool,

    /// With `--run`: build in the project's own `target/`, not the shared target directory.
    /// `STEPSTONE_NO_SHARED_TARGET=1` (or `true`, `yes`, `on`) does the same.
    #[arg(
        long,
        env = "STEPSTONE_NO_SHARED_TARGET",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub(crate) no_shared_target: bool,
}

/// Where archetypes come from besides the ones built into the binary.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct SourceArgs {
    /// An archetype folder, or a folder of archetype folders (repeatable, or `:`-separated).
    /// These come before the built-in archetypes of the same name.
    #[arg(
        long = "archetype-path",
        value_name = "DIR",
        env = "STEPSTONE_ARCHETYPE_PATH",
        value_delimiter = ':'
    )]
    pub(crate) archetype_paths: Vec<PathBuf>,
}

/// How the generated project depends on the `stepstone` runtime crate.
#[derive(Debug, Clone, Default, Args)]
#[group(multiple = false)]
pub(crate) struct RuntimeArgs {
    /// Depend on the runtime crate in DIR (a path dependency).
    #[arg(long, value_name = "DIR")]
    pub(crate) stepstone_path: Option<PathBuf>,

    /// Depend on this released version of the runtime.
    #[arg(long, value_name = "V")]
    pub(crate) stepstone_version: Option<String>,

    /// Depend on the runtime from this git repository.
    #[arg(long, value_name = "URL")]
    pub(crate) stepstone_git: Option<String>,
}

/// `stepstone archetypes …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ArchetypesCommand {
    /// List known archetypes: each catalog's versions with status, approver and date, then
    /// --archetype-path folders and the built-in ones.
    List {
        #[command(flatten)]
        sources: SourceArgs,
        #[command(flatten)]
        catalogs: CatalogArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show an archetype: status, variables with their rules, files.
    Show {
        /// Archetype name, or `NAME@VERSION` for a catalog version.
        name: String,
        #[command(flatten)]
        sources: SourceArgs,
        #[command(flatten)]
        catalogs: CatalogArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lint an archetype folder: manifest, unsafe paths, undeclared and unused variables, and a
    /// render with the defaults.
    #[command(after_help = "Example:\n  stepstone archetypes check templates/batch-etl --build")]
    Check {
        /// The archetype folder (contains archetype.toml).
        dir: PathBuf,
        /// Also generate it into a temporary folder and run `cargo test` there.
        #[arg(long)]
        build: bool,
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// Also check that its version is greater than these catalogs' latest of its name.
        #[command(flatten)]
        catalogs: CatalogArgs,
    },
    /// Render each example answer set of archetype.toml (`[[examples]]`), then build, test and
    /// run every result.
    #[command(after_help = "Example:\n  stepstone archetypes test templates/batch-etl")]
    Test {
        /// The archetype folder (contains archetype.toml).
        dir: PathBuf,
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Lint an archetype and record it in a catalog with its status, approver, date and
    /// content digest; the version must be greater than the catalog's latest of that name.
    #[command(
        after_help = "Example:\n  stepstone archetypes publish templates/batch-etl --catalog ../catalog --approver alice"
    )]
    Publish(PublishArgs),
    /// Export an archetype version as a cargo-generate template that renders what `stepstone
    /// new` renders.
    #[command(after_help = catalog::TEMPLATE_EXPORT_HELP)]
    Export(TemplateExportArgs),
    /// Mark a published version deprecated: `new` and `update` refuse it from then on.
    #[command(
        after_help = "Example:\n  stepstone archetypes deprecate batch-etl@1.0.0 --catalog ../catalog"
    )]
    Deprecate {
        /// The version, `NAME@VERSION`.
        version: String,
        /// The catalog.
        #[arg(long, value_name = "C")]
        catalog: String,
    },
}

/// Shells with completion scripts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

/// The checkpoint directory and output format shared by `checkpoints` and `runs`.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArgs {
    /// The checkpoint directory.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".stepstone",
        env = "STEPSTONE_CHECKPOINT_DIR"
    )]
    pub(crate) dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

const UI_HELP: &str = "\
Examples:
  stepstone ui                                 serve ./.stepstone at http://127.0.0.1:7878/
  stepstone ui --dir s3://bucket/prefix --open runs on S3 (AWS_* environment), open a browser
  stepstone ui --bind 127.0.0.1:0              any free port (the URL is printed)
  curl http://127.0.0.1:7878/api/runs          the JSON behind the page, for scripts

The server only reads the checkpoint directory. It listens on loopback unless --bind names
another address; then anyone who can reach that address sees the runs.";

/// Arguments of `stepstone ui`.
#[derive(Debug, Args)]
pub(crate) struct UiArgs {
    /// The checkpoint directory, or `s3://bucket/prefix`.
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".stepstone",
        env = "STEPSTONE_CHECKPOINT_DIR"
    )]
    pub(crate) dir: PathBuf,
    /// Address to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7878")]
    pub(crate) bind: std::net::SocketAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    pub(crate) open: bool,
}

/// `stepstone spark …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SparkCommand {
    /// Run a pipeline binary on a Spark cluster: spark-submit starts Stepstone's launcher as
    /// the driver, the binary coordinates the run, each segment runs as a Spark task.
    #[command(after_help = SPARK_SUBMIT_HELP)]
    Submit(SparkSubmitArgs),
    /// Print the `--conf` settings that fit a memory quota, a per-task budget and executor size.
    #[command(after_help = SPARK_CONF_HELP)]
    Conf(SparkConfArgs),
}

const SPARK_SUBMIT_HELP: &str = "\
Examples:
  stepstone spark submit --master spark://host:7077 ./target/release/pipeline -- \\
      --checkpoint-dir s3://bucket/pipeline --budget 4GiB
  stepstone spark submit --master yarn $(stepstone spark conf --quota 100GB --budget 4GiB) \\
      ./target/release/pipeline -- --checkpoint-dir s3://bucket/pipeline

The same command again resumes: finished segments are found in the checkpoint store. The
checkpoint directory must be reachable from every executor (s3://…, or a shared path).
Exit code: the pipeline's (0, 1 a step failed, 2 usage or plan error, 130/143 interrupted).";

const SPARK_CONF_HELP: &str = "\
Example:
  stepstone spark conf --quota 100GB --budget 4GiB --executor-cores 4

Each task runs one segment under the budget; its process needs the budget plus about a
quarter more (allocator, buffers) and 64 MiB, and its Python worker about 64 MiB. So an
executor of C cores needs spark.executor.memoryOverhead = C × (1.25 × budget + 128 MiB) beside
a small JVM heap (spark.executor.memory = 1g), the driver 1g + budget + 384 MiB (its JVM, the
launcher and the coordinator), and the quota holds floor((quota − driver) / (1g + overhead))
executors. On YARN and Kubernetes the container limit is memory + memoryOverhead, so a task
over its budget is refused by Stepstone before the container is killed. Never set
spark.executor.pyspark.memory: it caps the address space of the pipeline process too.";

/// Arguments of `stepstone spark submit`.
#[derive(Debug, Args)]
pub(crate) struct SparkSubmitArgs {
    /// The Spark master: `spark://host:7077`, `yarn`, `k8s://…`, `local[2]`.
    #[arg(long, value_name = "URL")]
    pub(crate) master: String,
    /// A Spark setting, `KEY=VALUE` (repeatable), passed to spark-submit.
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    pub(crate) conf: Vec<String>,
    /// The spark-submit to use [default: $SPARK_HOME/bin/spark-submit, else spark-submit on
    /// PATH (pip install pyspark)].
    #[arg(long, value_name = "PATH")]
    pub(crate) spark_submit: Option<PathBuf>,
    /// The pipeline binary (built for the executors' platform).
    pub(crate) binary: PathBuf,
    /// The pipeline's own flags (after `--`), given to the coordinator and to every worker.
    #[arg(last = true, value_name = "FLAGS")]
    pub(crate) flags: Vec<String>,
}

/// Arguments of `stepstone spark conf`.
#[derive(Debug, Args)]
pub(crate) struct SparkConfArgs {
    /// The memory the run may use on the cluster in all (executors and driver), e.g. `100GB`.
    #[arg(long, value_name = "SIZE")]
    pub(crate) quota: String,
    /// The budget of one task (the pipeline's `--budget`), e.g. `4GiB`.
    #[arg(long, value_name = "SIZE")]
    pub(crate) budget: String,
    /// Tasks one executor runs at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) executor_cores: u32,
}

/// `stepstone checkpoints …`.
#[derive(Debug, Subcommand)]
pub(crate) enum CheckpointsCommand {
    /// List objects: fingerprint, step, kind (checkpoint or spill), size, age, run.
    Ls {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show one object: header fields, sizes, footprint, payload check, runs that used it.
    Inspect {
        /// Fingerprint (32 hex digits) or a unique prefix of one.
        #[arg(value_parser = parse_fingerprint_prefix)]
        fingerprint: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write an Arrow object's batch to a Parquet or Arrow IPC file for hand-off.
    #[command(after_help = EXPORT_HELP)]
    Export(ExportArgs),
    /// Read every object fully and check it; exit 1 listing each bad one.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete objects no kept run needs: keeps the checkpoints the latest completed run used and
    /// everything a later failed run needs to resume.
    #[command(after_help = GC_HELP)]
    Gc(GcArgs),
}

const GC_HELP: &str = "\
Kept: the checkpoints the latest completed run executed or reused; every object (spills too)
referenced by a failed run that started after it; the checkpoints referenced by the --keep-runs
latest runs. If a run after the latest completed one left no report (killed), nothing is deleted.
Takes the directory lock: fails if a run is using the directory.

Examples:
  stepstone checkpoints gc --dry-run
  stepstone checkpoints gc --keep-runs 3 --older-than 7d";

const EXPORT_HELP: &str = "\
Only objects of Arrow values (steps returning stepstone::arrow::Batch) can be exported: a
postcard object is an encoding of a Rust type with no schema, so nothing outside that type can
read it. The output is written atomically (temp file, fsync, rename); an existing file at --out
is replaced only once the new one is complete.

Examples:
  stepstone checkpoints export 4ab55a9e --format parquet --out step10.parquet
  stepstone checkpoints export 4ab55a9e --format arrow --out step10.arrow";

/// The file format of `checkpoints export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    /// Apache Parquet (zstd level 1).
    Parquet,
    /// An Arrow IPC file (uncompressed, what `pyarrow.ipc.open_file` reads).
    Arrow,
}

/// Arguments of `stepstone checkpoints export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Fingerprint (32 hex digits) or a unique prefix of one.
    #[arg(value_parser = parse_fingerprint_prefix)]
    pub(crate) fingerprint: String,
    /// The output format.
    #[arg(long, value_enum)]
    pub(crate) format: ExportFormat,
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// Arguments of `stepstone checkpoints gc`.
#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Keep the report folders of the N latest runs, and the checkpoints they reference.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) keep_runs: usize,
    /// Only delete objects last written longer ago than this (`7d`, `12h`, `30min`).
    #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
    pub(crate) older_than: Option<std::time::Duration>,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `stepstone runs …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RunsCommand {
    /// List runs: id, pipeline, status, start, seconds, steps, memory peaks.
    Ls {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show a run: the summary table, its configuration and totals (`--json`: the report).
    Show {
        /// Run id, a unique prefix of one, or `latest`.
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Draw tracked and RSS memory over time, the budget, spills, reloads and checkpoints (SVG).
    #[command(after_help = "Example:\n  stepstone runs plot latest --out mem.svg")]
    Plot {
        /// Run id, a unique prefix of one, or `latest`.
        id: String,
        /// The SVG file to write.
        #[arg(long, value_name = "FILE", default_value = "mem.svg")]
        out: PathBuf,
        /// The checkpoint directory.
        #[arg(
            long,
            value_name = "DIR",
            default_value = ".stepstone",
            env = "STEPSTONE_CHECKPOINT_DIR"
        )]
        dir: PathBuf,
    },
    /// Print the run's step graph with each step's policy and status (Graphviz DOT or Mermaid).
    #[command(
        after_help = "Example:\n  stepstone runs lineage latest --format dot | dot -Tsvg > dag.svg"
    )]
    Lineage {
        /// Run id, a unique prefix of one, or `latest`.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// The checkpoint directory.
        #[arg(
            long,
            value_name = "DIR",
            default_value = ".stepstone",
            env = "STEPSTONE_CHECKPOINT_DIR"
        )]
        dir: PathBuf,
    },
}

/// Lineage graph formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

/// 1 to 32 hex digits (lowercased).
fn parse_fingerprint_prefix(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() || t.len() > 32 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` is not a fingerprint: expected 1 to 32 hex digits (see `stepstone checkpoints ls`)"
        ));
    }
    Ok(t)
}

/// `K=V` → `(K, V)`; clap reports a malformed value as a usage error (exit 2).
fn parse_define(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "`{text}` is not KEY=VALUE (for example `--define rows=5000`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn define_splits_at_the_first_equals() {
        assert_eq!(parse_define("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_define("novalue").is_err());
        assert!(parse_define("=x").is_err());
    }
}
