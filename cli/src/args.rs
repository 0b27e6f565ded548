//! Command-line grammar of `stepstone` (clap derive): every subcommand, flag and help text.
//!
//! This module only describes what the user can type; it does no work. Each subcommand's
//! behaviour lives in `cmd/<name>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  stepstone new demo                      scaffold ./demo from the default archetype (batch-etl)
  stepstone new demo --run                scaffold, then build and run its pipeline once
  stepstone new pr --archetype iterative --define iterations=50 --no-input
  stepstone archetypes list               the archetypes this binary knows
  stepstone archetypes check ./my-arch    lint an archetype folder (add --build to test it)
  stepstone completions bash > /etc/bash_completion.d/stepstone

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
    /// List, show and lint archetypes.
    #[command(subcommand)]
    Archetypes(ArchetypesCommand),
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
  stepstone new demo --run                   scaffold, then `cargo run --release` inside it

Answers come from (first wins): --define, --answers, an interactive prompt (on a terminal,
without --no-input), the archetype's default. The archetype, its version and the answers are
recorded in DEST/.stepstone/archetype.toml; that file is also a valid --answers file.";

/// Arguments of `stepstone new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Project (package) name: lowercase letters, digits, `-` and `_`, starting with a letter.
    pub(crate) name: String,

    /// Archetype to use (see `stepstone archetypes list`) [default: batch-etl].
    #[arg(long, short = 'a')]
    pub(crate) archetype: Option<String>,

    #[command(flatten)]
    pub(crate) sources: SourceArgs,

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

    /// Use an archetype whose status is `experimental` or `deprecated`.
    #[arg(long)]
    pub(crate) allow_unapproved: bool,

    #[command(flatten)]
    pub(crate) runtime: RuntimeArgs,

    /// After rendering, run `cargo run --release` in the new project (its output is shown).
    #[arg(long)]
    pub(crate) run: bool,
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
    /// List known archetypes (built in, --archetype-path, STEPSTONE_ARCHETYPE_PATH).
    List {
        #[command(flatten)]
        sources: SourceArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show an archetype: status, variables with their rules, files.
    Show {
        /// Archetype name.
        name: String,
        #[command(flatten)]
        sources: SourceArgs,
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
