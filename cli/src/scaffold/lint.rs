//! `stepstone archetypes check`: what is wrong with an archetype, before anyone uses it.
//!
//! Responsible for the static checks (variables used but not declared — errors; declared but
//! never used — warnings; defaults that break their own rules are refused when the manifest is
//! parsed), every `[[examples]]` answer set and `[[migrations]]` version, the version against a
//! catalog's latest, and a full render with the defaults into memory, which also checks every
//! rendered path. Not responsible for building the result (`cmd/archetypes/`).

use std::collections::BTreeSet;

use tera::Tera;

use super::answers::{self, AnswerInput};
use super::model::BUILTINS;
use super::render::{self, Builtins, TEMPLATE_SUFFIX};
use super::source::Archetype;

/// The findings.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Problems that make the archetype unusable.
    pub(crate) errors: Vec<String>,
    /// Problems worth fixing.
    pub(crate) warnings: Vec<String>,
    /// Files rendered with the defaults (when rendering succeeded).
    pub(crate) rendered: usize,
}

/// Variables referenced by a template snippet.
fn snippet_variables(template: &str) -> BTreeSet<String> {
    let mut tera = Tera::new();
    match tera.add_raw_template("snippet", template) {
        Ok(()) => tera
            .get_template_variables("snippet")
            .map(|s| s.into_iter().map(str::to_string).collect())
            .unwrap_or_default(),
        Err(_) => BTreeSet::new(),
    }
}

/// Check `archetype`; `builtins` stand in for `stepstone new`'s NAME and dependency.
pub(crate) fn check(archetype: &Archetype, builtins: &Builtins) -> Findings {
    let mut findings = Findings::default();
    let manifest = &archetype.manifest;
    let declared: BTreeSet<&str> = manifest.variables.iter().map(|v| v.name.as_str()).collect();
    let known: BTreeSet<&str> = declared
        .iter()
        .copied()
        .chain(BUILTINS)
        .chain(manifest.derived.keys().map(String::as_str))
        .collect();
    let mut used: Vec<(String, BTreeSet<String>)> = Vec::new();
    match render::templates(archetype) {
        Ok(tera) => {
            for file in archetype
                .files
                .iter()
                .filter(|f| f.path.ends_with(TEMPLATE_SUFFIX))
            {
                let vars = tera
                    .get_template_variables(&file.path)
                    .map(|s| s.into_iter().map(str::to_string).collect());
                used.push((file.path.clone(), vars.unwrap_or_default()));
            }
        }
        Err(e) => findings.errors.push(e.to_string()),
    }
    for file in &archetype.files {
        used.push((
            format!("{} (file name)", file.path),
            snippet_variables(&file.path),
        ));
    }
    for (name, template) in &manifest.derived {
        used.push((
            format!("archetype.toml [derived] {name}"),
            snippet_variables(template),
        ));
    }
    for rule in &manifest.files {
        let test = format!("{{% if {} %}}true{{% endif %}}", rule.when);
        used.push((
            format!("archetype.toml [[files]] path = \"{}\"", rule.path),
            snippet_variables(&test),
        ));
    }
    for (place, vars) in &used {
        for var in vars.iter().filter(|v| !known.contains(v.as_str())) {
            findings.errors.push(format!(
                "{place}: uses `{var}`, which archetype.toml does not declare"
            ));
        }
    }
    for name in &declared {
        if !used.iter().any(|(_, vars)| vars.contains(*name)) {
            findings.warnings.push(format!("variable `{name}` is declared but no file, name, condition or derived value uses it"));
        }
    }
    render_defaults(archetype, builtins, &mut findings);
    check_examples_and_migrations(archetype, &mut findings);
    findings
}

fn check_examples_and_migrations(archetype: &Archetype, findings: &mut Findings) {
    let manifest = &archetype.manifest;
    for example in &manifest.examples {
        let input = AnswerInput {
            file: Some((
                format!("archetype.toml [[examples]] {}", example.name),
                example.answers.clone(),
            )),
            ..AnswerInput::default()
        };
        if let Err(e) = answers::collect(manifest, &input) {
            findings.errors.push(e.to_string());
        }
    }
    match semver::Version::parse(&manifest.version) {
        Err(e) => findings.errors.push(format!(
            "archetype.toml: version `{}` is not semver ({e}); catalogs order versions by semver",
            manifest.version
        )),
        Ok(version) => {
            for m in manifest.migrations.iter().filter(|m| m.version > version) {
                findings.warnings.push(format!(
                    "[[migrations]] for {} is above this archetype's version {version}: it never applies",
                    m.version
                ));
            }
        }
    }
}

/// Error when `archetype`'s version is not greater than `catalog`'s latest of its name.
pub(crate) fn check_version_against(
    archetype: &Archetype,
    catalog: &crate::catalog::Catalog,
    findings: &mut Findings,
) {
    let m = &archetype.manifest;
    let (Ok(version), Some(latest)) = (
        semver::Version::parse(&m.version),
        catalog.index.latest(&m.name),
    ) else {
        return;
    };
    if version <= latest.version {
        findings.errors.push(format!(
            "version {version} is not greater than {} {} in catalog {}: bump `version` in archetype.toml",
            latest.name, latest.version, catalog.label
        ));
    }
}

fn render_defaults(archetype: &Archetype, builtins: &Builtins, findings: &mut Findings) {
    let input = AnswerInput::default();
    let result = answers::collect(&archetype.manifest, &input)
        .and_then(|answers| super::render_project(archetype, &answers, builtins));
    match result {
        Ok(files) => {
            findings.rendered = files.len();
            for m in &archetype.manifest.migrations {
                if let crate::scaffold::model::Action::Delete(path) = &m.action
                    && let Some(f) = files
                        .iter()
                        .find(|f| super::update::migrate::is_under(&f.path.to_string(), path))
                {
                    findings.errors.push(format!(
                        "[[migrations]] {} deletes `{path}`, but this version renders {}: a delete migration is for paths no longer generated",
                        m.version, f.path
                    ));
                }
            }
        }
        Err(e) => findings
            .errors
            .push(format!("rendering with the defaults: {e}")),
    }
}
