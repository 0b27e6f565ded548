//! `stepstone archetypes list|show|check`, completions, help, exit codes, and the
//! `cargo-stepstone` entry point.

mod common;

use std::process::Command;

use common::{Scratch, archetype, code, header, run, stderr, stdout};

fn templates(name: &str) -> String {
    format!("{}/../templates/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn list_shows_the_builtin_archetypes() {
    let output = run(&["archetypes", "list"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("NAME"), "{text}");
    for name in ["batch-etl", "iterative", "lakehouse"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {text}"));
        assert!(
            line.contains("approved") && line.contains("built-in"),
            "{line}"
        );
    }
    let output = run(&["archetypes", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["batch-etl", "iterative", "lakehouse"]);
    assert_eq!(list[0]["status"], "approved");
}

#[test]
fn show_describes_variables_and_files() {
    let output = run(&["archetypes", "show", "iterative", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let details: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(details["name"], "iterative");
    let iterations = details["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "iterations")
        .unwrap();
    assert_eq!(
        (iterations["type"].as_str(), iterations["min"].as_i64()),
        (Some("integer"), Some(1))
    );
    assert!(
        details["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "src/pipeline.rs.tera")
    );

    let output = run(&["archetypes", "show", "batch-etl"]);
    let text = stdout(&output);
    assert!(
        text.contains("batch-etl 1.3.0 (approved)")
            && text.contains("checkpoint_every")
            && text.contains("crate_name"),
        "{text}"
    );
    let output = run(&["archetypes", "show", "nope"]);
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("known: batch-etl, iterative, lakehouse"));
}

#[test]
fn check_accepts_the_builtin_archetypes() {
    for (name, version) in [
        ("batch-etl", "1.3.0"),
        ("iterative", "1.3.0"),
        ("lakehouse", "1.0.0"),
    ] {
        let output = run(&["archetypes", "check", &templates(name)]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("{name} {version}: ok")),
            "{}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("warning:"), "{}", stderr(&output));
    }
}

#[test]
fn check_reports_undeclared_and_unused_variables() {
    let scratch = Scratch::new();
    let manifest = format!(
        "{}[[variables]]\nname = \"unused\"\ntype = \"bool\"\ndefault = true\n",
        header("lint", "approved")
    );
    let files: [(&str, &[u8]); 2] = [
        ("a.txt.tera", b"{% if false %}{{ ghost }}{% endif %}\n"),
        ("{{ phantom }}.txt", b"x"),
    ];
    let arch = archetype(&scratch.root().join("arch"), &manifest, &files);
    let output = run(&["archetypes", "check", arch.to_str().unwrap()]);
    let message = stderr(&output);
    assert_eq!(code(&output), 1, "{message}");
    assert!(
        message.contains("a.txt.tera: uses `ghost`, which archetype.toml does not declare"),
        "{message}"
    );
    assert!(
        message.contains("{{ phantom }}.txt (file name): uses `phantom`"),
        "{message}"
    );
    assert!(
        message.contains("warning: variable `unused` is declared but no file"),
        "{message}"
    );
    assert!(message.contains("rendering with the defaults"), "{message}");
}

#[test]
fn check_refuses_unsafe_archetypes() {
    let scratch = Scratch::new();
    let manifest = format!(
        "{}[[variables]]\nname = \"p\"\ntype = \"string\"\ndefault = \"../up\"\n",
        header("bad", "approved")
    );
    let arch = archetype(
        &scratch.root().join("arch"),
        &manifest,
        &[("{{ p }}", b"x")],
    );
    let output = run(&["archetypes", "check", arch.to_str().unwrap()]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("`..` component"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_stepstone()"),
        ("zsh", "#compdef stepstone"),
        ("fish", "complete -c stepstone"),
    ] {
        let output = run(&["completions", shell]);
        assert_eq!(code(&output), 0, "{shell}");
        assert!(stdout(&output).contains(marker), "{shell}");
    }
    assert_eq!(code(&run(&["completions", "tcsh"])), 2);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let output = run(&["--help"]);
    assert_eq!(code(&output), 0);
    assert!(
        stdout(&output).contains("Examples:") && stdout(&output).contains("Exit codes: 0 success")
    );
    let output = run(&["new", "--help"]);
    assert!(
        stdout(&output).contains("--define")
            && stdout(&output).contains("stepstone new demo --run")
    );
    assert_eq!(code(&run(&["--no-such-flag"])), 2);
    assert_eq!(code(&run(&[])), 2);
    assert_eq!(code(&run(&["new"])), 2, "NAME is required");
}

#[test]
fn cargo_subcommand_drops_its_own_name() {
    let cargo_stepstone = || Command::new(env!("CARGO_BIN_EXE_cargo-stepstone"));
    let output = cargo_stepstone()
        .args(["stepstone", "archetypes", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("\"batch-etl\""));
    let output = cargo_stepstone()
        .args(["stepstone", "--help"])
        .output()
        .unwrap();
    assert!(
        stdout(&output).contains("Usage: cargo stepstone"),
        "{}",
        stdout(&output)
    );
    let output = cargo_stepstone()
        .args(["archetypes", "list"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "also works when run directly");
}

#[test]
fn cargo_run_picks_the_stepstone_binary() {
    // The README's `cargo run -p stepstone-cli -- new …` needs a default among the two binaries.
    let manifest =
        std::fs::read_to_string(format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let manifest: toml::Table = toml::from_str(&manifest).unwrap();
    assert_eq!(
        manifest["package"]["default-run"].as_str(),
        Some("stepstone")
    );
}
