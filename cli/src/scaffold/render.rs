//! Rendering an archetype in memory: Tera 2 for `*.tera` files and templated names, bytes for
//! everything else.
//!
//! Responsible for the context (built-ins, answers, derived values), conditional files, strict
//! rendering (an undefined variable is an error with file:line; Tera 2 has no `get_env` and no
//! function that reads the environment or runs commands, and none is registered), and for
//! checking every output path. Not responsible for writing (`safety.rs`).

use std::collections::BTreeSet;

use tera::{Context, Tera};

use super::ScaffoldError;
use super::answers::Answers;
use super::safety::{OutputFile, RelPath};
use super::source::Archetype;

/// The suffix of files that are rendered.
pub(crate) const TEMPLATE_SUFFIX: &str = ".tera";

/// Where a generated project records its archetype and answers.
pub(crate) const RECORD_PATH: &str = ".stepstone/archetype.toml";

/// Values every archetype can use without declaring them.
#[derive(Debug, Clone)]
pub(crate) struct Builtins {
    /// `project_name`: the NAME given to `stepstone new`.
    pub(crate) project_name: String,
    /// `stepstone_dependency`: the TOML value after `stepstone = ` in Cargo.toml.
    pub(crate) stepstone_dependency: String,
}

fn tera_error(file: &str, error: &tera::Error) -> ScaffoldError {
    ScaffoldError::Template {
        file: file.to_string(),
        report: error.to_string(),
    }
}

fn strict_tera() -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    tera
}

/// Render a one-off template (a derived value, a condition, a path) against `context`.
pub(crate) fn render_snippet(
    label: &str,
    template: &str,
    context: &Context,
) -> Result<String, ScaffoldError> {
    let mut tera = strict_tera();
    tera.add_raw_template(label, template)
        .map_err(|e| tera_error(label, &e))?;
    tera.render(label, context)
        .map_err(|e| tera_error(label, &e))
}

/// The rendering context: built-ins, then answers, then derived values (which may use both).
pub(crate) fn context(
    archetype: &Archetype,
    answers: &Answers,
    builtins: &Builtins,
) -> Result<Context, ScaffoldError> {
    let mut context = Context::new();
    context.insert("project_name", &builtins.project_name);
    context.insert("stepstone_dependency", &builtins.stepstone_dependency);
    context.insert("archetype_name", &archetype.manifest.name);
    context.insert("archetype_version", &archetype.manifest.version);
    for (name, answer) in answers {
        context.insert(name.clone(), answer);
    }
    let base = context.clone();
    for (name, template) in &archetype.manifest.derived {
        let label = format!("archetype.toml [derived] {name}");
        let value = render_snippet(&label, template, &base)?;
        context.insert(name.clone(), &value);
    }
    Ok(context)
}

/// Whether the archetype file `source` is generated, given the manifest's `[[files]]` rules.
fn included(archetype: &Archetype, source: &str, context: &Context) -> Result<bool, ScaffoldError> {
    for rule in archetype.manifest.files.iter().filter(|r| r.covers(source)) {
        let label = format!("archetype.toml [[files]] path = \"{}\"", rule.path);
        let test = format!("{{% if {} %}}true{{% endif %}}", rule.when);
        if render_snippet(&label, &test, context)? != "true" {
            return Ok(false);
        }
    }
    Ok(true)
}

fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The output path of archetype file `source`: `.tera` dropped, variables rendered, checked.
fn output_path(source: &str, context: &Context) -> Result<RelPath, ScaffoldError> {
    let plain = source.strip_suffix(TEMPLATE_SUFFIX).unwrap_or(source);
    let rendered = if is_templated(plain) {
        render_snippet(&format!("{source} (file name)"), plain, context)?
    } else {
        plain.to_string()
    };
    RelPath::parse(&rendered).map_err(|e| ScaffoldError::UnsafePath {
        path: format!("{source} (renders to {rendered:?})"),
        reason: e.to_string(),
    })
}

/// All `.tera` files of the archetype, parsed together (so `{% include %}` works between them).
pub(crate) fn templates(archetype: &Archetype) -> Result<Tera, ScaffoldError> {
    let mut tera = strict_tera();
    let mut sources = Vec::new();
    for file in archetype
        .files
        .iter()
        .filter(|f| f.path.ends_with(TEMPLATE_SUFFIX))
    {
        let text = std::str::from_utf8(&file.contents).map_err(|e| ScaffoldError::Template {
            file: file.path.clone(),
            report: format!(
                "a {TEMPLATE_SUFFIX} file must be UTF-8 ({e}); drop the suffix to copy it as bytes"
            ),
        })?;
        sources.push((file.path.as_str(), text));
    }
    tera.add_raw_templates(sources)
        .map_err(|e| tera_error("templates", &e))?;
    Ok(tera)
}

/// Render every included file of `archetype`. Output paths are unique and safe.
pub(crate) fn render(
    archetype: &Archetype,
    context: &Context,
) -> Result<Vec<OutputFile>, ScaffoldError> {
    let tera = templates(archetype)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for file in &archetype.files {
        if !included(archetype, &file.path, context)? {
            continue;
        }
        let path = output_path(&file.path, context)?;
        if path.to_string() == RECORD_PATH || !seen.insert(path.clone()) {
            return Err(ScaffoldError::UnsafePath {
                path: file.path.clone(),
                reason: format!(
                    "renders to `{path}`, which another file (or stepstone's record) already produces"
                ),
            });
        }
        let contents = if file.path.ends_with(TEMPLATE_SUFFIX) {
            tera.render(&file.path, context)
                .map_err(|e| tera_error(&file.path, &e))?
                .into_bytes()
        } else {
            file.contents.clone()
        };
        out.push(OutputFile { path, contents });
    }
    Ok(out)
}

/// `.stepstone/archetype.toml`: which archetype (name, version, digest, catalog) made the
/// project, with which answers. Its `[answers]` table is a valid `--answers` file.
pub(crate) fn record(
    archetype: &Archetype,
    answers: &Answers,
    builtins: &Builtins,
) -> Result<OutputFile, ScaffoldError> {
    let mut header = toml::Table::new();
    header.insert(
        "name".into(),
        toml::Value::String(archetype.manifest.name.clone()),
    );
    header.insert(
        "version".into(),
        toml::Value::String(archetype.manifest.version.clone()),
    );
    header.insert(
        "digest".into(),
        toml::Value::String(crate::catalog::digest::of(archetype)),
    );
    match &archetype.origin {
        super::source::Origin::Catalog(catalog) => {
            header.insert("catalog".into(), toml::Value::String(catalog.clone()));
        }
        super::source::Origin::Folder(folder) => {
            let folder = folder.display().to_string();
            header.insert("folder".into(), toml::Value::String(folder));
        }
        super::source::Origin::Embedded => {}
    }
    let mut project = toml::Table::new();
    project.insert(
        "name".into(),
        toml::Value::String(builtins.project_name.clone()),
    );
    project.insert(
        "stepstone_dependency".into(),
        toml::Value::String(builtins.stepstone_dependency.clone()),
    );
    let answers: toml::Table = answers
        .iter()
        .map(|(k, v)| (k.clone(), v.to_toml()))
        .collect();
    let section = |name: &str, table: &toml::Table| {
        toml::to_string(table)
            .map(|body| format!("[{name}]\n{body}"))
            .map_err(|e| ScaffoldError::Template {
                file: RECORD_PATH.into(),
                report: e.to_string(),
            })
    };
    let text = format!(
        "# Written by `stepstone new`: the archetype this project was made from, and the answers.\n\
         # `stepstone update` and `stepstone check` start from it; replay with:\n\
         # stepstone new NAME --archetype {}@{} --answers .stepstone/archetype.toml\n\n{}\n{}\n{}",
        archetype.manifest.name,
        archetype.manifest.version,
        section("archetype", &header)?,
        section("project", &project)?,
        section("answers", &answers)?,
    );
    let path = RelPath::parse(RECORD_PATH).map_err(|e| ScaffoldError::UnsafePath {
        path: RECORD_PATH.into(),
        reason: e.to_string(),
    })?;
    Ok(OutputFile {
        path,
        contents: text.into_bytes(),
    })
}
