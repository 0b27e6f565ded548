//! A regex that matches exactly the canonical decimal integers of an inclusive range.
//!
//! cargo-generate's placeholders are strings or bools, with an optional regex and no numeric
//! bounds, and a Rhai hook may not be used (hooks can run commands); so an archetype's
//! `integer` variable with `min`/`max` becomes a string placeholder whose regex accepts the
//! numbers in range, written without leading zeros or `+` (the digits Tera would render).
//! Not responsible for anything but the regex.

/// `^(?:…)$` matching the integers in `min..=max` (unbounded sides are i64's limits).
pub(crate) fn integer_regex(min: Option<i64>, max: Option<i64>) -> String {
    let lo = i128::from(min.unwrap_or(i64::MIN));
    let hi = i128::from(max.unwrap_or(i64::MAX));
    let mut alternatives = Vec::new();
    if lo < 0 {
        let nearest = if hi < 0 { hi.unsigned_abs() } else { 1 };
        let negatives = naturals(nearest, lo.unsigned_abs());
        alternatives.push(format!("-(?:{})", negatives.join("|")));
    }
    if hi >= 0 {
        alternatives.extend(naturals(lo.max(0).unsigned_abs(), hi.unsigned_abs()));
    }
    format!("^(?:{})$", alternatives.join("|"))
}

/// Alternatives matching `a..=b` (both ≥ 0), one group of equal digit counts at a time.
fn naturals(a: u128, b: u128) -> Vec<String> {
    let mut out = Vec::new();
    if a > b {
        return out;
    }
    let digits = |n: u128| n.to_string().len() as u32;
    for width in digits(a)..=digits(b) {
        let first = if width == 1 { 0 } else { 10u128.pow(width - 1) };
        let last = 10u128.pow(width) - 1;
        let (lo, hi) = (a.max(first), b.min(last));
        if lo <= hi {
            out.extend(same_width(
                lo.to_string().as_bytes(),
                hi.to_string().as_bytes(),
            ));
        }
    }
    out
}

/// Alternatives matching the numbers from `lo` to `hi`, digit strings of the same length.
fn same_width(lo: &[u8], hi: &[u8]) -> Vec<String> {
    let (Some((&l, lo_rest)), Some((&h, hi_rest))) = (lo.split_first(), hi.split_first()) else {
        return vec![String::new()];
    };
    let prefixed = |digit: u8, tails: Vec<String>| -> Vec<String> {
        tails
            .into_iter()
            .map(|t| format!("{}{t}", char::from(digit)))
            .collect()
    };
    if l == h {
        return prefixed(l, same_width(lo_rest, hi_rest));
    }
    let rest = lo_rest.len();
    let nines = vec![b'9'; rest];
    let zeros = vec![b'0'; rest];
    let mut out = Vec::new();
    let mut middle_from = l;
    if lo_rest != zeros.as_slice() {
        out.extend(prefixed(l, same_width(lo_rest, &nines)));
        middle_from = l + 1;
    }
    let mut middle_to = h;
    let mut upper = Vec::new();
    if hi_rest != nines.as_slice() {
        upper = prefixed(h, same_width(&zeros, hi_rest));
        middle_to = h - 1;
    }
    if middle_from <= middle_to {
        let class = if middle_from == middle_to {
            char::from(middle_from).to_string()
        } else {
            format!("[{}-{}]", char::from(middle_from), char::from(middle_to))
        };
        let tail = match rest {
            0 => String::new(),
            1 => "[0-9]".into(),
            n => format!("[0-9]{{{n}}}"),
        };
        out.push(format!("{class}{tail}"));
    }
    out.extend(upper);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    fn accepts(min: Option<i64>, max: Option<i64>, text: &str) -> bool {
        Regex::new(&integer_regex(min, max)).unwrap().is_match(text)
    }

    #[test]
    fn the_builtin_ranges_accept_their_bounds_and_refuse_their_neighbours() {
        for (min, max) in [
            (1, 1_000_000_000),
            (6, 500),
            (1, 1000),
            (1, 256),
            (0, 0),
            (-5, 5),
        ] {
            for ok in [min, max, (min + max) / 2] {
                assert!(
                    accepts(Some(min), Some(max), &ok.to_string()),
                    "{ok} in {min}..={max}"
                );
            }
            for bad in [min - 1, max + 1] {
                assert!(
                    !accepts(Some(min), Some(max), &bad.to_string()),
                    "{bad} outside"
                );
            }
        }
        assert!(!accepts(Some(1), Some(100), "007"), "leading zeros");
        assert!(!accepts(Some(1), Some(100), "+7"));
        assert!(!accepts(Some(1), Some(100), " 7"));
        assert!(!accepts(Some(-3), Some(3), "-0"));
        assert!(accepts(None, None, &i64::MIN.to_string()));
        assert!(accepts(None, None, &i64::MAX.to_string()));
        assert!(!accepts(None, None, "9223372036854775808"));
    }

    proptest! {
        #[test]
        fn matches_exactly_the_range(a in -100_000i64..100_000, b in -100_000i64..100_000, n in -200_000i64..200_000) {
            let (min, max) = (a.min(b), a.max(b));
            prop_assert_eq!(accepts(Some(min), Some(max), &n.to_string()), (min..=max).contains(&n));
        }
    }
}
