//! Answers: `--define`, `--answers FILE`, approval status and project names. Every refusal
//! exits 1 (2 for usage errors), names the variable and the rule, and writes nothing.

mod common;

use common::{Scratch, archetype, code, header, run, stderr};

/// `stepstone new demo --no-input --dest D EXTRA…` must fail with `exit` and `expected` in
/// stderr, leaving the scratch area as it was.
fn refused(extra: &[&str], exit: i32, expected: &[&str]) {
    let scratch = Scratch::new();
    let dest = scratch.dest();
    let before = scratch.listing();
    let output = run(&[
        &[
            "new",
            "demo",
            "--no-input",
            "--dest",
            dest.to_str().unwrap(),
        ][..],
        extra,
    ]
    .concat());
    let message = stderr(&output);
    assert_eq!(code(&output), exit, "{message}");
    for part in expected {
        assert!(message.contains(part), "expected {part:?} in: {message}");
    }
    scratch.assert_untouched(&before);
}

#[test]
fn define_values_are_checked_against_their_rules() {
    refused(
        &["-D", "rows=many"],
        1,
        &[
            "variable `rows`",
            "`many` is not an integer",
            "an integer in 1..=",
        ],
    );
    refused(
        &["-D", "rows=0"],
        1,
        &["variable `rows`", "0 is below min = 1"],
    );
    refused(
        &["-D", "steps=501"],
        1,
        &["variable `steps`", "501 is above max = 500"],
    );
    refused(
        &["-D", "budget=lots"],
        1,
        &["variable `budget`", "does not match regex"],
    );
    refused(
        &["-D", "with_ci=maybe"],
        1,
        &["variable `with_ci`", "not a bool"],
    );
    refused(
        &["-D", "iterations=5", "--archetype", "batch-etl"],
        1,
        &["unknown variable `iterations`", "declares: rows, steps"],
    );
}

#[test]
fn malformed_define_is_a_usage_error() {
    refused(&["-D", "rows"], 2, &["is not KEY=VALUE"]);
}

#[test]
fn answers_file_values_are_checked() {
    let scratch = Scratch::new();
    let write = |name: &str, text: &str| {
        let path = scratch.root().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let unknown = write("unknown.toml", "rows = 10\ncolour = \"red\"\n");
    refused(
        &["--answers", &unknown],
        1,
        &["unknown variable `colour`", "unknown.toml"],
    );
    let typed = write("typed.toml", "with_ci = 3\n");
    refused(
        &["--answers", &typed],
        1,
        &["variable `with_ci`", "expected a bool", "typed.toml"],
    );
    let range = write("range.toml", "[answers]\nrows = -5\n");
    refused(
        &["--answers", &range],
        1,
        &["variable `rows`", "-5 is below min = 1"],
    );
    let broken = write("broken.toml", "rows = 10\nsteps = = 3\n");
    refused(&["--answers", &broken], 1, &["broken.toml:2:"]);
    refused(
        &["--answers", "/nonexistent/answers.toml"],
        1,
        &["/nonexistent/answers.toml"],
    );
}

#[test]
fn project_names_must_be_package_names() {
    for bad in ["1abc", "Has-Caps", "a/b", "..", "stepstone", "serde"] {
        let scratch = Scratch::new();
        let dest = scratch.dest();
        let output = run(&["new", bad, "--no-input", "--dest", dest.to_str().unwrap()]);
        assert_eq!(code(&output), 1, "{bad}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("project name"),
            "{bad}: {}",
            stderr(&output)
        );
        assert!(!dest.exists());
    }
}

#[test]
fn unknown_archetype_lists_the_known_ones() {
    refused(
        &["--archetype", "nope"],
        1,
        &[
            "no archetype named `nope`",
            "batch-etl",
            "iterative",
            "lakehouse",
        ],
    );
}

#[test]
fn only_approved_archetypes_are_used_without_the_flag() {
    let scratch = Scratch::new();
    let experimental = archetype(
        &scratch.root().join("exp"),
        &header("exp", "experimental"),
        &[("a.txt", b"a")],
    );
    let deprecated = format!(
        "{}replacement = \"batch-etl\"\n",
        header("old", "deprecated")
    );
    let deprecated = archetype(&scratch.root().join("old"), &deprecated, &[("a.txt", b"a")]);
    for (arch, status) in [(&experimental, "experimental"), (&deprecated, "deprecated")] {
        let dest = scratch.root().join(format!("out/{status}"));
        let base = [
            "new",
            "demo",
            "--no-input",
            "--archetype-path",
            arch.to_str().unwrap(),
            "--dest",
            dest.to_str().unwrap(),
        ];
        let output = run(&base);
        assert_eq!(code(&output), 1, "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("is {status}"))
                && stderr(&output).contains("--allow-unapproved")
        );
        assert!(!dest.exists());
        let output = run(&[&base[..], &["--allow-unapproved"]].concat());
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(dest.join("a.txt").exists());
        if status == "deprecated" {
            assert!(
                stderr(&output)
                    .contains("warning: archetype old is deprecated; use `batch-etl` instead"),
                "{}",
                stderr(&output)
            );
        }
    }
}

#[test]
fn archetype_path_from_the_environment_and_precedence_over_builtins() {
    let scratch = Scratch::new();
    let shadow = format!(
        "{}[[variables]]\nname = \"who\"\ntype = \"string\"\ndefault = \"env\"\n",
        header("batch-etl", "approved")
    );
    archetype(
        &scratch.root().join("lib/batch-etl"),
        &shadow,
        &[("who.txt.tera", b"{{ who }}")],
    );
    let dest = scratch.dest();
    let output = common::stepstone()
        .args([
            "new",
            "demo",
            "--no-input",
            "--dest",
            dest.to_str().unwrap(),
        ])
        .env("STEPSTONE_ARCHETYPE_PATH", scratch.root().join("lib"))
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        std::fs::read_to_string(dest.join("who.txt")).unwrap(),
        "env"
    );
}
