//! Drift of a generated project from its archetype version: each file pristine, modified,
//! missing or added, and conflict markers left by an update.
//!
//! Responsible for comparing the project on disk with the recorded version rendered in memory,
//! and for the walk that finds added files (skipping `.git/`, `target/`, `.stepstone/` and what
//! the project's root `.gitignore` ignores; symlinks are reported, never followed; added files
//! over 8 MiB are listed but not scanned for markers). Not responsible for versions or
//! catalogs (`cmd/check.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::update::merge::has_conflict_markers;

/// A file's state against the recorded version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Byte for byte what the recorded version renders.
    Pristine,
    /// Changed by the user.
    Modified,
    /// Rendered by the recorded version, absent from the project.
    Missing,
    /// In the project, not rendered by the archetype.
    Added,
}

/// One file of the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileDrift {
    /// `/`-separated path relative to the project.
    pub(crate) path: String,
    /// Its state.
    pub(crate) state: State,
    /// Whether it holds conflict markers.
    pub(crate) conflict_markers: bool,
}

/// Added files larger than this are not scanned for conflict markers (data, not code).
const SCAN_LIMIT: u64 = 8 << 20;

/// What the walk found at a path.
enum Found {
    /// A regular file of this many bytes.
    File(u64),
    /// A symlink (never followed) or a special file.
    Other,
}

fn read(project: &Path, path: &str) -> anyhow::Result<Vec<u8>> {
    let full = path
        .split('/')
        .fold(project.to_path_buf(), |p, c| p.join(c));
    std::fs::read(&full).with_context(|| format!("reading {}", full.display()))
}

/// Compare `project` with the `expected` files (path → bytes, without the record).
pub(crate) fn compare(
    project: &Path,
    expected: &BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<Vec<FileDrift>> {
    let ignore = Ignore::read(project);
    let mut found = BTreeMap::new();
    walk(project, "", &ignore, &mut found)?;
    let mut report = Vec::new();
    for (path, bytes) in expected {
        // Read directly: an archetype file the project's .gitignore ignores is still checked.
        let on_disk = match found.remove(path) {
            Some(Found::File(_)) => Some(read(project, path)?),
            Some(Found::Other) => Some(Vec::new()),
            None => super::update::read_project_file(project, path)?,
        };
        let (state, conflict_markers) = match on_disk {
            None => (State::Missing, false),
            Some(ours) if &ours == bytes => (State::Pristine, false),
            Some(ours) => (State::Modified, has_conflict_markers(&ours)),
        };
        report.push(FileDrift {
            path: path.clone(),
            state,
            conflict_markers,
        });
    }
    for (path, what) in found {
        let conflict_markers = match what {
            Found::File(size) if size <= SCAN_LIMIT => has_conflict_markers(&read(project, &path)?),
            _ => false,
        };
        report.push(FileDrift {
            conflict_markers,
            path,
            state: State::Added,
        });
    }
    report.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

fn walk(
    dir: &Path,
    prefix: &str,
    ignore: &Ignore,
    out: &mut BTreeMap<String, Found>,
) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if prefix.is_empty() && [".git", "target", ".stepstone"].contains(&name.as_str()) {
            continue;
        }
        let kind = entry.file_type()?;
        if ignore.ignores(&rel, kind.is_dir()) {
            continue;
        }
        if kind.is_dir() {
            walk(&entry.path(), &rel, ignore, out)?;
        } else if kind.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.insert(rel, Found::File(size));
        } else {
            out.insert(rel, Found::Other);
        }
    }
    Ok(())
}

/// The simple subset of a root `.gitignore`: `*` and `?` globs, a leading `/` anchors, a
/// trailing `/` matches folders only; negations are not needed here and skipped. Each pattern
/// becomes a regular expression (`regex` matches in linear time: a crafted line such as
/// `*a*a*a*a*a*a*b` cannot stall `stepstone check`, as the backtracking matcher it replaces did).
struct Ignore(Vec<IgnoreRule>);

/// One `.gitignore` line.
struct IgnoreRule {
    /// Matched against the whole relative path (else against the last component).
    anchored: bool,
    /// Matches folders only.
    dir_only: bool,
    matcher: regex::Regex,
}

impl Ignore {
    fn read(project: &Path) -> Self {
        let text = std::fs::read_to_string(project.join(".gitignore")).unwrap_or_default();
        Ignore(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
                .filter_map(|l| {
                    let dir_only = l.ends_with('/');
                    let l = l.trim_end_matches('/');
                    let anchored = l.starts_with('/') || l.contains('/');
                    let matcher = glob_regex(l.trim_start_matches('/'))?;
                    Some(IgnoreRule {
                        anchored,
                        dir_only,
                        matcher,
                    })
                })
                .collect(),
        )
    }

    fn ignores(&self, path: &str, is_dir: bool) -> bool {
        self.0.iter().any(|rule| {
            if rule.dir_only && !is_dir {
                return false;
            }
            if rule.anchored {
                rule.matcher.is_match(path)
            } else {
                path.rsplit('/')
                    .next()
                    .is_some_and(|name| rule.matcher.is_match(name))
            }
        })
    }
}

/// The expression of a glob: `*` any run without `/`, `?` one character but `/`, the rest
/// literal. `None` for a line too large to compile (it is then not an ignore rule).
fn glob_regex(pattern: &str) -> Option<regex::Regex> {
    let mut expr = String::with_capacity(pattern.len() + 8);
    expr.push('^');
    for c in pattern.chars() {
        match c {
            '*' => expr.push_str("[^/]*"),
            '?' => expr.push_str("[^/]"),
            c => expr.push_str(&regex::escape(c.encode_utf8(&mut [0u8; 4]))),
        }
    }
    expr.push('$');
    regex::Regex::new(&expr).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(anchored: bool, dir_only: bool, pattern: &str) -> IgnoreRule {
        IgnoreRule {
            anchored,
            dir_only,
            matcher: glob_regex(pattern).unwrap(),
        }
    }

    #[test]
    fn gitignore_subset() {
        let ignore = Ignore(vec![
            rule(true, false, "out"),
            rule(false, false, "*.log"),
            rule(true, false, ".stepstone/*"),
            rule(false, false, "a?c"),
        ]);
        assert!(ignore.ignores("x/abc", false));
        assert!(!ignore.ignores("a/c", false), "? never matches /");
        assert!(ignore.ignores("out", true));
        assert!(ignore.ignores("a/b.log", false));
        assert!(ignore.ignores(".stepstone/runs", true));
        assert!(!ignore.ignores("src/out.rs", false));
        assert!(!ignore.ignores("outer", true));
    }

    /// Issue 21, item 9: a crafted line made the backtracking matcher exponential.
    #[test]
    fn a_crafted_line_that_stalled_the_backtracking_matcher_is_matched() {
        let line = "*a".repeat(40) + "b";
        let ignore = Ignore(vec![rule(false, false, &line)]);
        let name = "a".repeat(200);
        // The backtracking matcher never finished this (2^40 ways to place the stars).
        assert!(!ignore.ignores(&name, false));
        assert!(ignore.ignores(&format!("{name}b"), false));
    }
}
