//! Translating an archetype's Tera templates to the Liquid that cargo-generate renders, so that
//! both render the same bytes for the same answers.
//!
//! Responsible for the template level: text is kept as is, `{{ … }}` and `{% if/elif/else/endif
//! %}`, `{% set %}` (Liquid's `assign`), `{% raw %}` and comments are translated, whitespace
//! control (`{%-`, `-%}`) is kept where Liquid trims the same characters. Everything else (`for`,
//! `include`, `extends`, `block`, `macro`, `filter` sections, components, …) is refused with the
//! line and the construct. Expressions are parsed in `expr.rs` and written in `emit.rs`.
//! Not responsible for which names exist (the caller's `Scope`) or for cargo-generate.toml
//! (`scaffold/export.rs`).

pub(crate) mod emit;
pub(crate) mod expr;

use emit::{Binding, Scope, Uses};
use expr::Unsupported;

use super::model::line_of;

/// A template in Liquid, with what it needs defined at its top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Translated {
    /// The Liquid text.
    pub(crate) text: String,
    /// Derived values and numeric copies it reads.
    pub(crate) uses: Uses,
}

/// Why a template cannot be exported: where, and which construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// 1-based line in the template.
    pub(crate) line: usize,
    /// The tag or expression as written.
    pub(crate) construct: String,
    /// What Liquid lacks.
    pub(crate) why: String,
}

/// One `{{ … }}`, `{% … %}` or `{# … #}` found in a template.
struct Tag<'t> {
    /// `{{`, `{%` or `{#`.
    open: &'static str,
    /// Byte offsets of the whole tag in the template.
    start: usize,
    end: usize,
    /// `{%-` / `-%}`.
    trim_left: bool,
    trim_right: bool,
    /// The inside, without delimiters and whitespace-control dashes, trimmed.
    body: &'t str,
}

fn next_tag(text: &str, from: usize) -> Result<Option<Tag<'_>>, Refusal> {
    let found = ["{{", "{%", "{#"]
        .into_iter()
        .filter_map(|open| text[from..].find(open).map(|i| (from + i, open)))
        .min_by_key(|(i, _)| *i);
    let Some((start, open)) = found else {
        return Ok(None);
    };
    let close = match open {
        "{{" => "}}",
        "{%" => "%}",
        _ => "#}",
    };
    let inner_start = start + 2;
    let end = find_close(text, inner_start, close, open == "{#").ok_or_else(|| Refusal {
        line: line_of(text, start),
        construct: open.to_string(),
        why: format!("no closing `{close}`"),
    })?;
    let inner = &text[inner_start..end];
    let trim_left = inner.starts_with('-');
    let trim_right = inner.len() > usize::from(trim_left) && inner.ends_with('-');
    let body = &inner[usize::from(trim_left)..inner.len() - usize::from(trim_right)];
    Ok(Some(Tag {
        open,
        start,
        end: end + 2,
        trim_left,
        trim_right,
        body: body.trim(),
    }))
}

/// The offset of `close` after `from`, skipping quoted strings (not in comments).
fn find_close(text: &str, from: usize, close: &str, comment: bool) -> Option<usize> {
    let mut chars = text[from..].char_indices();
    while let Some((i, c)) = chars.next() {
        if text[from + i..].starts_with(close) {
            return Some(from + i);
        }
        if !comment && matches!(c, '"' | '\'' | '`') {
            let mut escaped = false;
            chars.find(|(_, q)| {
                let closes = *q == c && !escaped;
                escaped = *q == '\\' && !escaped;
                closes
            })?;
        }
    }
    None
}

/// Translate `text`, a Tera template, using the names of `scope`.
pub(crate) fn translate(text: &str, scope: &Scope) -> Result<Translated, Refusal> {
    let mut scope = scope.clone();
    let mut out = String::with_capacity(text.len());
    let mut uses = Uses::default();
    let mut open_ifs = 0usize;
    let mut at = 0;
    while let Some(tag) = next_tag(text, at)? {
        out.push_str(&text[at..tag.start]);
        check_trim(text, &tag)?;
        let refuse = |why: Unsupported| Refusal {
            line: line_of(text, tag.start),
            construct: text[tag.start..tag.end].to_string(),
            why: why.0,
        };
        let (l, r) = (dash(tag.trim_left), dash(tag.trim_right));
        at = tag.end;
        match tag.open {
            "{#" if tag.trim_left || tag.trim_right => {
                out.push_str(&format!("{{%{l} comment %}}{{% endcomment {r}%}}"));
            }
            "{#" => {}
            "{{" => {
                let expr = expr::parse(tag.body).map_err(refuse)?;
                let value = scope.liquid_output(&expr, &mut uses).map_err(refuse)?;
                out.push_str(&format!("{{{{{l} {value} {r}}}}}"));
            }
            _ => {
                let (word, rest) = split_word(tag.body);
                if word == "raw" && rest.is_empty() {
                    let (content, endraw) = raw_body(text, tag.end).map_err(refuse)?;
                    out.push_str(&format!("{{%{l} raw {r}%}}{content}"));
                    at = endraw.end;
                    let (l, r) = (dash(endraw.trim_left), dash(endraw.trim_right));
                    out.push_str(&format!("{{%{l} endraw {r}%}}"));
                    continue;
                }
                let liquid =
                    block(word, rest, &mut scope, &mut uses, &mut open_ifs).map_err(refuse)?;
                out.push_str(&format!("{{%{l} {liquid} {r}%}}"));
            }
        }
    }
    out.push_str(&text[at..]);
    Ok(Translated { text: out, uses })
}

/// A block tag (`if`, `elif`, `else`, `endif`, `set`) as Liquid, without its delimiters.
fn block(
    word: &str,
    rest: &str,
    scope: &mut Scope,
    uses: &mut Uses,
    open_ifs: &mut usize,
) -> Result<String, Unsupported> {
    Ok(match word {
        "if" | "elif" => {
            if word == "if" {
                *open_ifs += 1;
            } else if *open_ifs == 0 {
                return Err(Unsupported("`elif` outside `if`".into()));
            }
            let condition = scope.liquid_condition(&expr::parse(rest)?, uses)?;
            let word = if word == "if" { "if" } else { "elsif" };
            format!("{word} {condition}")
        }
        "else" if rest.is_empty() && *open_ifs > 0 => "else".into(),
        "endif" if rest.is_empty() && *open_ifs > 0 => {
            *open_ifs -= 1;
            "endif".into()
        }
        "set" | "set_global" => {
            let (name, value) = assignment(rest)?;
            let value = scope.liquid_output(&expr::parse(value)?, uses)?;
            scope.bindings.insert(name.to_string(), Binding::Local);
            format!("assign {name} = {value}")
        }
        other => return Err(Unsupported(block_word(other))),
    })
}

fn dash(on: bool) -> &'static str {
    if on { "-" } else { "" }
}

fn split_word(body: &str) -> (&str, &str) {
    match body.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (body, ""),
    }
}

/// `name = value` of a `{% set %}`.
fn assignment(rest: &str) -> Result<(&str, &str), Unsupported> {
    let (name, value) = rest
        .split_once('=')
        .ok_or_else(|| Unsupported("a `set` without `=`".into()))?;
    let name = name.trim();
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return Err(Unsupported(format!("setting `{name}`")));
    }
    Ok((name, value.trim()))
}

/// The text of a `{% raw %}` block starting at `from`, and its `{% endraw %}` tag.
fn raw_body(text: &str, from: usize) -> Result<(&str, Tag<'_>), Unsupported> {
    let mut at = from;
    while let Some(i) = text[at..].find("{%") {
        let candidate = next_tag(text, at + i).ok().flatten();
        if let Some(tag) = candidate.filter(|t| t.body == "endraw") {
            return Ok((&text[from..tag.start], tag));
        }
        at += i + 2;
    }
    Err(Unsupported("a `raw` block without `endraw`".into()))
}

/// What a Tera block tag Liquid lacks is, for the refusal.
fn block_word(word: &str) -> String {
    match word {
        "for" | "endfor" | "break" | "continue" => {
            "a `for` loop (cargo-generate's Liquid has no Tera-style ranges or loop variables)"
                .into()
        }
        "include" => "`include` (cargo-generate registers no partials)".into(),
        "extends" | "block" | "endblock" => "template inheritance (`extends`/`block`)".into(),
        "macro" | "endmacro" | "import" => "a macro".into(),
        "filter" | "endfilter" => "a `filter` section".into(),
        "component" | "endcomponent" => "a component".into(),
        "else" | "endif" => format!("`{word}` outside an `if`"),
        other => format!("the tag `{other}`"),
    }
}

/// Refuse whitespace control next to whitespace Liquid does not trim (it trims spaces and
/// newlines only; Tera trims every whitespace character).
fn check_trim(text: &str, tag: &Tag<'_>) -> Result<(), Refusal> {
    let liquid_trims = |c: char| matches!(c, ' ' | '\n' | '\r');
    let before = text[..tag.start]
        .chars()
        .rev()
        .take_while(|c| c.is_whitespace());
    let after = text[tag.end..].chars().take_while(|c| c.is_whitespace());
    let bad = (tag.trim_left && before.clone().any(|c| !liquid_trims(c)))
        || (tag.trim_right && after.clone().any(|c| !liquid_trims(c)));
    if bad {
        return Err(Refusal {
            line: line_of(text, tag.start),
            construct: text[tag.start..tag.end].to_string(),
            why: "whitespace control next to a tab or other whitespace that Liquid does not trim"
                .into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
