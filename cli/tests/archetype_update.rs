//! The acceptance test of archetypes over time: publish batch-etl 1.0.0 and 1.1.0 into a
//! catalog, make a project from 1.0.0, edit it, update it to 1.1.0 (a clean change applied, the
//! user's edit kept, the same README line conflict-marked with both sides), see the conflict in
//! `check --json`, resolve it and pass the project's tests, and refuse tampered content.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{code, stderr, stdout, stepstone};

const PIPELINE_CHANGE: &str = "\n/// The archetype release this pipeline follows (added in 1.1.0).\npub const ARCHETYPE_RELEASE: &str = \"1.1.0\";\n";
const THEIR_SUFFIX: &str = " (a batch pipeline)";
const USER_SUFFIX: &str = " - owned by the data team";
const USER_STEPS_EDIT: &str = "\n// Data team: keep the generated rows small in CI.\n";

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The built-in batch-etl as 1.0.0, and a 1.1.0 with one change in src/pipeline.rs.tera and one
/// in the README's first line.
fn two_versions(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/batch-etl");
    let (v1, v2) = (root.join("v1"), root.join("v2"));
    copy_dir(&templates, &v1);
    copy_dir(&templates, &v2);
    for (dir, version) in [(&v1, "1.0.0"), (&v2, "1.1.0")] {
        let manifest = fs::read_to_string(dir.join("archetype.toml")).unwrap();
        let line = manifest
            .lines()
            .find(|l| l.starts_with("version = "))
            .unwrap();
        let manifest = manifest.replacen(line, &format!("version = \"{version}\""), 1);
        fs::write(dir.join("archetype.toml"), manifest).unwrap();
    }
    let pipeline = v2.join("src/pipeline.rs.tera");
    let text = fs::read_to_string(&pipeline).unwrap();
    fs::write(&pipeline, format!("{text}{PIPELINE_CHANGE}")).unwrap();
    let readme = v2.join("README.md.tera");
    let text = fs::read_to_string(&readme).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    fs::write(&readme, format!("{first}{THEIR_SUFFIX}\n{rest}")).unwrap();
    (v1, v2)
}

/// A folder catalog under `root` with batch-etl 1.0.0 and 1.1.0 (see [`two_versions`])
/// published by the architecture team.
fn catalog_of_two_versions(root: &Path) -> std::path::PathBuf {
    let (v1, v2) = two_versions(root);
    let catalog = root.join("catalog");
    for dir in [&v1, &v2] {
        let out = stepstone()
            .args(["archetypes", "publish", dir.to_str().unwrap()])
            .arg("--catalog")
            .arg(&catalog)
            .args(["--approver", "architecture-team"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    catalog
}

/// `stepstone new demo` from batch-etl 1.0.0 of `catalog`, into `dest`.
fn new_project_at_1_0_0(catalog: &Path, dest: &Path) {
    let out = stepstone()
        .args(["new", "demo", "--catalog"])
        .arg(catalog)
        .args(["--archetype", "batch-etl@1.0.0", "--no-input", "--dest"])
        .arg(dest)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

fn in_project(project: &Path, args: &[&str]) -> std::process::Output {
    stepstone()
        .args(args)
        .current_dir(project)
        .output()
        .unwrap()
}

#[test]
fn update_merges_keeps_user_edits_marks_conflicts_and_refuses_tampering() {
    let work = tempfile::tempdir().unwrap();
    let catalog = catalog_of_two_versions(work.path());
    let catalog_arg = catalog.to_str().unwrap();

    let project = work.path().join("demo");
    new_project_at_1_0_0(&catalog, &project);

    // The user edits src/steps.rs and the same README line 1.1.0 changes.
    let steps = project.join("src/steps.rs");
    let mut text = fs::read_to_string(&steps).unwrap();
    text.push_str(USER_STEPS_EDIT);
    fs::write(&steps, &text).unwrap();
    let readme = project.join("README.md");
    let text = fs::read_to_string(&readme).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    let first = first.to_string();
    fs::write(&readme, format!("{first}{USER_SUFFIX}\n{rest}")).unwrap();

    let out = in_project(&project, &["update", "--to", "1.1.0"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("README.md"), "{}", stderr(&out));
    let pipeline = fs::read_to_string(project.join("src/pipeline.rs")).unwrap();
    assert!(
        pipeline.ends_with(PIPELINE_CHANGE),
        "the pipeline change was not applied"
    );
    assert!(
        fs::read_to_string(&steps)
            .unwrap()
            .ends_with(USER_STEPS_EDIT),
        "the user's steps.rs edit was lost"
    );
    let merged = fs::read_to_string(&readme).unwrap();
    let conflict = format!(
        "<<<<<<< ours\n{first}{USER_SUFFIX}\n=======\n{first}{THEIR_SUFFIX}\n>>>>>>> theirs\n"
    );
    assert!(merged.starts_with(&conflict), "{merged}");
    let record = fs::read_to_string(project.join(".stepstone/archetype.toml")).unwrap();
    assert!(record.contains("version = \"1.1.0\""), "{record}");

    let out = in_project(&project, &["check", "--json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["conflicts"], serde_json::json!(["README.md"]));
    assert_eq!(report["version"], "1.1.0");
    let readme_entry = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "README.md")
        .unwrap();
    assert_eq!(readme_entry["state"], "modified");
    assert_eq!(readme_entry["conflict_markers"], true);

    // Resolve the conflict (keep both words), and the project's own tests pass.
    let resolved = merged.replacen(
        &conflict,
        &format!("{first}{THEIR_SUFFIX}{USER_SUFFIX}\n"),
        1,
    );
    fs::write(&readme, resolved).unwrap();
    let out = in_project(&project, &["check", "--json", "--conflicts-only"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let tests = Command::new("cargo")
        .arg("test")
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        tests.status.success(),
        "cargo test of the updated project failed\n{}",
        String::from_utf8_lossy(&tests.stderr)
    );

    // One byte changed in the catalog's 1.1.0 content: `new … @1.1.0` refuses.
    let published = catalog.join("batch-etl/1.1.0/src/pipeline.rs.tera");
    let mut bytes = fs::read(&published).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    fs::write(&published, bytes).unwrap();
    let dest = work.path().join("demo2");
    let out = stepstone()
        .args(["new", "demo2", "--catalog", catalog_arg])
        .args(["--archetype", "batch-etl@1.1.0", "--no-input", "--dest"])
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not match the approved"),
        "{}",
        stderr(&out)
    );
    assert!(!dest.exists(), "a refused archetype wrote files");
}

/// Issue 21, item 7: a cloned project can carry a symlinked `.stepstone/backup` (or
/// `.stepstone`): `update` refuses before writing anything — no backup outside the project, no
/// half-applied update.
#[test]
fn update_refuses_a_symlinked_backup_folder_before_writing_anything() {
    let work = tempfile::tempdir().unwrap();
    let catalog = catalog_of_two_versions(work.path());
    for link in [".stepstone/backup", ".stepstone"] {
        let project = work.path().join(format!("demo-{}", link.len()));
        new_project_at_1_0_0(&catalog, &project);
        // The README line 1.1.0 changes is edited, so the update would back it up.
        let readme = project.join("README.md");
        let text = fs::read_to_string(&readme).unwrap();
        fs::write(&readme, format!("edited\n{text}")).unwrap();
        let outside = work.path().join(format!("outside-{}", link.len()));
        if link == ".stepstone" {
            copy_dir(&project.join(".stepstone"), &outside);
            fs::remove_dir_all(project.join(".stepstone")).unwrap();
        } else {
            fs::create_dir_all(&outside).unwrap();
        }
        std::os::unix::fs::symlink(&outside, project.join(link)).unwrap();
        let before_outside = fs::read_dir(&outside).unwrap().count();
        let pipeline_before = fs::read_to_string(project.join("src/pipeline.rs")).unwrap();

        let out = in_project(&project, &["update", "--to", "1.1.0"]);
        assert_ne!(code(&out), 0, "{link}: {}", stdout(&out));
        assert!(stderr(&out).contains("symlink"), "{link}: {}", stderr(&out));
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            before_outside,
            "{link}: nothing was written outside the project"
        );
        assert_eq!(
            fs::read_to_string(project.join("src/pipeline.rs")).unwrap(),
            pipeline_before,
            "{link}: nothing of the update was applied"
        );
    }
}
