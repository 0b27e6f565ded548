//! Looking archetypes up across catalogs: `NAME[@VERSION]` → the first catalog that has the
//! name → the version (latest approved when none is given) → verified content, under the status
//! rules (`deprecated` refused, `experimental` only with `--allow-unapproved`).

use anyhow::{Context as _, bail};
use semver::Version;

use super::index::Entry;
use super::{BUILTIN, Catalog, versions_text};
use crate::scaffold::model::Status;
use crate::scaffold::source::Archetype;

/// `NAME` or `NAME@VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// Archetype name.
    pub(crate) name: String,
    /// The version asked for; `None` = latest approved.
    pub(crate) version: Option<Version>,
}

impl Request {
    /// Parse `NAME[@VERSION]`.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let (name, version) = match text.split_once('@') {
            Some((name, v)) => {
                let v = v.strip_prefix('v').unwrap_or(v);
                let version = Version::parse(v)
                    .with_context(|| format!("`{text}`: `{v}` is not a version like 1.2.0"))?;
                (name, Some(version))
            }
            None => (text, None),
        };
        Ok(Request {
            name: name.to_string(),
            version,
        })
    }
}

/// The catalogs in lookup order, the built-in one last.
#[derive(Debug, Clone)]
pub(crate) struct Catalogs {
    /// Opened catalogs.
    pub(crate) list: Vec<Catalog>,
}

/// A resolved archetype version.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The verified content.
    pub(crate) archetype: Archetype,
    /// Its index entry.
    pub(crate) entry: Entry,
    /// The catalog it came from.
    pub(crate) catalog: String,
}

impl Catalogs {
    /// Open `specs` (empty entries skipped) and the built-in catalog.
    pub(crate) fn open(specs: &[String]) -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for spec in specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            if spec != BUILTIN {
                list.push(Catalog::open(spec)?);
            }
        }
        list.push(Catalog::builtin()?);
        Ok(Catalogs { list })
    }

    /// The first catalog that has any version of `name`.
    pub(crate) fn catalog_of(&self, name: &str) -> Option<&Catalog> {
        self.list
            .iter()
            .find(|c| !c.index.versions(name).is_empty())
    }

    /// Every archetype name, for "not found" messages.
    pub(crate) fn names(&self) -> String {
        let names: std::collections::BTreeSet<&str> = self
            .list
            .iter()
            .flat_map(|c| c.index.entries.iter().map(|e| e.name.as_str()))
            .collect();
        names.into_iter().collect::<Vec<_>>().join(", ")
    }

    /// The index entry `request` names (no status check).
    pub(crate) fn entry(&self, request: &Request) -> anyhow::Result<(&Catalog, Entry)> {
        let name = &request.name;
        let Some(catalog) = self.catalog_of(name) else {
            bail!(
                "no archetype named `{name}` in any catalog; known: {} (see `stepstone archetypes list`)",
                self.names()
            );
        };
        let entry = match &request.version {
            Some(v) => catalog.index.find(name, v),
            None => catalog.index.latest_approved(name),
        };
        match entry {
            Some(e) => Ok((catalog, e.clone())),
            None => bail!(
                "catalog {} has no {}{name}{}; its versions: {}",
                catalog.label,
                if request.version.is_none() {
                    "approved version of "
                } else {
                    ""
                },
                request
                    .version
                    .as_ref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default(),
                versions_text(&catalog.index, name)
            ),
        }
    }

    /// Resolve `request` for use in a project: status rules applied, digest verified.
    pub(crate) fn resolve(
        &self,
        request: &Request,
        allow_unapproved: bool,
    ) -> anyhow::Result<Resolved> {
        let (catalog, entry) = self.entry(request)?;
        let at = format!(
            "{} {} in catalog {}",
            entry.name, entry.version, catalog.label
        );
        match entry.status {
            Status::Approved => {}
            Status::Deprecated => bail!(
                "{at} is deprecated and may not be used; pick another version (`stepstone archetypes list`)"
            ),
            Status::Experimental if !allow_unapproved => bail!(
                "{at} is experimental (not approved by the architecture team); pass --allow-unapproved to use it anyway"
            ),
            Status::Experimental => {}
        }
        let archetype = catalog.load(&entry)?;
        Ok(Resolved {
            archetype,
            catalog: catalog.label.clone(),
            entry,
        })
    }
}
