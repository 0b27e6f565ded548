//! Answers to an archetype's variables: from `--define`, an answers file, prompts and defaults.
//!
//! Responsible for precedence (define > file > prompt > default) and for checking every answer
//! against its variable's rule, naming the variable and the rule on failure. Not responsible for
//! derived values or rendering (`render.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use super::ScaffoldError;
pub(crate) use super::model::{Answer, Answers};
use super::model::{Manifest, Rule, Variable};

/// Where answers come from, besides defaults.
#[derive(Debug, Default)]
pub(crate) struct AnswerInput {
    /// `--define K=V`, in order (a later one wins).
    pub(crate) defines: Vec<(String, String)>,
    /// `--answers FILE`, already parsed.
    pub(crate) file: Option<(String, toml::Table)>,
    /// Ask on the terminal for anything not given.
    pub(crate) interactive: bool,
}

/// Read an answers file: top-level `key = value`, or an `[answers]` table (the layout of a
/// project's `.stepstone/archetype.toml`, so a project's record can be replayed).
pub(crate) fn read_answers_file(path: &Path) -> Result<(String, toml::Table), ScaffoldError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScaffoldError::Io {
        path: label.clone(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ScaffoldError::Manifest {
        file: label.clone(),
        line: e.span().map(|s| super::model::line_of(&text, s.start)),
        message: e.message().to_string(),
    })?;
    let table = match table.get("answers") {
        Some(toml::Value::Table(inner)) => inner.clone(),
        _ => table,
    };
    Ok((label, table))
}

/// Resolve every variable of `manifest`.
pub(crate) fn collect(manifest: &Manifest, input: &AnswerInput) -> Result<Answers, ScaffoldError> {
    let mut given: BTreeMap<String, Answer> = BTreeMap::new();
    if let Some((file, table)) = &input.file {
        for (key, value) in table {
            let variable = known(manifest, key, Some(file))?;
            let answer = variable
                .rule
                .accept_toml(value)
                .map_err(|why| invalid(variable, why, file))?;
            given.insert(key.clone(), answer);
        }
    }
    for (key, value) in &input.defines {
        let variable = known(manifest, key, None)?;
        let answer = variable
            .rule
            .accept_text(value)
            .map_err(|why| invalid(variable, why, "--define"))?;
        given.insert(key.clone(), answer);
    }
    let mut answers = Answers::new();
    for variable in &manifest.variables {
        let answer = match given.remove(&variable.name) {
            Some(answer) => answer,
            None if input.interactive => prompt(variable)?,
            None => variable
                .default
                .clone()
                .ok_or_else(|| ScaffoldError::Answer {
                    variable: variable.name.clone(),
                    message: format!(
                        "has no default and no answer; give one with --define {}=… ({})",
                        variable.name,
                        variable.rule.describe()
                    ),
                })?,
        };
        answers.insert(variable.name.clone(), answer);
    }
    Ok(answers)
}

fn known<'m>(
    manifest: &'m Manifest,
    key: &str,
    file: Option<&str>,
) -> Result<&'m Variable, ScaffoldError> {
    manifest
        .variable(key)
        .ok_or_else(|| ScaffoldError::UnknownVariable {
            name: key.to_string(),
            origin: file.map_or_else(|| "--define".to_string(), str::to_string),
            archetype: manifest.name.clone(),
            known: manifest
                .variables
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn invalid(variable: &Variable, why: String, origin: &str) -> ScaffoldError {
    ScaffoldError::Answer {
        variable: variable.name.clone(),
        message: format!(
            "{why} (from {origin}; the rule: {})",
            variable.rule.describe()
        ),
    }
}

/// Ask for one variable on the terminal, re-asking until the answer satisfies the rule.
fn prompt(variable: &Variable) -> Result<Answer, ScaffoldError> {
    let label = if variable.help.is_empty() {
        variable.name.clone()
    } else {
        format!("{} ({})", variable.help, variable.name)
    };
    let failed = |e: dialoguer::Error| ScaffoldError::Answer {
        variable: variable.name.clone(),
        message: format!("prompt failed: {e}; use --no-input with --define or --answers"),
    };
    match &variable.rule {
        Rule::Bool => {
            let default = matches!(variable.default, Some(Answer::Bool(true)));
            let yes = dialoguer::Confirm::new()
                .with_prompt(label)
                .default(default)
                .interact()
                .map_err(failed)?;
            Ok(Answer::Bool(yes))
        }
        Rule::Choice { choices } => {
            let current = variable.default.as_ref().map(Answer::to_text);
            let start = choices
                .iter()
                .position(|c| Some(c) == current.as_ref())
                .unwrap_or(0);
            let index = dialoguer::Select::new()
                .with_prompt(label)
                .items(choices)
                .default(start)
                .interact()
                .map_err(failed)?;
            Ok(Answer::Text(
                choices.get(index).cloned().unwrap_or_default(),
            ))
        }
        Rule::String { .. } | Rule::Integer { .. } => {
            let rule = variable.rule.clone();
            let mut input = dialoguer::Input::<String>::new().with_prompt(label);
            if let Some(default) = &variable.default {
                input = input.default(default.to_text());
            }
            let text = input
                .validate_with(move |t: &String| rule.accept_text(t).map(|_| ()))
                .interact_text()
                .map_err(failed)?;
            variable
                .rule
                .accept_text(&text)
                .map_err(|why| invalid(variable, why, "the prompt"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
[archetype]
name = "t"
version = "1.0.0"
description = "d"
owner = "o"
status = "approved"

[[variables]]
name = "rows"
type = "integer"
default = 10
min = 1
max = 100

[[variables]]
name = "flag"
type = "bool"
default = false
"#;

    fn manifest() -> Manifest {
        Manifest::parse(MANIFEST, "archetype.toml").unwrap()
    }

    #[test]
    fn define_beats_file_beats_default() {
        let table: toml::Table = toml::from_str("rows = 20\nflag = true").unwrap();
        let input = AnswerInput {
            defines: vec![("rows".into(), "30".into())],
            file: Some(("a.toml".into(), table)),
            interactive: false,
        };
        let answers = collect(&manifest(), &input).unwrap();
        assert_eq!(answers["rows"], Answer::Int(30));
        assert_eq!(answers["flag"], Answer::Bool(true));
    }

    #[test]
    fn out_of_range_names_variable_and_rule() {
        let input = AnswerInput {
            defines: vec![("rows".into(), "500".into())],
            ..Default::default()
        };
        let message = collect(&manifest(), &input).unwrap_err().to_string();
        assert!(
            message.contains("`rows`") && message.contains("above max = 100"),
            "{message}"
        );
    }

    #[test]
    fn unknown_key_lists_the_known_ones() {
        let input = AnswerInput {
            defines: vec![("nope".into(), "1".into())],
            ..Default::default()
        };
        let message = collect(&manifest(), &input).unwrap_err().to_string();
        assert!(
            message.contains("`nope`") && message.contains("rows, flag"),
            "{message}"
        );
    }
}
