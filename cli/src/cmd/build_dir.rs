//! Where `stepstone new --run` builds the generated project: the target directory that the
//! projects it builds share, so that a second project compiles only its own crate and the
//! runtime, not the hundred-odd dependencies again.
//!
//! Responsible for choosing that directory (an explicit `CARGO_TARGET_DIR` wins; else the
//! user's cache directory; `--no-shared-target` keeps the project's own `target/`) and for
//! saying which one was used. Not responsible for running cargo (`new.rs` does).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The directory `cargo run --release` of a new project builds in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BuildDir {
    /// `CARGO_TARGET_DIR` is set in the environment: cargo uses it, we leave it alone.
    FromEnvironment(PathBuf),
    /// The target directory shared by the projects `new --run` builds.
    Shared(PathBuf),
    /// The project's own `target/` (opted out, or no cache directory is known).
    Own,
}

impl BuildDir {
    /// The choice for this process: `no_shared` is `--no-shared-target`
    /// (`STEPSTONE_NO_SHARED_TARGET`).
    pub(crate) fn choose(no_shared: bool) -> BuildDir {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Self::choose_from(no_shared, var)
    }

    /// [`BuildDir::choose`] over an environment given as a lookup (for tests).
    fn choose_from(no_shared: bool, var: impl Fn(&str) -> Option<OsString>) -> BuildDir {
        if let Some(dir) = var("CARGO_TARGET_DIR") {
            return BuildDir::FromEnvironment(PathBuf::from(dir));
        }
        if no_shared {
            return BuildDir::Own;
        }
        match cache_dir(&var) {
            Some(cache) => BuildDir::Shared(cache.join("stepstone").join("target")),
            None => BuildDir::Own,
        }
    }

    /// A shared directory serves one project per package name: cargo takes two packages with
    /// the same name and version for one (its fingerprints are relative to the package), so in
    /// one target directory an older project of the name could be handed the other's binary.
    /// The first project of a name records its folder in `stepstone-projects/NAME` there; a
    /// different project of that name, while the first still exists, builds in its own
    /// `target/` instead. Returns the choice and, when it fell back, why.
    pub(crate) fn claim(self, name: &str, dest: &Path) -> (BuildDir, Option<String>) {
        let BuildDir::Shared(dir) = &self else {
            return (self, None);
        };
        let record = dir.join("stepstone-projects").join(name);
        let here = match dest.canonicalize() {
            Ok(path) => path,
            Err(e) => {
                return (
                    BuildDir::Own,
                    Some(format!("cannot resolve {}: {e}", dest.display())),
                );
            }
        };
        if let Ok(text) = std::fs::read_to_string(&record) {
            let holder = PathBuf::from(text.trim_end_matches('\n'));
            if holder != here && holder.join("Cargo.toml").is_file() {
                return (
                    BuildDir::Own,
                    Some(format!(
                        "another project named `{name}` ({}) builds in the shared target directory {}, \
                         and cargo would take the two for one package; this one builds in its own target/ \
                         (give it another name to share)",
                        holder.display(),
                        dir.display()
                    )),
                );
            }
        }
        let written = std::fs::create_dir_all(record.parent().unwrap_or(dir))
            .and_then(|()| std::fs::write(&record, format!("{}\n", here.display())));
        match written {
            Ok(()) => (self, None),
            Err(e) => (
                BuildDir::Own,
                Some(format!(
                    "cannot record the project in {}: {e}; building in its own target/",
                    record.display()
                )),
            ),
        }
    }

    /// The `CARGO_TARGET_DIR` to set for the build, if any.
    pub(crate) fn to_set(&self) -> Option<&PathBuf> {
        match self {
            BuildDir::Shared(dir) => Some(dir),
            BuildDir::FromEnvironment(_) | BuildDir::Own => None,
        }
    }

    /// Where the build goes, for the status line.
    pub(crate) fn describe(&self) -> String {
        match self {
            BuildDir::FromEnvironment(dir) => {
                format!("target directory {} (CARGO_TARGET_DIR)", dir.display())
            }
            BuildDir::Shared(dir) => format!(
                "shared target directory {} (reused by the next project; --no-shared-target for the project's own)",
                dir.display()
            ),
            BuildDir::Own => "the project's own target/".to_string(),
        }
    }
}

/// The user's cache directory: `$XDG_CACHE_HOME` or `~/.cache` (Linux and other Unix),
/// `~/Library/Caches` (macOS), `%LOCALAPPDATA%` (Windows). Relative values are ignored.
fn cache_dir(var: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if cfg!(windows) {
        absolute("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        absolute("HOME").map(|home| home.join("Library").join("Caches"))
    } else {
        absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn an_explicit_cargo_target_dir_wins() {
        let vars = [("CARGO_TARGET_DIR", "/t"), ("HOME", "/h")];
        assert_eq!(
            BuildDir::choose_from(false, env(&vars)),
            BuildDir::FromEnvironment("/t".into())
        );
        assert_eq!(
            BuildDir::choose_from(true, env(&vars)),
            BuildDir::FromEnvironment("/t".into())
        );
    }

    #[test]
    fn one_project_per_name_in_the_shared_dir_while_it_exists() {
        let work = tempfile::tempdir().unwrap();
        let shared = BuildDir::Shared(work.path().join("target"));
        let project = |folder: &str| {
            let dest = work.path().join(folder);
            std::fs::create_dir_all(&dest).unwrap();
            std::fs::write(dest.join("Cargo.toml"), "").unwrap();
            dest
        };
        let (first, second) = (project("first"), project("second"));
        assert_eq!(shared.clone().claim("demo", &first), (shared.clone(), None));
        assert_eq!(shared.clone().claim("demo", &first), (shared.clone(), None));
        let (choice, why) = shared.clone().claim("demo", &second);
        assert_eq!(choice, BuildDir::Own);
        assert!(why.unwrap().contains("another project named `demo`"));
        assert_eq!(
            shared.clone().claim("other", &second),
            (shared.clone(), None)
        );
        std::fs::remove_dir_all(&first).unwrap();
        assert_eq!(shared.clone().claim("demo", &second), (shared, None));
    }

    #[test]
    fn the_shared_dir_is_in_the_cache_dir_unless_opted_out() {
        let xdg = [("XDG_CACHE_HOME", "/c"), ("HOME", "/h")];
        assert_eq!(
            BuildDir::choose_from(false, env(&xdg)),
            BuildDir::Shared("/c/stepstone/target".into())
        );
        let home = [("XDG_CACHE_HOME", "relative"), ("HOME", "/h")];
        assert_eq!(
            BuildDir::choose_from(false, env(&home)),
            BuildDir::Shared("/h/.cache/stepstone/target".into())
        );
        assert_eq!(BuildDir::choose_from(true, env(&xdg)), BuildDir::Own);
        assert_eq!(BuildDir::choose_from(false, env(&[])), BuildDir::Own);
    }
}
