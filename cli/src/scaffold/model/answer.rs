//! The value a variable takes: one checked [`Answer`], and every variable's by name. Part of the
//! model (a variable's default is one); collected and checked by `scaffold/answers.rs`.

use std::collections::BTreeMap;

use serde::Serialize;

/// One checked answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum Answer {
    /// A string or a choice.
    Text(String),
    /// A bool.
    Bool(bool),
    /// An integer.
    Int(i64),
}

impl Answer {
    /// As a TOML value (for the project's record).
    pub(crate) fn to_toml(&self) -> toml::Value {
        match self {
            Answer::Text(s) => toml::Value::String(s.clone()),
            Answer::Bool(b) => toml::Value::Boolean(*b),
            Answer::Int(n) => toml::Value::Integer(*n),
        }
    }

    /// As text, the way a user would type it.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Answer::Text(s) => s.clone(),
            Answer::Bool(b) => b.to_string(),
            Answer::Int(n) => n.to_string(),
        }
    }
}

/// Every declared variable's answer, by name.
pub(crate) type Answers = BTreeMap<String, Answer>;
