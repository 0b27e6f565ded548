//! `stepstone update` file by file on a small archetype (no cargo build): clean merges, user
//! deletions kept, new files added, dropped files deleted only when pristine, binary files never
//! merged, migrations (move, delete, rename and derive answers), new variables defaulted,
//! dry runs writing nothing, the record moving on, backups of every touched file.

mod common;

use std::fs;
use std::path::Path;

use common::{archetype, code, stderr, stepstone};

const V1: &str = r#"[archetype]
name = "tiny"
version = "1.0.0"
description = "test"
owner = "tests"
status = "approved"

[[variables]]
name = "who"
type = "string"
default = "team"

[[variables]]
name = "count"
type = "integer"
default = 3
"#;

const V2_EXTRA: &str = r#"
[[variables]]
name = "level"
type = "integer"
default = 7

[[variables]]
name = "label"
type = "string"
default = "none"

[[migrations]]
version = "2.0.0"
rename_answer = { from = "who", to = "owner" }

[[migrations]]
version = "2.0.0"
derive_answer = { name = "label", template = "{{ owner }}-{{ count }}" }

[[migrations]]
version = "2.0.0"
derive_answer = { name = "level", template = "{{ count * 3 }}" }

[[migrations]]
version = "2.0.0"
move = { from = "legacy", to = "config" }

[[migrations]]
version = "2.0.0"
delete = "generated"
"#;

const NOTES_V1: &[u8] = b"title\none\ntwo\nthree\nfour\nfive\n";
const NOTES_V2: &[u8] = b"title\none\ntwo\nthree\nfour\nFIVE (2.0)\n";

fn publish(dir: &Path, catalog: &Path) {
    let out = stepstone()
        .args(["archetypes", "publish"])
        .arg(dir)
        .arg("--catalog")
        .arg(catalog)
        .args(["--approver", "tests"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// A catalog with tiny 1.0.0 and 2.0.0, and a project made from 1.0.0.
fn setup(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let v1 = archetype(
        &root.join("v1"),
        V1,
        &[
            ("notes.txt", NOTES_V1),
            ("keep.txt.tera", b"{{ who }} {{ count }}\n"),
            ("logo.bin", b"\0\x01\x02\x03"),
            ("old.txt", b"dropped in 2.0\n"),
            ("doomed.txt", b"the user deletes me\n"),
            ("legacy/cfg.txt", b"setting = 1\n"),
            ("extra.txt", b"dropped in 2.0 too\n"),
        ],
    );
    let manifest = format!(
        "{}{V2_EXTRA}",
        V1.replace("version = \"1.0.0\"", "version = \"2.0.0\"")
            .replace("name = \"who\"", "name = \"owner\"")
    );
    let v2 = archetype(
        &root.join("v2"),
        &manifest,
        &[
            ("notes.txt", NOTES_V2),
            ("keep.txt.tera", b"{{ owner }} {{ count }}\n"),
            ("level.txt.tera", b"level {{ level }} label {{ label }}\n"),
            ("logo.bin", b"\0\x09\x09\x09"),
            ("doomed.txt", b"changed in 2.0\n"),
            ("config/cfg.txt", b"setting = 1\n"),
            ("new.txt", b"new in 2.0\n"),
        ],
    );
    let catalog = root.join("catalog");
    publish(&v1, &catalog);
    publish(&v2, &catalog);
    let project = root.join("p");
    let out = stepstone()
        .args([
            "new",
            "p",
            "--archetype",
            "tiny@1.0.0",
            "--no-input",
            "--catalog",
        ])
        .arg(&catalog)
        .arg("--dest")
        .arg(&project)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    (catalog, project)
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn update(project: &Path, extra: &[&str]) -> std::process::Output {
    stepstone()
        .arg("update")
        .args(extra)
        .current_dir(project)
        .output()
        .unwrap()
}

#[test]
fn every_kind_of_file_change_is_handled_and_nothing_of_the_user_is_lost() {
    let work = tempfile::tempdir().unwrap();
    let (_catalog, project) = setup(work.path());
    let user_notes = b"title (ours)\none\ntwo\nthree\nfour\nfive\n";
    fs::write(project.join("notes.txt"), user_notes).unwrap();
    fs::write(project.join("logo.bin"), b"\0ours").unwrap();
    fs::remove_file(project.join("doomed.txt")).unwrap();
    fs::write(project.join("legacy/cfg.txt"), b"setting = 2 # ours\n").unwrap();
    fs::create_dir_all(project.join("generated/deep")).unwrap();
    fs::write(project.join("generated/deep/schema.json"), b"{}").unwrap();

    let before = listing(&project);
    let out = update(&project, &["--dry-run"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing written"), "{}", stderr(&out));
    assert_eq!(listing(&project), before, "--dry-run wrote something");

    let out = update(&project, &["--no-input"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("logo.bin"), "{err}");
    let read = |p: &str| fs::read(project.join(p)).ok();
    assert_eq!(
        read("notes.txt").unwrap(),
        b"title (ours)\none\ntwo\nthree\nfour\nFIVE (2.0)\n"
    );
    assert_eq!(read("logo.bin").unwrap(), b"\0ours", "binary: ours kept");
    assert_eq!(read("logo.bin.theirs").unwrap(), b"\0\x09\x09\x09");
    assert_eq!(read("old.txt"), None, "a pristine dropped file is deleted");
    assert_eq!(
        read("doomed.txt"),
        None,
        "a file the user deleted stays deleted"
    );
    assert_eq!(
        read("extra.txt"),
        None,
        "a pristine dropped file is deleted"
    );
    assert_eq!(
        read("generated/deep/schema.json"),
        None,
        "the delete migration applies"
    );
    assert_eq!(read("new.txt").unwrap(), b"new in 2.0\n");
    assert_eq!(read("legacy/cfg.txt"), None);
    assert_eq!(read("config/cfg.txt").unwrap(), b"setting = 2 # ours\n");
    assert_eq!(
        read("keep.txt").unwrap(),
        b"team 3\n",
        "renamed answer kept"
    );
    assert_eq!(read("level.txt").unwrap(), b"level 9 label team-3\n");

    let record: toml::Table =
        toml::from_str(&String::from_utf8(read(".stepstone/archetype.toml").unwrap()).unwrap())
            .unwrap();
    assert_eq!(record["archetype"]["version"].as_str(), Some("2.0.0"));
    let answers = record["answers"].as_table().unwrap();
    assert_eq!(answers.get("owner").and_then(|v| v.as_str()), Some("team"));
    assert_eq!(
        answers.get("label").and_then(|v| v.as_str()),
        Some("team-3")
    );
    assert_eq!(answers.get("level").and_then(|v| v.as_integer()), Some(9));
    assert!(!answers.contains_key("who"));

    let backup = project.join(".stepstone/backup/1.0.0-2.0.0");
    assert_eq!(fs::read(backup.join("notes.txt")).unwrap(), user_notes);
    assert_eq!(
        fs::read(backup.join("legacy/cfg.txt")).unwrap(),
        b"setting = 2 # ours\n"
    );
    assert_eq!(
        fs::read(backup.join("generated/deep/schema.json")).unwrap(),
        b"{}"
    );

    // The binary conflict is unresolved until logo.bin.theirs is gone.
    let check = |project: &Path| {
        stepstone()
            .args(["check", "--conflicts-only", "--json"])
            .current_dir(project)
            .output()
            .unwrap()
    };
    let out = check(&project);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["conflicts"], serde_json::json!(["logo.bin.theirs"]));
    fs::remove_file(project.join("logo.bin.theirs")).unwrap();
    assert_eq!(code(&check(&project)), 0);

    // The record moved on: the next update starts from 2.0.0.
    let out = update(&project, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("already at"), "{}", stderr(&out));
}

#[test]
fn check_reports_each_file_and_exits_by_drift() {
    let work = tempfile::tempdir().unwrap();
    let (catalog, project) = setup(work.path());
    let check = |extra: &[&str]| {
        stepstone()
            .arg("check")
            .args(extra)
            .current_dir(&project)
            .output()
            .unwrap()
    };
    // Pristine but not current (2.0.0 is approved): 1.
    let out = check(&["--json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["current"], false);
    assert_eq!(report["latest_approved"], "2.0.0");
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["state"] == "pristine"),
        "{report}"
    );

    // At 2.0.0, pristine, plus a file of the user's: 0, the file listed as added.
    let current = work.path().join("q");
    let out = stepstone()
        .args(["new", "q", "--archetype", "tiny", "--no-input", "--catalog"])
        .arg(&catalog)
        .arg("--dest")
        .arg(&current)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    fs::write(current.join("mine.txt"), "mine").unwrap();
    let in_current = |extra: &[&str]| {
        stepstone()
            .arg("check")
            .args(extra)
            .current_dir(&current)
            .output()
            .unwrap()
    };
    let out = in_current(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        common::stdout(&out).contains("added     mine.txt"),
        "{}",
        common::stdout(&out)
    );

    // An archetype file the project ignores is still checked.
    fs::write(current.join(".gitignore"), "/notes.txt\n").unwrap();
    fs::write(current.join("notes.txt"), "changed\n").unwrap();
    fs::remove_file(current.join("new.txt")).unwrap();
    let out = in_current(&["--json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = |path: &str| {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state("notes.txt").as_deref(), Some("modified"));
    assert_eq!(state("new.txt").as_deref(), Some("missing"));
    assert_eq!(state("mine.txt").as_deref(), Some("added"));
    assert_eq!(state("keep.txt").as_deref(), Some("pristine"));
    // Drift without conflict markers passes --conflicts-only.
    assert_eq!(code(&in_current(&["--conflicts-only"])), 0);

    // Not a generated project: a usage error.
    let out = stepstone()
        .arg("check")
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("is not a project generated by `stepstone new`"));
}

#[test]
fn deprecated_and_experimental_targets_follow_the_status_rules() {
    let work = tempfile::tempdir().unwrap();
    let (catalog, project) = setup(work.path());
    let out = stepstone()
        .args(["archetypes", "deprecate", "tiny@2.0.0", "--catalog"])
        .arg(&catalog)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = listing(&project);
    let out = update(&project, &["--to", "2.0.0"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("deprecated"), "{}", stderr(&out));
    assert_eq!(
        listing(&project),
        before,
        "a refused update wrote something"
    );

    let v3 = work.path().join("v3");
    copy_with_version(&work.path().join("v2"), &v3, "3.0.0");
    let out = stepstone()
        .args(["archetypes", "publish"])
        .arg(&v3)
        .arg("--catalog")
        .arg(&catalog)
        .args(["--approver", "tests", "--status", "experimental"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = update(&project, &["--to", "3.0.0"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("--allow-unapproved"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(&project), before);
    let out = update(&project, &["--to", "3.0.0", "--allow-unapproved"]);
    // The binary conflict of logo.bin does not happen here (the user changed nothing): clean.
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(project.join("new.txt").is_file());
}

fn copy_with_version(from: &Path, to: &Path, version: &str) {
    for (rel, bytes) in listing(from) {
        let target = to.join(&rel);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        let bytes = if rel == "archetype.toml" {
            String::from_utf8(bytes)
                .unwrap()
                .replace(
                    "version = \"2.0.0\"\ndescription",
                    &format!("version = \"{version}\"\ndescription"),
                )
                .into_bytes()
        } else {
            bytes
        };
        fs::write(target, bytes).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_in_the_project_stops_the_update_before_anything_is_written() {
    let work = tempfile::tempdir().unwrap();
    let (_catalog, project) = setup(work.path());
    let outside = work.path().join("outside.txt");
    fs::write(&outside, "outside\n").unwrap();
    fs::remove_file(project.join("notes.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, project.join("notes.txt")).unwrap();
    let before = listing(&project);
    let out = update(&project, &["--no-input"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(listing(&project), before);
    assert_eq!(fs::read_to_string(&outside).unwrap(), "outside\n");
}

#[test]
fn cargo_stepstone_runs_update_and_check_with_the_same_arguments() {
    let work = tempfile::tempdir().unwrap();
    let (_catalog, project) = setup(work.path());
    let cargo_stepstone = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cargo-stepstone"))
            .arg("stepstone")
            .args(args)
            .current_dir(&project)
            .env_remove("STEPSTONE_ARCHETYPES")
            .output()
            .unwrap()
    };
    let out = cargo_stepstone(&["check", "--conflicts-only"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = cargo_stepstone(&["update", "--no-input"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tiny 1.0.0 -> 2.0.0"),
        "{}",
        stderr(&out)
    );
    let out = cargo_stepstone(&["check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_project_from_an_archetype_folder_is_checked_once_the_folder_is_published() {
    let work = tempfile::tempdir().unwrap();
    let folder = archetype(&work.path().join("tiny"), V1, &[("a.txt", b"a\n")]);
    let project = work.path().join("p");
    let out = stepstone()
        .args(["new", "p", "--no-input", "--archetype-path"])
        .arg(&folder)
        .arg("--dest")
        .arg(&project)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let check = |extra: &[&str]| {
        stepstone()
            .arg("check")
            .args(extra)
            .current_dir(&project)
            .output()
            .unwrap()
    };
    let out = check(&[]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("archetypes publish"),
        "{}",
        stderr(&out)
    );
    let catalog = work.path().join("catalog");
    publish(&folder, &catalog);
    let out = check(&["--catalog", catalog.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn update_refuses_a_tampered_target_or_base_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let (catalog, project) = setup(work.path());
    let before = listing(&project);
    for version in ["2.0.0", "1.0.0"] {
        let file = catalog.join(format!("tiny/{version}/notes.txt"));
        let original = fs::read(&file).unwrap();
        fs::write(&file, b"changed behind the approver's back\n").unwrap();
        let out = update(&project, &["--no-input"]);
        assert_eq!(code(&out), 1);
        assert!(
            stderr(&out).contains(&format!("tiny {version}"))
                && stderr(&out).contains("does not match the approved"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            listing(&project),
            before,
            "a refused update wrote something"
        );
        fs::write(&file, original).unwrap();
    }
}
