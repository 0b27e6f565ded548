//! Every argument and return form of `#[step]`, and the plain bodies callable as `<name>::body`.
#![deny(warnings)]

use stepstone::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, MemSize)]
pub struct Row {
    pub id: u64,
    pub tag: String,
}

/// A source: parameters only.
#[step]
pub fn generate(rows: u64, tag: String) -> Vec<Row> {
    (0..rows).map(|id| Row { id, tag: tag.clone() }).collect()
}

/// One upstream dataset and a parameter.
#[step(checkpoint)]
fn adjust(prev: &Vec<Row>, i: u32) -> Vec<Row> {
    prev.iter().map(|r| Row { id: r.id + u64::from(i), tag: r.tag.clone() }).collect()
}

/// Any number of upstream datasets.
#[step(persist, name = "sum-all")]
pub(crate) fn aggregate(parts: &[&Vec<Row>], extra: &Vec<Row>) -> u64 {
    parts.iter().flat_map(|p| p.iter()).chain(extra.iter()).map(|r| r.id).sum()
}

/// Lazy inputs: loaded one at a time while the body iterates.
#[step(checkpoint)]
fn stream(parts: stepstone::plan::Parts<'_, '_, Vec<Row>>, first: &Vec<Row>) -> Result<usize, stepstone::plan::ArgError> {
    let mut n = first.len();
    for part in parts {
        n += part?.len();
    }
    Ok(n)
}

/// A fallible step.
#[step(cache, version = "2")]
fn parse(text: &String) -> Result<u64, std::num::ParseIntError> {
    text.trim().parse()
}

/// A sink without a return type.
#[step]
fn show(total: &u64) {
    let _ = total;
}

/// A fallible sink.
#[step]
fn check(total: &u64) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if *total == 0 { Err("empty".into()) } else { Ok(()) }
}

/// A pattern argument and a unit-returning sink with `()`.
#[step]
fn pair((a, b): (u32, u32), _unused: &u64) -> () {
    let _ = a + b;
}

/// Arguments named like the generated ones (`p`, `__args`) do not clash with them.
#[step]
fn shadow(p: &Vec<Row>, __args: u32, __params: u32) -> u64 {
    p.len() as u64 + u64::from(__args + __params)
}

fn wire(p: &mut Pipeline) -> Handle<u64> {
    let rows = generate(p, 3, "t".to_string());
    let adjusted = adjust(p, &rows, 1);
    let again = adjust(p, &adjusted, 2);
    let total = aggregate(p, &[rows.clone(), adjusted], &again);
    let text: Handle<String> = p.step("text").code("v1").run(|_| Ok(String::from("42")));
    let parsed = parse(p, &text);
    let _: Handle<()> = show(p, &parsed);
    let _: Handle<()> = check(p, &total);
    let _: Handle<()> = pair(p, (1, 2), &total);
    let _: Handle<u64> = shadow(p, &rows, 1, 2);
    let _: Handle<usize> = stream(p, &[rows.clone(), again.clone()], &rows);
    total
}

fn main() {
    let _ = wire as fn(&mut Pipeline) -> Handle<u64>;
    let rows = generate::body(2, "x".into());
    assert_eq!(rows, vec![Row { id: 0, tag: "x".into() }, Row { id: 1, tag: "x".into() }]);
    let adjusted = adjust::body(&rows, 10);
    assert_eq!(adjusted[1].id, 11);
    assert_eq!(aggregate::body(&[&rows, &adjusted], &rows), 1 + 10 + 11 + 1);
    assert_eq!(parse::body(&" 7 ".to_string()), Ok(7));
    show::body(&1);
    assert!(check::body(&0).is_err());
    pair::body((1, 2), &0);
    assert_eq!(shadow::body(&rows, 1, 2), 5);
}
