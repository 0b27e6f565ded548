//! A folder catalog: `catalog.toml` at the root and each published version's archetype folder
//! at `NAME/VERSION/`.
//!
//! Responsible for reading a version without following a symlink or leaving the catalog, and
//! for publishing: a new version is staged in a temporary folder inside the catalog and renamed
//! into place, then the index is replaced by a rename, so a failure leaves the catalog as it was.
//! Not responsible for the index grammar (`index.rs`) or the digest check (`mod.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::index::{INDEX, Index};
use crate::scaffold::safety::{OutputFile, write_project};
use crate::scaffold::source::Archetype;

/// A catalog that is a plain folder.
#[derive(Debug, Clone)]
pub(crate) struct FolderCatalog {
    /// The catalog folder.
    pub(crate) root: PathBuf,
}

/// Refuse `path` if it is a symlink or not a folder.
fn real_folder(path: &Path, what: &str) -> anyhow::Result<()> {
    let meta = fs::symlink_metadata(path)
        .with_context(|| format!("catalog {what} {} cannot be read", path.display()))?;
    if meta.file_type().is_symlink() {
        bail!(
            "catalog {what} {} is a symlink: catalogs may not contain symlinks (they could lead outside the catalog); replace it with the real folder",
            path.display()
        );
    }
    if !meta.is_dir() {
        bail!("catalog {what} {} is not a folder", path.display());
    }
    Ok(())
}

impl FolderCatalog {
    /// Whether `root` looks like a folder catalog (it has an index).
    pub(crate) fn is_catalog(root: &Path) -> bool {
        root.join(INDEX).is_file()
    }

    /// Read and validate the index.
    pub(crate) fn read_index(&self) -> anyhow::Result<Index> {
        real_folder(&self.root, "folder")?;
        let path = self.root.join(INDEX);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            bail!("catalog index {} is a symlink; refused", path.display());
        }
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a catalog: its index {} cannot be read (publish into it with `stepstone archetypes publish DIR --catalog {}`)",
                self.root.display(),
                path.display(),
                self.root.display()
            )
        })?;
        Index::parse(&text, &path.display().to_string())
    }

    fn version_dir(&self, name: &str, version: &semver::Version) -> PathBuf {
        self.root.join(name).join(version.to_string())
    }

    /// Read the content of `name` at `version`.
    pub(crate) fn read_version(
        &self,
        name: &str,
        version: &semver::Version,
    ) -> anyhow::Result<Archetype> {
        real_folder(&self.root.join(name), "folder")?;
        let dir = self.version_dir(name, version);
        real_folder(&dir, "version folder")?;
        Ok(Archetype::from_folder(&dir)?)
    }

    /// Add `archetype`'s content as `name`/`version` (and `template`, when not empty, as
    /// `cargo-generate/name/version/`) and replace the index with `index`.
    pub(crate) fn publish(
        &self,
        archetype: &Archetype,
        index: &Index,
        template: &[OutputFile],
    ) -> anyhow::Result<()> {
        let m = &archetype.manifest;
        let version = semver::Version::parse(&m.version)?;
        fs::create_dir_all(&self.root)
            .with_context(|| format!("creating catalog folder {}", self.root.display()))?;
        real_folder(&self.root, "folder")?;
        let name_dir = self.root.join(&m.name);
        if name_dir.exists() || fs::symlink_metadata(&name_dir).is_ok() {
            real_folder(&name_dir, "folder")?;
        }
        let dest = self.version_dir(&m.name, &version);
        if fs::symlink_metadata(&dest).is_ok() {
            bail!(
                "{} already exists but the index does not list {} {version}; remove it or publish a higher version",
                dest.display(),
                m.name
            );
        }
        if !template.is_empty() {
            let folder = self.root.join(super::TEMPLATES).join(&m.name);
            fs::create_dir_all(&folder)
                .with_context(|| format!("creating {}", folder.display()))?;
            real_folder(&folder, "template folder")?;
            write_project(&folder.join(version.to_string()), template, false)?;
        }
        let staging = tempfile::Builder::new()
            .prefix(".stepstone-publish-")
            .tempdir_in(&self.root)
            .with_context(|| format!("creating a staging folder in {}", self.root.display()))?;
        super::write_version(archetype, staging.path())?;
        fs::create_dir_all(&name_dir)
            .with_context(|| format!("creating {}", name_dir.display()))?;
        let staged = staging.keep();
        fs::rename(&staged, &dest).map_err(|e| {
            let _ = fs::remove_dir_all(&staged);
            anyhow::anyhow!("moving the new version into {}: {e}", dest.display())
        })?;
        self.write_index(index)
    }

    /// Replace the index (write a temporary file, rename it over the old one).
    pub(crate) fn write_index(&self, index: &Index) -> anyhow::Result<()> {
        let text = index.to_text()?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.root)
            .with_context(|| format!("writing the index in {}", self.root.display()))?;
        std::io::Write::write_all(&mut temp, text.as_bytes())?;
        temp.as_file().sync_all()?;
        let path = self.root.join(INDEX);
        temp.persist(&path)
            .map_err(|e| anyhow::anyhow!("replacing {}: {}", path.display(), e.error))?;
        Ok(())
    }
}
