//! The content part of a step's report row: the input files it read (with size and content
//! hash), the same-crate helpers in its code hash, whether it is volatile, and its output's
//! content hash. The next run compares them to say *why* a step recomputed ("input data/in.csv
//! changed: size 1.2 MB → 1.3 MB", "helper `scale` changed", "volatile"). Not responsible for
//! computing any of them (see [`crate::input`] and `stepstone-build`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StepReport;
use crate::memory::human_bytes;

/// One input file a step read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The parameter that named it.
    pub param: String,
    /// The path.
    pub path: String,
    /// Size in bytes when it was hashed.
    pub size: u64,
    /// xxh3-128 of its content (32 hex digits).
    pub hash: String,
}

/// Input files listed per step in a report: beyond it a step's row keeps the count and a
/// digest of all of them (a glob of 150,000 files made a 25 MB report per run, and past ~390,000
/// one larger than a report may be to be read back).
pub const MAX_LISTED_INPUTS: usize = 1_000;

/// What a step's fingerprint owes to content rather than code and parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentRecord {
    /// Input files read through `InputFile` / `InputGlob` parameters, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputRecord>,
    /// How many input files the step read, when more than [`MAX_LISTED_INPUTS`] (only the
    /// first ones are in `inputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_total: Option<u64>,
    /// xxh3-128 over every input's parameter, path and content hash, when more than
    /// [`MAX_LISTED_INPUTS`] were read (a change beyond the listed ones still shows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_digest: Option<String>,
    /// Same-crate helpers in the code hash: name → token hash.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub helpers: BTreeMap<String, String>,
    /// `#[step(volatile)]`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub volatile: bool,
    /// xxh3-128 of the encoded output of a content-addressed step (volatile or reading
    /// inputs), when it ran in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_hash: Option<String>,
}

impl ContentRecord {
    /// Nothing recorded (the field is left out of the JSON).
    pub fn is_empty(&self) -> bool {
        *self == ContentRecord::default()
    }
}

/// Why `now` ran, when its content record tells (`before` is the same step in the previous
/// run, if any): a volatile step, a changed input file, a changed helper.
pub(crate) fn content_reason(before: Option<&StepReport>, now: &StepReport) -> Option<String> {
    let (c, b) = (&now.content, before.map(|b| &b.content));
    if c.volatile {
        let cutoff = match (b.and_then(|b| b.output_hash.as_ref()), &c.output_hash) {
            (Some(old), Some(new)) if old == new => "; output unchanged: descendants reused",
            (Some(_), Some(_)) => "; output changed: descendants recompute",
            _ => "",
        };
        return Some(format!("volatile (always executes){cutoff}"));
    }
    // A previous row with no content record (that run failed before hashing, say) tells
    // nothing: the ordinary reason applies.
    let b =
        b.filter(|b| !b.inputs.is_empty() || !b.helpers.is_empty() || b.output_hash.is_some())?;
    let mut what = Vec::new();
    let key = |i: &InputRecord| (i.param.clone(), i.path.clone());
    let old_inputs: std::collections::HashMap<(String, String), &InputRecord> =
        b.inputs.iter().map(|i| (key(i), i)).collect();
    let new_inputs: std::collections::HashSet<(String, String)> =
        c.inputs.iter().map(key).collect();
    for input in &c.inputs {
        match old_inputs.get(&key(input)) {
            Some(old) if old.hash == input.hash => {}
            Some(old) if old.size != input.size => what.push(format!(
                "input {} changed: size {} → {}",
                input.path,
                human_bytes(old.size),
                human_bytes(input.size)
            )),
            Some(_) => what.push(format!(
                "input {} changed: same size, other content",
                input.path
            )),
            None => what.push(format!("input {} added", input.path)),
        }
    }
    // Only within the listed part of both rows can a file be told added or removed.
    let listed_all = b.inputs_total.is_none() && c.inputs_total.is_none();
    for old in &b.inputs {
        if listed_all && !new_inputs.contains(&key(old)) {
            what.push(format!("input {} removed", old.path));
        }
    }
    let digests = b.inputs_digest.is_some() || c.inputs_digest.is_some();
    if what.is_empty()
        && digests
        && (b.inputs_digest != c.inputs_digest || b.inputs_total != c.inputs_total)
    {
        let count = |r: &ContentRecord| r.inputs_total.unwrap_or(r.inputs.len() as u64);
        what.push(format!(
            "input files changed beyond the {MAX_LISTED_INPUTS} the report lists ({} files before, {} now)",
            count(b),
            count(c)
        ));
    }
    for (name, hash) in &c.helpers {
        match b.helpers.get(name) {
            Some(old) if old == hash => {}
            Some(_) => what.push(format!("helper `{name}` changed")),
            None => what.push(format!("helper `{name}` now used")),
        }
    }
    for name in b.helpers.keys().filter(|n| !c.helpers.contains_key(*n)) {
        what.push(format!("helper `{name}` no longer used"));
    }
    let cutoff = match (&b.output_hash, &c.output_hash) {
        (Some(old), Some(new)) if old == new && !what.is_empty() => {
            "; output unchanged: descendants reused"
        }
        _ => "",
    };
    (!what.is_empty()).then(|| format!("{}{cutoff}", what.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &str, size: u64, hash: &str) -> InputRecord {
        InputRecord {
            param: "path".into(),
            path: path.into(),
            size,
            hash: hash.into(),
        }
    }

    #[test]
    fn reasons_name_the_input_and_the_helper() {
        let mut before = ContentRecord {
            inputs: vec![input("in.csv", 1_200_000, "a"), input("old.csv", 1, "c")],
            ..ContentRecord::default()
        };
        before.helpers.insert("scale".into(), "1".into());
        let mut now = ContentRecord {
            inputs: vec![input("in.csv", 1_300_000, "b"), input("new.csv", 1, "d")],
            ..ContentRecord::default()
        };
        now.helpers.insert("scale".into(), "2".into());
        let reason = reason_of(before, now).unwrap();
        assert!(
            reason.contains("input in.csv changed: size 1.1 MiB → 1.2 MiB"),
            "{reason}"
        );
        assert!(reason.contains("input new.csv added"), "{reason}");
        assert!(reason.contains("input old.csv removed"), "{reason}");
        assert!(reason.contains("helper `scale` changed"), "{reason}");
    }

    /// A row of many inputs as `FileRead` records it: the first ones listed, the count and a
    /// digest of all (here the digest stands for the hash of the unlisted part).
    fn many(total: usize, changed_at: Option<usize>) -> ContentRecord {
        let hash = |i: usize| if Some(i) == changed_at { "x" } else { "h" };
        ContentRecord {
            inputs: (0..total.min(MAX_LISTED_INPUTS))
                .map(|i| input(&format!("f{i}.csv"), 1, hash(i)))
                .collect(),
            inputs_total: Some(total as u64),
            inputs_digest: Some(format!(
                "{}",
                changed_at.filter(|i| *i >= MAX_LISTED_INPUTS).unwrap_or(0)
            )),
            ..ContentRecord::default()
        }
    }

    #[test]
    fn a_row_of_many_inputs_lists_some_and_still_tells_a_change_beyond_them() {
        let listed = reason_of(many(150_000, None), many(150_000, Some(10))).unwrap();
        assert_eq!(listed, "input f10.csv changed: same size, other content");
        let beyond = reason_of(many(150_000, None), many(150_000, Some(120_000))).unwrap();
        assert!(
            beyond.contains("beyond the 1000 the report lists"),
            "{beyond}"
        );
        let grown = reason_of(many(150_000, None), many(150_001, None)).unwrap();
        assert!(grown.contains("150000 files before, 150001 now"), "{grown}");
        assert_eq!(reason_of(many(150_000, None), many(150_000, None)), None);
    }

    #[test]
    fn volatile_says_whether_descendants_were_reused() {
        let before = ContentRecord {
            volatile: true,
            output_hash: Some("x".into()),
            ..ContentRecord::default()
        };
        let now = before.clone();
        let reason = reason_of(before.clone(), now).unwrap();
        assert!(
            reason.ends_with("output unchanged: descendants reused"),
            "{reason}"
        );
        let changed = ContentRecord {
            output_hash: Some("y".into()),
            ..before.clone()
        };
        let reason = reason_of(before, changed).unwrap();
        assert!(
            reason.ends_with("output changed: descendants recompute"),
            "{reason}"
        );
    }

    fn reason_of(before: ContentRecord, now: ContentRecord) -> Option<String> {
        let row = |content| StepReport {
            fingerprint: crate::Fingerprint(1),
            seconds: 0.0,
            output_bytes: 0,
            output_resident_bytes: 0,
            content,
            ..crate::report::test_row(0, "s", super::super::StepStatus::Executed)
        };
        content_reason(Some(&row(before)), &row(now))
    }
}
