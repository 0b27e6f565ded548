//! Translation of whole templates: what comes out, and what is refused with its line.

use super::emit::{Binding, Kind, Scope};
use super::translate;

fn scope() -> Scope {
    let mut scope = Scope::default();
    let mut add = |name: &str, binding| {
        scope.bindings.insert(name.to_string(), binding);
    };
    let placeholder = |liquid: &str, kind| Binding::Placeholder {
        liquid: liquid.into(),
        kind,
    };
    add("project_name", placeholder("project-name", Kind::Text));
    add(
        "stepstone_dependency",
        placeholder("stepstone_dependency", Kind::Text),
    );
    add("with_ci", placeholder("with_ci", Kind::Bool));
    add("rows", placeholder("rows", Kind::Integer));
    add("format", placeholder("format", Kind::Text));
    add("archetype_name", Binding::Constant("batch-etl".into()));
    add("crate_name", Binding::Derived);
    scope
}

fn liquid(text: &str) -> String {
    translate(text, &scope()).unwrap().text
}

#[test]
fn values_filters_and_constants_become_liquid() {
    assert_eq!(
        liquid("name = \"{{ project_name }}\"\n"),
        "name = \"{{ project-name }}\"\n"
    );
    assert_eq!(
        liquid(
            "b = {{ stepstone_dependency | replace(from=\"/runtime\\\"\", to=\"/build\\\"\") }}"
        ),
        "b = {{ stepstone_dependency | replace: '/runtime\"', '/build\"' }}"
    );
    assert_eq!(
        liquid("{{ archetype_name | upper }}"),
        "{{ \"batch-etl\" | upcase }}"
    );
    assert_eq!(
        liquid("{{ format | capitalize }}"),
        "{{ format | downcase | capitalize }}"
    );
    let t = translate("use {{ crate_name }}::x;", &scope()).unwrap();
    assert_eq!(t.text, "use {{ crate_name }}::x;");
    assert!(t.uses.derived.contains("crate_name"));
}

#[test]
fn conditions_keep_teras_meaning() {
    assert_eq!(
        liquid("{% if with_ci %}a{% elif not with_ci and rows > 10 %}b{% else %}c{% endif %}"),
        "{% if with_ci %}a{% elsif with_ci == false and stepstone_number_rows > 10 %}b{% else %}c{% endif %}"
    );
    assert_eq!(
        liquid("{% if rows == 5 %}x{% endif %}"),
        "{% if rows == \"5\" %}x{% endif %}"
    );
    assert_eq!(
        liquid("{% if 5 < rows %}x{% endif %}"),
        "{% if stepstone_number_rows > 5 %}x{% endif %}"
    );
    assert_eq!(
        liquid("{% if format %}x{% endif %}"),
        "{% if format != \"\" %}x{% endif %}"
    );
    assert_eq!(
        liquid("{% if not (with_ci or format == \"csv\") %}x{% endif %}"),
        "{% if with_ci == false and format != \"csv\" %}x{% endif %}"
    );
    // Liquid groups right to left: the `and` group goes last.
    assert_eq!(
        liquid("{% if with_ci and format == 'a' or rows == 1 %}x{% endif %}"),
        "{% if rows == \"1\" or with_ci and format == \"a\" %}x{% endif %}"
    );
    assert_eq!(
        liquid("{%- if with_ci -%}\n x\n{%- endif %}"),
        "{%- if with_ci -%}\n x\n{%- endif %}"
    );
}

#[test]
fn set_raw_and_comments_translate() {
    assert_eq!(
        liquid("{% set n = format | lower %}{{ n }}"),
        "{% assign n = format | downcase %}{{ n }}"
    );
    assert_eq!(
        liquid("{% raw %}{{ kept }}{% endraw %}"),
        "{% raw %}{{ kept }}{% endraw %}"
    );
    assert_eq!(liquid("a{# note #}b"), "ab");
    assert_eq!(
        liquid("a {#- note -#} b"),
        "a{%- comment %}{% endcomment -%}b"
            .replace("a{", "a {")
            .replace("}b", "} b")
    );
}

#[test]
fn constructs_liquid_cannot_express_are_refused_with_their_line() {
    for (text, line, named) in [
        (
            "ok\n{% for i in range(end=rows) %}{{ i }}{% endfor %}",
            2,
            "`for` loop",
        ),
        ("{% include \"x.tera\" %}", 1, "include"),
        ("a\nb\n{{ rows * 2 }}", 3, "arithmetic `*`"),
        ("{% macro m() %}{% endmacro %}", 1, "macro"),
        ("{{ project_name | slugify }}", 1, "filter `slugify`"),
        (
            "{% if format | upper == \"A\" %}{% endif %}",
            1,
            "filter `upper` inside a condition",
        ),
        (
            "{% if with_ci and format or rows and with_ci %}{% endif %}",
            1,
            "cannot group",
        ),
        (
            "{% if rows == \"5\" %}{% endif %}",
            1,
            "comparing an integer with a string",
        ),
        ("{{ undeclared }}", 1, "undeclared variable `undeclared`"),
        ("{{ x is defined }}", 1, "test"),
        ("\t{%- if with_ci %}{% endif %}", 1, "tab"),
    ] {
        let refusal = translate(text, &scope()).unwrap_err();
        assert_eq!(refusal.line, line, "{text}: {refusal:?}");
        assert!(refusal.why.contains(named), "{text}: {refusal:?}");
        assert!(text.contains(&refusal.construct), "{text}: {refusal:?}");
    }
}

#[test]
fn conditions_for_files_become_rhai() {
    let scope = scope();
    let rhai = |text: &str| scope.rhai(&super::expr::parse(text).unwrap()).unwrap();
    assert_eq!(rhai("with_ci"), "with_ci");
    assert_eq!(
        rhai("not with_ci or rows >= 10"),
        "(!(with_ci) || (parse_int(rows) >= 10))"
    );
    assert_eq!(rhai("format == 'a\"b'"), "(format == \"a\\\"b\")");
    assert!(
        scope
            .rhai(&super::expr::parse("project_name == 'x'").unwrap())
            .is_err()
    );
}
