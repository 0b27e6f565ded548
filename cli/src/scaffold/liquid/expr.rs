//! The Tera expressions an archetype may use when it is exported to cargo-generate, parsed into
//! a small tree.
//!
//! Tera 2 keeps its parser and AST private (`tera::parsing` is not exported in 2.4), so this is
//! a deliberately small grammar: variables, string / integer / bool literals, filter chains with
//! keyword arguments, comparisons, `not`, `and`, `or` and parentheses. Every template is first
//! parsed by Tera itself (`render::templates`), so anything this grammar does not know is valid
//! Tera that Liquid cannot express: it is refused with the construct named (`Unsupported`).
//! Not responsible for writing Liquid or Rhai (`emit.rs`).

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written in Tera, Liquid and Rhai alike.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator that holds exactly when this one does not.
    pub(crate) fn negated(self) -> Self {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }

    /// The operator with its operands swapped (`1 < x` is `x > 1`).
    pub(crate) fn swapped(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A variable.
    Var(String),
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// `true` / `false`.
    Bool(bool),
    /// `base | name(key=value, …)`.
    Filter(Box<Expr>, String, Vec<(String, Expr)>),
    /// `not e`.
    Not(Box<Expr>),
    /// `a OP b`.
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
}

/// Valid Tera that has no Liquid form: what it is, in the template's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported(pub(crate) String);

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Sym(&'static str),
}

const SYMBOLS: [&str; 22] = [
    "==", "!=", "<=", ">=", "//", "**", "<", ">", "(", ")", ",", "=", "|", "+", "-", "*", "/", "%",
    "~", ".", "[", "]",
];

fn tokenize(text: &str) -> Result<Vec<Tok>, Unsupported> {
    let mut toks = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c == '"' || c == '\'' || c == '`' {
            let (value, after) = string(&rest[1..], c)
                .ok_or_else(|| Unsupported(format!("an unterminated string in `{text}`")))?;
            toks.push(Tok::Str(value));
            rest = after;
        } else if c.is_ascii_digit() {
            let end = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
                .unwrap_or(rest.len());
            let literal = &rest[..end];
            let value = literal
                .replace('_', "")
                .parse::<i64>()
                .map_err(|_| Unsupported(format!("the number `{literal}` (only integers)")))?;
            toks.push(Tok::Int(value));
            rest = &rest[end..];
        } else if c.is_alphabetic() || c == '_' {
            let end = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            toks.push(Tok::Ident(rest[..end].to_string()));
            rest = &rest[end..];
        } else if let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            toks.push(Tok::Sym(sym));
            rest = &rest[sym.len()..];
        } else {
            return Err(Unsupported(format!("the character `{c}`")));
        }
    }
    Ok(toks)
}

/// A string literal's value (Tera's escapes: `\"`, `\'`, `\/`, `\\`, `\n`, `\t`, `\r`) and
/// the text after its closing `quote`.
fn string(body: &str, quote: char) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.push(match chars.next()?.1 {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            }),
            c if c == quote => return Some((value, &body[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

/// Parse a whole Tera expression.
pub(crate) fn parse(text: &str) -> Result<Expr, Unsupported> {
    let toks = tokenize(text)?;
    let mut parser = Parser { toks, at: 0 };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(tok) => Err(parser.unsupported(tok)),
    }
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.toks.get(self.at).cloned();
        self.at += 1;
        tok
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Ident(w)) if w == word);
        self.at += usize::from(found);
        found
    }

    fn symbol(&mut self, sym: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym);
        self.at += usize::from(found);
        found
    }

    fn unsupported(&self, tok: &Tok) -> Unsupported {
        Unsupported(match tok {
            Tok::Sym(s @ ("+" | "-" | "*" | "/" | "//" | "%" | "**")) => {
                format!("arithmetic `{s}`")
            }
            Tok::Sym("~") => "string concatenation `~`".into(),
            Tok::Sym(s @ ("." | "[")) => format!("attribute or index access `{s}`"),
            Tok::Sym("(") => "a function call".into(),
            Tok::Ident(w) if w == "is" => "a test (`is …`)".into(),
            Tok::Ident(w) if w == "in" => "the `in` operator".into(),
            Tok::Ident(w) if w == "if" => "an inline `if … else …`".into(),
            Tok::Sym(s) => format!("`{s}` here"),
            Tok::Ident(w) => format!("`{w}` here"),
            Tok::Str(s) => format!("the string {s:?} here"),
            Tok::Int(n) => format!("the number {n} here"),
        })
    }

    fn or(&mut self) -> Result<Expr, Unsupported> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Unsupported> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, Unsupported> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, Unsupported> {
        let left = self.filtered()?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => CmpOp::Eq,
            Some(Tok::Sym("!=")) => CmpOp::Ne,
            Some(Tok::Sym("<")) => CmpOp::Lt,
            Some(Tok::Sym("<=")) => CmpOp::Le,
            Some(Tok::Sym(">")) => CmpOp::Gt,
            Some(Tok::Sym(">=")) => CmpOp::Ge,
            _ => return Ok(left),
        };
        self.at += 1;
        let right = self.filtered()?;
        Ok(Expr::Cmp(Box::new(left), op, Box::new(right)))
    }

    fn filtered(&mut self) -> Result<Expr, Unsupported> {
        let mut expr = self.primary()?;
        while self.symbol("|") {
            let Some(Tok::Ident(name)) = self.next() else {
                return Err(Unsupported("a filter without a name".into()));
            };
            let mut args = Vec::new();
            if self.symbol("(") {
                while !self.symbol(")") {
                    let Some(Tok::Ident(key)) = self.next() else {
                        return Err(Unsupported(format!(
                            "a positional argument to filter `{name}`"
                        )));
                    };
                    if !self.symbol("=") {
                        return Err(Unsupported(format!("argument `{key}` of `{name}`")));
                    }
                    args.push((key, self.filtered()?));
                    self.symbol(",");
                }
            }
            expr = Expr::Filter(Box::new(expr), name, args);
        }
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, Unsupported> {
        let tok = self
            .next()
            .ok_or_else(|| Unsupported("an empty expression".into()))?;
        let expr = match tok {
            Tok::Ident(w) if w == "true" || w == "True" => Expr::Bool(true),
            Tok::Ident(w) if w == "false" || w == "False" => Expr::Bool(false),
            Tok::Ident(w) if w == "none" || w == "None" => {
                return Err(Unsupported("`none`".into()));
            }
            Tok::Ident(w) => Expr::Var(w),
            Tok::Str(s) => Expr::Str(s),
            Tok::Int(n) => Expr::Int(n),
            Tok::Sym("(") => {
                let inner = self.or()?;
                if !self.symbol(")") {
                    return Err(Unsupported("an unclosed `(`".into()));
                }
                inner
            }
            other => return Err(self.unsupported(&other)),
        };
        if let Some(tok) = self.peek()
            && matches!(tok, Tok::Sym("(" | "." | "["))
        {
            return Err(self.unsupported(tok));
        }
        Ok(expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(n: &str) -> Box<Expr> {
        Box::new(Expr::Var(n.into()))
    }

    #[test]
    fn filters_comparisons_and_logic_parse_with_teras_precedence() {
        assert_eq!(
            parse("project_name | replace(from='-', to=\"_\")").unwrap(),
            Expr::Filter(
                var("project_name"),
                "replace".into(),
                vec![
                    ("from".into(), Expr::Str("-".into())),
                    ("to".into(), Expr::Str("_".into()))
                ]
            )
        );
        assert_eq!(
            parse("a or not b and c == 3").unwrap(),
            Expr::Or(
                var("a"),
                Box::new(Expr::And(
                    Box::new(Expr::Not(var("b"))),
                    Box::new(Expr::Cmp(var("c"), CmpOp::Eq, Box::new(Expr::Int(3))))
                ))
            )
        );
    }

    #[test]
    fn constructs_outside_the_grammar_are_named() {
        for (text, named) in [
            ("rows * 2", "arithmetic `*`"),
            ("a ~ b", "concatenation"),
            ("range(end=3)", "function call"),
            ("user.name", "attribute"),
            ("x is defined", "test"),
            ("x in [1]", "`in`"),
            ("1.5", "only integers"),
        ] {
            let Unsupported(what) = parse(text).unwrap_err();
            assert!(what.contains(named), "{text}: {what}");
        }
    }
}
