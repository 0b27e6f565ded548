//! Every built-in archetype generates a project that passes its own CI (`.ci/run`: `stepstone
//! check`, cargo fmt --check, cargo clippy -D warnings, cargo test — its unit tests and its
//! pipeline run under a small budget), whose binary runs on small data, whose stored objects
//! `checkpoints gc` keeps after that run, and whose checkpoint data is git-ignored while the
//! archetype record is not. The projects share one
//! CARGO_TARGET_DIR so the runtime is compiled once.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use common::{code, run, stderr};

/// Small-data flags and the output file of each built-in archetype's pipeline binary.
fn small_run(archetype: &str) -> (&'static [&'static str], &'static str) {
    match archetype {
        "batch-etl" => (&["--rows", "5000"], "out/totals.parquet"),
        "iterative" => (
            &["--points", "5000", "--iterations", "5"],
            "out/centroids.csv",
        ),
        "lakehouse" => (
            &["--sales-files", "data/sales/*.parquet"],
            "out/revenue_by_region.parquet",
        ),
        other => panic!("add the small-data flags of archetype {other} to this test"),
    }
}

fn checked(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_builtin_archetype_builds_and_passes_its_own_ci() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let list = run(&["archetypes", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    for name in names {
        let work = tempfile::tempdir().unwrap();
        let dest = work.path().join(&name);
        let project = format!("gen-{name}");
        let output = run(&[
            "new",
            &project,
            "--archetype",
            &name,
            "--no-input",
            "--dest",
            dest.to_str().unwrap(),
        ]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));

        let started = Instant::now();
        let mut ci = Command::new("bash");
        ci.arg(".ci/run")
            .current_dir(&dest)
            .env("CARGO_TARGET_DIR", &target)
            .env("STEPSTONE", env!("CARGO_BIN_EXE_stepstone"));
        let tests = checked(&format!("{name}: .ci/run"), ci.output().unwrap());
        assert!(
            tests.contains("(approved) from built-in") && tests.contains("; current"),
            "{name}: .ci/run did not run `stepstone check`: {tests}"
        );
        eprintln!(
            "{name}: the generated project's .ci/run took {:.1?}",
            started.elapsed()
        );
        let integration = "runs_under_a_small_budget_and_resumes_with_the_same_answer ... ok";
        assert!(tests.contains(integration), "{name}: {tests}");

        let (flags, output_file) = small_run(&name);
        let mut binary = Command::new("cargo");
        binary
            .args(["run", "-q", "--"])
            .args(flags)
            .current_dir(&dest)
            .env("CARGO_TARGET_DIR", &target);
        checked(
            &format!("{name}: cargo run -- {flags:?}"),
            binary.output().unwrap(),
        );
        assert!(
            dest.join(output_file).is_file(),
            "{name}: {output_file} not written"
        );
        assert!(
            dest.join(".stepstone/runs").is_dir(),
            "{name}: no run report in .stepstone/"
        );

        // Built without the `s3` feature (the archetypes' default): an s3:// checkpoint
        // directory is refused before any step runs, naming the feature to add.
        let mut s3 = Command::new("cargo");
        s3.args(["run", "-q", "--"])
            .args(flags)
            .args(["--checkpoint-dir", "s3://bucket/no-such-prefix"])
            .current_dir(&dest)
            .env("CARGO_TARGET_DIR", &target);
        let refused = s3.output().unwrap();
        let message = stderr(&refused);
        assert_eq!(code(&refused), 1, "{name}: {message}");
        assert!(
            message.contains("s3://bucket/no-such-prefix")
                && message.contains("built without the `s3` feature")
                && message.contains("features = [\"s3\"]")
                && message.contains("--features s3"),
            "{name}: {message}"
        );
        assert!(
            dest.join(".stepstone/archetype.toml").is_file(),
            "{name}: the run removed the record"
        );
        // Every object the run stored is one its report lists (per-file partitions and the
        // shuffles after them included): gc frees nothing.
        let gc = run(&[
            "checkpoints",
            "gc",
            "--json",
            "--dir",
            dest.join(".stepstone").to_str().unwrap(),
        ]);
        assert_eq!(code(&gc), 0, "{name}: {}", stderr(&gc));
        let gc: serde_json::Value = serde_json::from_slice(&gc.stdout).unwrap();
        assert_eq!(gc["freed_objects"], 0, "{name}: gc after one run: {gc}");
        assert!(gc["kept_objects"].as_u64() > Some(0), "{name}: {gc}");

        checked(
            "git init",
            Command::new("git")
                .args(["init", "-q", "."])
                .current_dir(&dest)
                .output()
                .unwrap(),
        );
        let mut git = Command::new("git");
        git.args([
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
        ]);
        let status = checked("git status", git.current_dir(&dest).output().unwrap());
        assert!(
            status.contains("?? .stepstone/archetype.toml"),
            "{name}: record ignored:\n{status}"
        );
        assert!(
            status.contains("!! .stepstone/runs/"),
            "{name}: run reports not ignored:\n{status}"
        );
        assert!(
            !status.contains("?? .stepstone/objects"),
            "{name}: checkpoints not ignored:\n{status}"
        );
    }
}

#[test]
fn archetypes_check_build_generates_and_tests_an_archetype_folder() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let folder = format!("{}/../templates/iterative", env!("CARGO_MANIFEST_DIR"));
    let output = common::stepstone()
        .args(["archetypes", "check", &folder, "--build"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("iterative: generated project builds and passes its tests"));
}

/// `new --run` hands the build to cargo (`CARGO`; here a script that records what it was
/// given): the profile of this (debug) stepstone unless `--release`, in the shared target
/// directory under the cache dir unless `CARGO_TARGET_DIR` is set or the user opts out.
#[test]
fn new_run_builds_in_the_shared_target_dir_with_this_binarys_profile() {
    let work = tempfile::tempdir().unwrap();
    let record = work.path().join("cargo-calls.txt");
    let fake_cargo = work.path().join("fake-cargo");
    std::fs::write(
        &fake_cargo,
        format!(
            "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$PWD\" \"${{CARGO_TARGET_DIR:-own}}\" \"$*\" >> '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake_cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cache = work.path().join("cache");
    let mine = work.path().join("mine");
    // (project, flags, CARGO_TARGET_DIR, STEPSTONE_NO_SHARED_TARGET); "shared-again" is a second
    // project named `shared`: the name is taken in the shared directory, so it builds in its own.
    let cases = [
        ("shared", &[][..], None, None),
        ("shared-again", &[][..], None, None),
        (
            "opt-out",
            &["--release", "--no-shared-target"][..],
            None,
            None,
        ),
        ("explicit", &[][..], Some(mine.as_path()), None),
        ("env-opt-out", &[][..], None, Some("1")),
    ];
    for (folder, flags, target, no_shared) in cases {
        let dest = work.path().join(folder);
        let project = folder.strip_suffix("-again").unwrap_or(folder);
        let mut new = common::stepstone();
        new.args(["new", project, "--no-input", "--run", "--dest"])
            .arg(&dest)
            .args(flags)
            .env("CARGO", &fake_cargo)
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("STEPSTONE_NO_SHARED_TARGET");
        if let Some(target) = target {
            new.env("CARGO_TARGET_DIR", target);
        }
        if let Some(value) = no_shared {
            new.env("STEPSTONE_NO_SHARED_TARGET", value);
        }
        let output = new.output().unwrap();
        assert_eq!(code(&output), 0, "{folder}: {}", stderr(&output));
        if folder == "shared-again" {
            let warning = "another project named `shared`";
            assert!(stderr(&output).contains(warning), "{}", stderr(&output));
        }
        if folder == "shared" {
            let shared = cache.join("stepstone/target");
            let next = format!(
                "export CARGO_TARGET_DIR={}; then `cargo run`",
                shared.display()
            );
            assert!(stderr(&output).contains(&next), "{}", stderr(&output));
        }
    }
    let calls = std::fs::read_to_string(&record).unwrap();
    let dir = |p: &str| work.path().join(p).canonicalize().unwrap();
    let expected = [
        format!(
            "{}|{}|run",
            dir("shared").display(),
            cache.join("stepstone/target").display()
        ),
        format!("{}|own|run", dir("shared-again").display()),
        format!("{}|own|run --release", dir("opt-out").display()),
        format!("{}|{}|run", dir("explicit").display(), mine.display()),
        format!("{}|own|run", dir("env-opt-out").display()),
    ];
    assert_eq!(calls.lines().collect::<Vec<_>>(), expected, "{calls}");
}
