//! Writing a rendered project without ever touching anything outside its destination.
//!
//! Responsible for: validating every relative path (no `..`, `.`, absolute paths, NUL, empty or
//! backslash components), refusing symlinks already in the destination, and the commit protocol:
//! render into a fresh temporary folder beside the destination, then move it into place only when
//! complete (a rename), so a failure leaves the destination as it was. Not responsible for what
//! the files contain (`render.rs`).

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ScaffoldError;

/// A validated relative path: non-empty components, none of them `.`, `..`, or containing
/// `/`, `\` or NUL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RelPath(Vec<String>);

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnsafePath {
    path: String,
    reason: &'static str,
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsafe path {:?}: {}", self.path, self.reason)
    }
}

impl RelPath {
    /// Check a `/`-separated relative path.
    pub(crate) fn parse(text: &str) -> Result<Self, UnsafePath> {
        let refuse = |reason| {
            Err(UnsafePath {
                path: text.to_string(),
                reason,
            })
        };
        if text.contains('\0') {
            return refuse("contains a NUL byte");
        }
        if text.starts_with('/') || text.starts_with('\\') || text.get(1..2) == Some(":") {
            return refuse("is absolute; archetype paths must be relative to the project");
        }
        let mut parts = Vec::new();
        for part in text.split('/') {
            match part {
                "" => {
                    return refuse("has an empty component (`//`, or a name that rendered empty)");
                }
                "." | ".." => {
                    return refuse("has a `.` or `..` component; it could leave the destination");
                }
                p if p.contains('\\') => return refuse("contains a backslash"),
                p if p.trim() != p => {
                    return refuse("has a component with leading or trailing spaces");
                }
                p => parts.push(p.to_string()),
            }
        }
        Ok(RelPath(parts))
    }

    /// The components.
    pub(crate) fn parts(&self) -> &[String] {
        &self.0
    }

    /// `root` joined with this path.
    pub(crate) fn under(&self, root: &Path) -> PathBuf {
        self.0.iter().fold(root.to_path_buf(), |p, c| p.join(c))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// A file to write.
#[derive(Debug, Clone)]
pub(crate) struct OutputFile {
    /// Where, relative to the destination.
    pub(crate) path: RelPath,
    /// The bytes.
    pub(crate) contents: Vec<u8>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What is at the destination before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Existing {
    Nothing,
    EmptyDir,
    NonEmptyDir,
}

fn inspect_destination(dest: &Path) -> Result<Existing, ScaffoldError> {
    let refuse = |reason: &str| ScaffoldError::Destination {
        path: dest.display().to_string(),
        reason: reason.into(),
    };
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Existing::Nothing),
        Err(e) => Err(io(dest)(e)),
        Ok(m) if m.file_type().is_symlink() => Err(refuse("is a symlink; give the real folder")),
        Ok(m) if !m.is_dir() => Err(refuse("exists and is not a folder")),
        Ok(_) => {
            let mut entries = fs::read_dir(dest).map_err(io(dest))?;
            Ok(if entries.next().is_some() {
                Existing::NonEmptyDir
            } else {
                Existing::EmptyDir
            })
        }
    }
}

/// Refuse if writing `file` under `dest` would go through or onto a symlink or a folder.
pub(crate) fn check_existing_path(dest: &Path, file: &RelPath) -> Result<(), ScaffoldError> {
    let mut at = dest.to_path_buf();
    let last = file.parts().len().saturating_sub(1);
    for (i, part) in file.parts().iter().enumerate() {
        at.push(part);
        let refuse = |reason: &str| ScaffoldError::Destination {
            path: at.display().to_string(),
            reason: reason.into(),
        };
        match fs::symlink_metadata(&at) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&at)(e)),
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(
                    "is a symlink already in the destination; stepstone never follows them",
                ));
            }
            Ok(m) if i < last && !m.is_dir() => return Err(refuse("exists and is not a folder")),
            Ok(m) if i == last && m.is_dir() => return Err(refuse("exists and is a folder")),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Write `files` into `dest` (which must not exist, be empty, or `force` must be set), through a
/// temporary folder beside it. A new or empty destination appears whole (one rename) or not at
/// all. With `force` into a non-empty folder, every target path is checked first (no symlink,
/// no file/folder clash), then the rendered files are moved in one by one.
pub(crate) fn write_project(
    dest: &Path,
    files: &[OutputFile],
    force: bool,
) -> Result<(), ScaffoldError> {
    let dest = std::path::absolute(dest).map_err(io(dest))?;
    let existing = inspect_destination(&dest)?;
    if existing == Existing::NonEmptyDir {
        if !force {
            return Err(ScaffoldError::Destination {
                path: dest.display().to_string(),
                reason: "is not empty; choose another --dest, or pass --force to write into it \
                         (files with the same names are replaced)"
                    .into(),
            });
        }
        for file in files {
            check_existing_path(&dest, &file.path)?;
        }
    }
    let parent = dest.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".stepstone-new-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    for file in files {
        write_new(&file.path.under(staging.path()), &file.contents)?;
    }
    match existing {
        // rename(2) replaces an empty folder atomically.
        Existing::Nothing | Existing::EmptyDir => {
            let staged = staging.keep();
            fs::rename(&staged, &dest).map_err(|e| {
                let _ = fs::remove_dir_all(&staged);
                io(&dest)(e)
            })
        }
        Existing::NonEmptyDir => {
            for file in files {
                let target = file.path.under(&dest);
                if let Some(dir) = target.parent() {
                    fs::create_dir_all(dir).map_err(io(dir))?;
                }
                fs::rename(file.path.under(staging.path()), &target).map_err(io(&target))?;
            }
            Ok(())
        }
    }
}

/// Create `path` (and its folders) with `contents`; never overwrites. A file starting with `#!`
/// is a script and gets the executable bits.
fn write_new(path: &Path, contents: &[u8]) -> Result<(), ScaffoldError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io(path))?;
    file.write_all(contents).map_err(io(path))?;
    #[cfg(unix)]
    if contents.starts_with(b"#!") {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_absolute_paths_are_refused() {
        for bad in [
            "../x",
            "/etc/x",
            "a/../../x",
            "a//b",
            "..",
            "a/.",
            "a\0b",
            "a\\..\\b",
            "C:/x",
            "",
        ] {
            assert!(RelPath::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            RelPath::parse("src/main.rs").unwrap().to_string(),
            "src/main.rs"
        );
        assert_eq!(RelPath::parse(".ci/run").unwrap().parts(), [".ci", "run"]);
    }

    #[test]
    fn non_empty_destination_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let file = OutputFile {
            path: RelPath::parse("a/b.txt").unwrap(),
            contents: b"x".to_vec(),
        };
        let err = write_project(dir.path(), std::slice::from_ref(&file), false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        write_project(dir.path(), &[file], true).unwrap();
        assert_eq!(fs::read(dir.path().join("a/b.txt")).unwrap(), b"x");
        assert_eq!(fs::read(dir.path().join("keep.txt")).unwrap(), b"mine");
    }

    #[test]
    fn new_destination_is_created_whole() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("p/q");
        let file = OutputFile {
            path: RelPath::parse("s.sh").unwrap(),
            contents: b"#!/bin/sh\n".to_vec(),
        };
        write_project(&dest, &[file], false).unwrap();
        assert_eq!(fs::read(dest.join("s.sh")).unwrap(), b"#!/bin/sh\n");
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("p")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "staging folder left behind");
    }
}
