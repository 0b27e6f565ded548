//! Inputs on an object store (`s3://bucket/key`): the version of an object (a `HEAD`, or the
//! listing of a glob), the listing of a key pattern, the streamed hash of one version, and
//! ranged reads pinned to the version that was hashed.
//!
//! Every request names the version it expects (`If-Match: <ETag>`, and the answer's ETag is
//! checked too), so an object overwritten after it was hashed fails the read with a clear error
//! instead of giving other bytes than the step's identity says. Each process remembers the
//! version it hashed per URL (its *pin*), which every later read of that URL in the process
//! uses. The S3 client is the checkpoint store's ([`crate::store::s3`]: endpoint, region and
//! credentials from the `AWS_*` environment, retries, TLS on ring, a private current-thread
//! tokio runtime), one per bucket per process. Without the runtime's `s3` feature every
//! operation fails with the fix (build with feature `s3` of `stepstone`). Not responsible for
//! the record in the store (`record.rs`) or for which inputs a step reads (`run.rs`).

use std::collections::HashMap;
use std::io;
use std::sync::{Mutex, OnceLock};

use super::pattern::ObjectUrl;
use super::record::ObjectVersion;

pub(crate) use imp::{RemoteObject, hash, list, observe};

/// Versions this process hashed (the pins) and versions its glob listings saw, by URL.
#[derive(Default)]
struct Seen {
    pinned: HashMap<String, ObjectVersion>,
    listed: HashMap<String, ObjectVersion>,
}

fn seen() -> std::sync::MutexGuard<'static, Seen> {
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let lock = SEEN.get_or_init(Default::default).lock();
    lock.unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every later read of `url` in this process expects `version` (the one just hashed).
pub(crate) fn pin(url: &str, version: ObjectVersion) {
    seen().pinned.insert(url.to_string(), version);
}

/// The version this process hashed for `url`, or else the one its last listing saw.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
fn known(url: &str) -> Option<ObjectVersion> {
    let seen = seen();
    (seen.pinned.get(url).or_else(|| seen.listed.get(url))).cloned()
}

/// The version a glob listing saw (used instead of a `HEAD` when the glob's objects are hashed).
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
fn listed(url: &str) -> Option<ObjectVersion> {
    seen().listed.get(url).cloned()
}

#[cfg_attr(not(feature = "s3"), allow(dead_code))]
fn note_listed(url: &str, version: ObjectVersion) {
    seen().listed.insert(url.to_string(), version);
}

/// What to do about credentials and the endpoint, appended to errors of the object store.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
const FIX: &str = "check AWS_ENDPOINT_URL, AWS_REGION and the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) this process sees";

#[cfg(not(feature = "s3"))]
mod imp {
    //! Without the `s3` feature: every operation says how to get it.

    use super::*;

    fn not_built(url: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{url} is on S3, but this program was built without the `s3` feature of stepstone; add features = [\"s3\"] to the `stepstone` dependency in Cargo.toml (in a project made by `stepstone new`: run `cargo run --release --features s3`) and build again"
            ),
        )
    }

    /// Never built: an object cannot be opened without the feature.
    #[derive(Debug)]
    pub(crate) struct RemoteObject(std::convert::Infallible);

    impl RemoteObject {
        pub(crate) fn open(url: &str) -> io::Result<RemoteObject> {
            Err(not_built(url))
        }
        pub(crate) fn size(&self) -> u64 {
            match self.0 {}
        }
        pub(crate) fn url(&self) -> &str {
            match self.0 {}
        }
        pub(crate) fn get(&self, _range: std::ops::Range<u64>) -> io::Result<bytes::Bytes> {
            match self.0 {}
        }
    }

    pub(crate) fn observe(_url: &ObjectUrl, text: &str) -> io::Result<ObjectVersion> {
        Err(not_built(text))
    }

    pub(crate) fn list(_pattern: &ObjectUrl, text: &str) -> io::Result<Vec<String>> {
        Err(not_built(text))
    }

    pub(crate) fn hash(_url: &ObjectUrl, text: &str, _version: &ObjectVersion) -> io::Result<u128> {
        Err(not_built(text))
    }
}

#[cfg(feature = "s3")]
mod imp {
    //! With the `s3` feature: requests through the store's S3 client.

    use std::ops::Range;
    use std::sync::Arc;

    use futures_util::{StreamExt, TryStreamExt};
    use object_store::path::Path as ObjectPath;
    use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};

    use super::*;
    use crate::store::s3::{Client, map_error};

    /// The client of `bucket` (one per bucket per process).
    fn client(bucket: &str, url: &str) -> io::Result<Arc<Client>> {
        static CLIENTS: OnceLock<Mutex<HashMap<String, Arc<Client>>>> = OnceLock::new();
        let clients = CLIENTS.get_or_init(Default::default);
        let mut clients = clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(bucket) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(Client::for_bucket(bucket, &[], url)?);
        clients.insert(bucket.to_string(), Arc::clone(&client));
        Ok(client)
    }

    fn key(url: &ObjectUrl, text: &str) -> io::Result<ObjectPath> {
        ObjectPath::parse(&url.key).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{text} is not a valid object key: {e}"),
            )
        })
    }

    fn version(meta: &ObjectMeta) -> ObjectVersion {
        ObjectVersion {
            etag: meta.e_tag.clone().unwrap_or_default(),
            size: meta.size,
            modified_ms: meta.last_modified.timestamp_millis(),
        }
    }

    /// An error of a request about `url`, with what to do.
    fn failed(
        op: &str,
        url: &str,
        expected: Option<&ObjectVersion>,
        e: object_store::Error,
    ) -> io::Error {
        if let (
            object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. },
            Some(v),
        ) = (&e, expected)
        {
            return changed(url, v, None);
        }
        let e = map_error(op, url, e);
        let fix = match e.kind() {
            io::ErrorKind::NotFound => {
                "check the bucket and the key (is it written yet?), and AWS_ENDPOINT_URL"
            }
            _ => FIX,
        };
        io::Error::new(e.kind(), format!("{e}; {fix}"))
    }

    fn changed(url: &str, was: &ObjectVersion, now: Option<&ObjectVersion>) -> io::Error {
        let now = now.map_or(String::new(), |n| {
            format!(", now ETag {} of {} bytes", n.etag, n.size)
        });
        io::Error::other(format!(
            "{url} changed after it was hashed (it was ETag {} of {} bytes{now}): the step would read other bytes than its identity says, so it fails and nothing is stored for it; run again to use the new content",
            was.etag, was.size
        ))
    }

    /// The version of `url` now: the one its glob listing saw, else a `HEAD`.
    pub(crate) fn observe(url: &ObjectUrl, text: &str) -> io::Result<ObjectVersion> {
        if let Some(v) = listed(text) {
            return Ok(v);
        }
        head(url, text)
    }

    fn head(url: &ObjectUrl, text: &str) -> io::Result<ObjectVersion> {
        let client = client(&url.bucket, text)?;
        let key = key(url, text)?;
        let meta = client
            .block_on(client.store.head(&key))
            .map_err(|e| failed("HEAD", text, None, e))?;
        Ok(version(&meta))
    }

    /// The URLs of the objects whose keys match `pattern`'s key pattern, sorted (folder markers
    /// left out); each one's version is remembered for hashing.
    pub(crate) fn list(pattern: &ObjectUrl, text: &str) -> io::Result<Vec<String>> {
        let client = client(&pattern.bucket, text)?;
        let prefix = super::super::pattern::list_prefix(&pattern.key);
        let prefix = ObjectPath::parse(prefix).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{text}: bad key prefix: {e}"),
            )
        })?;
        let listed: Vec<ObjectMeta> = client
            .block_on(client.store.list(Some(&prefix)).try_collect())
            .map_err(|e| failed("LIST", text, None, e))?;
        let keys: std::collections::BTreeMap<&str, &ObjectMeta> =
            listed.iter().map(|m| (m.location.as_ref(), m)).collect();
        let mut urls = Vec::new();
        for (k, meta) in &keys {
            // A folder marker (`dir/`, listed as `dir`, empty) is not data.
            let folder = format!("{k}/");
            let marker = meta.size == 0
                && keys
                    .range(folder.as_str()..)
                    .next()
                    .is_some_and(|(next, _)| next.starts_with(&folder));
            if marker || !super::super::pattern::key_matches(&pattern.key, k) {
                continue;
            }
            let url = pattern.with_key(k);
            note_listed(&url, version(meta));
            urls.push(url);
        }
        Ok(urls)
    }

    /// xxh3-128 of `url`'s content at `version`, streamed (one `GET`, never whole in memory).
    pub(crate) fn hash(url: &ObjectUrl, text: &str, version: &ObjectVersion) -> io::Result<u128> {
        let object = RemoteObject {
            client: client(&url.bucket, text)?,
            key: key(url, text)?,
            url: text.to_string(),
            version: version.clone(),
        };
        tracing::info!(url = %text, bytes = version.size, "downloading an input object to hash it");
        let result = object.request(None)?;
        let stream = result.into_stream();
        let reader = StreamRead {
            client: &object.client,
            stream,
            chunk: bytes::Bytes::new(),
            url: text,
        };
        super::super::content::hash_reader(reader)
    }

    /// A streamed response body as a `Read`.
    struct StreamRead<'a> {
        client: &'a Client,
        stream: futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
        chunk: bytes::Bytes,
        url: &'a str,
    }

    impl io::Read for StreamRead<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            while self.chunk.is_empty() {
                match self.client.block_on(self.stream.next()) {
                    Some(Ok(chunk)) => self.chunk = chunk,
                    Some(Err(e)) => return Err(failed("GET", self.url, None, e)),
                    None => return Ok(0),
                }
            }
            let n = buf.len().min(self.chunk.len());
            buf[..n].copy_from_slice(&self.chunk.split_to(n));
            Ok(n)
        }
    }

    /// One version of one object, opened for ranged reads (every request pinned to it).
    pub(crate) struct RemoteObject {
        client: Arc<Client>,
        key: ObjectPath,
        url: String,
        version: ObjectVersion,
    }

    impl std::fmt::Debug for RemoteObject {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            // Never the client: its configuration holds the credentials.
            f.debug_struct("RemoteObject")
                .field("url", &self.url)
                .field("version", &self.version)
                .finish_non_exhaustive()
        }
    }

    impl RemoteObject {
        /// Open `url` at the version this process hashed (or listed; else the current one).
        pub(crate) fn open(text: &str) -> io::Result<RemoteObject> {
            let url = match ObjectUrl::parse(text) {
                Some(Ok(url)) => url,
                Some(Err(e)) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{text} is not an s3:// URL"),
                    ));
                }
            };
            let version = match known(text) {
                Some(v) => v,
                None => head(&url, text)?,
            };
            Ok(RemoteObject {
                client: client(&url.bucket, text)?,
                key: key(&url, text)?,
                url: text.to_string(),
                version,
            })
        }

        /// The object's size (of the pinned version).
        pub(crate) fn size(&self) -> u64 {
            self.version.size
        }

        /// The URL.
        pub(crate) fn url(&self) -> &str {
            &self.url
        }

        fn request(&self, range: Option<Range<u64>>) -> io::Result<object_store::GetResult> {
            let pinned = !self.version.etag.is_empty();
            let options = GetOptions {
                if_match: pinned.then(|| self.version.etag.clone()),
                range: range.map(GetRange::Bounded),
                ..GetOptions::default()
            };
            let result = self
                .client
                .block_on(self.client.store.get_opts(&self.key, options))
                .map_err(|e| failed("GET", &self.url, Some(&self.version), e))?;
            // A server that ignores If-Match still answers with the version it served.
            let served = version(&result.meta);
            if (pinned && served.etag != self.version.etag) || served.size != self.version.size {
                return Err(changed(&self.url, &self.version, Some(&served)));
            }
            Ok(result)
        }

        /// Bytes `range` of the pinned version (clamped to its end).
        pub(crate) fn get(&self, range: Range<u64>) -> io::Result<bytes::Bytes> {
            let end = range.end.min(self.version.size);
            if range.start >= end {
                return Ok(bytes::Bytes::new());
            }
            let result = self.request(Some(range.start..end))?;
            let url = &self.url;
            let bytes = self
                .client
                .block_on(result.bytes())
                .map_err(|e| failed("GET", url, Some(&self.version), e))?;
            if bytes.len() as u64 != end - range.start {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{url}: asked for bytes {}..{end}, got {} bytes",
                        range.start,
                        bytes.len()
                    ),
                ));
            }
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    /// Without the `s3` feature an `s3://` input is refused with the fix, when it is hashed
    /// (a file) or listed (a glob), and when a body opens it.
    #[cfg(not(feature = "s3"))]
    #[test]
    fn without_the_feature_an_object_input_says_to_enable_it() {
        let url = super::ObjectUrl::parse("s3://b/k.csv").unwrap().unwrap();
        let e = super::observe(&url, "s3://b/k.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("s3://b/k.csv") && e.contains("`s3` feature"),
            "{e}"
        );
        let glob = crate::InputGlob::from("s3://b/data/*.csv");
        let problem = glob.problem().unwrap_or_default();
        assert!(problem.contains("`s3` feature"), "{problem}");
        let e = crate::InputFile::from("s3://b/k.csv").open().unwrap_err();
        assert!(e.to_string().contains("`s3` feature"), "{e}");
    }

    /// With it, a URL that names no object is refused before any request.
    #[cfg(feature = "s3")]
    #[test]
    fn a_url_without_a_key_is_refused_before_any_request() {
        let e = super::RemoteObject::open("s3://bucket/").unwrap_err();
        assert!(e.to_string().contains("names no object"), "{e}");
    }
}
