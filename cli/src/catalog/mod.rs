//! Catalogs: where published archetype versions live, with their approval status and digest.
//!
//! A catalog is a folder (`folder.rs`) or a git repository (`git.rs`); the archetypes built
//! into the binary form the default catalog, always searched last. `--catalog C` (repeatable) and
//! `STEPSTONE_ARCHETYPES` (`,`-separated) name catalogs; the first that has an archetype of the
//! requested name wins. Responsible for resolving `NAME[@VERSION]` to verified content: the
//! digest must match the index, `deprecated` is refused, `experimental` needs
//! `--allow-unapproved` (`lookup.rs`). Not responsible for rendering (`scaffold/`).

pub(crate) mod digest;
pub(crate) mod folder;
pub(crate) mod git;
pub(crate) mod index;
mod lookup;

use anyhow::{Context as _, bail};
use semver::Version;

use crate::scaffold::model::Status;
use crate::scaffold::safety::OutputFile;
use crate::scaffold::source::{self, Archetype, Origin};
use folder::FolderCatalog;
use git::GitCatalog;
use index::{Entry, Index};
pub(crate) use lookup::{Catalogs, Request, Resolved};

/// Where a catalog's content is read from.
#[derive(Debug, Clone)]
enum Store {
    Folder(FolderCatalog),
    Git(GitCatalog),
    Builtin(Vec<Archetype>),
}

/// One opened catalog: its index and how to read a version.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    /// What the user named (`built-in` for the default catalog).
    pub(crate) label: String,
    /// The validated index.
    pub(crate) index: Index,
    store: Store,
}

/// The label of the default catalog.
pub(crate) const BUILTIN: &str = "built-in";

/// The folder of a catalog that holds versions exported as cargo-generate templates.
pub(crate) const TEMPLATES: &str = "cargo-generate";

impl Catalog {
    /// Open the catalog `spec` (a folder, a git repository path or a git URL) and read its index.
    pub(crate) fn open(spec: &str) -> anyhow::Result<Self> {
        if spec == BUILTIN {
            return Self::builtin();
        }
        let absolute = absolute_label(spec);
        let spec = absolute.as_str();
        let store = if git::is_git(spec) {
            Store::Git(GitCatalog::open(spec)?)
        } else {
            let root = std::path::PathBuf::from(spec);
            if !root.exists() {
                bail!("catalog {spec} does not exist (a folder or git repository was expected)");
            }
            Store::Folder(FolderCatalog { root })
        };
        let index = match &store {
            Store::Folder(f) => f.read_index()?,
            Store::Git(g) => g.read_index()?,
            Store::Builtin(_) => Index::new(),
        };
        Ok(Catalog {
            label: spec.to_string(),
            index,
            store,
        })
    }

    /// Open `spec` for publishing: a folder that does not exist yet (or is empty) becomes an
    /// empty catalog.
    pub(crate) fn open_for_publish(spec: &str) -> anyhow::Result<Self> {
        let absolute = absolute_label(spec);
        let spec = absolute.as_str();
        let path = std::path::Path::new(spec);
        let fresh = !git::is_git(spec)
            && (!path.exists() || std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none()));
        if fresh {
            return Ok(Catalog {
                label: spec.to_string(),
                index: Index::new(),
                store: Store::Folder(FolderCatalog {
                    root: path.to_path_buf(),
                }),
            });
        }
        if git::is_git(spec) {
            let repo = GitCatalog::open(spec)?;
            let index = if repo.has_index() {
                repo.read_index()?
            } else {
                Index::new()
            };
            return Ok(Catalog {
                label: spec.to_string(),
                index,
                store: Store::Git(repo),
            });
        }
        if !FolderCatalog::is_catalog(path) {
            bail!(
                "{spec} is a non-empty folder without {}: not a catalog; give an empty or new folder, or a git repository",
                index::INDEX
            );
        }
        Self::open(spec)
    }

    /// The default catalog: the archetypes compiled into this binary, one version each.
    pub(crate) fn builtin() -> anyhow::Result<Self> {
        let archetypes = source::builtin()?;
        let mut index = Index::new();
        for a in &archetypes {
            let version = Version::parse(&a.manifest.version).with_context(|| {
                format!(
                    "built-in archetype {}: version is not semver",
                    a.manifest.name
                )
            })?;
            index.entries.push(Entry {
                name: a.manifest.name.clone(),
                version,
                status: a.manifest.status,
                approver: a.manifest.owner.clone(),
                date: "built in".into(),
                digest: digest::of(a),
            });
        }
        Ok(Catalog {
            label: BUILTIN.into(),
            index,
            store: Store::Builtin(archetypes),
        })
    }

    /// The content of `entry`, its digest verified, its status taken from the index.
    pub(crate) fn load(&self, entry: &Entry) -> anyhow::Result<Archetype> {
        let mut archetype = match &self.store {
            Store::Folder(f) => f.read_version(&entry.name, &entry.version)?,
            Store::Git(g) => g.read_version(&entry.name, &entry.version)?,
            Store::Builtin(all) => all
                .iter()
                .find(|a| a.manifest.name == entry.name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("built-in archetype {} vanished", entry.name))?,
        };
        let at = format!("{} {} in catalog {}", entry.name, entry.version, self.label);
        if archetype.manifest.name != entry.name
            || archetype.manifest.version != entry.version.to_string()
        {
            bail!(
                "{at}: its archetype.toml says {} {}; the catalog is inconsistent, refused",
                archetype.manifest.name,
                archetype.manifest.version
            );
        }
        let actual = digest::of(&archetype);
        if actual != entry.digest {
            bail!(
                "{at}: content digest {actual} does not match the approved {}: the content was changed after publishing (tampering?); refused. Re-publish it as a new version",
                entry.digest
            );
        }
        archetype.manifest.status = entry.status;
        archetype.origin = Origin::Catalog(self.label.clone());
        Ok(archetype)
    }

    /// Publish `archetype` with `status` and `approver`: its version must be greater than the
    /// catalog's latest of that name. `template` makes the files of a template to store beside
    /// the version (under `TEMPLATES/NAME/`, see `folder.rs` and `git.rs`), or none.
    pub(crate) fn publish(
        &mut self,
        archetype: &Archetype,
        status: Status,
        approver: &str,
        template: &dyn Fn(&Entry) -> anyhow::Result<Vec<OutputFile>>,
    ) -> anyhow::Result<Entry> {
        let m = &archetype.manifest;
        let version = Version::parse(&m.version).with_context(|| {
            format!(
                "archetype {}: version `{}` is not semver",
                m.name, m.version
            )
        })?;
        if approver.trim().is_empty() {
            bail!("--approver must name who approved this version");
        }
        if let Some(latest) = self.index.latest(&m.name)
            && latest.version >= version
        {
            bail!(
                "{} {version} is not greater than the catalog's latest {} {}: bump `version` in archetype.toml",
                m.name,
                latest.name,
                latest.version
            );
        }
        let entry = Entry {
            name: m.name.clone(),
            version,
            status,
            approver: approver.to_string(),
            date: index::now(),
            digest: digest::of(archetype),
        };
        let files = template(&entry)?;
        if !files.is_empty() && m.name == TEMPLATES {
            bail!(
                "an archetype named `{TEMPLATES}` would share its folder with the exported templates; publish it under another name"
            );
        }
        let mut index = self.index.clone();
        index.entries.push(entry.clone());
        match &self.store {
            Store::Folder(f) => f.publish(archetype, &index, &files)?,
            Store::Git(g) => g.publish(archetype, &index, &files)?,
            Store::Builtin(_) => bail!("the built-in catalog is read-only"),
        }
        self.index = index;
        Ok(entry)
    }

    /// Set the status of `name`@`version` (deprecate).
    pub(crate) fn set_status(
        &mut self,
        name: &str,
        version: &Version,
        status: Status,
    ) -> anyhow::Result<()> {
        let mut index = self.index.clone();
        let Some(entry) = index
            .entries
            .iter_mut()
            .find(|e| e.name == name && &e.version == version)
        else {
            bail!(
                "catalog {} has no {name} {version}; it has: {}",
                self.label,
                versions_text(&self.index, name)
            );
        };
        entry.status = status;
        match &self.store {
            Store::Folder(f) => f.write_index(&index)?,
            Store::Git(g) => g.commit_index(
                &index,
                &[],
                &format!("{name} {version}: {}", status.as_str()),
            )?,
            Store::Builtin(_) => bail!("the built-in catalog is read-only"),
        }
        self.index = index;
        Ok(())
    }
}

/// A local path made absolute (so a project's record names it from anywhere); URLs as given.
fn absolute_label(spec: &str) -> String {
    if spec.contains("://") || spec.starts_with("git@") {
        return spec.to_string();
    }
    std::path::absolute(spec)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| spec.to_string())
}

/// `1.0.0 (approved), 1.1.0 (experimental)`, or `none`.
/// Write an archetype version's files (and its manifest) under `folder`, as it is published.
pub(crate) fn write_version(archetype: &Archetype, folder: &std::path::Path) -> anyhow::Result<()> {
    let manifest = (source::MANIFEST, archetype.manifest_text.as_bytes());
    let files = archetype
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.contents.as_slice()))
        .chain(std::iter::once(manifest));
    for (path, bytes) in files {
        let target = folder.join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

pub(crate) fn versions_text(index: &Index, name: &str) -> String {
    let list: Vec<String> = index
        .versions(name)
        .iter()
        .map(|e| format!("{} ({})", e.version, e.status.as_str()))
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
