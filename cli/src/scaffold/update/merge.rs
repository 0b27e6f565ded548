//! The 3-way merge of one file: base (the recorded version as rendered), ours (the project),
//! theirs (the target version as rendered).
//!
//! Text files go through `diffy`'s line-based diff3 merge with the standard markers
//! (`<<<<<<< ours`, `=======`, `>>>>>>> theirs`); a conflict region holds every line of both
//! sides, so nothing of the user's change is lost. Binary files (a NUL byte, or not UTF-8) are
//! never merged. Not responsible for deciding which files to merge (`plan.rs`).

/// The result of merging one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Merged {
    /// No overlapping changes: the merged bytes.
    Clean(Vec<u8>),
    /// Overlapping changes: the bytes with conflict markers.
    Conflict(Vec<u8>),
    /// Binary contents that differ on both sides: not merged.
    Binary,
}

fn options() -> diffy::MergeOptions {
    let mut options = diffy::MergeOptions::new();
    options.set_conflict_style(diffy::ConflictStyle::Merge);
    options
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// Merge the three versions of a file.
pub(crate) fn three_way(base: &[u8], ours: &[u8], theirs: &[u8]) -> Merged {
    if ours == theirs {
        return Merged::Clean(ours.to_vec());
    }
    if ours == base {
        return Merged::Clean(theirs.to_vec());
    }
    if theirs == base {
        return Merged::Clean(ours.to_vec());
    }
    let (Ok(b), Ok(o), Ok(t)) = (
        std::str::from_utf8(base),
        std::str::from_utf8(ours),
        std::str::from_utf8(theirs),
    ) else {
        return Merged::Binary;
    };
    if [b, o, t].iter().any(|s| s.contains('\0')) {
        return Merged::Binary;
    }
    match options().merge(b, o, t) {
        Ok(clean) => Merged::Clean(clean.into_bytes()),
        // A last line without a newline would run into the marker after it: merge again with
        // every side ending in a newline (the only byte ever added).
        Err(_)
            if [b, o, t]
                .iter()
                .any(|s| !s.is_empty() && !s.ends_with('\n')) =>
        {
            match options().merge(&with_newline(b), &with_newline(o), &with_newline(t)) {
                Ok(clean) => Merged::Clean(clean.into_bytes()),
                Err(conflict) => Merged::Conflict(conflict.into_bytes()),
            }
        }
        Err(conflict) => Merged::Conflict(conflict.into_bytes()),
    }
}

/// Whether `bytes` holds conflict markers left by a merge (a `<<<<<<< ` line followed later by a
/// `=======` line and a `>>>>>>> ` line).
pub(crate) fn has_conflict_markers(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut stage = 0;
    for line in text.lines() {
        stage = match stage {
            0 if line.starts_with("<<<<<<< ") || line == "<<<<<<<" => 1,
            1 if line == "=======" => 2,
            2 if line.starts_with(">>>>>>> ") || line == ">>>>>>>" => return true,
            s => s,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separate_changes_merge_cleanly() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "A\nb\nc\nd\ne\n";
        let theirs = "a\nb\nc\nd\nE\n";
        assert_eq!(
            three_way(base.as_bytes(), ours.as_bytes(), theirs.as_bytes()),
            Merged::Clean(b"A\nb\nc\nd\nE\n".to_vec())
        );
    }

    #[test]
    fn the_same_line_changed_twice_keeps_both_sides_between_markers() {
        let base = "one\ntwo\nthree\n";
        let ours = "one\nmine\nthree\n";
        let theirs = "one\nnew\nthree\n";
        let Merged::Conflict(out) = three_way(base.as_bytes(), ours.as_bytes(), theirs.as_bytes())
        else {
            panic!("expected a conflict");
        };
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "one\n<<<<<<< ours\nmine\n=======\nnew\n>>>>>>> theirs\nthree\n"
        );
        assert!(has_conflict_markers(&out));
    }

    #[test]
    fn a_last_line_without_newline_never_swallows_a_marker() {
        let Merged::Conflict(out) = three_way(b"x", b"mine", b"new") else {
            panic!("expected a conflict");
        };
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\nmine\n=======\nnew\n>>>>>>> theirs\n"),
            "{text:?}"
        );
        assert!(text.starts_with("<<<<<<< ours\n"), "{text:?}");
    }

    #[test]
    fn binary_files_are_not_merged() {
        assert_eq!(three_way(b"\0a", b"\0b", b"\0c"), Merged::Binary);
        assert_eq!(
            three_way(b"\0a", b"\0a", b"\0c"),
            Merged::Clean(b"\0c".to_vec())
        );
        assert!(!has_conflict_markers(
            b"<<<<<<< ours\nonly an opening line\n"
        ));
    }

    /// One side's edit of `base`: per line keep, drop, replace or insert after, with lines
    /// unique to that side (`{side}-{n}`).
    fn edit(base: &[String], ops: &[u8], side: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, line) in base.iter().enumerate() {
            match ops.get(i).copied().unwrap_or(0) % 4 {
                0 => out.push(line.clone()),
                1 => {}
                2 => out.push(format!("{side}-{i}")),
                _ => {
                    out.push(line.clone());
                    out.push(format!("{side}-{i}+"));
                }
            }
        }
        out
    }

    proptest::proptest! {
        /// RELIABILITY row 28: whatever both sides do, every line the user wrote is in the
        /// result, in the user's order (between markers when it conflicts).
        #[test]
        fn every_line_the_user_wrote_survives_the_merge(
            len in 0usize..24,
            ours_ops in proptest::collection::vec(0u8..4, 24),
            theirs_ops in proptest::collection::vec(0u8..4, 24),
        ) {
            let base: Vec<String> = (0..len).map(|i| format!("base-{i}")).collect();
            let ours = edit(&base, &ours_ops, "ours");
            let theirs = edit(&base, &theirs_ops, "theirs");
            let join = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
            let merged = match three_way(join(&base).as_bytes(), join(&ours).as_bytes(), join(&theirs).as_bytes()) {
                Merged::Clean(bytes) | Merged::Conflict(bytes) => String::from_utf8(bytes).unwrap(),
                Merged::Binary => unreachable!("text input"),
            };
            let mine: Vec<&str> = ours.iter().map(String::as_str).filter(|l| l.starts_with("ours-")).collect();
            let kept: Vec<&str> = merged.lines().filter(|l| l.starts_with("ours-")).collect();
            proptest::prop_assert_eq!(mine, kept, "merged:\n{}", merged);
        }
    }
}
