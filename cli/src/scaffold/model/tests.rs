//! Manifest validation: every rule, with the line it points at.

use super::*;

const HEADER: &str = r#"[archetype]
name = "t"
version = "1.0.0"
description = "d"
owner = "o"
status = "approved"
"#;

fn parse(extra: &str) -> Result<Manifest, ScaffoldError> {
    Manifest::parse(&format!("{HEADER}{extra}"), "archetype.toml")
}

fn error(extra: &str) -> String {
    parse(extra).unwrap_err().to_string()
}

#[test]
fn a_valid_manifest_keeps_declaration_order() {
    let m = parse(
        "[[variables]]\nname = \"b\"\ntype = \"bool\"\ndefault = true\n\n[[variables]]\nname = \"a\"\ntype = \"choice\"\nchoices = [\"x\", \"y\"]\ndefault = \"y\"\n",
    )
    .unwrap();
    let names: Vec<_> = m.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(m.variables[1].default, Some(Answer::Text("y".into())));
}

#[test]
fn bad_toml_names_file_and_line() {
    let message = error("\n[[variables]\nname = 1\n");
    assert!(message.starts_with("archetype.toml:8:"), "{message}");
}

#[test]
fn unknown_variable_type_names_the_line() {
    let message = error("[[variables]]\nname = \"x\"\ntype = \"float\"\n");
    assert!(
        message.starts_with("archetype.toml:9:") && message.contains("float"),
        "{message}"
    );
}

#[test]
fn invalid_default_names_variable_rule_and_line() {
    let message =
        error("\n[[variables]]\nname = \"rows\"\ntype = \"integer\"\nmin = 1\ndefault = 0\n");
    assert!(message.starts_with("archetype.toml:8:"), "{message}");
    assert!(
        message.contains("`rows`") && message.contains("below min = 1"),
        "{message}"
    );
    let message = error(
        "[[variables]]\nname = \"s\"\ntype = \"string\"\nregex = \"^[a-z]+$\"\ndefault = \"A\"\n",
    );
    assert!(message.contains("does not match regex"), "{message}");
}

#[test]
fn hooks_are_refused() {
    let message = error("\n[hooks]\npost = [\"rm -rf /\"]\n");
    assert!(
        message.contains("may not declare hooks") && message.starts_with("archetype.toml:8:"),
        "{message}"
    );
    let message = Manifest::parse(&HEADER.replace("status", "hooks = [\"x\"]\nstatus"), "m")
        .unwrap_err()
        .to_string();
    assert!(message.contains("may not declare hooks"), "{message}");
}

#[test]
fn rules_must_fit_the_type_and_names_must_be_new() {
    assert!(
        error("[[variables]]\nname = \"b\"\ntype = \"bool\"\nmin = 1\n").contains("does not apply")
    );
    assert!(
        error("[[variables]]\nname = \"c\"\ntype = \"choice\"\n").contains("non-empty `choices`")
    );
    assert!(
        error("[[variables]]\nname = \"project_name\"\ntype = \"string\"\n").contains("built in")
    );
    assert!(
        error("[[variables]]\nname = \"Bad-Name\"\ntype = \"string\"\n")
            .contains("lowercase identifier")
    );
    let twice = "[[variables]]\nname = \"a\"\ntype = \"bool\"\n";
    assert!(error(&format!("{twice}{twice}")).contains("declared twice"));
    assert!(
        error("[[variables]]\nname = \"n\"\ntype = \"integer\"\nmin = 5\nmax = 1\n")
            .contains("greater than max")
    );
}

#[test]
fn conditional_paths_must_be_safe() {
    let message = error("[[files]]\npath = \"../x\"\nwhen = \"true\"\n");
    assert!(
        message.contains("unsafe path") && message.starts_with("archetype.toml:7:"),
        "{message}"
    );
}

#[test]
fn file_rules_cover_files_and_folders() {
    let rule = FileRule {
        path: ".ci".into(),
        when: "ci".into(),
    };
    assert!(rule.covers(".ci/run") && rule.covers(".ci") && !rule.covers(".cix/run"));
    let rule = FileRule {
        path: "README.md".into(),
        when: "x".into(),
    };
    assert!(rule.covers("README.md.tera"));
}
