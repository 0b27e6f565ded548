//! Rows 4 (torn write) and 5 (corrupted files) of the reliability matrix, at run level: tear,
//! flip, extend or zero the bytes of stored checkpoints (header and payload) and of a run
//! report, then run again. The run must give the right answer, report the object (`corrupt`
//! event, the step's reason), recompute it, and never panic.

mod reliability_util;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use stepstone::report::StepStatus;
use stepstone::{Handle, Pipeline, Policy, RunReport};
use stepstone_tests::{Block, config, files_under};

/// Four checkpointed steps a → b → c → d (d's object is the only one a resumed run reads,
/// unless it is corrupt; then c's, and so on).
fn abcd(p: &mut Pipeline) -> Handle<u64> {
    let policy = Policy::Checkpoint;
    let a = p
        .step("a")
        .code("1")
        .policy(policy)
        .run(|_| Ok(Block::new(2_000, 1)));
    let b = p
        .step("b")
        .code("1")
        .policy(policy)
        .input(&a)
        .run(|x| Ok(x.get::<Block>(0)?.plus(1)));
    let c = p
        .step("c")
        .code("1")
        .policy(policy)
        .input(&b)
        .run(|x| Ok(x.get::<Block>(0)?.plus(2)));
    p.step("d")
        .code("1")
        .policy(policy)
        .input(&c)
        .run(|x| Ok(x.get::<Block>(0)?.sum()))
}

/// Run `abcd` on `dir`.
fn run(dir: &Path) -> stepstone::Outcome<u64> {
    stepstone::run(&config(dir, "4MiB"), |p| Ok(abcd(p)))
        .unwrap_or_else(|e| panic!("run failed: {}", stepstone::error_chain(&e)))
}

/// The object file of step `name` in `report`.
fn object_of(dir: &Path, report: &RunReport, name: &str) -> PathBuf {
    let fp = report
        .steps_named(name)
        .next()
        .unwrap()
        .fingerprint
        .to_hex();
    files_under(&dir.join("objects"), &fp).pop().unwrap()
}

/// How a file is damaged.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// XOR the byte at this offset (mod the length) with a non-zero mask.
    Flip(usize, u8),
    /// XOR the last byte (payload) with a non-zero mask.
    FlipLast(u8),
    /// Keep a prefix (a torn write): this many bytes (mod the length).
    Tear(usize),
    /// Append bytes.
    Extend(usize),
    /// Zero everything from this offset (mod the length) on (unsynced blocks after a crash).
    ZeroFrom(usize),
}

fn damage(path: &Path, how: Damage) {
    let mut bytes = std::fs::read(path).unwrap();
    let len = bytes.len();
    match how {
        Damage::Flip(at, mask) => bytes[at % len] ^= mask.max(1),
        Damage::FlipLast(mask) => bytes[len - 1] ^= mask.max(1),
        Damage::Tear(keep) => bytes.truncate(keep % len),
        Damage::Extend(n) => bytes.extend(std::iter::repeat_n(0xA5, n.max(1))),
        Damage::ZeroFrom(at) => {
            let at = at % len;
            // Zeroing zeros changes nothing: make sure some byte changes.
            if bytes[at..].iter().all(|b| *b == 0) {
                bytes[at] = 1;
            } else {
                bytes[at..].fill(0);
            }
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// Damage d's object, run again: the right answer, d recomputed, and the report says why.
fn check_damage_to_d(how: Damage) {
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path());
    damage(&object_of(dir.path(), &first.report, "d"), how);
    let second = run(dir.path());
    assert_eq!(second.value, first.value, "{how:?}");
    let d = second.report.steps_named("d").next().unwrap();
    assert_eq!(d.status, StepStatus::Executed, "{how:?}");
    assert!(
        d.reason.contains("corrupt"),
        "{how:?}: the report says why: {}",
        d.reason
    );
    assert!(
        second
            .report
            .events
            .iter()
            .any(|e| e.kind == "corrupt" && e.step == "d"),
        "{how:?}: a corrupt event"
    );
    let c = second.report.steps_named("c").next().unwrap();
    assert_eq!(
        c.status,
        StepStatus::Reused,
        "{how:?}: c's checkpoint is intact"
    );
    reliability_util::verify_all(dir.path(), false);
}

#[test]
fn header_bytes_flipped_are_reported_and_recomputed() {
    // Every byte of the fixed header and the type name, and the header checksum.
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path());
    let header_len = {
        let info = stepstone::store::Store::open_read_only(dir.path())
            .unwrap()
            .list_objects()
            .unwrap()
            .remove(0)
            .unwrap();
        (info.file_len - info.payload_len) as usize
    };
    drop(first);
    for at in 0..header_len {
        check_damage_to_d(Damage::Flip(at, 0x10));
    }
}

#[test]
fn payload_bytes_flipped_torn_zeroed_or_extended_are_reported_and_recomputed() {
    for how in [
        Damage::FlipLast(0x01),
        Damage::Flip(120, 0x80),
        Damage::Tear(0),
        Damage::Tear(50),
        Damage::Tear(200),
        Damage::Tear(usize::MAX), // all but some tail bytes
        Damage::ZeroFrom(100),
        Damage::Extend(1),
        Damage::Extend(4096),
    ] {
        check_damage_to_d(how);
    }
}

#[test]
fn every_checkpoint_corrupt_recomputes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path());
    for name in ["a", "b", "c", "d"] {
        damage(
            &object_of(dir.path(), &first.report, name),
            Damage::FlipLast(0xff),
        );
    }
    let second = run(dir.path());
    assert_eq!(second.value, first.value);
    for name in ["a", "b", "c", "d"] {
        let s = second.report.steps_named(name).next().unwrap();
        assert_eq!(s.status, StepStatus::Executed, "{name}");
        assert!(s.reason.contains("corrupt"), "{name}: {}", s.reason);
    }
    // Headers this time (the probe path).
    for name in ["a", "b", "c", "d"] {
        damage(
            &object_of(dir.path(), &first.report, name),
            Damage::Flip(9, 0xff),
        );
    }
    let second = run(dir.path());
    assert_eq!(second.value, first.value);
    for name in ["a", "b", "c", "d"] {
        let s = second.report.steps_named(name).next().unwrap();
        assert_eq!(s.status, StepStatus::Executed, "{name}");
        assert!(s.reason.contains("corrupt"), "{name}: {}", s.reason);
    }
}

#[test]
fn a_damaged_report_does_not_break_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path());
    let reports = files_under(&dir.path().join("runs"), "report.json");
    assert_eq!(reports.len(), 1);
    for how in [Damage::Tear(37), Damage::Flip(0, 0xff), Damage::Extend(3)] {
        damage(&reports[0], how);
        assert!(
            serde_json::from_slice::<RunReport>(&std::fs::read(&reports[0]).unwrap()).is_err(),
            "{how:?}: the report parser refuses the damaged file"
        );
        let again = run(dir.path());
        assert_eq!(again.value, first.value, "{how:?}");
    }
}

fn damage_strategy() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, m)| Damage::Flip(at, m)),
        any::<usize>().prop_map(Damage::Tear),
        (1usize..5000).prop_map(Damage::Extend),
        any::<usize>().prop_map(Damage::ZeroFrom),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random damage to a random checkpoint: the answer is right and a damaged object that the
    /// run needs is never reused.
    #[test]
    fn random_damage_to_any_checkpoint_never_gives_a_wrong_answer(
        which in 0usize..4,
        how in damage_strategy(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let first = run(dir.path());
        let name = ["a", "b", "c", "d"][which];
        damage(&object_of(dir.path(), &first.report, name), how);
        let second = run(dir.path());
        prop_assert_eq!(second.value, first.value);
        if name == "d" {
            let d = second.report.steps_named("d").next().unwrap();
            prop_assert_eq!(d.status, StepStatus::Executed);
            prop_assert!(d.reason.contains("corrupt"), "{}", d.reason);
            // The damaged object was replaced by a good one.
            reliability_util::verify_all(dir.path(), false);
        }
    }
}
