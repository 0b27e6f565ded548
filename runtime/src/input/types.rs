//! The two input parameter types, [`InputFile`] and [`InputGlob`]: how they are built (from a
//! string or a path), what they give back to a step body (the path, or the sorted list of
//! paths), and how they serialize (as the path or pattern; the *content* enters the fingerprint
//! separately, see [`crate::input`]). Not responsible for hashing or caching.

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One input file, fingerprinted by its content.
///
/// Use it as a step (or pipeline) parameter instead of a `String` path: the step is recomputed
/// whenever the bytes of the file change, even when its size and modification time were kept,
/// and its descendants recompute only when its output changed. A relative path is relative to
/// the directory the pipeline runs in. The file is hashed (xxh3-128) when the step is recorded,
/// at most once per run, and not re-read on later runs while its device, inode, size, mtime and
/// ctime are unchanged (a stat cache in the checkpoint directory). A missing or unreadable file
/// fails the run before any step runs, naming the step, the parameter and the path; a file that
/// changes while the step reads it fails that step, and nothing is stored for it.
///
/// In a pipeline: `#[default(InputFile::from("data/in.csv"))] input: InputFile` gives the flag
/// `--input <INPUT>` with that default. It dereferences to the [`Path`], so the body reads it as
/// usual — or, for a body that works on local files and objects alike, with [`InputFile::open`]
/// ([`InputReader`](crate::InputReader): `Read + Seek`), [`InputFile::read_bytes`] or
/// [`InputFile::read_to_string`]:
///
/// ```
/// use stepstone::InputFile;
///
/// let input = InputFile::from("data/in.csv");
/// assert_eq!(input.path(), std::path::Path::new("data/in.csv"));
/// assert_eq!(input.to_string(), "data/in.csv");
/// let also: InputFile = "data/in.csv".parse().unwrap();
/// assert_eq!(also, input);
/// ```
/// # Inputs on S3
///
/// With the runtime's `s3` feature, an input may be an object: `InputFile::from("s3://bucket/key")`
/// (endpoint, region and credentials from the standard `AWS_*` environment, as for an S3
/// checkpoint store). Its identity is the content hash of the object (one streamed `GET`), kept
/// in the checkpoint store (`inputs/objects.json`) by version — ETag, size, last-modified — so a
/// later run, a worker process or a Spark executor that finds the same version by a `HEAD` (or a
/// glob's listing) does not download it again to hash it. A changed object is hashed again and
/// recomputes what read it. A step body reads it with [`InputFile::open`] and the functions of
/// `stepstone::arrow` (ranged requests); every read is pinned to the version that was hashed, so
/// an object overwritten after the pipeline was recorded fails the step that reads it, and
/// nothing is stored for it. [`Deref`] gives the URL as a [`Path`], which `std::fs` cannot open.
/// Without the feature, an `s3://` input fails when its step is recorded, saying to enable it.
///
/// ```
/// use stepstone::InputFile;
///
/// let input = InputFile::from("s3://bucket/data/in.csv");
/// assert!(input.is_remote());
/// assert_eq!(input.url(), Some("s3://bucket/data/in.csv"));
/// assert_eq!(InputFile::from("data/in.csv").url(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputFile {
    path: PathBuf,
}

impl InputFile {
    /// An input naming `path` (nothing is read until the pipeline records the step).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        InputFile { path: path.into() }
    }
    /// The file's path (for an object: its URL, which `std::fs` cannot open; see
    /// [`InputFile::open`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the input is an object (`s3://bucket/key`) rather than a local file.
    pub fn is_remote(&self) -> bool {
        super::pattern::is_object_url(&self.path)
    }

    /// The object's URL when the input is an object (`None` for a local file).
    pub fn url(&self) -> Option<&str> {
        if self.is_remote() {
            self.path.to_str()
        } else {
            None
        }
    }
}

impl Deref for InputFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for InputFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for InputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

impl From<&str> for InputFile {
    fn from(s: &str) -> Self {
        InputFile::new(s)
    }
}

impl From<String> for InputFile {
    fn from(s: String) -> Self {
        InputFile::new(s)
    }
}

impl From<PathBuf> for InputFile {
    fn from(p: PathBuf) -> Self {
        InputFile::new(p)
    }
}

impl From<&Path> for InputFile {
    fn from(p: &Path) -> Self {
        InputFile::new(p)
    }
}

impl FromStr for InputFile {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(InputFile::from(s))
    }
}

impl Serialize for InputFile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.path.serialize(s)
    }
}

impl<'de> Deserialize<'de> for InputFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PathBuf::deserialize(d).map(InputFile::new)
    }
}

/// Every file matching a glob pattern (`data/*.csv`, `logs/**/*.json`), in sorted order,
/// fingerprinted by the sorted names and the content of each file: adding, removing, renaming
/// or editing a file recomputes the steps that read it. To run one task per file instead — so
/// one edited file recomputes only its partition — pass the glob to a step with
/// `#[step(per_file = "file")]` on a parameter `file: InputFile`, or to
/// [`StepBuilder::per_file`](crate::StepBuilder::per_file).
///
/// The pattern is expanded when the value is built (and again when it is deserialized); it
/// dereferences to the sorted list of matching files (directories are left out). A pattern that
/// matches no file fails the run before any step runs, like a missing [`InputFile`].
///
/// With the runtime's `s3` feature the pattern may be an object URL, `s3://bucket/data/*.csv` or
/// `s3://bucket/logs/**/*.parquet`: the keys under its literal folder (`data/`, `logs/`) are
/// listed once and matched with the same rules (`*` and `?` stay within one `/`-separated part
/// and never match a leading `.`, `**` crosses parts; "folder marker" keys are skipped); the
/// matches are object URLs, each an [`InputFile`] on S3 (see there for identities and reads):
///
/// ```
/// use stepstone::InputGlob;
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("b.csv"), "2")?;
/// std::fs::write(dir.path().join("a.csv"), "1")?;
/// let pattern = format!("{}/*.csv", dir.path().display());
/// let files = InputGlob::from(pattern.as_str());
/// let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
/// assert_eq!(names, ["a.csv", "b.csv"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputGlob {
    pattern: String,
    files: Vec<PathBuf>,
    /// Why the pattern could not be expanded (reported when the step is recorded).
    problem: Option<String>,
}

impl InputGlob {
    /// Expand `pattern` now. An invalid pattern or an unreadable directory is not an error
    /// here: it is reported, naming the step and parameter, when the pipeline records the step.
    pub fn new(pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let (files, problem) = expand(&pattern);
        InputGlob {
            pattern,
            files,
            problem,
        }
    }
    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
    /// The matching files, sorted.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
    pub(crate) fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }
}

/// The files `pattern` matches, as a shell would list them: `*` and `?` do not match a leading
/// `.` (an editor's `.#in.csv` lock link, `.DS_Store`; write `.*` to mean them), folders are
/// skipped, and so are dangling symlinks (an editor's lock link pointing at nothing is not
/// data). A symlink to a file is followed like the file.
fn expand(pattern: &str) -> (Vec<PathBuf>, Option<String>) {
    if let Some(url) = super::pattern::ObjectUrl::parse(pattern) {
        return match url
            .and_then(|url| super::object::list(&url, pattern).map_err(|e| e.to_string()))
        {
            Ok(urls) => (urls.into_iter().map(PathBuf::from).collect(), None),
            Err(e) => (Vec::new(), Some(e)),
        };
    }
    // (glob's own `require_literal_leading_dot` drops dotfiles even for a pattern that starts
    // with `.`: the dot rule is applied below, per component, instead.)
    let paths = match glob::glob(pattern) {
        Ok(paths) => paths,
        Err(e) => return (Vec::new(), Some(format!("invalid glob pattern: {e}"))),
    };
    let mut files = Vec::new();
    for entry in paths {
        match entry {
            // `metadata` follows symlinks: a dangling one fails and is skipped.
            Ok(path) if hidden_by_a_wildcard(pattern, &path) => {}
            Ok(path) => match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => files.push(path),
                Err(_) if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) => {}
                Err(e) => return (files, Some(format!("cannot read {}: {e}", path.display()))),
            },
            Err(e) => return (files, Some(format!("cannot list {}", e))),
        }
    }
    files.sort();
    (files, None)
}

impl Deref for InputGlob {
    type Target = [PathBuf];
    fn deref(&self) -> &[PathBuf] {
        &self.files
    }
}

impl fmt::Display for InputGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

impl From<&str> for InputGlob {
    fn from(s: &str) -> Self {
        InputGlob::new(s)
    }
}

impl From<String> for InputGlob {
    fn from(s: String) -> Self {
        InputGlob::new(s)
    }
}

impl From<PathBuf> for InputGlob {
    fn from(p: PathBuf) -> Self {
        InputGlob::new(p.to_string_lossy().into_owned())
    }
}

impl FromStr for InputGlob {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(InputGlob::from(s))
    }
}

impl Serialize for InputGlob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.pattern.serialize(s)
    }
}

impl<'de> Deserialize<'de> for InputGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(InputGlob::new)
    }
}

/// What the fingerprint needs from an input parameter: the files it names.
pub trait InputSource {
    /// The files, sorted (for a glob: the matches), or why they cannot be listed.
    fn input_files(&self) -> Result<Vec<PathBuf>, String>;
    /// Whether the names of the files count too (a glob: adding a file changes the set).
    fn names_count(&self) -> bool;
    /// The path or pattern, for messages.
    fn describe(&self) -> String;
}

impl InputSource for InputFile {
    fn input_files(&self) -> Result<Vec<PathBuf>, String> {
        Ok(vec![self.path.clone()])
    }
    fn names_count(&self) -> bool {
        false
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl InputSource for InputGlob {
    fn input_files(&self) -> Result<Vec<PathBuf>, String> {
        match self.problem() {
            Some(p) => Err(p.to_string()),
            None => Ok(self.files.clone()),
        }
    }
    fn names_count(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        self.pattern.clone()
    }
}

/// Whether `path` got a component starting with `.` from a wildcard (`*`, `?`, `[…]`) of
/// `pattern` rather than from a literal `.`: the shell's rule for hidden files. With `**` the
/// components do not line up, and only the file name is judged.
fn hidden_by_a_wildcard(pattern: &str, path: &std::path::Path) -> bool {
    let names: Vec<&std::ffi::OsStr> = path.iter().collect();
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let hidden = |name: &std::ffi::OsStr, part: &str| {
        name.as_encoded_bytes().first() == Some(&b'.')
            && !part.starts_with('.')
            && name != "."
            && name != ".."
    };
    if pattern.contains("**") {
        return match (names.last(), parts.last()) {
            (Some(name), Some(part)) => hidden(name, part),
            _ => false,
        };
    }
    let names = names
        .iter()
        .rev()
        .zip(parts.iter().rev())
        .filter(|(_, part)| part.contains(['*', '?', '[']));
    names.into_iter().any(|(name, part)| hidden(name, part))
}

#[cfg(test)]
mod tests {
    use super::expand;

    /// Issue 21, item 9: `*` skips dotfiles and dangling symlinks (an editor's `.#in.csv` lock
    /// link), as a shell would; `.*` still names dotfiles; a symlink to a file counts.
    #[cfg(unix)]
    #[test]
    fn globs_skip_dotfiles_folders_and_dangling_links() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.csv"), "1").unwrap();
        std::fs::write(d.join(".hidden.csv"), "2").unwrap();
        std::fs::create_dir(d.join("sub.csv")).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join(".#a.csv")).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("gone.csv")).unwrap();
        std::os::unix::fs::symlink(d.join("a.csv"), d.join("link.csv")).unwrap();
        let pattern = format!("{}/*.csv", d.display());
        let (files, problem) = expand(&pattern);
        assert_eq!(problem, None);
        assert_eq!(files, vec![d.join("a.csv"), d.join("link.csv")]);
        let (dotted, _) = expand(&format!("{}/.*.csv", d.display()));
        assert_eq!(dotted, vec![d.join(".hidden.csv")]);
    }
}
