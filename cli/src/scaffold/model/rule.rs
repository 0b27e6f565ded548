//! A variable's type and rules, and checking answers against them.
//!
//! Responsible for accepting or refusing one value (from a manifest default, an answers file,
//! `--define` or a prompt) with a message that states the rule. Not responsible for where
//! values come from (`answers.rs`).

use regex::Regex;
use serde::Serialize;

use super::Answer;

/// A variable's type with its constraints.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum Rule {
    /// Free text, optionally matching a regex (anchored by the author).
    String {
        /// The pattern.
        #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_regex")]
        regex: Option<Regex>,
    },
    /// `true` / `false`.
    Bool,
    /// A whole number within optional bounds (inclusive).
    Integer {
        /// Lower bound.
        #[serde(skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        /// Upper bound.
        #[serde(skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    /// One of a fixed list of strings.
    Choice {
        /// The allowed values.
        choices: Vec<String>,
    },
}

fn ser_regex<S: serde::Serializer>(regex: &Option<Regex>, s: S) -> Result<S::Ok, S::Error> {
    match regex {
        Some(r) => s.serialize_str(r.as_str()),
        None => s.serialize_none(),
    }
}

impl Rule {
    /// Check a TOML value (from a manifest default or an answers file).
    pub(crate) fn accept_toml(&self, value: &toml::Value) -> Result<Answer, String> {
        match (self, value) {
            (_, toml::Value::String(text)) => self.accept_text(text),
            (Rule::Bool, toml::Value::Boolean(b)) => Ok(Answer::Bool(*b)),
            (Rule::Integer { .. }, toml::Value::Integer(n)) => self.accept_integer(*n),
            _ => Err(format!("expected {}, got `{value}`", self.describe())),
        }
    }

    /// Check an answer given as text (`--define`, a prompt, or a TOML string).
    pub(crate) fn accept_text(&self, text: &str) -> Result<Answer, String> {
        match self {
            Rule::String { regex } => match regex {
                Some(r) if !r.is_match(text) => {
                    Err(format!("`{text}` does not match regex `{}`", r.as_str()))
                }
                _ => Ok(Answer::Text(text.to_string())),
            },
            Rule::Bool => match text.trim() {
                "true" | "yes" | "y" => Ok(Answer::Bool(true)),
                "false" | "no" | "n" => Ok(Answer::Bool(false)),
                _ => Err(format!("`{text}` is not a bool (use true or false)")),
            },
            Rule::Integer { .. } => match text.trim().replace('_', "").parse::<i64>() {
                Ok(n) => self.accept_integer(n),
                Err(_) => Err(format!("`{text}` is not an integer")),
            },
            Rule::Choice { choices } => match choices.iter().any(|c| c == text) {
                true => Ok(Answer::Text(text.to_string())),
                false => Err(format!(
                    "`{text}` is not one of the choices: {}",
                    choices.join(", ")
                )),
            },
        }
    }

    fn accept_integer(&self, n: i64) -> Result<Answer, String> {
        if let Rule::Integer { min, max } = self {
            if let Some(min) = min.filter(|m| n < *m) {
                return Err(format!("{n} is below min = {min}"));
            }
            if let Some(max) = max.filter(|m| n > *m) {
                return Err(format!("{n} is above max = {max}"));
            }
        }
        Ok(Answer::Int(n))
    }

    /// A short description for messages: `an integer in 1..=100`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Rule::String { regex: Some(r) } => format!("a string matching `{}`", r.as_str()),
            Rule::String { regex: None } => "a string".into(),
            Rule::Bool => "a bool".into(),
            Rule::Integer { min, max } => {
                let bound = |b: &Option<i64>| b.map(|v| v.to_string()).unwrap_or_default();
                match (min, max) {
                    (None, None) => "an integer".into(),
                    _ => format!("an integer in {}..={}", bound(min), bound(max)),
                }
            }
            Rule::Choice { choices } => format!("one of: {}", choices.join(", ")),
        }
    }
}
