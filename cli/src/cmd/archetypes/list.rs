//! `stepstone archetypes list`: every version of every catalog with its status, approver, date
//! and description (read from the verified content, so a tampered version shows as refused),
//! then the `--archetype-path` folders; the built-in catalog last.

use serde::Serialize;

use crate::args::{CatalogArgs, SourceArgs};
use crate::catalog::{BUILTIN, Catalog, Catalogs};
use crate::output;
use crate::scaffold::source;

#[derive(Serialize)]
struct Row {
    name: String,
    version: String,
    status: &'static str,
    /// The catalog (or folder) it comes from.
    source: String,
    approver: String,
    date: String,
    digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// A version's description, read from its verified content; a version whose content is
/// refused says so.
fn describe(catalog: &Catalog, entry: &crate::catalog::index::Entry) -> String {
    match catalog.load(entry) {
        Ok(archetype) => archetype.manifest.description,
        Err(_) => format!(
            "(content refused: see `stepstone archetypes show {}@{} --catalog {}`)",
            entry.name, entry.version, catalog.label
        ),
    }
}

fn catalog_rows(catalog: &Catalog, descriptions: &[source::Archetype]) -> Vec<Row> {
    let mut entries: Vec<_> = catalog.index.entries.iter().collect();
    entries.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    entries
        .into_iter()
        .map(|e| Row {
            name: e.name.clone(),
            version: e.version.to_string(),
            status: e.status.as_str(),
            source: catalog.label.clone(),
            approver: e.approver.clone(),
            date: e.date.clone(),
            digest: e.digest.clone(),
            description: Some(
                descriptions
                    .iter()
                    .find(|a| a.manifest.name == e.name)
                    .map_or_else(|| describe(catalog, e), |a| a.manifest.description.clone()),
            ),
        })
        .collect()
}

/// Run `archetypes list`.
pub(super) fn execute(
    sources: &SourceArgs,
    catalogs: &CatalogArgs,
    json: bool,
) -> anyhow::Result<()> {
    let catalogs = Catalogs::open(&catalogs.catalogs)?;
    let builtin = source::builtin()?;
    let mut rows = Vec::new();
    let (given, default): (Vec<_>, Vec<_>) = catalogs.list.iter().partition(|c| c.label != BUILTIN);
    for catalog in given {
        rows.extend(catalog_rows(catalog, &[]));
    }
    let folders = source::ArchetypePaths::discover(&sources.archetype_paths)?;
    for a in folders.visible() {
        let m = &a.manifest;
        rows.push(Row {
            name: m.name.clone(),
            version: m.version.clone(),
            status: m.status.as_str(),
            source: a.origin.to_string(),
            approver: String::new(),
            date: String::new(),
            digest: crate::catalog::digest::of(a),
            description: Some(m.description.clone()),
        });
    }
    for catalog in default {
        rows.extend(catalog_rows(catalog, &builtin));
    }
    if json {
        return output::json(&rows);
    }
    let mut table = vec![
        [
            "NAME",
            "VERSION",
            "STATUS",
            "SOURCE",
            "APPROVER",
            "DATE",
            "DESCRIPTION",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in rows {
        table.push(vec![
            r.name,
            r.version,
            r.status.into(),
            r.source,
            r.approver,
            r.date,
            r.description.unwrap_or_default(),
        ]);
    }
    print!("{}", output::table(&table));
    Ok(())
}
