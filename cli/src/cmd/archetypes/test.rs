//! `stepstone archetypes test DIR`: render every `[[examples]]` answer set of archetype.toml,
//! then build, test and run each result (`cargo test`, then `cargo run -- ARGS`).
//!
//! The examples share one cargo target folder (CARGO_TARGET_DIR if set, else a temporary one)
//! so the runtime is compiled once.

use std::path::Path;

use anyhow::{Context as _, bail};

use crate::args::RuntimeArgs;
use crate::output;
use crate::scaffold::answers::{self, AnswerInput};
use crate::scaffold::source::Archetype;

/// Run `archetypes test`.
pub(super) fn execute(dir: &Path, runtime: &RuntimeArgs) -> anyhow::Result<()> {
    let archetype = Archetype::from_folder(dir)?;
    let m = &archetype.manifest;
    if m.examples.is_empty() {
        bail!(
            "{} declares no [[examples]] in archetype.toml: add one (name, answers, run) to test it",
            dir.display()
        );
    }
    let mut builtins = super::lint_builtins(&archetype, runtime)?;
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| work.path().join("target"));
    for example in &m.examples {
        let at = format!("{} example `{}`", m.name, example.name);
        let input = AnswerInput {
            file: Some((
                format!("archetype.toml [[examples]] {}", example.name),
                example.answers.clone(),
            )),
            ..AnswerInput::default()
        };
        let answers = answers::collect(m, &input).with_context(|| at.clone())?;
        builtins.project_name = format!("example-{}", example.name.replace('_', "-"));
        let dest = work.path().join(&builtins.project_name);
        crate::scaffold::generate(&archetype, &answers, &builtins, &dest, false)
            .with_context(|| at.clone())?;
        for (what, args) in [
            ("cargo test", vec!["test".to_string()]),
            (
                "cargo run",
                [
                    vec!["run".to_string(), "--".to_string()],
                    example.run.clone(),
                ]
                .concat(),
            ),
        ] {
            output::status(format!("{at}: cargo {}", args.join(" ")));
            let status = crate::cmd::cargo()
                .args(&args)
                .current_dir(&dest)
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .context("could not start cargo; is it on PATH?")?;
            if !status.success() {
                bail!("{at}: `{what}` in {} failed ({status})", dest.display());
            }
        }
        output::status(format!("{at}: builds, passes its tests and runs"));
    }
    Ok(())
}
