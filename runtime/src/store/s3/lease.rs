//! The lock of an S3 store: a lease object (`LOCK`) instead of `flock`.
//!
//! Responsible for: creating the lease with a conditional `PUT` (`If-None-Match: *`), holding
//! host, pid and expiry; renewing it from a background thread every third of its lifetime with
//! a conditional overwrite on the ETag we wrote (so a lease someone else took over is never
//! clobbered); taking over an expired lease with a conditional overwrite on the ETag we read (of
//! two takers only one can win); releasing it (delete, if it is still ours) when dropped.
//! Not responsible for: what the store does under the lock.

use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};

use super::Client;
use crate::store::backend::LockHandle;

/// What the lease object holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct LeaseBody {
    host: String,
    pid: u32,
    /// Milliseconds since the Unix epoch after which the lease may be taken over.
    expires_unix_ms: u64,
    /// The holder's boot (`/proc/sys/kernel/random/boot_id`): a holder on this very boot whose
    /// pid is gone is dead, and its lease is taken at once instead of waited out. Absent in
    /// leases of older versions (then only expiry frees them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    boot: Option<String>,
}

impl LeaseBody {
    /// The holder ran on this machine's current boot and its process no longer exists. (A pid
    /// reused by another process keeps the lease: waiting is the safe side.)
    fn holder_is_dead_here(&self) -> bool {
        let here = boot_id();
        here.is_some()
            && self.boot == here
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// Another live run holds the lease (carried inside the `io::Error` of a refused lock).
#[derive(Debug, Clone, thiserror::Error)]
#[error("locked by host {host} pid {pid} until {until}")]
pub struct LeaseHeld {
    /// The holder's host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// When the lease expires (RFC 3339, UTC) unless renewed.
    pub until: String,
}

/// A held lease; renewed until dropped.
pub(super) struct Lease {
    stop: Arc<(Mutex<bool>, Condvar)>,
    renewer: Option<JoinHandle<()>>,
    state: Arc<Mutex<Held>>,
    client: Arc<Client>,
}

/// The lease as we last wrote it.
struct Held {
    key: ObjectPath,
    e_tag: Option<String>,
    lost: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").finish_non_exhaustive()
    }
}

impl Lease {
    /// Take the lease at `key`, or fail with [`LeaseHeld`] (or wait, with `wait`).
    pub(super) fn acquire(
        client: Arc<Client>,
        key: ObjectPath,
        ttl: Duration,
        wait: bool,
    ) -> io::Result<Lease> {
        let url = client.url(&key);
        let err = |op: &str, e: object_store::Error| super::map_error(op, &url, e);
        let mut announced = false;
        loop {
            let body = encode(&fresh_body(ttl));
            let create =
                client
                    .store
                    .put_opts(&key, body.clone().into(), PutOptions::from(PutMode::Create));
            match client.block_on(create) {
                Ok(put) => return Ok(Lease::start(client, key, put.e_tag, ttl)),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => {}
                Err(e) => return Err(err("create lease", e)),
            }
            let current = client.block_on(async {
                let got = client.store.get(&key).await?;
                let e_tag = got.meta.e_tag.clone();
                let version = got.meta.version.clone();
                Ok::<_, object_store::Error>((got.bytes().await?, e_tag, version))
            });
            let (bytes, e_tag, version) = match current {
                Ok(found) => found,
                Err(object_store::Error::NotFound { .. }) => continue, // released meanwhile
                Err(e) => return Err(err("read lease", e)),
            };
            // An unreadable lease (a foreign file, a torn write by another tool) counts as
            // expired: there is no holder to wait for.
            let holder: Option<LeaseBody> = serde_json::from_slice(&bytes).ok();
            let now = now_ms();
            let expires = holder.as_ref().map_or(0, |h| h.expires_unix_ms);
            let dead = holder.as_ref().is_some_and(LeaseBody::holder_is_dead_here);
            if now >= expires || dead {
                let update = PutMode::Update(UpdateVersion { e_tag, version });
                let take = client
                    .store
                    .put_opts(&key, body.into(), PutOptions::from(update));
                match client.block_on(take) {
                    Ok(put) => {
                        if let Some(h) = &holder {
                            let why = if dead {
                                "its holder is dead"
                            } else {
                                "it expired"
                            };
                            tracing::warn!(lease = %url, host = %h.host, pid = h.pid, "took over the lease: {why}");
                        }
                        return Ok(Lease::start(client, key, put.e_tag, ttl));
                    }
                    // Someone else took it (or renewed it) first: look again.
                    Err(object_store::Error::Precondition { .. })
                    | Err(object_store::Error::AlreadyExists { .. })
                    | Err(object_store::Error::NotFound { .. }) => continue,
                    Err(e) => return Err(err("take over lease", e)),
                }
            }
            let holder = holder.unwrap_or_else(|| fresh_body(ttl));
            if !wait {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    LeaseHeld {
                        host: holder.host,
                        pid: holder.pid,
                        until: rfc3339(expires),
                    },
                ));
            }
            if !announced {
                announced = true;
                tracing::warn!(
                    "waiting for the checkpoint store {}: locked by host {} pid {} until {} (--wait)",
                    url.trim_end_matches("/LOCK"),
                    holder.host,
                    holder.pid,
                    rfc3339(expires)
                );
            }
            let left = Duration::from_millis(expires.saturating_sub(now));
            std::thread::sleep(left.clamp(Duration::from_millis(100), Duration::from_secs(1)));
        }
    }

    fn start(client: Arc<Client>, key: ObjectPath, e_tag: Option<String>, ttl: Duration) -> Lease {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let state = Arc::new(Mutex::new(Held {
            key,
            e_tag,
            lost: false,
        }));
        let renewer = {
            let (stop, state, client) = (stop.clone(), state.clone(), client.clone());
            std::thread::Builder::new()
                .name("stepstone-lease".into())
                .spawn(move || renew_loop(&client, &state, &stop, ttl))
                .ok()
        };
        Lease {
            stop,
            renewer,
            state,
            client,
        }
    }
}

/// Renew every `ttl / 3` until told to stop.
fn renew_loop(client: &Client, state: &Mutex<Held>, stop: &(Mutex<bool>, Condvar), ttl: Duration) {
    let (flag, signal) = stop;
    let mut stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let (guard, _) = signal
            .wait_timeout(stopped, ttl / 3)
            .unwrap_or_else(|p| p.into_inner());
        stopped = guard;
        if *stopped {
            return;
        }
        let mut held = state.lock().unwrap_or_else(|p| p.into_inner());
        let update = PutMode::Update(UpdateVersion {
            e_tag: held.e_tag.clone(),
            version: None,
        });
        let body = encode(&fresh_body(ttl));
        let put = client
            .store
            .put_opts(&held.key, body.into(), PutOptions::from(update));
        match client.block_on(put) {
            Ok(put) => held.e_tag = put.e_tag,
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotFound { .. }) => {
                held.lost = true;
                tracing::error!(lease = %client.url(&held.key), "lost the checkpoint store's lease (another run took it over after it expired); this run keeps going but no longer holds the lock");
                return;
            }
            // A transient failure: the next renewal (well before expiry) tries again.
            Err(e) => {
                tracing::warn!(lease = %client.url(&held.key), error = %e, "could not renew the lease; retrying")
            }
        }
    }
}

impl LockHandle for Lease {
    fn record(&mut self, _contents: &[u8]) -> io::Result<()> {
        // The lease body already records host, pid and expiry.
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        {
            let (flag, signal) = &*self.stop;
            *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
            signal.notify_all();
        }
        if let Some(handle) = self.renewer.take() {
            let _ = handle.join();
        }
        let held = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if held.lost {
            return;
        }
        // Delete only our own lease: S3 has no conditional delete, so check the ETag first
        // (a lease someone took over after ours expired has another one).
        let store = &self.client.store;
        let ours = match self.client.block_on(store.head(&held.key)) {
            Ok(meta) => meta.e_tag == held.e_tag,
            Err(_) => false,
        };
        if ours && let Err(e) = self.client.block_on(store.delete(&held.key)) {
            tracing::warn!(lease = %self.client.url(&held.key), error = %e, "could not release the lease; it expires on its own");
        }
    }
}

fn fresh_body(ttl: Duration) -> LeaseBody {
    LeaseBody {
        host: host_name(),
        pid: std::process::id(),
        expires_unix_ms: now_ms() + ttl.as_millis() as u64,
        boot: boot_id(),
    }
}

/// This boot of this machine (`None` where the kernel does not tell).
fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn encode(body: &LeaseBody) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn rfc3339(unix_ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(unix_ms);
    humantime::format_rfc3339_seconds(time).to_string()
}

/// This machine's host name (`/proc/sys/kernel/hostname`, `/etc/hostname`, `$HOSTNAME`).
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}
