//! What the command prints: status lines and warnings on stderr, results (tables, JSON) on stdout.
//!
//! Responsible for formats only; commands decide what to say.

use std::fmt::Display;

use serde::Serialize;

/// A progress or result line for the user (stderr, so stdout stays machine-readable).
pub(crate) fn status(message: impl Display) {
    eprintln!("{message}");
}

/// A warning (stderr).
pub(crate) fn warn(message: impl Display) {
    eprintln!("warning: {message}");
}

/// The final error with its chain of causes (stderr).
pub(crate) fn error(error: &anyhow::Error) {
    eprintln!("error: {error:#}");
}

/// Pretty JSON on stdout.
pub(crate) fn json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Rows as left-aligned columns (the last column is not padded).
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (c, cell) in row.iter().enumerate() {
            if c == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!(
                    "{cell:<width$}  ",
                    width = widths.get(c).copied().unwrap_or(0)
                ));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["a".to_string(), "bb".into(), "c".into()],
            vec!["ddd".into(), "e".into(), "f".into()],
        ];
        assert_eq!(super::table(&rows), "a    bb  c\nddd  e   f\n");
    }
}
