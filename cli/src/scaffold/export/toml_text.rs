//! The text of an exported `cargo-generate.toml`, written by hand so placeholders keep the
//! archetype's prompt order (cargo-generate asks in file order) and the approval record stays
//! readable at the top. Every value goes through the `toml` crate's quoting.
//!
//! Not responsible for deciding what goes in (`export.rs`).

use std::collections::BTreeMap;

use super::range::integer_regex;
use crate::scaffold::model::{Rule, Variable};
use crate::scaffold::source::Archetype;

/// The approval record kept in the template (from the catalog index entry).
#[derive(Debug, Clone)]
pub(crate) struct Approval {
    /// `approved`, `experimental` or `deprecated`.
    pub(crate) status: String,
    /// Who approved it.
    pub(crate) approver: String,
    /// When.
    pub(crate) date: String,
    /// The content digest of the archetype version.
    pub(crate) digest: String,
    /// The catalog it was published in (`built-in` for this binary's archetypes).
    pub(crate) catalog: String,
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The whole `cargo-generate.toml`.
pub(crate) fn config(
    archetype: &Archetype,
    approval: &Approval,
    dependency: &str,
    exclude: &[String],
    conditional: &BTreeMap<String, Vec<String>>,
) -> String {
    let m = &archetype.manifest;
    let mut out = format!(
        "# cargo-generate template of the Stepstone archetype {name} {version}, written by\n\
         # `stepstone archetypes export {name}@{version} --format cargo-generate`. Do not edit: export again.\n\
         # Use: cargo generate --path THIS_FOLDER --name NAME [--define VARIABLE=VALUE ...]\n\
         # The same answers give the same files as `stepstone new NAME --archetype {name}@{version}`.\n\n\
         [template]\n\
         cargo_generate_version = \">=0.23\"\n\
         # Files copied byte for byte (not Liquid templates in the archetype).\n\
         exclude = {exclude}\n\
         # Keep the files exactly as the archetype writes them (no rustfmt pass).\n\
         fmt = false\n\n",
        name = m.name,
        version = m.version,
        exclude = list(exclude),
    );
    out.push_str(
        "# The approval record of this archetype version (cargo-generate ignores this table).\n",
    );
    out.push_str("[stepstone]\n");
    for (key, value) in [
        ("archetype", m.name.as_str()),
        ("version", m.version.as_str()),
        ("status", approval.status.as_str()),
        ("approver", approval.approver.as_str()),
        ("date", approval.date.as_str()),
        ("digest", approval.digest.as_str()),
        ("catalog", approval.catalog.as_str()),
    ] {
        out.push_str(&format!("{key} = {}\n", quote(value)));
    }
    if !m.derived.is_empty() {
        out.push_str("\n# Derived values (Tera, as in archetype.toml); each file that uses one captures it.\n");
        out.push_str("[stepstone.derived]\n");
        for (name, template) in &m.derived {
            out.push_str(&format!("{name} = {}\n", quote(template)));
        }
    }
    out.push_str(&format!(
        "\n[placeholders.stepstone_dependency]\n\
         type = \"string\"\n\
         prompt = \"The stepstone runtime dependency (the TOML value after `stepstone = ` in Cargo.toml)\"\n\
         default = {}\n",
        quote(dependency)
    ));
    for variable in &m.variables {
        out.push_str(&placeholder(variable));
    }
    for (condition, ignore) in conditional {
        out.push_str(&format!(
            "\n# [[files]]: generated only when the condition holds.\n[conditional.{}]\nignore = {}\n",
            quote(condition),
            list(ignore)
        ));
    }
    out
}

fn placeholder(v: &Variable) -> String {
    let prompt = if v.help.is_empty() {
        v.name.clone()
    } else {
        v.help.clone()
    };
    let (kind, prompt, extra) = match &v.rule {
        Rule::Bool => ("bool", prompt, String::new()),
        Rule::String { regex } => (
            "string",
            prompt,
            regex
                .as_ref()
                .map(|r| format!("regex = {}\n", quote(r.as_str())))
                .unwrap_or_default(),
        ),
        Rule::Choice { choices } => ("string", prompt, format!("choices = {}\n", list(choices))),
        Rule::Integer { min, max } => (
            "string",
            format!("{prompt} ({})", v.rule.describe()),
            format!("regex = {}\n", quote(&integer_regex(*min, *max))),
        ),
    };
    let default = match (&v.default, &v.rule) {
        (Some(answer), Rule::Bool) => format!("default = {}\n", answer.to_text()),
        (Some(answer), _) => format!("default = {}\n", quote(&answer.to_text())),
        (None, _) => String::new(),
    };
    format!(
        "\n[placeholders.{}]\ntype = \"{kind}\"\nprompt = {}\n{default}{extra}",
        v.name,
        quote(&prompt)
    )
}
