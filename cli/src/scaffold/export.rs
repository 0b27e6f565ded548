//! An archetype as a cargo-generate template: `cargo-generate.toml` plus the archetype's files,
//! Tera translated to Liquid, so `cargo generate --path DIR --name N --define K=V …` writes the
//! same bytes as `stepstone new N --define K=V …` (without Stepstone's own record).
//!
//! Responsible for the mapping: one placeholder per variable (bool, or string with its choices
//! or a regex; integers get a regex of their range, `range.rs`), `project_name` is
//! cargo-generate's `project-name`, `stepstone_dependency` a placeholder defaulting to the
//! dependency chosen at export, `archetype_name`/`archetype_version` constants, derived values
//! captured at the top of each file that uses them, `[[files]]` rules as `[conditional]`
//! ignores (Rhai conditions), plain files excluded from Liquid, and the approval record in a
//! `[stepstone]` table. Refused, with the file, line and construct: Tera Liquid cannot express,
//! and names or paths cargo-generate reserves. Never a hook. Not responsible for writing
//! files (`safety.rs`) or for the command line (`cmd/archetypes/export.rs`).

mod range;
mod toml_text;

use std::collections::BTreeMap;

use super::ScaffoldError;
use super::liquid::emit::{Binding, Kind, Scope, number_name};
use super::liquid::{self, Translated, expr};
use super::model::{FileRule, Rule};
use super::render::TEMPLATE_SUFFIX;
use super::safety::{OutputFile, RelPath};
use super::source::Archetype;
pub(crate) use toml_text::Approval;

/// The file cargo-generate reads.
pub(crate) const CONFIG: &str = "cargo-generate.toml";

/// Names cargo-generate defines itself; a placeholder may not take them.
const RESERVED: [&str; 7] = [
    "authors",
    "os-arch",
    "project-name",
    "crate_name",
    "crate_type",
    "within_cargo_project",
    "is_init",
];

/// Everything the template's config needs besides the archetype.
struct Plan {
    scope: Scope,
    derived: BTreeMap<String, Translated>,
    exclude: Vec<String>,
    conditional: BTreeMap<String, Vec<String>>,
}

fn refused(file: &str, refusal: liquid::Refusal) -> ScaffoldError {
    ScaffoldError::Untranslatable {
        file: file.to_string(),
        line: refusal.line,
        construct: refusal.construct,
        why: refusal.why,
    }
}

/// The names a template of `archetype` may use, as the export binds them.
fn scope(archetype: &Archetype) -> Scope {
    let m = &archetype.manifest;
    let mut bindings = BTreeMap::new();
    let placeholder = |liquid: &str, kind| Binding::Placeholder {
        liquid: liquid.to_string(),
        kind,
    };
    bindings.insert(
        "project_name".into(),
        placeholder("project-name", Kind::Text),
    );
    let dependency = placeholder("stepstone_dependency", Kind::Text);
    bindings.insert("stepstone_dependency".into(), dependency);
    bindings.insert("archetype_name".into(), Binding::Constant(m.name.clone()));
    let version = Binding::Constant(m.version.clone());
    bindings.insert("archetype_version".into(), version);
    for v in &m.variables {
        let kind = match v.rule {
            Rule::Bool => Kind::Bool,
            Rule::Integer { .. } => Kind::Integer,
            Rule::String { .. } | Rule::Choice { .. } => Kind::Text,
        };
        bindings.insert(v.name.clone(), placeholder(&v.name, kind));
    }
    Scope { bindings }
}

/// Export `archetype` as a cargo-generate template: the files to write (config first).
pub(crate) fn cargo_generate(
    archetype: &Archetype,
    approval: &Approval,
    dependency: &str,
) -> Result<Vec<OutputFile>, ScaffoldError> {
    let m = &archetype.manifest;
    if let Some(v) = m
        .variables
        .iter()
        .find(|v| RESERVED.contains(&v.name.as_str()))
    {
        return Err(ScaffoldError::Answer {
            variable: v.name.clone(),
            message: "cargo-generate defines this name itself and refuses it as a placeholder; rename the variable (and add a rename_answer migration)".into(),
        });
    }
    let base = scope(archetype);
    let mut derived = BTreeMap::new();
    for (name, template) in &m.derived {
        let label = format!("archetype.toml [derived] {name}");
        let translated = liquid::translate(template, &base).map_err(|r| refused(&label, r))?;
        derived.insert(name.clone(), translated);
    }
    let mut scope = base;
    for name in m.derived.keys() {
        scope.bindings.insert(name.clone(), Binding::Derived);
    }
    let mut plan = Plan {
        scope,
        derived,
        exclude: Vec::new(),
        conditional: BTreeMap::new(),
    };
    let mut files = Vec::new();
    for file in &archetype.files {
        files.push(export_file(&mut plan, &file.path, &file.contents)?);
    }
    for rule in &m.files {
        conditional(&mut plan, archetype, rule)?;
    }
    let config = toml_text::config(
        archetype,
        approval,
        dependency,
        &plan.exclude,
        &plan.conditional,
    );
    let path = RelPath::parse(CONFIG).map_err(|e| ScaffoldError::UnsafePath {
        path: CONFIG.into(),
        reason: e.to_string(),
    })?;
    files.insert(
        0,
        OutputFile {
            path,
            contents: config.into_bytes(),
        },
    );
    Ok(files)
}

/// The exported path of archetype file `source`: `.tera` dropped, each component translated.
fn export_path(plan: &Plan, source: &str) -> Result<String, ScaffoldError> {
    let plain = source.strip_suffix(TEMPLATE_SUFFIX).unwrap_or(source);
    let mut parts = Vec::new();
    for component in plain.split('/') {
        let label = format!("{source} (file name)");
        let translated =
            liquid::translate(component, &plan.scope).map_err(|r| refused(&label, r))?;
        let text = with_prelude(plan, &translated);
        if text.contains('/') {
            return Err(ScaffoldError::UnsafePath {
                path: source.into(),
                reason: "a component of its name becomes Liquid with a `/`, which cargo-generate would split; use a plain variable there".into(),
            });
        }
        parts.push(text);
    }
    let path = parts.join("/");
    let reserved = [CONFIG, ".genignore", ".cargo-ok"].contains(&path.as_str())
        || path.split('/').any(|c| c == ".git")
        || path.ends_with(".liquid");
    if reserved {
        return Err(ScaffoldError::UnsafePath {
            path: source.into(),
            reason: format!(
                "cargo-generate treats `{path}` specially (its config, .genignore, .cargo-ok, .git, a .liquid suffix) and would not copy it as is; rename it"
            ),
        });
    }
    Ok(path)
}

fn export_file(
    plan: &mut Plan,
    source: &str,
    contents: &[u8],
) -> Result<OutputFile, ScaffoldError> {
    let exported = export_path(plan, source)?;
    let contents = if source.ends_with(TEMPLATE_SUFFIX) {
        let text = std::str::from_utf8(contents).map_err(|e| ScaffoldError::Template {
            file: source.into(),
            report: format!("a {TEMPLATE_SUFFIX} file must be UTF-8 ({e})"),
        })?;
        let translated = liquid::translate(text, &plan.scope).map_err(|r| refused(source, r))?;
        with_prelude(plan, &translated).into_bytes()
    } else {
        plan.exclude.push(format!("/{}", glob_literal(&exported)));
        contents.to_vec()
    };
    let path = RelPath::parse(&exported).map_err(|e| ScaffoldError::UnsafePath {
        path: format!("{source} (exported as {exported:?})"),
        reason: e.to_string(),
    })?;
    Ok(OutputFile { path, contents })
}

/// `translated` preceded by the tags that define what it uses; they print nothing.
fn with_prelude(plan: &Plan, translated: &Translated) -> String {
    let mut uses = translated.uses.clone();
    for name in &translated.uses.derived {
        if let Some(d) = plan.derived.get(name) {
            uses.numbers.extend(d.uses.numbers.iter().cloned());
        }
    }
    let mut prelude = String::new();
    for name in &uses.numbers {
        let liquid = number_name(name);
        prelude.push_str(&format!("{{% assign {liquid} = {name} | plus: 0 %}}"));
    }
    for (name, body) in plan
        .derived
        .iter()
        .filter(|(n, _)| uses.derived.contains(*n))
    {
        prelude.push_str(&format!(
            "{{% capture {name} %}}{}{{% endcapture %}}",
            body.text
        ));
    }
    prelude + &translated.text
}

/// A `[[files]]` rule as a `[conditional]` block: when the condition is false, ignore the path.
fn conditional(
    plan: &mut Plan,
    archetype: &Archetype,
    rule: &FileRule,
) -> Result<(), ScaffoldError> {
    let label = format!("archetype.toml [[files]] path = \"{}\"", rule.path);
    let refuse = |why: expr::Unsupported| ScaffoldError::Untranslatable {
        file: label.clone(),
        line: 1,
        construct: rule.when.clone(),
        why: why.0,
    };
    let condition = expr::parse(&rule.when).map_err(refuse)?;
    let rhai = plan.scope.rhai(&condition).map_err(refuse)?;
    let is_file = archetype
        .files
        .iter()
        .any(|f| f.path == rule.path || f.path.strip_suffix(TEMPLATE_SUFFIX) == Some(&rule.path));
    let target = if is_file {
        let source = archetype
            .files
            .iter()
            .find(|f| rule.covers(&f.path))
            .map_or(rule.path.as_str(), |f| f.path.as_str());
        export_path(plan, source)?
    } else {
        export_path(plan, &rule.path)?
    };
    plan.conditional
        .entry(format!("!({rhai})"))
        .or_default()
        .push(target);
    Ok(())
}

/// `path` as a gitignore pattern that matches only itself.
fn glob_literal(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '\\' | '*' | '?' | '[' | ']' | '!' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
