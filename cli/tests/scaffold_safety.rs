//! RELIABILITY rows 14-17: hostile or broken archetypes are refused with exit 1, with a message
//! that says what and where, and nothing is written outside the destination (a sentinel file
//! beside it stays untouched; the destination itself is not created).

mod common;

use common::{Scratch, archetype, code, header, stderr};

/// `stepstone new demo` from the archetype folder `arch` into the scratch destination.
fn new_from(scratch: &Scratch, arch: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let dest = scratch.dest();
    let mut args = vec![
        "new",
        "demo",
        "--no-input",
        "--archetype-path",
        arch.to_str().unwrap(),
    ];
    args.extend(["--dest", dest.to_str().unwrap()]);
    args.extend(extra);
    common::run(&args)
}

/// Build the archetype, run `new`, expect exit 1 with `expected` in stderr and nothing touched.
fn refused(manifest_extra: &str, files: &[(&str, &[u8])], extra: &[&str], expected: &str) {
    let scratch = Scratch::new();
    let manifest = format!("{}{manifest_extra}", header("hostile", "approved"));
    let arch = archetype(&scratch.root().join("arch"), &manifest, files);
    let before = scratch.listing();
    let output = new_from(&scratch, &arch, extra);
    let message = stderr(&output);
    assert_eq!(code(&output), 1, "{message}");
    assert!(
        message.contains(expected),
        "expected {expected:?} in: {message}"
    );
    scratch.assert_untouched(&before);
}

const PATH_VAR: &str = "[[variables]]\nname = \"p\"\ntype = \"string\"\ndefault = \"ok\"\n";

// Row 14: path traversal.

#[test]
fn file_name_rendering_to_dotdot_escape_is_refused() {
    let manifest = "[[variables]]\nname = \"p\"\ntype = \"string\"\ndefault = \"../escape\"\n";
    refused(manifest, &[("{{ p }}", b"x")], &[], "`..` component");
}

#[test]
fn folder_name_rendering_to_nested_traversal_is_refused() {
    refused(
        PATH_VAR,
        &[("{{ p }}/x.txt", b"x")],
        &["--define", "p=a/../../x"],
        "`..` component",
    );
}

#[test]
fn rendered_dotdot_alone_is_refused() {
    refused(
        PATH_VAR,
        &[("{{ p }}", b"x")],
        &["--define", "p=.."],
        "`..` component",
    );
}

#[test]
fn absolute_rendered_path_is_refused() {
    refused(
        PATH_VAR,
        &[("{{ p }}", b"x")],
        &["--define", "p=/etc/x"],
        "is absolute",
    );
}

#[test]
fn nul_in_a_rendered_name_is_refused() {
    let scratch = Scratch::new();
    let answers = scratch.root().join("answers.toml");
    std::fs::write(&answers, "p = \"a\\u0000b\"\n").unwrap();
    refused(
        PATH_VAR,
        &[("{{ p }}.txt", b"x")],
        &["--answers", answers.to_str().unwrap()],
        "NUL",
    );
}

#[test]
fn traversal_in_a_conditional_file_rule_is_refused() {
    refused(
        "[[files]]\npath = \"../x\"\nwhen = \"true\"\n",
        &[("a.txt", b"x")],
        &[],
        "unsafe path \"../x\"",
    );
    refused(
        "[[files]]\npath = \"/etc/x\"\nwhen = \"true\"\n",
        &[("a.txt", b"x")],
        &[],
        "is absolute",
    );
}

// Row 15: symlinks.

#[cfg(unix)]
#[test]
fn symlink_inside_an_archetype_is_refused_and_not_followed() {
    for target_is_dir in [false, true] {
        let scratch = Scratch::new();
        let arch = archetype(
            &scratch.root().join("arch"),
            &header("links", "approved"),
            &[("a.txt", b"a")],
        );
        let target = if target_is_dir {
            scratch.root().join("out")
        } else {
            scratch.root().join("sentinel.txt")
        };
        std::os::unix::fs::symlink(&target, arch.join("link")).unwrap();
        let before = scratch.listing();
        let output = new_from(&scratch, &arch, &[]);
        assert_eq!(code(&output), 1, "{}", stderr(&output));
        assert!(
            stderr(&output).contains("is a symlink"),
            "{}",
            stderr(&output)
        );
        scratch.assert_untouched(&before);
    }
}

#[cfg(unix)]
#[test]
fn symlink_already_in_the_destination_is_not_followed_even_with_force() {
    let scratch = Scratch::new();
    let arch = archetype(
        &scratch.root().join("arch"),
        &header("plain", "approved"),
        &[("src/lib.rs", b"// lib\n")],
    );
    let outside = scratch.root().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::create_dir_all(scratch.dest()).unwrap();
    std::os::unix::fs::symlink(&outside, scratch.dest().join("src")).unwrap();
    let before = scratch.listing();
    let output = new_from(&scratch, &arch, &["--force"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("symlink already in the destination"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote through the symlink"
    );
    scratch.assert_untouched(&before);
}

#[cfg(unix)]
#[test]
fn destination_that_is_a_symlink_is_refused() {
    let scratch = Scratch::new();
    let arch = archetype(
        &scratch.root().join("arch"),
        &header("plain", "approved"),
        &[("a.txt", b"a")],
    );
    let outside = scratch.root().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, scratch.dest()).unwrap();
    let before = scratch.listing();
    let output = new_from(&scratch, &arch, &[]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("is a symlink"),
        "{}",
        stderr(&output)
    );
    scratch.assert_untouched(&before);
}

// Row 16: environment and command leaks.

#[test]
fn get_env_is_not_available() {
    refused(
        "",
        &[("leak.txt.tera", b"home = {{ get_env(name=\"HOME\") }}\n")],
        &[],
        "Unknown function `get_env`",
    );
}

#[test]
fn declared_hooks_are_refused_and_never_run() {
    let scratch = Scratch::new();
    let pwned = scratch.root().join("pwned");
    let hooks = format!("\n[hooks]\npost = [\"touch {}\"]\n", pwned.display());
    let manifest = format!("{}{hooks}", header("hooked", "approved"));
    let arch = archetype(&scratch.root().join("arch"), &manifest, &[("a.txt", b"a")]);
    let before = scratch.listing();
    let output = new_from(&scratch, &arch, &[]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("archetype.toml:8: archetypes may not declare hooks"),
        "{}",
        stderr(&output)
    );
    assert!(!pwned.exists(), "a hook ran");
    scratch.assert_untouched(&before);
}

// Row 17: malformed archetypes: error with file and line, nothing written.

#[test]
fn bad_toml_names_file_and_line() {
    refused(
        "\n[[variables]\n",
        &[("a.txt", b"a")],
        &[],
        "archetype.toml:8:",
    );
}

#[test]
fn unknown_variable_type_names_the_line() {
    refused(
        "\n[[variables]]\nname = \"x\"\ntype = \"float\"\n",
        &[("a.txt", b"a")],
        &[],
        "archetype.toml:10:",
    );
}

#[test]
fn undefined_variable_in_a_file_names_file_and_line() {
    let template: &[u8] = b"line one\nline two {{ nope }}\n";
    refused(
        "",
        &[("docs/notes.md.tera", template)],
        &[],
        "docs/notes.md.tera:2:",
    );
}

#[test]
fn invalid_default_names_variable_rule_and_line() {
    let manifest = "\n[[variables]]\nname = \"rows\"\ntype = \"integer\"\nmin = 10\ndefault = 5\n";
    refused(
        manifest,
        &[("a.txt", b"a")],
        &[],
        "archetype.toml:8: variable `rows`: invalid default: 5 is below min = 10",
    );
}
