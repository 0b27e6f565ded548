//! [`S3Backend`]: the checkpoint store on S3 (any S3-compatible server), behind the same
//! [`Backend`](super::Backend) seam as the local directory.
//!
//! Responsible for: opening a store from an `s3://bucket/prefix` URL (endpoint, region and
//! credentials from the standard `AWS_*` environment, never printed or logged), routing every
//! path of the store's layout to its tier (checkpoints, run reports and the lease on S3; spills,
//! persist copies and temp files in a local spill directory), mapping each primitive onto object
//! operations, and turning `object_store` errors into `io::Error`s that name the object. The
//! upload (single conditional `PUT` or multipart) lives in `upload.rs`, the streamed read in
//! `read.rs`, the lease lock in `lease.rs`. Not responsible for: the object format or the commit
//! protocol (the [`Store`](super::Store) drives both, exactly as on a local directory).
//!
//! Async stays inside this module: a private current-thread tokio runtime runs every request
//! with `block_on`, so the executor stays synchronous.

mod lease;
mod ops;
mod read;
mod route;
mod stream;
mod upload;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, RetryConfig};

pub use lease::LeaseHeld;

/// Environment variable: seconds a lease lasts before another run may take it over (default
/// 30; renewed every third of it while the run lives).
pub const ENV_LEASE_SECS: &str = "STEPSTONE_S3_LEASE_SECS";
/// Environment variable: seconds the S3 client keeps retrying a failed request (default 30).
pub const ENV_RETRY_SECS: &str = "STEPSTONE_S3_RETRY_SECS";

const DEFAULT_LEASE_SECS: u64 = 30;
const DEFAULT_RETRY_SECS: u64 = 30;

pub use super::s3_url;

/// What the backend shares with its lease-renewal thread.
pub(crate) struct Client {
    pub(crate) store: AmazonS3,
    pub(crate) rt: tokio::runtime::Runtime,
    /// `s3://bucket` (for messages).
    pub(crate) bucket_url: String,
}

impl Client {
    /// A client of `bucket` configured like every S3 client of Stepstone: endpoint, region and
    /// credentials from `settings` (named like the environment variables) over the `AWS_*`
    /// environment, the retry policy of [`ENV_RETRY_SECS`], TLS on ring, and a private
    /// current-thread tokio runtime. `what` names what the client is for in an error (a store
    /// URL, an input URL); nothing of the configuration (credentials) is ever in a message.
    pub(crate) fn for_bucket(
        bucket: &str,
        settings: &[(&str, &str)],
        what: &str,
    ) -> io::Result<Client> {
        let retry_secs = setting(settings, ENV_RETRY_SECS)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_RETRY_SECS);
        let mut builder = AmazonS3Builder::from_env();
        for (name, value) in settings {
            if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, *value);
            }
        }
        let mut builder = builder.with_bucket_name(bucket).with_retry(RetryConfig {
            max_retries: 10,
            retry_timeout: Duration::from_secs(retry_secs),
            ..RetryConfig::default()
        });
        // `AWS_ENDPOINT_URL` is the standard variable; the builder reads `AWS_ENDPOINT`.
        if let Some(endpoint) = setting(settings, "AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) =
            setting(settings, "AWS_REGION").or_else(|| setting(settings, "AWS_DEFAULT_REGION"))
        {
            builder = builder.with_region(region);
        } else {
            builder = builder.with_region("us-east-1");
        }
        // The client's TLS is rustls on ring (no aws-lc-rs C build): install ring as the
        // process-wide provider unless the program has installed one already (then that one is
        // used; the error only says so). rustls 0.23.48 deprecates the ring provider (no
        // post-quantum key exchange); the alternative is aws-lc-rs and its C build, which the
        // first build of every generated project would pay. A project that wants post-quantum
        // key exchange installs its own provider before the first S3 client is made.
        #[allow(deprecated)]
        let ring = rustls::crypto::ring::default_provider();
        let _ = ring.install_default();
        let store = builder.build().map_err(|e| {
            io::Error::other(format!(
                "cannot configure the S3 client for {what}: {e}; set AWS_ENDPOINT_URL, AWS_REGION \
                 and the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
            ))
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Client {
            store,
            rt,
            bucket_url: format!("s3://{bucket}"),
        })
    }

    /// Run one request to completion on the private runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// The full URL of `key` (for messages).
    pub(crate) fn url(&self, key: &ObjectPath) -> String {
        format!("{}/{key}", self.bucket_url)
    }
}

/// The S3 backend. Paths are the store's root URL (`s3://bucket/prefix`, as a `Path`) joined
/// with the layout's relative paths; see `route.rs` for which tier each one lives on.
pub struct S3Backend {
    client: Arc<Client>,
    /// `s3://bucket/prefix`, no trailing slash.
    url: String,
    /// The prefix inside the bucket (may be empty).
    prefix: ObjectPath,
    /// The local tier: spills, persist copies, temp files.
    local: PathBuf,
    /// Remove `local` when the backend is dropped (it was a temp folder made for this store).
    remove_local: bool,
    lease_ttl: Duration,
    /// Keys under `objects/` on S3, listed when the lease was taken and kept up to date by this
    /// backend's own commits and deletions (`None`: no lease, every probe asks S3).
    known: std::sync::Mutex<Option<std::collections::HashSet<String>>>,
    /// Checkpoints streamed up and waiting for their publish, by temp path.
    pending: stream::Registry,
}

impl fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the client: its configuration holds the credentials.
        f.debug_struct("S3Backend")
            .field("url", &self.url)
            .field("spill_dir", &self.local)
            .finish_non_exhaustive()
    }
}

impl Drop for S3Backend {
    fn drop(&mut self) {
        if self.remove_local {
            let _ = std::fs::remove_dir_all(&self.local);
        }
    }
}

impl S3Backend {
    /// Open the store at `url` (`s3://bucket/prefix`). Endpoint, region and credentials come
    /// from the `AWS_*` environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ALLOW_HTTP`, …). Spills and temp files
    /// go to `spill_dir`, or to a fresh temp folder (removed when the backend is dropped).
    pub fn open(url: &str, spill_dir: Option<&Path>) -> io::Result<S3Backend> {
        S3Backend::open_with_settings(url, spill_dir, &[])
    }

    /// [`S3Backend::open`] with settings that override the environment, named like the
    /// environment variables (`("AWS_ENDPOINT_URL", "http://127.0.0.1:8333")`, …). Tests and
    /// embedders use it where setting process-wide variables is not an option.
    pub fn open_with_settings(
        url: &str,
        spill_dir: Option<&Path>,
        settings: &[(&str, &str)],
    ) -> io::Result<S3Backend> {
        let secs = |name: &str, default: u64| {
            setting(settings, name)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        };
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not an s3://bucket/prefix URL")
        })?;
        let rest = rest.trim_end_matches('/');
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no bucket name: write the checkpoint store as s3://bucket/prefix",
            ));
        }
        let prefix = ObjectPath::parse(prefix)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("bad prefix: {e}")))?;
        let client = Client::for_bucket(bucket, settings, url)?;
        // A given spill directory may be shared (a node-wide `STEPSTONE_SPILL_DIR`, two stores
        // passed the same `--spill-dir`): each store gets its own subfolder, so opening one
        // never sweeps another's in-flight temp files or spills.
        let (local, remove_local) = match spill_dir {
            Some(dir) => (dir.join(local_tier_name(&format!("s3://{rest}"))), false),
            None => (fresh_temp_dir()?, true),
        };
        std::fs::create_dir_all(&local)?;
        Ok(S3Backend {
            client: Arc::new(client),
            url: format!("s3://{rest}"),
            prefix,
            local,
            remove_local,
            lease_ttl: Duration::from_secs(secs(ENV_LEASE_SECS, DEFAULT_LEASE_SECS).max(1)),
            known: std::sync::Mutex::new(None),
            pending: stream::Registry::default(),
        })
    }

    /// The store's root, as the `Path` the [`Store`](super::Store) joins onto.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(&self.url)
    }

    /// The local spill directory.
    pub fn spill_dir(&self) -> &Path {
        &self.local
    }

    /// Upload `bytes` to `key` (relative to the prefix) as one plain `PUT` (benchmarks compare
    /// the store against this).
    pub fn raw_put(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        let key = self.key(key);
        self.client
            .block_on(self.client.store.put(&key, bytes.into()))
            .map(drop)
            .map_err(|e| self.error("put", &key, e))
    }

    /// Download `key` (relative to the prefix) with one plain `GET` (benchmarks, tests).
    pub fn raw_get(&self, key: &str) -> io::Result<Vec<u8>> {
        self.raw_get_bytes(key).map(|b| b.to_vec())
    }

    /// [`S3Backend::raw_get`] without the copy into a `Vec` (what benchmarks compare against).
    pub fn raw_get_bytes(&self, key: &str) -> io::Result<bytes::Bytes> {
        let key = self.key(key);
        let store = &self.client.store;
        self.client
            .block_on(async { store.get(&key).await?.bytes().await })
            .map_err(|e| self.error("get", &key, e))
    }

    fn key(&self, rel: &str) -> ObjectPath {
        rel.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |k, part| k.clone().join(part))
    }

    fn error(&self, op: &str, key: &ObjectPath, e: object_store::Error) -> io::Error {
        map_error(op, &self.client.url(key), e)
    }
}

/// Setting `name`: from `settings` when given there, else from the environment.
fn setting(settings: &[(&str, &str)], name: &str) -> Option<String> {
    settings
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .or_else(|| std::env::var(name).ok())
}

/// Map an `object_store` error to an `io::Error` whose message names the object.
pub(crate) fn map_error(op: &str, url: &str, e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
        object_store::Error::Precondition { .. } => io::ErrorKind::AlreadyExists,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("S3 {op} of {url} failed: {e}"))
}

fn unsupported(op: &str, key: &ObjectPath) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("the S3 store cannot {op} {key}"),
    )
}

/// The subfolder of a shared spill directory that holds the local tier of the store at `url`.
pub(crate) fn local_tier_name(url: &str) -> String {
    format!("store-{:016x}", xxhash_rust::xxh3::xxh3_64(url.as_bytes()))
}

/// A new, empty folder under the system temp directory.
fn fresh_temp_dir() -> io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "stepstone-spill-{}-{nanos:08x}-{seq}",
        std::process::id()
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_store_errors_keep_their_kind_and_name_the_object() {
        let url = "s3://b/p/objects/ab/abcd.0";
        let not_found = object_store::Error::NotFound {
            path: "p/objects/ab/abcd.0".into(),
            source: "404".into(),
        };
        let e = map_error("get", url, not_found);
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains(url), "{e}");
        let exists = object_store::Error::AlreadyExists {
            path: "x".into(),
            source: "412".into(),
        };
        assert_eq!(
            map_error("put", url, exists).kind(),
            io::ErrorKind::AlreadyExists
        );
        let other = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        let e = map_error("put", url, other);
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert!(e.to_string().contains("connection refused"), "{e}");
    }

    #[test]
    fn the_backend_debug_output_shows_no_credentials() {
        let spill = std::env::temp_dir().join(format!("s3-debug-test-{}", std::process::id()));
        let secret = "do-not-show-this-secret";
        let backend = S3Backend::open_with_settings(
            "s3://bucket/prefix",
            Some(&spill),
            &[
                ("AWS_ACCESS_KEY_ID", "key"),
                ("AWS_SECRET_ACCESS_KEY", secret),
            ],
        )
        .unwrap();
        let shown = format!("{backend:?}");
        assert!(
            shown.contains("s3://bucket/prefix") && !shown.contains(secret),
            "{shown}"
        );
        drop(backend);
        let _ = std::fs::remove_dir_all(&spill);
    }
}
