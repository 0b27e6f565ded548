//! Which tier each path of the store's layout lives on.
//!
//! Responsible for: turning a full path (`s3://bucket/prefix/<rel>`) into a [`Route`]: `tmp/`
//! and `runs/<id>/persist/` are local (spill directory); `objects/` is both (spills local,
//! checkpoints on S3; reads try the local copy first); everything else (`LOCK`, `runs/<id>/…`)
//! is on S3. Not responsible for: performing the operations (`mod.rs`).

use std::io;
use std::path::{Component, Path, PathBuf};

use object_store::path::Path as ObjectPath;

use super::S3Backend;

/// Where one path of the layout lives.
pub(super) enum Route {
    /// Only in the local spill directory.
    Local(PathBuf),
    /// Only on S3.
    Remote(ObjectPath),
    /// Under `objects/`: a spill in the local tier or a checkpoint on S3.
    Objects {
        /// The local (spill) copy's path.
        local: PathBuf,
        /// The remote (checkpoint) key.
        remote: ObjectPath,
    },
}

impl S3Backend {
    /// The route of `path`, which must lie under the store's root URL.
    pub(super) fn route(&self, path: &Path) -> io::Result<Route> {
        let outside = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not inside the store {}", path.display(), self.url),
            )
        };
        let text = path.to_str().ok_or_else(outside)?;
        let rest = text.strip_prefix(self.url.as_str()).ok_or_else(outside)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(outside());
        }
        let mut parts = Vec::new();
        for component in Path::new(rest).components() {
            match component {
                Component::Normal(part) => parts.push(part.to_str().ok_or_else(outside)?),
                Component::RootDir | Component::CurDir => {}
                Component::ParentDir | Component::Prefix(_) => return Err(outside()),
            }
        }
        let local = || {
            parts
                .iter()
                .fold(self.local.clone(), |p, part| p.join(part))
        };
        let remote = || {
            parts
                .iter()
                .fold(self.prefix.clone(), |k, part| k.clone().join(*part))
        };
        Ok(match parts.as_slice() {
            ["tmp", ..] => Route::Local(local()),
            ["runs", _, "persist", ..] => Route::Local(local()),
            ["objects", ..] => Route::Objects {
                local: local(),
                remote: remote(),
            },
            _ => Route::Remote(remote()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(spill: &Path) -> S3Backend {
        S3Backend::open("s3://bucket/some/prefix", Some(spill)).unwrap()
    }

    #[test]
    fn layout_paths_go_to_their_tier() {
        let spill = std::env::temp_dir().join(format!("route-test-{}", std::process::id()));
        let b = backend(&spill);
        let root = b.root();
        // The store's own subfolder of the (possibly shared) spill directory.
        let spill = spill.join(super::super::local_tier_name("s3://bucket/some/prefix"));
        assert_eq!(b.spill_dir(), spill);
        match b.route(&root.join("tmp").join("x.tmp")).unwrap() {
            Route::Local(p) => assert_eq!(p, spill.join("tmp/x.tmp")),
            _ => panic!("tmp/ is local"),
        }
        match b.route(&root.join("runs/r1/persist/ab.0")).unwrap() {
            Route::Local(p) => assert_eq!(p, spill.join("runs/r1/persist/ab.0")),
            _ => panic!("persist is local"),
        }
        match b.route(&root.join("runs/r1/report.json")).unwrap() {
            Route::Remote(k) => assert_eq!(k.as_ref(), "some/prefix/runs/r1/report.json"),
            _ => panic!("reports are remote"),
        }
        match b.route(&root.join("objects/ab/abcd.0")).unwrap() {
            Route::Objects { local, remote } => {
                assert_eq!(local, spill.join("objects/ab/abcd.0"));
                assert_eq!(remote.as_ref(), "some/prefix/objects/ab/abcd.0");
            }
            _ => panic!("objects are tiered"),
        }
        match b.route(&root).unwrap() {
            Route::Remote(k) => assert_eq!(k.as_ref(), "some/prefix"),
            _ => panic!("the root is remote"),
        }
        assert!(b.route(Path::new("s3://bucket/some/prefixes/x")).is_err());
        assert!(b.route(&root.join("../other")).is_err());
        assert!(b.route(Path::new("/local/path")).is_err());
        let _ = std::fs::remove_dir_all(&spill);
    }

    #[test]
    fn two_stores_sharing_a_spill_dir_get_their_own_local_tiers() {
        let shared = std::env::temp_dir().join(format!("route-shared-{}", std::process::id()));
        let a = S3Backend::open("s3://bucket/a", Some(&shared)).unwrap();
        let b = S3Backend::open("s3://bucket/b", Some(&shared)).unwrap();
        let a_tmp = match a.route(&a.root().join("tmp")).unwrap() {
            Route::Local(p) => p,
            _ => panic!("tmp/ is local"),
        };
        let b_tmp = match b.route(&b.root().join("tmp")).unwrap() {
            Route::Local(p) => p,
            _ => panic!("tmp/ is local"),
        };
        assert_ne!(
            a_tmp, b_tmp,
            "one store's sweep of tmp/ never reaches another's"
        );
        assert!(a_tmp.starts_with(&shared) && b_tmp.starts_with(&shared));
        let again = S3Backend::open("s3://bucket/a/", Some(&shared)).unwrap();
        assert_eq!(
            again.spill_dir(),
            a.spill_dir(),
            "stable across runs (spills resume)"
        );
        let _ = std::fs::remove_dir_all(&shared);
    }

    #[test]
    fn urls_are_recognized_and_normalized() {
        assert_eq!(
            super::super::s3_url(Path::new("s3://b/p/")).as_deref(),
            Some("s3://b/p")
        );
        assert_eq!(super::super::s3_url(Path::new("./s3/b")), None);
        assert!(S3Backend::open("s3:///nobucket", None).is_err());
    }
}
