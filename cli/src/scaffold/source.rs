//! Where archetypes come from: the ones compiled into the binary from `templates/`, and folders
//! given with `--archetype-path` / `STEPSTONE_ARCHETYPE_PATH`.
//!
//! Responsible for reading an archetype's files into memory without following or copying a
//! symlink and without reading outside the archetype folder, and for the lookup order (folders
//! first, then built-in). Not responsible for validating the manifest (`model.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use include_dir::{Dir, DirEntry, include_dir};

use super::ScaffoldError;
use super::model::Manifest;
use super::safety::RelPath;

/// The manifest's file name inside an archetype folder.
pub(crate) const MANIFEST: &str = "archetype.toml";

/// The archetype chosen when none is named.
pub(crate) const DEFAULT_ARCHETYPE: &str = "batch-etl";

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// An archetype in memory.
#[derive(Debug, Clone)]
pub(crate) struct Archetype {
    /// The validated manifest.
    pub(crate) manifest: Manifest,
    /// The manifest's text as read (part of the content digest).
    pub(crate) manifest_text: String,
    /// Every file but the manifest, sorted by path.
    pub(crate) files: Vec<SourceFile>,
    /// Where it was read from.
    pub(crate) origin: Origin,
}

/// One file of an archetype.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// `/`-separated path relative to the archetype folder (checked with [`RelPath`]).
    pub(crate) path: String,
    /// The bytes.
    pub(crate) contents: Vec<u8>,
}

/// Where an archetype was read from.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// Compiled into this binary.
    Embedded,
    /// A folder on disk.
    Folder(PathBuf),
    /// A published version in a catalog (folder or git repository), digest verified.
    Catalog(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Embedded => f.write_str("built-in"),
            Origin::Folder(p) => write!(f, "{}", p.display()),
            Origin::Catalog(c) => f.write_str(c),
        }
    }
}

impl Archetype {
    /// Build from a manifest text and files already read (and checked with [`RelPath`]).
    pub(crate) fn assemble(
        manifest_text: &str,
        manifest_label: &str,
        mut files: Vec<SourceFile>,
        origin: Origin,
    ) -> Result<Self, ScaffoldError> {
        let manifest = Manifest::parse(manifest_text, manifest_label)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Archetype {
            manifest,
            manifest_text: manifest_text.to_string(),
            files,
            origin,
        })
    }

    /// Read the archetype folder `dir`.
    pub(crate) fn from_folder(dir: &Path) -> Result<Self, ScaffoldError> {
        let manifest_path = dir.join(MANIFEST);
        let label = manifest_path.display().to_string();
        let meta = fs::symlink_metadata(&manifest_path).map_err(|source| ScaffoldError::Io {
            path: label.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(ScaffoldError::Symlink { path: label });
        }
        let text = fs::read_to_string(&manifest_path).map_err(|source| ScaffoldError::Io {
            path: label.clone(),
            source,
        })?;
        let mut files = Vec::new();
        walk(dir, "", &mut files)?;
        files.retain(|f| f.path != MANIFEST);
        Self::assemble(&text, &label, files, Origin::Folder(dir.to_path_buf()))
    }

    fn from_embedded(dir: &Dir<'static>) -> Result<Self, ScaffoldError> {
        let root = dir.path();
        let mut files = Vec::new();
        let mut manifest = None;
        let mut stack: Vec<&Dir<'static>> = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in d.entries() {
                match entry {
                    DirEntry::Dir(sub) => stack.push(sub),
                    DirEntry::File(file) => {
                        let rel = file.path().strip_prefix(root).unwrap_or(file.path());
                        let path = rel.to_string_lossy().replace('\\', "/");
                        if path == MANIFEST {
                            let text = std::str::from_utf8(file.contents()).map_err(|e| {
                                ScaffoldError::Manifest {
                                    file: format!("templates/{}/{MANIFEST}", root.display()),
                                    line: None,
                                    message: format!("not UTF-8: {e}"),
                                }
                            })?;
                            manifest = Some(text.to_string());
                        } else {
                            files.push(SourceFile {
                                path,
                                contents: file.contents().to_vec(),
                            });
                        }
                    }
                }
            }
        }
        let label = format!("templates/{}/{MANIFEST} (built in)", root.display());
        let text = manifest.ok_or_else(|| ScaffoldError::Manifest {
            file: label.clone(),
            line: None,
            message: "missing".into(),
        })?;
        Self::assemble(&text, &label, files, Origin::Embedded)
    }
}

/// Collect the regular files below `dir`; a symlink anywhere is an error (never followed).
fn walk(dir: &Path, prefix: &str, out: &mut Vec<SourceFile>) -> Result<(), ScaffoldError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ScaffoldError::Io { path, source }
    };
    let mut entries = fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|raw| ScaffoldError::UnsafePath {
                path: path.display().to_string(),
                reason: format!("the name {raw:?} is not UTF-8"),
            })?;
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        RelPath::parse(&rel).map_err(|e| ScaffoldError::UnsafePath {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_symlink() {
            return Err(ScaffoldError::Symlink {
                path: path.display().to_string(),
            });
        } else if kind.is_dir() {
            walk(&path, &rel, out)?;
        } else if kind.is_file() {
            let contents = fs::read(&path).map_err(io(&path))?;
            out.push(SourceFile {
                path: rel,
                contents,
            });
        } else {
            return Err(ScaffoldError::UnsafePath {
                path: path.display().to_string(),
                reason: "is neither a file nor a folder (device, socket or fifo)".into(),
            });
        }
    }
    Ok(())
}

/// The archetypes of `--archetype-path` folders, in lookup order (catalogs, built-in ones
/// included, are `crate::catalog`).
#[derive(Debug, Default)]
pub(crate) struct ArchetypePaths {
    archetypes: Vec<Archetype>,
}

impl ArchetypePaths {
    /// Load the archetypes of `paths` only (no built-in ones).
    pub(crate) fn discover(paths: &[PathBuf]) -> Result<Self, ScaffoldError> {
        let mut archetypes = Vec::new();
        for path in paths.iter().filter(|p| !p.as_os_str().is_empty()) {
            archetypes.extend(load_path(path)?);
        }
        Ok(ArchetypePaths { archetypes })
    }

    /// The first archetype called `name`.
    pub(crate) fn find(&self, name: &str) -> Option<&Archetype> {
        self.archetypes.iter().find(|a| a.manifest.name == name)
    }

    /// One archetype per name (the one `find` returns), in lookup order.
    pub(crate) fn visible(&self) -> Vec<&Archetype> {
        let mut seen = std::collections::BTreeSet::new();
        self.archetypes
            .iter()
            .filter(|a| seen.insert(a.manifest.name.as_str()))
            .collect()
    }
}

/// The archetypes compiled into this binary.
pub(crate) fn builtin() -> Result<Vec<Archetype>, ScaffoldError> {
    EMBEDDED
        .dirs()
        .filter(|d| d.get_file(d.path().join(MANIFEST)).is_some())
        .map(Archetype::from_embedded)
        .collect()
}

/// `path` is an archetype folder, or a folder whose sub-folders are archetypes.
pub(crate) fn load_path(path: &Path) -> Result<Vec<Archetype>, ScaffoldError> {
    if path.join(MANIFEST).exists() {
        return Ok(vec![Archetype::from_folder(path)?]);
    }
    let io = |source| ScaffoldError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut dirs: Vec<PathBuf> = fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.join(MANIFEST).exists())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(ScaffoldError::NotArchetype {
            path: path.display().to_string(),
        });
    }
    dirs.iter().map(|d| Archetype::from_folder(d)).collect()
}
