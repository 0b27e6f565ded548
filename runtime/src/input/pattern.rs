//! Object-store URLs of inputs (`s3://bucket/key`) and the glob rules for object keys.
//!
//! Responsible for: telling an object URL from a local path, splitting it into bucket and key
//! once, the literal prefix a key pattern is listed under, and matching a key against a pattern
//! with the same rules as a local glob (`*` and `?` stay within one `/`-separated part, `**`
//! crosses parts, `[…]` classes, a wildcard never matches a leading `.` of the file name — with
//! `**` only the file name is judged, as locally). Not responsible for listing or reading
//! objects (`object.rs`).

// Without the `s3` feature only the URL test is used (listing needs the client).
#![cfg_attr(not(feature = "s3"), allow(dead_code))]

use std::path::Path;

/// The scheme of object-store inputs.
pub(crate) const SCHEME: &str = "s3://";

/// Whether `path` names an object (`s3://…`) rather than a local file.
pub(crate) fn is_object_url(path: &Path) -> bool {
    path.as_os_str()
        .as_encoded_bytes()
        .starts_with(SCHEME.as_bytes())
}

/// An object URL split once: `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectUrl {
    pub(crate) bucket: String,
    /// The key (for a pattern: the pattern of keys), without a leading `/`.
    pub(crate) key: String,
}

impl ObjectUrl {
    /// Parse `text`: `None` when it is not an `s3://` URL, else the URL or what is wrong with it.
    pub(crate) fn parse(text: &str) -> Option<Result<ObjectUrl, String>> {
        let rest = text.strip_prefix(SCHEME)?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Some(if bucket.is_empty() {
            Err(format!("{text} names no bucket: write s3://bucket/key"))
        } else if key.is_empty() || key.ends_with('/') {
            Err(format!(
                "{text} names no object: write s3://bucket/key (a folder is read with a glob, s3://bucket/folder/*)"
            ))
        } else {
            Ok(ObjectUrl {
                bucket: bucket.to_string(),
                key: key.to_string(),
            })
        })
    }

    /// The URL of `key` in this bucket.
    pub(crate) fn with_key(&self, key: &str) -> String {
        format!("{SCHEME}{}/{key}", self.bucket)
    }
}

/// The folder a key pattern is listed under: everything before the part holding the first
/// wildcard (`data/2024/*.csv` → `data/2024`; `*.csv` → the bucket's root, ``).
pub(crate) fn list_prefix(pattern: &str) -> &str {
    let wild = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..wild].rfind('/') {
        Some(slash) => &pattern[..slash],
        None => "",
    }
}

/// Whether object `key` matches `pattern` (both `/`-separated, no leading `/`).
pub(crate) fn key_matches(pattern: &str, key: &str) -> bool {
    let pats: Vec<&str> = pattern.split('/').collect();
    let names: Vec<&str> = key.split('/').collect();
    if !parts_match(&pats, &names) {
        return false;
    }
    // The dot rule, judged like the local glob: per part without `**`, else the file name only.
    let hidden = |name: &str, pat: &str| {
        name.starts_with('.') && !pat.starts_with('.') && pat.contains(['*', '?', '['])
    };
    if pattern.contains("**") {
        return match (names.last(), pats.last()) {
            (Some(name), Some(pat)) => !hidden(name, pat),
            _ => true,
        };
    }
    !names.iter().zip(&pats).any(|(name, pat)| hidden(name, pat))
}

/// `names` matched by `pats`, part by part; `**` matches any number of parts.
fn parts_match(pats: &[&str], names: &[&str]) -> bool {
    match pats.split_first() {
        None => names.is_empty(),
        Some((&"**", rest)) => (0..=names.len()).any(|skip| parts_match(rest, &names[skip..])),
        Some((pat, rest)) => match names.split_first() {
            Some((name, names)) => {
                part_matches(pat.as_bytes(), name.as_bytes()) && parts_match(rest, names)
            }
            None => false,
        },
    }
}

/// One part: `*` any run, `?` one character, `[abc]` / `[a-z]` / `[!abc]` a class; everything
/// else literal. (Bytes: a multi-byte character is matched by `?` as several; keys are rarely
/// anything but ASCII around a `?`.)
fn part_matches(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| part_matches(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && part_matches(rest, &name[1..]),
        Some((b'[', rest)) => match (class(rest), name.split_first()) {
            (Some((set, after)), Some((c, name))) => set.contains(*c) && part_matches(after, name),
            (Some(_), None) => false,
            // An unclosed `[` is literal.
            (None, Some((b'[', name))) => part_matches(rest, name),
            (None, _) => false,
        },
        Some((c, rest)) => name.first() == Some(c) && part_matches(rest, &name[1..]),
    }
}

/// A `[…]` class (the text after `[`): the set and what follows the `]`.
struct Class<'a> {
    negated: bool,
    body: &'a [u8],
}

impl Class<'_> {
    fn contains(&self, c: u8) -> bool {
        let mut i = 0;
        let mut hit = false;
        while i < self.body.len() {
            if i + 2 < self.body.len() && self.body[i + 1] == b'-' {
                hit |= (self.body[i]..=self.body[i + 2]).contains(&c);
                i += 3;
            } else {
                hit |= self.body[i] == c;
                i += 1;
            }
        }
        hit != self.negated
    }
}

fn class(after_bracket: &[u8]) -> Option<(Class<'_>, &[u8])> {
    let (negated, body) = match after_bracket.first() {
        Some(b'!') => (true, &after_bracket[1..]),
        _ => (false, after_bracket),
    };
    // A `]` right after `[` or `[!` is part of the set.
    let close = body.iter().skip(1).position(|&c| c == b']')? + 1;
    Some((
        Class {
            negated,
            body: &body[..close],
        },
        &body[close + 1..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_key_once() {
        assert_eq!(ObjectUrl::parse("data/in.csv"), None);
        let url = ObjectUrl::parse("s3://b/data/in.csv").unwrap().unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.key.as_str()),
            ("b", "data/in.csv")
        );
        assert_eq!(url.with_key("x"), "s3://b/x");
        for bad in ["s3://", "s3:///k", "s3://b", "s3://b/", "s3://b/dir/"] {
            assert!(ObjectUrl::parse(bad).unwrap().is_err(), "{bad}");
        }
        assert!(is_object_url(Path::new("s3://b/k")));
        assert!(!is_object_url(Path::new("./s3://b/k")));
    }

    #[test]
    fn a_pattern_is_listed_under_its_literal_folder() {
        assert_eq!(list_prefix("data/2024/*.csv"), "data/2024");
        assert_eq!(list_prefix("data/part-*.csv"), "data");
        assert_eq!(list_prefix("*.csv"), "");
        assert_eq!(list_prefix("logs/**/x.json"), "logs");
        assert_eq!(list_prefix("a/b/c.csv"), "a/b");
        assert_eq!(list_prefix("a/[xy]/c.csv"), "a");
    }

    #[test]
    fn star_and_question_mark_stay_within_one_part() {
        assert!(key_matches("data/*.csv", "data/a.csv"));
        assert!(!key_matches("data/*.csv", "data/sub/a.csv"));
        assert!(!key_matches("data/*.csv", "data/a.csv.bak"));
        assert!(key_matches("data/part-?.csv", "data/part-1.csv"));
        assert!(!key_matches("data/part-?.csv", "data/part-10.csv"));
        assert!(!key_matches("data/?", "data/"));
        assert!(key_matches("data/a.csv", "data/a.csv"));
        assert!(!key_matches("data/a.csv", "data/b.csv"));
        assert!(key_matches("*/x", "a/x") && !key_matches("*/x", "a/b/x"));
    }

    #[test]
    fn double_star_crosses_parts_including_none() {
        assert!(key_matches("logs/**/*.json", "logs/a.json"));
        assert!(key_matches("logs/**/*.json", "logs/2024/01/a.json"));
        assert!(!key_matches("logs/**/*.json", "other/a.json"));
        assert!(key_matches("**/*.parquet", "a/b/c.parquet"));
        assert!(key_matches("logs/**", "logs/a/b"));
    }

    #[test]
    fn classes_match_one_character() {
        assert!(key_matches("p-[ab].csv", "p-a.csv"));
        assert!(!key_matches("p-[ab].csv", "p-c.csv"));
        assert!(key_matches("p-[0-9].csv", "p-7.csv"));
        assert!(!key_matches("p-[!0-9].csv", "p-7.csv"));
        assert!(key_matches("p-[!0-9].csv", "p-x.csv"));
        assert!(
            key_matches("p-[].csv", "p-[].csv"),
            "an unclosed [ is literal"
        );
    }

    #[test]
    fn a_wildcard_does_not_match_a_leading_dot() {
        assert!(!key_matches("data/*.csv", "data/.hidden.csv"));
        assert!(key_matches("data/.*.csv", "data/.hidden.csv"));
        assert!(!key_matches("*/a.csv", ".git/a.csv"));
        assert!(!key_matches("data/?x", "data/.x"));
        // With `**` only the file name is judged (as the local glob does).
        assert!(!key_matches("data/**/*.csv", "data/x/.h.csv"));
        assert!(key_matches("data/**/*.csv", "data/.cache/a.csv"));
    }
}
