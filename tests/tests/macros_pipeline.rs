//! Pipelines written with `#[step]` and `#[pipeline]` run through the runtime: the right answer
//! via `<pipeline>::run(&config, …)`, options reach the report (names, policies), sinks run,
//! `&[&T]` inputs arrive in order, and a failing `Result` step fails the run with its name.

use stepstone::prelude::*;
use stepstone::report::StepStatus;
use stepstone_tests::config;

mod steps {
    use stepstone::prelude::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, MemSize)]
    pub(crate) struct Row {
        pub(crate) key: u32,
        pub(crate) value: f64,
        pub(crate) tag: String,
    }

    /// `rows` rows, keys cycling over `keys`.
    #[step]
    pub(crate) fn generate(rows: u64, keys: u32) -> Vec<Row> {
        (0..rows)
            .map(|id| Row {
                key: (id % u64::from(keys)) as u32,
                value: id as f64,
                tag: format!("t{id}"),
            })
            .collect()
    }

    #[step(cache)]
    pub(crate) fn scale(prev: &Vec<Row>, factor: f64) -> Vec<Row> {
        prev.iter()
            .map(|r| Row {
                value: r.value * factor,
                ..r.clone()
            })
            .collect()
    }

    /// Sum of `value` per dataset, in input order (shows the order of `&[&T]`).
    #[step(checkpoint, name = "sums-per-part")]
    pub(crate) fn sums(parts: &[&Vec<Row>]) -> Vec<f64> {
        parts
            .iter()
            .map(|p| p.iter().map(|r| r.value).sum())
            .collect()
    }

    /// The same sums from lazy inputs (loaded one at a time).
    #[step]
    pub(crate) fn lazy_sums(
        first: &Vec<Row>,
        parts: stepstone::plan::Parts<'_, '_, Vec<Row>>,
        factor: f64,
    ) -> Result<Vec<f64>, stepstone::plan::ArgError> {
        let mut out = vec![first.iter().map(|r| r.value).sum::<f64>() * factor];
        for part in parts {
            out.push(part?.iter().map(|r| r.value).sum::<f64>() * factor);
        }
        Ok(out)
    }

    #[step(persist)]
    pub(crate) fn total(sums: &Vec<f64>) -> Result<f64, String> {
        if sums.is_empty() {
            Err("no parts".to_string())
        } else {
            Ok(sums.iter().sum())
        }
    }

    /// Fails when `limit` is exceeded.
    #[step]
    pub(crate) fn check(total: &f64, limit: f64) -> Result<(), std::io::Error> {
        if *total > limit {
            return Err(std::io::Error::other(format!(
                "total {total} is over the limit {limit}"
            )));
        }
        Ok(())
    }
}

use steps::{check, generate, scale, sums, total};

#[pipeline(name = "macro-sums", checkpoint_every = 3)]
fn pipeline(p: &mut Pipeline, rows: u64, limit: f64) -> Result<Handle<f64>> {
    let base = generate(p, rows, 7);
    let doubled = scale(p, &base, 2.0);
    let tripled = scale(p, &base, 3.0);
    let per_part = sums(p, &[base, doubled, tripled]);
    let out = total(p, &per_part);
    check(p, &out, limit);
    Ok(out)
}

#[test]
fn a_macro_pipeline_computes_the_answer_and_reports_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = pipeline::run(&config(dir.path(), "64MiB"), 100, 1e9).unwrap();
    // 0 + 1 + … + 99 = 4950, times (1 + 2 + 3).
    assert_eq!(outcome.value, 4950.0 * 6.0);
    let report = &outcome.report;
    let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "generate",
            "scale",
            "scale",
            "sums-per-part",
            "total",
            "check"
        ]
    );
    let policy = |name: &str| report.steps_named(name).next().unwrap().policy;
    assert_eq!(policy("scale"), Policy::Cache);
    assert_eq!(policy("sums-per-part"), Policy::Checkpoint);
    assert_eq!(policy("total"), Policy::Persist);
    let check = report.steps_named("check").next().unwrap();
    assert_eq!(
        check.status,
        StepStatus::Executed,
        "a sink runs although nothing uses its handle"
    );
    assert!(
        report
            .steps
            .iter()
            .all(|s| s.module.ends_with("macros_pipeline::steps")),
        "{names:?}"
    );
}

#[test]
fn lazy_inputs_arrive_in_order_after_eager_ones() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = stepstone::run(&config(dir.path(), "64MiB"), |p| {
        let base = steps::generate(p, 10, 3);
        let doubled = steps::scale(p, &base, 2.0);
        let tripled = steps::scale(p, &base, 3.0);
        Ok(steps::lazy_sums(p, &base, &[tripled, doubled], 10.0))
    })
    .unwrap();
    assert_eq!(outcome.value, vec![450.0, 1350.0, 900.0]);
}

#[test]
fn slices_arrive_in_order_and_bodies_are_plain_functions() {
    let rows = steps::generate::body(4, 2);
    let doubled = steps::scale::body(&rows, 2.0);
    assert_eq!(steps::sums::body(&[&doubled, &rows]), vec![12.0, 6.0]);
    assert_eq!(steps::total::body(&vec![]), Err("no parts".to_string()));
}

#[test]
fn a_failing_step_fails_the_run_with_its_name_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = pipeline::run(&config(dir.path(), "64MiB"), 100, 10.0).unwrap_err();
    let text = stepstone::error_chain(&error);
    assert!(text.contains("`check`"), "{text}");
    assert!(text.contains("total 29700 is over the limit 10"), "{text}");
}

/// `Box<dyn Error>` is not `Send`: the step's error chain is copied so the run can report it.
#[step]
fn parse_local(text: &String) -> Result<u64, Box<dyn std::error::Error>> {
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|e| Box::new(Wrapped(e)) as Box<dyn std::error::Error>)?;
    Ok(n)
}

#[derive(Debug)]
struct Wrapped(std::num::ParseIntError);

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not read the count")
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn a_local_error_keeps_its_message_chain() {
    let dir = tempfile::tempdir().unwrap();
    let error = stepstone::run(&config(dir.path(), "64MiB"), |p| {
        let text = p.step("text").code("1").run(|_| Ok(String::from("12x")));
        Ok(parse_local(p, &text))
    })
    .unwrap_err();
    let text = stepstone::error_chain(&error);
    assert!(text.contains("`parse_local`"), "{text}");
    assert!(
        text.contains("could not read the count: invalid digit found in string"),
        "{text}"
    );
}

#[test]
fn defaults_carry_the_attribute() {
    let d = pipeline::defaults();
    assert_eq!(
        (d.name.as_str(), d.checkpoint_every, d.budget),
        ("macro-sums", Some(3), None)
    );
}
