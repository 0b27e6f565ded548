//! How a generated project depends on the `stepstone` runtime crate: by path, version or git.
//!
//! Responsible for the default (the runtime crate of the workspace this binary was built from,
//! when it still exists, so a fresh clone works offline; else the released version) and for
//! writing the choice as a TOML value. Not responsible for the rest of the generated Cargo.toml.

use std::path::{Path, PathBuf};

/// Where the runtime comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuntimeDependency {
    /// A path dependency (absolute).
    Path(PathBuf),
    /// A released version.
    Version(String),
    /// A git repository.
    Git(String),
}

/// The runtime crate next to this CLI's sources, fixed at compile time.
const WORKSPACE_RUNTIME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../runtime");

impl RuntimeDependency {
    /// From the flags (at most one is set), else the default.
    pub(crate) fn choose(
        path: Option<&Path>,
        version: Option<&str>,
        git: Option<&str>,
    ) -> std::io::Result<Self> {
        Ok(match (path, version, git) {
            (Some(path), _, _) => RuntimeDependency::Path(std::path::absolute(path)?),
            (_, Some(version), _) => RuntimeDependency::Version(version.to_string()),
            (_, _, Some(url)) => RuntimeDependency::Git(url.to_string()),
            _ => Self::default_for_this_binary(),
        })
    }

    /// The workspace's runtime crate if this binary was built from a checkout that still exists,
    /// else the version of this binary.
    pub(crate) fn default_for_this_binary() -> Self {
        let runtime = Path::new(WORKSPACE_RUNTIME);
        match runtime
            .join("Cargo.toml")
            .is_file()
            .then(|| runtime.canonicalize())
        {
            Some(Ok(path)) => RuntimeDependency::Path(path),
            _ => RuntimeDependency::Version(env!("CARGO_PKG_VERSION").to_string()),
        }
    }

    /// The TOML value for `stepstone = …` in the generated Cargo.toml.
    pub(crate) fn toml_value(&self) -> String {
        let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
        match self {
            RuntimeDependency::Path(path) => {
                format!("{{ path = {} }}", quoted(&path.to_string_lossy()))
            }
            RuntimeDependency::Version(version) => quoted(version),
            RuntimeDependency::Git(url) => format!("{{ git = {} }}", quoted(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_valid_toml() {
        for dep in [
            RuntimeDependency::Path(PathBuf::from("/a b/it's \"here\"")),
            RuntimeDependency::Version("0.1.0".into()),
            RuntimeDependency::Git("https://example.invalid/x.git".into()),
        ] {
            let doc = format!("stepstone = {}", dep.toml_value());
            let parsed: toml::Table = toml::from_str(&doc).unwrap();
            assert!(parsed.contains_key("stepstone"), "{doc}");
        }
    }

    #[test]
    fn default_is_this_workspace_runtime() {
        let dep = RuntimeDependency::default_for_this_binary();
        assert!(
            matches!(&dep, RuntimeDependency::Path(p) if p.ends_with("runtime")),
            "{dep:?}"
        );
    }
}
