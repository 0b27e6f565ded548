//! Catalogs that are missing, malformed, tampered with or hostile (RELIABILITY row 29): each is
//! refused with a clear error and nothing is written. Also: git catalogs (a local repository and
//! a `file://` URL) publish and serve versions by tag, and `list` shows every catalog's versions.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{Scratch, archetype, code, header, stderr, stdout, stepstone};

fn tiny(dir: &Path, version: &str) -> std::path::PathBuf {
    let manifest = header("tiny", "approved").replace("0.1.0", version);
    archetype(dir, &manifest, &[("a.txt", b"a\n"), ("sub/b.txt", b"b\n")])
}

fn publish(dir: &Path, catalog: &str, extra: &[&str]) -> std::process::Output {
    stepstone()
        .args(["archetypes", "publish"])
        .arg(dir)
        .args(["--catalog", catalog, "--approver", "alice"])
        .args(extra)
        .env("STEPSTONE_CACHE", dir.parent().unwrap().join("cache"))
        .output()
        .unwrap()
}

/// `new p --catalog C --archetype SPEC` into the scratch destination; asserts it is refused
/// with `expected` in the message and nothing outside appears.
fn refused(scratch: &Scratch, catalog: &str, spec: &str, expected: &str) {
    let before = scratch.listing();
    let out = stepstone()
        .args(["new", "p", "--no-input", "--archetype", spec])
        .arg(format!("--catalog={catalog}"))
        .arg("--dest")
        .arg(scratch.dest())
        .env("STEPSTONE_CACHE", scratch.root().join("cache"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(expected),
        "wanted {expected:?}: {}",
        stderr(&out)
    );
    scratch.assert_untouched(&before);
}

#[test]
fn folder_catalog_tampering_symlinks_and_bad_indexes_are_refused() {
    let scratch = Scratch::new();
    let catalog = scratch.root().join("catalog");
    let c = catalog.to_str().unwrap();
    let src = tiny(&scratch.root().join("src1"), "1.0.0");
    assert_eq!(code(&publish(&src, c, &[])), 0);
    let src2 = tiny(&scratch.root().join("src2"), "1.1.0");
    assert_eq!(code(&publish(&src2, c, &["--status", "experimental"])), 0);

    // A version not greater than the latest is refused, the catalog unchanged.
    let index = fs::read(catalog.join("catalog.toml")).unwrap();
    let out = publish(&src, c, &[]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not greater than"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(catalog.join("catalog.toml")).unwrap(), index);

    // Experimental needs the flag; latest approved is chosen without a version.
    refused(&scratch, c, "tiny@1.1.0", "--allow-unapproved");
    let out = stepstone()
        .args([
            "new",
            "p",
            "--no-input",
            "--catalog",
            c,
            "--archetype",
            "tiny",
        ])
        .arg("--dest")
        .arg(scratch.root().join("ok"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("tiny 1.0.0"), "{}", stderr(&out));
    fs::remove_dir_all(scratch.root().join("ok")).unwrap();

    // Content changed after publishing: digest mismatch (and `list` says so).
    let published = catalog.join("tiny/1.0.0/sub/b.txt");
    fs::write(&published, "B\n").unwrap();
    refused(&scratch, c, "tiny@1.0.0", "does not match the approved");
    let out = stepstone()
        .args(["archetypes", "list", "--catalog", c])
        .output()
        .unwrap();
    let listed = stdout(&out);
    let line = listed
        .lines()
        .find(|l| l.starts_with("tiny") && l.contains("1.0.0"))
        .unwrap();
    assert!(line.contains("(content refused"), "{listed}");
    let line = listed
        .lines()
        .find(|l| l.starts_with("tiny") && l.contains("1.1.0"))
        .unwrap();
    assert!(
        line.contains("test"),
        "the description of an intact version: {listed}"
    );
    fs::write(&published, "b\n").unwrap();

    // A file added beside the approved ones also changes the digest.
    fs::write(catalog.join("tiny/1.0.0/extra.txt"), "x").unwrap();
    refused(&scratch, c, "tiny@1.0.0", "does not match the approved");
    fs::remove_file(catalog.join("tiny/1.0.0/extra.txt")).unwrap();

    // A symlink inside a version, and a version folder that is a symlink.
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let link = catalog.join("tiny/1.0.0/sub/leak.txt");
        symlink(scratch.root().join("sentinel.txt"), &link).unwrap();
        refused(&scratch, c, "tiny@1.0.0", "symlink");
        fs::remove_file(&link).unwrap();
        let real = catalog.join("tiny/1.0.0");
        fs::rename(&real, scratch.root().join("moved")).unwrap();
        symlink(scratch.root().join("moved"), &real).unwrap();
        refused(&scratch, c, "tiny@1.0.0", "symlink");
    }

    // A bad index: named with its line; a missing catalog.
    fs::write(
        catalog.join("catalog.toml"),
        "format = 1\n[[versions]]\nname = \n",
    )
    .unwrap();
    refused(&scratch, c, "tiny", "catalog.toml:3");
    fs::write(
        catalog.join("catalog.toml"),
        "format = 1\nversions = \"x\"\n",
    )
    .unwrap();
    refused(&scratch, c, "tiny", "malformed");
    refused(&scratch, &format!("{c}-nope"), "tiny", "does not exist");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn git_stdin(dir: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn git_catalogs_serve_tags_and_refuse_hostile_ones() {
    let scratch = Scratch::new();
    let repo = scratch.root().join("repo");
    fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let r = repo.to_str().unwrap();
    assert_eq!(
        code(&publish(&tiny(&scratch.root().join("s1"), "1.0.0"), r, &[])),
        0
    );
    assert_eq!(git(&repo, &["tag"]), "tiny/v1.0.0");
    assert_eq!(
        code(&publish(&tiny(&scratch.root().join("s2"), "1.1.0"), r, &[])),
        0
    );

    // Served from the repository, and through a clone of its URL.
    let url = format!("file://{r}");
    for (catalog, dest) in [(r, "from-path"), (url.as_str(), "from-url")] {
        let out = stepstone()
            .args([
                "new",
                "p",
                "--no-input",
                "--catalog",
                catalog,
                "--archetype",
                "tiny@1.0.0",
            ])
            .arg("--dest")
            .arg(scratch.root().join(dest))
            .env("STEPSTONE_CACHE", scratch.root().join("cache"))
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let record =
            fs::read_to_string(scratch.root().join(dest).join(".stepstone/archetype.toml"))
                .unwrap();
        assert!(
            record.contains(&format!("catalog = \"{catalog}\"")),
            "{record}"
        );
        fs::remove_dir_all(scratch.root().join(dest)).unwrap();
    }
    let out = stepstone()
        .args(["archetypes", "list", "--json", "--catalog", r])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let tiny: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "tiny")
        .collect();
    assert_eq!(tiny.len(), 2, "{rows}");
    assert_eq!(tiny[1]["approver"], "alice");

    // Deprecating commits a new index; the version is refused from then on.
    let out = stepstone()
        .args(["archetypes", "deprecate", "tiny@1.0.0", "--catalog", r])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    refused(&scratch, r, "tiny@1.0.0", "deprecated");

    // A tag whose content has a symlink: listed in the index with its digest, still refused.
    let index = fs::read_to_string(repo.join("catalog.toml")).unwrap();
    let entry = |version: &str| {
        format!(
            "\n[[versions]]\nname = \"tiny\"\nversion = \"{version}\"\nstatus = \"approved\"\napprover = \"mallory\"\ndate = \"x\"\ndigest = \"xxh3-128:{}\"\n",
            "0".repeat(32)
        )
    };
    // List `version` in the index at HEAD and commit it.
    let list = |version: &str, message: &str| {
        let index = fs::read_to_string(repo.join("catalog.toml")).unwrap();
        fs::write(
            repo.join("catalog.toml"),
            format!("{index}{}", entry(version)),
        )
        .unwrap();
        git(&repo, &["commit", "-q", "-am", message]);
    };
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../../sentinel.txt", repo.join("tiny/sub/leak.txt")).unwrap();
        fs::write(
            repo.join("catalog.toml"),
            format!("{index}{}", entry("2.0.0")),
        )
        .unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "hostile"]);
        git(&repo, &["tag", "tiny/v2.0.0"]);
        refused(&scratch, r, "tiny@2.0.0", "symlink");
    }
    // A tag pointing at a blob, not a commit.
    let blob = git(&repo, &["hash-object", "-w", "catalog.toml"]);
    git(&repo, &["tag", "tiny/v3.0.0", &blob]);
    list("3.0.0", "blob tag");
    refused(&scratch, r, "tiny@3.0.0", "not a commit");
    // Listed in the index, no tag.
    list("4.0.0", "no tag");
    refused(&scratch, r, "tiny@4.0.0", "tag is missing");
    // A tree entry named `..` (git's plumbing accepts it; a checkout would not).
    let manifest = git(&repo, &["rev-parse", "tiny/v1.1.0:tiny/archetype.toml"]);
    let blob = git(&repo, &["rev-parse", "tiny/v1.1.0:tiny/a.txt"]);
    let inner = git_stdin(
        &repo,
        &["mktree"],
        &format!("100644 blob {manifest}\tarchetype.toml\n100644 blob {blob}\t..\n"),
    );
    let outer = git_stdin(&repo, &["mktree"], &format!("040000 tree {inner}\ttiny\n"));
    let commit = git(&repo, &["commit-tree", &outer, "-m", "dotdot"]);
    git(&repo, &["tag", "tiny/v5.0.0", &commit]);
    list("5.0.0", "dotdot entry");
    refused(&scratch, r, "tiny@5.0.0", "`..` component");
    // A catalog name that would be a git option never reaches git as one.
    let marker = scratch.root().join("pwned");
    let hostile = format!("--upload-pack=touch {} #://x", marker.display());
    refused(&scratch, &hostile, "tiny", "refused");
    assert!(!marker.exists(), "a catalog name ran a command");
    // A bad index at HEAD.
    fs::write(repo.join("catalog.toml"), "format = 1\n[[versions]\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "broken"]);
    refused(&scratch, r, "tiny", "malformed");
}

#[test]
fn several_catalogs_from_the_environment_first_wins() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.root().join("a"), scratch.root().join("b"));
    assert_eq!(
        code(&publish(
            &tiny(&scratch.root().join("s1"), "1.0.0"),
            a.to_str().unwrap(),
            &[]
        )),
        0
    );
    assert_eq!(
        code(&publish(
            &tiny(&scratch.root().join("s2"), "2.0.0"),
            b.to_str().unwrap(),
            &[]
        )),
        0
    );
    for (order, expected) in [((&a, &b), "tiny 1.0.0"), ((&b, &a), "tiny 2.0.0")] {
        let dest = scratch.root().join("out/p");
        let out = stepstone()
            .args(["new", "p", "--no-input", "--archetype", "tiny", "--dest"])
            .arg(&dest)
            .env(
                "STEPSTONE_ARCHETYPES",
                format!("{},{}", order.0.display(), order.1.display()),
            )
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
        fs::remove_dir_all(&dest).unwrap();
    }
}

#[test]
fn a_git_catalog_version_with_thousands_of_files_is_read_whole() {
    // 2,000 object ids are more than a pipe holds: reading must not deadlock with git.
    let scratch = Scratch::new();
    let files: Vec<(String, Vec<u8>)> = (0..2000)
        .map(|i| (format!("data/f{i}.txt"), format!("{i}\n").into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let src = archetype(
        &scratch.root().join("big"),
        &header("big", "approved"),
        &refs,
    );
    let repo = scratch.root().join("repo");
    fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    assert_eq!(code(&publish(&src, repo.to_str().unwrap(), &[])), 0);
    let dest = scratch.root().join("out/big");
    let out = stepstone()
        .args([
            "new",
            "big",
            "--no-input",
            "--archetype",
            "big@0.1.0",
            "--catalog",
        ])
        .arg(&repo)
        .arg("--dest")
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(dest.join("data/f1999.txt")).unwrap(),
        "1999\n"
    );
}
