//! The archetype manifest (`archetype.toml`): parsed, then validated into typed variables.
//!
//! Responsible for the manifest's grammar and for every rule that can be checked without
//! rendering (types, defaults against their own rules, names, safe conditional paths, no hooks);
//! errors carry the manifest's file name and line. Not responsible for answers (`answers.rs`)
//! or rendering (`render.rs`).

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::ScaffoldError;

mod answer;
mod migration;
mod rule;
use super::safety::RelPath;
pub(crate) use answer::{Answer, Answers};
use migration::RawMigration;
pub(crate) use migration::{Action, Example, Migration};
pub(crate) use rule::Rule;

/// Variables every archetype gets without declaring them.
pub(crate) const BUILTINS: [&str; 4] = [
    "project_name",
    "stepstone_dependency",
    "archetype_name",
    "archetype_version",
];

/// Whether an archetype may be used without `--allow-unapproved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Reviewed by the architecture team: used by default.
    Approved,
    /// Being tried out: needs `--allow-unapproved`.
    Experimental,
    /// Being retired: needs `--allow-unapproved`, and `stepstone` names the replacement.
    Deprecated,
}

impl Status {
    /// The word used in archetype.toml.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Approved => "approved",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
        }
    }
}

/// A validated manifest.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Manifest {
    /// Archetype name (what `--archetype` selects).
    pub(crate) name: String,
    /// Archetype version, recorded in generated projects.
    pub(crate) version: String,
    /// One line for `archetypes list`.
    pub(crate) description: String,
    /// Who answers for it (team or person).
    pub(crate) owner: String,
    /// Approval status.
    pub(crate) status: Status,
    /// For deprecated archetypes: what to use instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) replacement: Option<String>,
    /// Variables in declaration order (the prompt order).
    pub(crate) variables: Vec<Variable>,
    /// Derived values: name → Tera template over the variables and built-ins.
    pub(crate) derived: BTreeMap<String, String>,
    /// Files included only when a condition holds.
    pub(crate) files: Vec<FileRule>,
    /// Declarative migrations, applied by `stepstone update` (oldest version first).
    pub(crate) migrations: Vec<Migration>,
    /// Example answer sets for `archetypes test`.
    pub(crate) examples: Vec<Example>,
}

/// One declared variable.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Variable {
    /// Name used in templates.
    pub(crate) name: String,
    /// Prompt / help text.
    pub(crate) help: String,
    /// Type and its rules.
    #[serde(flatten)]
    pub(crate) rule: Rule,
    /// Default answer (already checked against the rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) default: Option<Answer>,
}

/// A conditional file or folder.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileRule {
    /// A path in the archetype folder: the file itself, or a folder and everything below it.
    pub(crate) path: String,
    /// A Tera expression; the path is generated only when it is true.
    pub(crate) when: String,
}

impl FileRule {
    /// Whether this rule covers the archetype file `source` (a `/`-separated relative path).
    pub(crate) fn covers(&self, source: &str) -> bool {
        let plain = source.strip_suffix(".tera").unwrap_or(source);
        [source, plain].iter().any(|p| {
            *p == self.path
                || p.strip_prefix(self.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    archetype: RawHeader,
    #[serde(default)]
    variables: Vec<Spanned<RawVariable>>,
    #[serde(default)]
    derived: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    files: Vec<Spanned<RawFileRule>>,
    #[serde(default)]
    migrations: Vec<Spanned<RawMigration>>,
    #[serde(default)]
    examples: Vec<Example>,
    #[serde(default, alias = "pre_hooks", alias = "post_hooks", alias = "scripts")]
    hooks: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    version: String,
    description: String,
    owner: String,
    status: Status,
    replacement: Option<String>,
    #[serde(default, alias = "pre_hooks", alias = "post_hooks")]
    hooks: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    help: String,
    default: Option<toml::Value>,
    regex: Option<String>,
    min: Option<i64>,
    max: Option<i64>,
    choices: Option<Vec<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    String,
    Bool,
    Integer,
    Choice,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileRule {
    path: String,
    when: String,
}

/// 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(at)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Builds `ScaffoldError::Manifest` with the line of a span of the manifest text.
struct At<'a> {
    text: &'a str,
    file: &'a str,
}

impl At<'_> {
    fn err(&self, span: Option<std::ops::Range<usize>>, message: String) -> ScaffoldError {
        ScaffoldError::Manifest {
            file: self.file.to_string(),
            line: span.map(|s| line_of(self.text, s.start)),
            message,
        }
    }
}

impl Manifest {
    /// Parse and validate `text`, the contents of the manifest at `file` (for messages).
    pub(crate) fn parse(text: &str, file: &str) -> Result<Self, ScaffoldError> {
        let at = At { text, file };
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| at.err(e.span(), e.message().to_string()))?;
        if let Some(hooks) = raw.hooks.as_ref().or(raw.archetype.hooks.as_ref()) {
            return Err(at.err(
                Some(hooks.span()),
                "archetypes may not declare hooks: stepstone never runs commands while rendering; \
                 remove the hooks and document the step in the generated README instead"
                    .into(),
            ));
        }
        let header = raw.archetype;
        if !is_package_like(&header.name) {
            let why = "must be lowercase letters, digits and `-`";
            return Err(at.err(None, format!("archetype name `{}` {why}", header.name)));
        }
        let variables = variables(&at, raw.variables)?;
        let derived = derived(&at, raw.derived, &variables)?;
        let mut files = Vec::new();
        for rule in raw.files {
            let span = rule.span();
            let rule = rule.into_inner();
            RelPath::parse(&rule.path)
                .map_err(|e| at.err(Some(span), format!("[[files]] path: {e}")))?;
            files.push(FileRule {
                path: rule.path,
                when: rule.when,
            });
        }
        let names: Vec<String> = variables.iter().map(|v| v.name.clone()).collect();
        let mut migrations = Vec::new();
        for raw in raw.migrations {
            let span = raw.span();
            migrations.push(
                raw.into_inner()
                    .validate(&names)
                    .map_err(|m| at.err(Some(span), m))?,
            );
        }
        migrations.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(Manifest {
            name: header.name,
            version: header.version,
            description: header.description,
            owner: header.owner,
            status: header.status,
            replacement: header.replacement,
            variables,
            derived,
            files,
            migrations,
            examples: raw.examples,
        })
    }

    /// The variable called `name`.
    pub(crate) fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// Whether `name` is lowercase letters, digits and `-`, starting with a letter.
pub(crate) fn is_package_like(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn variables(at: &At<'_>, raw: Vec<Spanned<RawVariable>>) -> Result<Vec<Variable>, ScaffoldError> {
    let mut variables: Vec<Variable> = Vec::new();
    for spanned in raw {
        let span = spanned.span();
        let variable =
            validate_variable(spanned.into_inner()).map_err(|m| at.err(Some(span.clone()), m))?;
        if variables.iter().any(|v| v.name == variable.name) {
            let message = format!("variable `{}` is declared twice", variable.name);
            return Err(at.err(Some(span), message));
        }
        variables.push(variable);
    }
    Ok(variables)
}

fn derived(
    at: &At<'_>,
    raw: BTreeMap<String, Spanned<String>>,
    variables: &[Variable],
) -> Result<BTreeMap<String, String>, ScaffoldError> {
    let mut derived = BTreeMap::new();
    for (name, value) in raw {
        let taken = BUILTINS.contains(&name.as_str()) || variables.iter().any(|v| v.name == name);
        if !is_identifier(&name) || taken {
            let why = "must be a new lowercase identifier, not a built-in or a declared variable";
            return Err(at.err(Some(value.span()), format!("derived value `{name}` {why}")));
        }
        derived.insert(name, value.into_inner());
    }
    Ok(derived)
}

fn validate_variable(raw: RawVariable) -> Result<Variable, String> {
    let name = raw.name.clone();
    if !is_identifier(&name) {
        return Err(format!(
            "variable name `{name}` must be a lowercase identifier (a-z, 0-9, _)"
        ));
    }
    if BUILTINS.contains(&name.as_str()) {
        return Err(format!(
            "variable `{name}` is built in; choose another name"
        ));
    }
    let misplaced = |what: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!(
                "variable `{name}`: `{what}` does not apply to this type"
            ))
        }
    };
    misplaced(
        "regex",
        raw.regex.is_none() || matches!(raw.kind, Kind::String),
    )?;
    misplaced(
        "min/max",
        (raw.min.is_none() && raw.max.is_none()) || matches!(raw.kind, Kind::Integer),
    )?;
    misplaced(
        "choices",
        raw.choices.is_none() || matches!(raw.kind, Kind::Choice),
    )?;
    let rule = build_rule(&name, &raw)?;
    let default = raw
        .default
        .map(|value| {
            rule.accept_toml(&value)
                .map_err(|why| format!("variable `{name}`: invalid default: {why}"))
        })
        .transpose()?;
    Ok(Variable {
        name,
        help: raw.help,
        rule,
        default,
    })
}

/// The rule of a variable's declared type, with its constraints checked.
fn build_rule(name: &str, raw: &RawVariable) -> Result<Rule, String> {
    Ok(match raw.kind {
        Kind::String => Rule::String {
            regex: raw
                .regex
                .as_ref()
                .map(|r| {
                    Regex::new(r).map_err(|e| format!("variable `{name}`: invalid regex: {e}"))
                })
                .transpose()?,
        },
        Kind::Bool => Rule::Bool,
        Kind::Integer => {
            if let (Some(min), Some(max)) = (raw.min, raw.max)
                && min > max
            {
                return Err(format!(
                    "variable `{name}`: min = {min} is greater than max = {max}"
                ));
            }
            Rule::Integer {
                min: raw.min,
                max: raw.max,
            }
        }
        Kind::Choice => match &raw.choices {
            Some(choices) if !choices.is_empty() => Rule::Choice {
                choices: choices.clone(),
            },
            _ => {
                return Err(format!(
                    "variable `{name}`: type = \"choice\" needs a non-empty `choices` list"
                ));
            }
        },
    })
}

#[cfg(test)]
mod tests;
