//! A git catalog: a repository (local path or URL) whose default branch holds `catalog.toml` and
//! whose tags `NAME/vX.Y.Z` each point at a commit with the archetype in the folder `NAME/`.
//!
//! Read through the `git` binary (no checkout: `ls-tree` and `cat-file` on the tag's tree), so
//! nothing of the catalog is ever written into a work tree. A URL is cloned bare into a cache
//! folder and fetched on each use. Refused: a tag that does not point at a commit, a `NAME` that
//! is not a folder in it, symlinks and submodules anywhere below it, and paths that are not
//! plain relative paths. Not responsible for the digest check (`mod.rs`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use super::index::{INDEX, Index};
use crate::scaffold::safety::{OutputFile, RelPath, write_project};
use crate::scaffold::source::{Archetype, MANIFEST, Origin, SourceFile};

/// A catalog that is a git repository.
#[derive(Debug, Clone)]
pub(crate) struct GitCatalog {
    /// The git directory read from (the repository's `.git`, a bare repository, or the cache).
    git_dir: PathBuf,
    /// The work tree, for a local non-bare repository (publishing needs one).
    work_tree: Option<PathBuf>,
    /// What the user named.
    label: String,
}

/// Whether `spec` names a git repository rather than a folder catalog.
pub(crate) fn is_git(spec: &str) -> bool {
    if spec.contains("://") || spec.starts_with("git@") {
        return true;
    }
    let path = Path::new(spec);
    path.join(".git").exists()
        || (path.join("HEAD").is_file()
            && path.join("objects").is_dir()
            && path.join("refs").is_dir())
}

fn git() -> Command {
    let mut command = Command::new("git");
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null());
    command
}

/// Run `command`, returning stdout; an error carries git's message.
fn output(mut command: Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let out = command
        .output()
        .with_context(|| format!("{what}: could not run `git`; is it installed and on PATH?"))?;
    if !out.status.success() {
        bail!(
            "{what}: git failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("STEPSTONE_CACHE") {
        return PathBuf::from(dir).join("catalogs");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("stepstone").join("catalogs")
}

impl GitCatalog {
    /// Open `spec`: a local repository as it is, a URL through a bare clone in the cache.
    pub(crate) fn open(spec: &str) -> anyhow::Result<Self> {
        if spec.starts_with('-') {
            // Never let a catalog name become a git option (`--upload-pack=…` runs a command).
            bail!("catalog `{spec}` starts with `-`: not a path or URL; refused");
        }
        let label = spec.to_string();
        let path = Path::new(spec);
        if !spec.contains("://") && !spec.starts_with("git@") {
            let (git_dir, work_tree) = if path.join(".git").exists() {
                (path.join(".git"), Some(path.to_path_buf()))
            } else {
                (path.to_path_buf(), None)
            };
            return Ok(GitCatalog {
                git_dir,
                work_tree,
                label,
            });
        }
        let cache = cache_root().join(format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(spec.as_bytes())
        ));
        let what = format!("git catalog {spec}");
        if cache.join("HEAD").is_file() {
            let mut fetch = git();
            fetch.arg("--git-dir").arg(&cache).args([
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                "origin",
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ]);
            output(fetch, &format!("{what}: fetching into {}", cache.display()))?;
        } else {
            std::fs::create_dir_all(cache_root())
                .with_context(|| format!("creating the cache {}", cache_root().display()))?;
            let mut clone = git();
            clone
                .args(["clone", "--bare", "--quiet", "--", spec])
                .arg(&cache);
            output(clone, &format!("{what}: cloning into {}", cache.display()))?;
        }
        Ok(GitCatalog {
            git_dir: cache,
            work_tree: None,
            label,
        })
    }

    fn git(&self) -> Command {
        let mut command = git();
        command.arg("--git-dir").arg(&self.git_dir);
        command
    }

    /// Whether the default branch has an index (an empty or new repository has none).
    pub(crate) fn has_index(&self) -> bool {
        let mut probe = self.git();
        probe
            .args(["cat-file", "-e", &format!("HEAD:{INDEX}")])
            .stderr(Stdio::null());
        probe.status().is_ok_and(|s| s.success())
    }

    /// The index at the default branch (`HEAD:catalog.toml`).
    pub(crate) fn read_index(&self) -> anyhow::Result<Index> {
        let mut show = self.git();
        show.args(["cat-file", "blob", &format!("HEAD:{INDEX}")]);
        let what = format!("git catalog {}: reading {INDEX} at HEAD", self.label);
        let bytes = output(show, &what)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{what}: the index is not UTF-8"))?;
        Index::parse(&text, &format!("{} (HEAD:{INDEX})", self.label))
    }

    /// The content of tag `NAME/vVERSION`, checked entry by entry.
    pub(crate) fn read_version(
        &self,
        name: &str,
        version: &semver::Version,
    ) -> anyhow::Result<Archetype> {
        let tag = format!("refs/tags/{name}/v{version}");
        let at = format!("git catalog {}: tag {name}/v{version}", self.label);
        let kind = |object: &str| -> anyhow::Result<String> {
            let mut cmd = self.git();
            cmd.args(["cat-file", "-t", object]);
            Ok(String::from_utf8_lossy(&output(cmd, &at)?)
                .trim()
                .to_string())
        };
        let peeled = kind(&format!("{tag}^{{}}"))
            .with_context(|| format!("{at}: the index lists it but the tag is missing"))?;
        if peeled != "commit" {
            bail!("{at} points at a {peeled}, not a commit; refused");
        }
        let root = format!("{tag}^{{commit}}:{name}");
        match kind(&root).ok().as_deref() {
            Some("tree") => {}
            Some(other) => bail!(
                "{at}: `{name}` in that commit is a {other} (a symlink or file), not a folder; refused"
            ),
            None => bail!("{at}: that commit has no folder `{name}`"),
        }
        let mut ls = self.git();
        ls.args(["ls-tree", "-r", "-z", "--full-tree", &root]);
        let listing = output(ls, &at)?;
        let mut entries = Vec::new();
        for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let (meta, path) = record
                .split_once('\t')
                .ok_or_else(|| anyhow::anyhow!("{at}: unexpected `git ls-tree` output"))?;
            let mut parts = meta.split(' ');
            let (mode, oid) = (parts.next().unwrap_or(""), parts.nth(1).unwrap_or(""));
            match mode {
                "100644" | "100755" => {}
                "120000" => bail!(
                    "{at}: {name}/{path} is a symlink: catalogs may not contain symlinks (they could lead outside); refused"
                ),
                "160000" => bail!("{at}: {name}/{path} is a submodule; refused"),
                other => bail!("{at}: {name}/{path} has git mode {other}; refused"),
            }
            RelPath::parse(path).map_err(|e| anyhow::anyhow!("{at}: {e}; refused"))?;
            entries.push((path.to_string(), oid.to_string()));
        }
        let blobs = self.read_blobs(&entries, &at)?;
        let mut manifest = None;
        let mut files = Vec::new();
        for ((path, _), contents) in entries.into_iter().zip(blobs) {
            if path == MANIFEST {
                manifest = Some(
                    String::from_utf8(contents)
                        .map_err(|_| anyhow::anyhow!("{at}: {MANIFEST} is not UTF-8"))?,
                );
            } else {
                files.push(SourceFile { path, contents });
            }
        }
        let manifest = manifest.ok_or_else(|| anyhow::anyhow!("{at}: no {name}/{MANIFEST}"))?;
        let label = format!("{at}: {name}/{MANIFEST}");
        Ok(Archetype::assemble(
            &manifest,
            &label,
            files,
            Origin::Catalog(self.label.clone()),
        )?)
    }

    /// The contents of `entries`' blobs, in order, through one `git cat-file --batch`.
    fn read_blobs(&self, entries: &[(String, String)], at: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut cmd = self.git();
        cmd.args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("{at}: could not run `git`"))?;
        let mut input = String::new();
        for (_, oid) in entries {
            input.push_str(oid);
            input.push('\n');
        }
        // Written from a thread: git answers while it reads, and a large archetype's answers
        // would fill the pipe while we were still writing.
        let writer = child
            .stdin
            .take()
            .map(|mut stdin| std::thread::spawn(move || stdin.write_all(input.as_bytes())));
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "{at}: git cat-file failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        if let Some(writer) = writer {
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("{at}: writing to git cat-file failed"))??;
        }
        let mut rest = out.stdout.as_slice();
        let mut blobs = Vec::new();
        for (path, _) in entries {
            let newline = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..newline]).to_string();
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .filter(|_| header.contains(" blob "))
                .ok_or_else(|| anyhow::anyhow!("{at}: {path}: unexpected object `{header}`"))?;
            let body = rest
                .get(newline + 1..newline + 1 + size)
                .ok_or_else(|| anyhow::anyhow!("{at}: {path}: truncated object"))?;
            blobs.push(body.to_vec());
            rest = rest.get(newline + 2 + size..).unwrap_or_default();
        }
        Ok(blobs)
    }

    fn work_tree(&self) -> anyhow::Result<&Path> {
        self.work_tree.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "git catalog {}: publishing needs a local clone with a work tree (clone it, publish there, push)",
                self.label
            )
        })
    }

    /// Commit `archetype` into `NAME/` (and `template`, when not empty, into
    /// `cargo-generate/NAME/`) with the new index, and tag `NAME/vVERSION`: at that tag,
    /// `cargo generate --git URL --tag NAME/vVERSION cargo-generate/NAME` renders the version.
    pub(crate) fn publish(
        &self,
        archetype: &Archetype,
        index: &Index,
        template: &[OutputFile],
    ) -> anyhow::Result<()> {
        let tree = self.work_tree()?;
        let m = &archetype.manifest;
        let folder = tree.join(&m.name);
        if std::fs::symlink_metadata(&folder).is_ok_and(|meta| meta.file_type().is_symlink()) {
            bail!("{} is a symlink; refused", folder.display());
        }
        if folder.exists() {
            std::fs::remove_dir_all(&folder)
                .with_context(|| format!("replacing {}", folder.display()))?;
        }
        super::write_version(archetype, &folder)?;
        let exported = format!("{}/{}", super::TEMPLATES, m.name);
        let mut paths = vec![m.name.as_str()];
        if !template.is_empty() {
            let target = tree.join(&exported);
            if std::fs::symlink_metadata(&target).is_ok() {
                std::fs::remove_dir_all(&target)
                    .with_context(|| format!("replacing {}", target.display()))?;
            }
            write_project(&target, template, false)?;
            paths.push(&exported);
        }
        let message = format!("publish {} {}", m.name, m.version);
        self.commit_index(index, &paths, &message)?;
        let mut tag = self.git();
        tag.args(["tag", &format!("{}/v{}", m.name, m.version)]);
        output(tag, &format!("git catalog {}: tagging", self.label))?;
        Ok(())
    }

    /// Write the index in the work tree and commit it (with `paths`).
    pub(crate) fn commit_index(
        &self,
        index: &Index,
        paths: &[&str],
        message: &str,
    ) -> anyhow::Result<()> {
        let tree = self.work_tree()?;
        std::fs::write(tree.join(INDEX), index.to_text()?)
            .with_context(|| format!("writing {}", tree.join(INDEX).display()))?;
        let what = format!("git catalog {}: committing", self.label);
        let mut add = git();
        add.arg("-C")
            .arg(tree)
            .args(["add", "-A", "--", INDEX])
            .args(paths);
        output(add, &what)?;
        let mut commit = git();
        commit.arg("-C").arg(tree);
        let mut who = git();
        who.arg("-C").arg(tree).args(["config", "user.email"]);
        if output(who, &what).is_err() {
            // No identity configured (a CI machine): commit as stepstone rather than fail.
            commit.args([
                "-c",
                "user.name=stepstone",
                "-c",
                "user.email=stepstone@localhost",
            ]);
        }
        commit.args(["commit", "--quiet", "-m", message]);
        output(commit, &what)?;
        Ok(())
    }
}
