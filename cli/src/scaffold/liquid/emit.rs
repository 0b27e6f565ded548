//! Writing a parsed Tera expression as Liquid (for template files) or as Rhai (for the
//! `[conditional]` keys of cargo-generate.toml, which cargo-generate evaluates as Rhai
//! expressions, no script and no command).
//!
//! Responsible for keeping Tera's meaning: cargo-generate stores every non-bool answer as a
//! string, so an integer is compared as its canonical digits (`==`, `!=`) or, for `<`/`>`, as
//! the number a `plus: 0` assign makes of it; Tera's truthiness (`""` and `0` are false) is
//! spelled out; Liquid's `and`/`or` group right to left without parentheses, so only shapes it
//! can group are accepted. Not responsible for parsing (`expr.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::expr::{CmpOp, Expr, Unsupported};

/// The type of a placeholder as cargo-generate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bool placeholder.
    Bool,
    /// A string placeholder whose regex allows only canonical integers.
    Integer,
    /// Any other string (free text or a choice).
    Text,
}

/// What a name used in a template refers to in the exported template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// A cargo-generate variable (placeholder or built-in) with its Liquid name.
    Placeholder {
        /// The name in Liquid (`project-name` for Stepstone's `project_name`).
        liquid: String,
        /// Its type.
        kind: Kind,
    },
    /// A value fixed when exporting (`archetype_name`, `archetype_version`).
    Constant(String),
    /// A derived value: captured at the top of every file that uses it.
    Derived,
    /// A value set earlier in the same template with `{% set %}`.
    Local,
}

/// The names a template may use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// Tera name → binding.
    pub(crate) bindings: BTreeMap<String, Binding>,
}

/// What a translated template needs at its top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    /// Derived values it reads.
    pub(crate) derived: BTreeSet<String>,
    /// Integer placeholders it orders (`<`, `>`…), which need a numeric copy.
    pub(crate) numbers: BTreeSet<String>,
}

/// The Liquid name of the numeric copy of integer placeholder `name`.
pub(crate) fn number_name(name: &str) -> String {
    format!("stepstone_number_{name}")
}

/// A Liquid string literal (Liquid strings have no escapes).
pub(crate) fn liquid_str(text: &str) -> Result<String, Unsupported> {
    if !text.contains('"') {
        Ok(format!("\"{text}\""))
    } else if !text.contains('\'') {
        Ok(format!("'{text}'"))
    } else {
        Err(Unsupported(format!(
            "the string {text:?}, which holds both quote characters (Liquid strings have no escapes)"
        )))
    }
}

impl Scope {
    fn binding(&self, name: &str) -> Result<&Binding, Unsupported> {
        self.bindings
            .get(name)
            .ok_or_else(|| Unsupported(format!("the undeclared variable `{name}`")))
    }

    /// `expr` as a Liquid value with filters (the inside of `{{ … }}` or of an assign).
    pub(crate) fn liquid_output(
        &self,
        expr: &Expr,
        uses: &mut Uses,
    ) -> Result<String, Unsupported> {
        match expr {
            Expr::Filter(base, name, args) => {
                let base = self.liquid_output(base, uses)?;
                let mut arg = |key: &str| -> Result<String, Unsupported> {
                    let value = args.iter().find(|(k, _)| k == key).map(|(_, v)| v);
                    let value = value.ok_or_else(|| {
                        Unsupported(format!("filter `{name}` without its `{key}` argument"))
                    })?;
                    self.liquid_operand(value, uses)
                };
                let known = |keys: &[&str]| args.iter().all(|(k, _)| keys.contains(&k.as_str()));
                let mapped = match name.as_str() {
                    "upper" if args.is_empty() => "upcase".to_string(),
                    "lower" if args.is_empty() => "downcase".to_string(),
                    "capitalize" if args.is_empty() => "downcase | capitalize".to_string(),
                    "trim" if args.is_empty() => "strip".to_string(),
                    "trim_start" if args.is_empty() => "lstrip".to_string(),
                    "trim_end" if args.is_empty() => "rstrip".to_string(),
                    "safe" if args.is_empty() => return Ok(base),
                    "replace" if known(&["from", "to"]) => {
                        format!("replace: {}, {}", arg("from")?, arg("to")?)
                    }
                    _ => {
                        return Err(Unsupported(format!(
                            "the filter `{name}`{} (exportable filters: upper, lower, capitalize, trim, trim_start, trim_end, replace(from, to), safe)",
                            if args.is_empty() {
                                ""
                            } else {
                                " with these arguments"
                            }
                        )));
                    }
                };
                Ok(format!("{base} | {mapped}"))
            }
            other => self.liquid_operand(other, uses),
        }
    }

    /// A variable or literal, as Liquid.
    fn liquid_operand(&self, expr: &Expr, uses: &mut Uses) -> Result<String, Unsupported> {
        match expr {
            Expr::Var(name) => match self.binding(name)? {
                Binding::Placeholder { liquid, .. } => Ok(liquid.clone()),
                Binding::Constant(value) => liquid_str(value),
                Binding::Derived => {
                    uses.derived.insert(name.clone());
                    Ok(name.clone())
                }
                Binding::Local => Ok(name.clone()),
            },
            Expr::Str(text) => liquid_str(text),
            Expr::Int(n) => Ok(n.to_string()),
            Expr::Bool(b) => Ok(b.to_string()),
            Expr::Filter(..) => Err(Unsupported("a filter inside a filter argument".into())),
            _ => Err(Unsupported(
                "an operator (`and`, `or`, `not`, a comparison) outside a condition".into(),
            )),
        }
    }

    /// The kind of an operand, for comparisons.
    fn kind(&self, expr: &Expr) -> Result<Kind, Unsupported> {
        match expr {
            Expr::Var(name) => Ok(match self.binding(name)? {
                Binding::Placeholder { kind, .. } => *kind,
                _ => Kind::Text,
            }),
            Expr::Str(_) => Ok(Kind::Text),
            Expr::Int(_) => Ok(Kind::Integer),
            Expr::Bool(_) => Ok(Kind::Bool),
            Expr::Filter(_, name, _) => Err(Unsupported(format!(
                "the filter `{name}` inside a condition (Liquid has no filters in `if`)"
            ))),
            _ => Err(Unsupported(
                "a nested condition as a comparison operand".into(),
            )),
        }
    }

    /// `expr` as a Liquid `if` condition.
    pub(crate) fn liquid_condition(
        &self,
        expr: &Expr,
        uses: &mut Uses,
    ) -> Result<String, Unsupported> {
        self.liquid_chain(&push_not(expr.clone(), false), uses)
    }

    fn liquid_chain(&self, expr: &Expr, uses: &mut Uses) -> Result<String, Unsupported> {
        let (word, is_same): (&str, fn(&Expr) -> bool) = match expr {
            Expr::And(..) => (" and ", |e| matches!(e, Expr::And(..))),
            Expr::Or(..) => (" or ", |e| matches!(e, Expr::Or(..))),
            other => return self.liquid_atom(other, uses),
        };
        let mut operands = Vec::new();
        flatten(expr, is_same, &mut operands);
        let (groups, atoms): (Vec<&Expr>, Vec<&Expr>) = operands
            .into_iter()
            .partition(|e| matches!(e, Expr::And(..) | Expr::Or(..)));
        if groups.len() > 1 {
            return Err(Unsupported(
                "a condition that mixes `and` and `or` in a way Liquid cannot group (it has no parentheses); split it into nested `if`s".into(),
            ));
        }
        let mut parts = Vec::new();
        for atom in atoms {
            parts.push(self.liquid_atom(atom, uses)?);
        }
        for group in groups {
            parts.push(self.liquid_chain(group, uses)?);
        }
        Ok(parts.join(word))
    }

    fn liquid_atom(&self, expr: &Expr, uses: &mut Uses) -> Result<String, Unsupported> {
        let truth = |negated: bool, name: &str, kind: Kind| {
            let (yes, no) = match kind {
                Kind::Bool => (String::new(), " == false".to_string()),
                Kind::Integer => (" != \"0\"".into(), " == \"0\"".into()),
                Kind::Text => (" != \"\"".into(), " == \"\"".into()),
            };
            format!("{name}{}", if negated { no } else { yes })
        };
        match expr {
            Expr::Bool(b) => Ok(b.to_string()),
            Expr::Var(_) | Expr::Not(_) => {
                let (negated, inner) = match expr {
                    Expr::Not(inner) => (true, inner.as_ref()),
                    _ => (false, expr),
                };
                let kind = self.kind(inner)?;
                match inner {
                    Expr::Var(_) => Ok(truth(negated, &self.liquid_operand(inner, uses)?, kind)),
                    Expr::Bool(b) => Ok((*b != negated).to_string()),
                    _ => Err(Unsupported("`not` before a literal".into())),
                }
            }
            Expr::Cmp(left, op, right) => self.liquid_comparison(left, *op, right, uses),
            Expr::Str(_) | Expr::Int(_) => Err(Unsupported("a literal as a condition".into())),
            Expr::Filter(..) => Err(Unsupported(
                "a filter inside a condition (Liquid has no filters in `if`)".into(),
            )),
            Expr::And(..) | Expr::Or(..) => self.liquid_chain(expr, uses),
        }
    }

    fn liquid_comparison(
        &self,
        left: &Expr,
        op: CmpOp,
        right: &Expr,
        uses: &mut Uses,
    ) -> Result<String, Unsupported> {
        let (lk, rk) = (self.kind(left)?, self.kind(right)?);
        if lk != rk {
            return Err(Unsupported(format!(
                "comparing {} with {} (cargo-generate would compare them as text)",
                kind_word(lk),
                kind_word(rk)
            )));
        }
        if lk == Kind::Bool && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(Unsupported(format!("`{}` between bools", op.as_str())));
        }
        let ordered = lk == Kind::Integer && !matches!(op, CmpOp::Eq | CmpOp::Ne);
        let mut side = |e: &Expr| -> Result<String, Unsupported> {
            match (e, lk, ordered) {
                (Expr::Int(n), Kind::Integer, false) => Ok(format!("\"{n}\"")),
                (Expr::Var(name), Kind::Integer, true) => {
                    uses.numbers.insert(name.clone());
                    Ok(number_name(name))
                }
                _ => self.liquid_operand(e, uses),
            }
        };
        Ok(format!("{} {} {}", side(left)?, op.as_str(), side(right)?))
    }

    /// `expr` as a Rhai expression over cargo-generate's variables (bools are bools, every
    /// other answer a string).
    pub(crate) fn rhai(&self, expr: &Expr) -> Result<String, Unsupported> {
        match expr {
            Expr::Not(inner) => Ok(format!("!({})", self.rhai(inner)?)),
            Expr::And(a, b) => Ok(format!("({} && {})", self.rhai(a)?, self.rhai(b)?)),
            Expr::Or(a, b) => Ok(format!("({} || {})", self.rhai(a)?, self.rhai(b)?)),
            Expr::Bool(b) => Ok(b.to_string()),
            Expr::Var(_) => match self.kind(expr)? {
                Kind::Bool => self.rhai_operand(expr),
                Kind::Integer => Ok(format!("({} != 0)", self.rhai_operand(expr)?)),
                Kind::Text => Ok(format!("({} != \"\")", self.rhai_operand(expr)?)),
            },
            Expr::Cmp(left, op, right) => {
                let (lk, rk) = (self.kind(left)?, self.kind(right)?);
                if lk != rk {
                    return Err(Unsupported(format!(
                        "comparing {} with {}",
                        kind_word(lk),
                        kind_word(rk)
                    )));
                }
                let (l, r) = (self.rhai_operand(left)?, self.rhai_operand(right)?);
                Ok(format!("({l} {} {r})", op.as_str()))
            }
            Expr::Str(_) | Expr::Int(_) => Err(Unsupported("a literal as a condition".into())),
            Expr::Filter(_, name, _) => Err(Unsupported(format!(
                "the filter `{name}` in a [[files]] condition"
            ))),
        }
    }

    fn rhai_operand(&self, expr: &Expr) -> Result<String, Unsupported> {
        match expr {
            Expr::Var(name) => match self.binding(name)? {
                Binding::Placeholder { liquid, kind } if liquid == name => Ok(match kind {
                    Kind::Integer => format!("parse_int({name})"),
                    _ => name.clone(),
                }),
                Binding::Constant(value) => rhai_str(value),
                _ => Err(Unsupported(format!(
                    "`{name}` in a [[files]] condition (only declared variables can be used there)"
                ))),
            },
            Expr::Str(text) => rhai_str(text),
            Expr::Int(n) => Ok(n.to_string()),
            Expr::Bool(b) => Ok(b.to_string()),
            _ => Err(Unsupported(
                "a filter or operator as a comparison operand".into(),
            )),
        }
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "a bool",
        Kind::Integer => "an integer",
        Kind::Text => "a string",
    }
}

fn rhai_str(text: &str) -> Result<String, Unsupported> {
    if text.chars().any(char::is_control) {
        return Err(Unsupported(format!(
            "the string {text:?} (control characters)"
        )));
    }
    Ok(format!(
        "\"{}\"",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Gather the operands of a chain of the same operator (`a and b and c`), left to right.
fn flatten<'e>(expr: &'e Expr, is_same: fn(&Expr) -> bool, out: &mut Vec<&'e Expr>) {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) if is_same(expr) => {
            flatten(a, is_same, out);
            flatten(b, is_same, out);
        }
        other => out.push(other),
    }
}

/// Move every `not` down to a variable or a comparison (De Morgan), so Liquid, which has no
/// `not`, can say it.
fn push_not(expr: Expr, negate: bool) -> Expr {
    match expr {
        Expr::Not(inner) => push_not(*inner, !negate),
        Expr::And(a, b) if negate => {
            Expr::Or(Box::new(push_not(*a, true)), Box::new(push_not(*b, true)))
        }
        Expr::Or(a, b) if negate => {
            Expr::And(Box::new(push_not(*a, true)), Box::new(push_not(*b, true)))
        }
        Expr::And(a, b) => Expr::And(Box::new(push_not(*a, false)), Box::new(push_not(*b, false))),
        Expr::Or(a, b) => Expr::Or(Box::new(push_not(*a, false)), Box::new(push_not(*b, false))),
        Expr::Cmp(l, op, r) => {
            let op = if negate { op.negated() } else { op };
            match (l.as_ref(), r.as_ref()) {
                (Expr::Str(_) | Expr::Int(_) | Expr::Bool(_), Expr::Var(_)) => {
                    Expr::Cmp(r, op.swapped(), l)
                }
                _ => Expr::Cmp(l, op, r),
            }
        }
        other if negate => Expr::Not(Box::new(other)),
        other => other,
    }
}
