//! The checkpoint store on a real S3 server (SeaweedFS): commit and verified reload (single PUT
//! and multipart), tiering (spills local, checkpoints and reports remote), first writer wins
//! (RELIABILITY row 25), the server gone mid-upload (row 24). The lease: `s3_lease.rs`.

mod s3_util;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use s3_util::Server;
use stepstone::memory::Footprint;
use stepstone::plan::Fingerprint;
use stepstone::store::{
    Backend, BlockKey, DirEntry, LockHandle, ObjectKind, ReadFile, S3Backend, Store, StoreError,
    StoreOptions, WriteFile,
};

const TYPE: &str = "alloc::vec::Vec<u8>";

fn key(n: u8) -> BlockKey {
    let hex: String = std::iter::repeat_n(format!("{n:02x}"), 16).collect();
    BlockKey {
        fingerprint: hex.parse::<Fingerprint>().expect("fingerprint"),
        part: 0,
    }
}

fn put(store: &Store, key: BlockKey, kind: ObjectKind, bytes: &[u8]) -> Result<(), StoreError> {
    store
        .write(
            key,
            kind,
            TYPE,
            Footprint::default(),
            &mut |w: &mut dyn Write| w.write_all(bytes).map_err(|e| e.to_string()),
        )
        .map(drop)
}

fn open(backend: Arc<dyn Backend>, root: &Path, run: &str) -> Result<Store, StoreError> {
    Store::open_with_backend(backend, root, run, StoreOptions::default())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn checkpoints_and_reports_go_to_s3_spills_stay_local_and_reload_verified() {
    let Some(server) = Server::start() else {
        return;
    };
    let spill = s3_util::tempdir();
    let url = server.url("roundtrip");
    let backend = server.backend_at(&url, Some(spill.path()));
    let root = backend.root();
    let store = open(backend.clone(), &root, "run-1").expect("open on S3");
    let small = pattern(10_000, 1);
    let large = pattern(20 << 20, 2); // above the single-PUT size: multipart
    put(&store, key(1), ObjectKind::Checkpoint, &small).expect("small checkpoint");
    put(&store, key(2), ObjectKind::Checkpoint, &large).expect("large checkpoint");
    put(&store, key(3), ObjectKind::Spill, b"spilled").expect("spill");
    store.write_run_file("report.json", b"{}").expect("report");

    // The spill is in the local tier, the checkpoints are not.
    let tier = backend.spill_dir().to_path_buf();
    assert!(tier.starts_with(spill.path()), "the store's own subfolder");
    let local = |k: BlockKey| {
        let hex = k.fingerprint.to_hex();
        tier.join("objects")
            .join(&hex[..2])
            .join(format!("{hex}.0"))
    };
    assert!(local(key(3)).is_file(), "spill in the local spill dir");
    assert!(!local(key(1)).exists() && !local(key(2)).exists());
    let (_, bytes) = store
        .read(key(1), ObjectKind::Checkpoint, TYPE)
        .expect("read small");
    assert_eq!(bytes, small);
    let (_, bytes) = store
        .read(key(2), ObjectKind::Checkpoint, TYPE)
        .expect("read large");
    assert_eq!(bytes, large);
    drop(store);

    // Another "machine": a fresh spill dir, the same prefix. Checkpoints and the report are
    // there; the first run's spill is not (it was local).
    let other_spill = s3_util::tempdir();
    let backend = server.backend_at(&url, Some(other_spill.path()));
    let store = Store::open_read_only_with_backend(backend, &root).expect("read-only on S3");
    let listed: Vec<_> = store
        .list_objects()
        .expect("list")
        .into_iter()
        .map(|r| r.expect("valid object").key)
        .collect();
    assert_eq!(listed, vec![key(1), key(2)]);
    store.verify(key(2)).expect("verified");
    assert_eq!(store.list_runs().expect("runs"), vec!["run-1".to_string()]);
    assert_eq!(
        store
            .read_run_file("run-1", "report.json")
            .expect("report read"),
        Some(b"{}".to_vec())
    );

    // A truncated object at a well-formed name is reported corrupt in its listing slot, not as
    // an I/O error; an empty one (what S3 tools leave as a folder marker) is not listed, and
    // reading it reports it corrupt.
    let raw = server.backend_at(&url, None);
    let (empty, short) = (key(4), key(5));
    for (k, bytes) in [(empty, Vec::new()), (short, b"STEP".to_vec())] {
        let hex = k.fingerprint.to_hex();
        raw.raw_put(&format!("objects/{}/{hex}.0", &hex[..2]), bytes)
            .expect("raw put");
    }
    let slots = store.list_objects().expect("list");
    assert_eq!(slots.len(), 3, "{slots:?}");
    assert!(
        matches!(&slots[2], Err(StoreError::Corrupt { path, .. }) if path.to_string_lossy().contains(&short.fingerprint.to_hex())),
        "{slots:?}"
    );
    let err = store.read(empty, ObjectKind::Checkpoint, TYPE).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

    // A flipped byte in the remote object is caught on read, exactly as on a local directory.
    let hex = key(1).fingerprint.to_hex();
    let rel = format!("objects/{}/{hex}.0", &hex[..2]);
    let mut object = raw.raw_get(&rel).expect("raw get");
    let last = object.len() - 1;
    object[last] ^= 0xff;
    raw.raw_put(&rel, object).expect("raw put");
    let err = store
        .read(key(1), ObjectKind::Checkpoint, TYPE)
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&url), "names the object: {err}");
}

/// Delegates to an [`S3Backend`]; when a checkpoint write starts (its streamed upload is
/// created) it runs `hook` once (another writer's commit, a server crash, …).
struct Hooked {
    inner: Arc<S3Backend>,
    hook: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for Hooked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooked")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Backend for Hooked {
    fn create(&self, p: &Path) -> std::io::Result<Box<dyn WriteFile>> {
        self.inner.create(p)
    }
    fn open_read(&self, p: &Path) -> std::io::Result<Box<dyn ReadFile>> {
        self.inner.open_read(p)
    }
    fn rename(&self, a: &Path, b: &Path) -> std::io::Result<()> {
        self.inner.rename(a, b)
    }
    fn create_for_publish(&self, a: &Path, b: &Path) -> std::io::Result<Box<dyn WriteFile>> {
        self.run_hook();
        self.inner.create_for_publish(a, b)
    }
    fn publish(&self, a: &Path, b: &Path, exclusive: bool) -> std::io::Result<bool> {
        self.run_hook();
        self.inner.publish(a, b, exclusive)
    }
    fn remove_file(&self, p: &Path) -> std::io::Result<()> {
        self.inner.remove_file(p)
    }
    fn remove_dir_all(&self, p: &Path) -> std::io::Result<()> {
        self.inner.remove_dir_all(p)
    }
    fn sync_dir(&self, p: &Path) -> std::io::Result<()> {
        self.inner.sync_dir(p)
    }
    fn create_dir_all(&self, p: &Path) -> std::io::Result<()> {
        self.inner.create_dir_all(p)
    }
    fn list_dir(&self, p: &Path) -> std::io::Result<Vec<DirEntry>> {
        self.inner.list_dir(p)
    }
    fn exists(&self, p: &Path) -> std::io::Result<bool> {
        self.inner.exists(p)
    }
    fn lock(&self, p: &Path, wait: bool) -> std::io::Result<Option<Box<dyn LockHandle>>> {
        self.inner.lock(p, wait)
    }
}

impl Hooked {
    fn run_hook(&self) {
        let hook = self.hook.lock().map(|mut h| h.take()).unwrap_or(None);
        if let Some(hook) = hook {
            hook();
        }
    }
}

fn hooked(inner: Arc<S3Backend>, hook: impl FnOnce() + Send + 'static) -> Arc<Hooked> {
    Arc::new(Hooked {
        inner,
        hook: std::sync::Mutex::new(Some(Box::new(hook))),
    })
}

/// The bytes of a valid object of `key` holding `payload` (written by a local store).
fn object_file(key: BlockKey, payload: &[u8]) -> Vec<u8> {
    let dir = s3_util::tempdir();
    let store = Store::open(dir.path(), "maker", StoreOptions::default()).expect("local store");
    put(&store, key, ObjectKind::Checkpoint, payload).expect("local write");
    let hex = key.fingerprint.to_hex();
    std::fs::read(
        dir.path()
            .join("objects")
            .join(&hex[..2])
            .join(format!("{hex}.0")),
    )
    .expect("object file")
}

#[test]
fn a_writer_that_loses_the_conditional_put_uses_the_winners_object() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("race");
    for (n, len) in [(10u8, 5_000usize), (11, 12 << 20)] {
        let k = key(n);
        let hex = k.fingerprint.to_hex();
        let rel = format!("objects/{}/{hex}.0", &hex[..2]);
        let winner = pattern(len, 7);
        let winner_object = object_file(k, &winner);
        let racer = server.backend_at(&url, None);
        let inner = server.backend_at(&url, None);
        let root = inner.root();
        let backend = hooked(inner, move || {
            racer
                .raw_put(&rel, winner_object)
                .expect("the other writer's commit");
        });
        let store = open(backend, &root, &format!("loser-{n}")).expect("open");
        put(&store, k, ObjectKind::Checkpoint, &pattern(len, 99)).expect("loser's write succeeds");
        let (_, bytes) = store.read(k, ObjectKind::Checkpoint, TYPE).expect("read");
        assert!(
            bytes == winner,
            "the loser uses the winner's object ({len} bytes)"
        );
    }

    // A corrupt object that appears at the key is replaced, not used.
    let k = key(12);
    let hex = k.fingerprint.to_hex();
    let rel = format!("objects/{}/{hex}.0", &hex[..2]);
    let racer = server.backend_at(&url, None);
    let inner = server.backend_at(&url, None);
    let root = inner.root();
    let backend = hooked(inner, move || {
        racer.raw_put(&rel, b"garbage".to_vec()).expect("garbage");
    });
    let store = open(backend, &root, "replacer").expect("open");
    put(&store, k, ObjectKind::Checkpoint, b"ours").expect("write");
    assert_eq!(
        store.read(k, ObjectKind::Checkpoint, TYPE).expect("read").1,
        b"ours"
    );
}

#[test]
fn concurrent_exclusive_publishes_of_one_key_make_exactly_one_winner() {
    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("publish");
    let k = key(20);
    let hex = k.fingerprint.to_hex();
    let to = format!("{url}/objects/{}/{hex}.0", &hex[..2]);
    let wins: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4u8)
            .map(|i| {
                let server = &server;
                let url = &url;
                let to = &to;
                scope.spawn(move || {
                    let spill = s3_util::tempdir();
                    let backend = server.backend_at(url, Some(spill.path()));
                    let tier = backend.spill_dir().to_path_buf();
                    std::fs::create_dir_all(tier.join("tmp")).expect("tmp");
                    let from = tier.join("tmp").join("obj.tmp");
                    std::fs::write(&from, object_file(k, &[i; 100])).expect("temp file");
                    let from = Path::new(url).join("tmp").join("obj.tmp");
                    backend
                        .publish(&from, Path::new(to), true)
                        .expect("publish")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    let winner = wins.iter().position(|w| *w).expect("a winner") as u8;
    let store = Store::open_read_only_with_backend(server.backend_at(&url, None), Path::new(&url))
        .expect("open");
    assert_eq!(
        store.read(k, ObjectKind::Checkpoint, TYPE).expect("read").1,
        vec![winner; 100]
    );
}

#[test]
fn server_gone_mid_upload_names_the_object_commits_nothing_and_the_next_run_resumes() {
    // Our own server even in CI: this test kills and restarts it.
    let Some(mut server) = Server::start_owned() else {
        return;
    };
    let url = server.url("gone");
    let k = key(30);
    let payload = pattern(160 << 20, 3);
    let pid = server_pid(&server);
    let inner = server.backend_at(&url, None);
    let root = inner.root();
    let backend = hooked(inner, move || {
        // Kill the server shortly after the streamed multipart upload has started.
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(150));
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        });
    });
    let store = open(backend, &root, "doomed").expect("open");
    let err = put(&store, k, ObjectKind::Checkpoint, &payload).unwrap_err();
    let text = err.to_string();
    eprintln!("the error: {text}");
    let hex = k.fingerprint.to_hex();
    assert!(text.contains(&hex), "the error names the object: {text}");
    assert!(text.contains(&url), "the error names the store: {text}");
    drop(store);

    server.stop();
    server.restart();
    let backend = server.backend_at(&url, None);
    let store = Store::open_read_only_with_backend(backend.clone(), &root).expect("open");
    assert!(
        store.probe(k).expect("probe").is_none(),
        "nothing was committed"
    );
    drop(store);
    let store = open(backend, &root, "after")
        .expect("the next run opens (the lease expired or was released)");
    put(&store, k, ObjectKind::Checkpoint, &payload).expect("the next run commits");
    assert!(store.read(k, ObjectKind::Checkpoint, TYPE).expect("read").1 == payload);
}

fn server_pid(server: &Server) -> u32 {
    server.pid().expect("an owned server has a pid")
}

/// Issue 21, item 3: the S3 server down while a run reads a checkpoint back (past the client's
/// retries) fails the run naming the object and the error; the checkpoint is not deleted, and
/// the run after the server is back reuses it.
#[test]
fn server_down_during_a_get_keeps_the_checkpoint_for_the_next_run() {
    use stepstone::report::{RunStatus, StepStatus};
    use stepstone_tests::read_faults::ReadFaults;
    use stepstone_tests::{Block, config};

    // Our own server even in CI: this test kills and restarts it.
    let Some(mut server) = Server::start_owned() else {
        return;
    };
    let url = server.url("get-outage");
    let spill = s3_util::tempdir();
    let pipeline = |p: &mut stepstone::Pipeline| {
        let make = p
            .step("make")
            .code("1")
            .policy(stepstone::Policy::Checkpoint)
            .run(|_| Ok(Block::new(50_000, 7)));
        Ok(p.step("sum")
            .code("1")
            .input(&make)
            .run(|a| Ok(a.get::<Block>(0)?.sum())))
    };
    let run = |backend: Arc<dyn Backend>| {
        let root = Path::new(&url).to_path_buf();
        let cfg = config(&root, "64MiB").backend(backend);
        let mut cfg = cfg;
        cfg.wait_for_lock = true;
        stepstone::run(&cfg, pipeline)
    };
    let expected = Block::new(50_000, 7).sum();
    let first = run(server.backend_at(&url, Some(spill.path()))).expect("first run");
    assert_eq!(first.value, expected);

    let pid = server_pid(&server);
    let outage =
        ReadFaults::new(server.backend_at(&url, Some(spill.path()))).before_first_read(move || {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
    let error = run(Arc::new(outage)).expect_err("the checkpoint cannot be read");
    let text = stepstone::error_chain(&error);
    eprintln!("the error: {text}");
    for part in ["S3 get of", &url, "kept", "`make`"] {
        assert!(text.contains(part), "`{part}` missing from: {text}");
    }

    server.stop();
    server.restart();
    let backend = server.backend_at(&url, Some(spill.path()));
    let again = run(backend.clone()).expect("the run after the outage");
    assert_eq!(again.value, expected);
    let report = again.report;
    assert_ne!(report.status, RunStatus::Failed);
    let make = report.steps.iter().find(|s| s.name == "make").unwrap();
    assert_eq!(
        make.status,
        StepStatus::Reused,
        "the checkpoint survived the outage"
    );
    assert!(!report.events.iter().any(|e| e.kind == "corrupt"));
}

/// Early-cutoff records live in the store: a content-addressed step that ran on one machine
/// (its own spill directory and input cache) is resolved from the record on another, which then
/// runs nothing.
#[test]
fn an_input_steps_output_record_is_in_the_store_for_every_machine() {
    use stepstone::report::StepStatus;

    let Some(server) = Server::start() else {
        return;
    };
    let url = server.url("input-records");
    let work = s3_util::tempdir();
    let input = work.path().join("in.txt");
    std::fs::write(&input, "a\nb\nc\n").unwrap();
    let file = stepstone::InputFile::from(input.as_path());
    let pipeline = |p: &mut stepstone::Pipeline| {
        let lines = p
            .step("lines")
            .code("1")
            .policy(stepstone::Policy::Checkpoint)
            .input_file("input", &file)
            .param(&file)
            .run({
                let file = file.clone();
                move |_| Ok(std::fs::read_to_string(&*file)?.lines().count() as u64)
            });
        Ok(p.step("twice")
            .code("1")
            .input(&lines)
            .policy(stepstone::Policy::Checkpoint)
            .run(|a| Ok(*a.get::<u64>(0)? * 2)))
    };
    let run = |spill: &Path| {
        let root = Path::new(&url).to_path_buf();
        let cfg = stepstone_tests::config(&root, "64MiB")
            .backend(server.backend_at(&url, Some(spill)))
            .spill_dir(spill);
        stepstone::run(&cfg, pipeline).expect("run")
    };
    let (machine_a, machine_b) = (s3_util::tempdir(), s3_util::tempdir());
    let first = run(machine_a.path());
    assert_eq!(first.value, 6);
    let store =
        Store::open_read_only_with_backend(server.backend_at(&url, None), Path::new(&url)).unwrap();
    let record = store
        .read_store_file(stepstone::store::StoreFile::InputOutputs)
        .unwrap()
        .expect("the record is in the store");
    assert!(String::from_utf8_lossy(&record).contains(':'));
    let second = run(machine_b.path());
    assert_eq!(second.value, 6);
    for row in &second.report.steps {
        assert_ne!(
            row.status,
            StepStatus::Executed,
            "{}: {}",
            row.name,
            row.reason
        );
    }
}
