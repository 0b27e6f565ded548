//! `archetypes check` beyond Phase 1 (a version not greater than a catalog's, example answer
//! sets that break a rule, migrations that can never apply, unused variables) and
//! `archetypes test` (each example rendered, built, tested and run, on a dependency-free
//! archetype so the test stays fast).

mod common;

use common::{Scratch, archetype, code, stderr, stepstone};

const MANIFEST: &str = r#"[archetype]
name = "plain"
version = "1.0.0"
description = "a plain Rust binary"
owner = "tests"
status = "approved"

[[variables]]
name = "greeting"
type = "string"
default = "hello"
regex = '^[a-z]+$'

[[variables]]
name = "unused"
type = "bool"
default = true

[[examples]]
name = "default"
run = ["ok"]
"#;

const FILES: &[(&str, &[u8])] = &[
    (
        "Cargo.toml.tera",
        b"[package]\nname = \"{{ project_name }}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    ),
    (
        "src/main.rs.tera",
        b"fn main() {\n    let arg = std::env::args().nth(1).unwrap_or_default();\n    println!(\"{{ greeting }} {arg}\");\n    if arg != \"ok\" {\n        std::process::exit(3);\n    }\n}\n\n#[test]\nfn greets() {\n    assert_eq!(\"{{ greeting }}\".len(), {{ greeting | length }});\n}\n",
    ),
];

fn check(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    stepstone()
        .args(["archetypes", "check"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn check_reports_versions_examples_migrations_and_unused_variables() {
    let scratch = Scratch::new();
    let dir = archetype(&scratch.root().join("plain"), MANIFEST, FILES);
    let out = check(&dir, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("variable `unused` is declared but no file"),
        "{}",
        stderr(&out)
    );

    let catalog = scratch.root().join("catalog");
    let out = stepstone()
        .args(["archetypes", "publish"])
        .arg(&dir)
        .arg("--catalog")
        .arg(&catalog)
        .args(["--approver", "tests"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = stepstone()
        .args(["archetypes", "show", "plain@1.0.0", "--json", "--catalog"])
        .arg(&catalog)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["version"].as_str()),
        (Some("plain"), Some("1.0.0"))
    );
    assert_eq!(shown["source"].as_str(), catalog.to_str());
    let out = check(&dir, &["--catalog", catalog.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("version 1.0.0 is not greater than plain 1.0.0"),
        "{}",
        stderr(&out)
    );

    let bad = MANIFEST.replace(
        "run = [\"ok\"]",
        "answers = { greeting = \"Not Lower\" }\n\n[[migrations]]\nversion = \"9.0.0\"\ndelete = \"old.txt\"",
    );
    let dir = archetype(&scratch.root().join("bad"), &bad, FILES);
    let out = check(&dir, &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("variable `greeting`") && err.contains("[[examples]] default"),
        "{err}"
    );
    assert!(err.contains("[[migrations]] for 9.0.0 is above"), "{err}");

    let broken_default = MANIFEST.replace("default = \"hello\"", "default = \"Hello1\"");
    let dir = archetype(&scratch.root().join("broken"), &broken_default, FILES);
    let out = check(&dir, &[]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("invalid default"), "{}", stderr(&out));
}

#[test]
fn test_builds_tests_and_runs_every_example() {
    let scratch = Scratch::new();
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plain-target");
    let dir = archetype(&scratch.root().join("plain"), MANIFEST, FILES);
    let run = |dir: &std::path::Path| {
        stepstone()
            .args(["archetypes", "test"])
            .arg(dir)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap()
    };
    let out = run(&dir);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("plain example `default`: builds, passes its tests and runs"));

    let failing = MANIFEST.replace("run = [\"ok\"]", "run = [\"fail\"]");
    let dir = archetype(&scratch.root().join("failing"), &failing, FILES);
    let out = run(&dir);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("`cargo run` in"), "{}", stderr(&out));

    let none = MANIFEST.replace("[[examples]]\nname = \"default\"\nrun = [\"ok\"]\n", "");
    let dir = archetype(&scratch.root().join("none"), &none, FILES);
    let out = run(&dir);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("declares no [[examples]]"),
        "{}",
        stderr(&out)
    );
}
