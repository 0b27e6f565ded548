//! A pipeline over inputs on S3 (or local files) for `tests/s3_inputs.rs`: the standard run
//! flags plus
//! - `--input URL`: step `file_sum` (content-addressed, checkpointed) sums the numbers of one
//!   input, one per line, read with `InputFile::read_to_string`;
//! - `--glob PATTERN`: step `part_sum` runs once per matching file (`per_file`), `part_double`
//!   doubles each partition, `glob_total` adds them up;
//! - `--parquet PATTERN`: step `group_sum` runs once per Parquet row group (`row_groups`) and
//!   sums column `x` read with a projection (`read_parquet_split(.., Some(&["x"]))`),
//!   `parquet_total` adds them up;
//! - `--overwrite URL --with TEXT`: `file_sum` first overwrites object URL with TEXT (a change
//!   between the hash at record time and a read).
//!
//! Prints one JSON line: `answer` (the totals, in the order above) and, per step, partitions
//! executed. Exits 0, or 1 with `error: …` on stderr.

use std::process::ExitCode;

use clap::Parser;
use stepstone::config::{PipelineDefaults, RunArgs};
use stepstone::prelude::*;
use stepstone::{BoxError, FileSplits, InputFile, InputGlob};

#[derive(Debug, Parser)]
#[command(name = "objects")]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    #[arg(long)]
    input: Option<String>,
    #[arg(long)]
    glob: Option<String>,
    #[arg(long)]
    parquet: Option<String>,
    #[arg(long)]
    overwrite: Option<String>,
    #[arg(long)]
    with: Option<String>,
}

fn numbers(text: &str) -> Result<u64, BoxError> {
    let mut sum = 0u64;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        sum += line.parse::<u64>()?;
    }
    Ok(sum)
}

/// Overwrite object `url` with `text` (through the store's S3 client, `AWS_*` environment).
fn overwrite(url: &str, text: &str) -> Result<(), BoxError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or("--overwrite takes an s3:// URL")?;
    let (bucket, key) = rest.split_once('/').ok_or("--overwrite: no key")?;
    let backend = stepstone::store::S3Backend::open(&format!("s3://{bucket}"), None)?;
    backend.raw_put(key, text.as_bytes().to_vec())?;
    Ok(())
}

fn build(p: &mut Pipeline, cli: &Cli) -> Result<Handle<Vec<u64>>> {
    let mut totals = Vec::new();
    if let Some(input) = &cli.input {
        let file = InputFile::from(input.as_str());
        let touch = cli.overwrite.clone().zip(cli.with.clone());
        let body = file.clone();
        totals.push(
            p.step("file_sum")
                .code("1")
                .policy(Policy::Checkpoint)
                .input_file("input", &file)
                .param(&file)
                .run(move |_| {
                    if let Some((url, text)) = &touch {
                        overwrite(url, text)?;
                    }
                    numbers(&body.read_to_string()?)
                }),
        );
    }
    if let Some(pattern) = &cli.glob {
        let files = InputGlob::from(pattern.as_str());
        let glob = files.clone();
        let parts = p
            .step("part_sum")
            .code("1")
            .policy(Policy::Checkpoint)
            .per_file("files", &files)
            .run(move |a| numbers(&glob.file(a.partition())?.read_to_string()?));
        let doubled = p
            .step("part_double")
            .code("1")
            .policy(Policy::Checkpoint)
            .input(&parts)
            .run(|a| Ok(a.get::<u64>(0)? * 2));
        totals.push(
            p.step("glob_total")
                .code("1")
                .lazy_inputs(&[doubled])
                .run(|a| {
                    let mut total = 0;
                    for part in a.parts::<u64>(0, 1) {
                        total += *part?;
                    }
                    Ok(total)
                }),
        );
    }
    if let Some(pattern) = &cli.parquet {
        let splits = stepstone::arrow::row_groups(&InputGlob::from(pattern.as_str()));
        let body: FileSplits = splits.clone();
        let groups = p
            .step("group_sum")
            .code("1")
            .policy(Policy::Checkpoint)
            .per_split("split", &splits)
            .run(move |a| {
                let split = body.get(a.partition())?;
                let batch = stepstone::arrow::read_parquet_split(split, Some(&["x"]))?;
                if batch.num_columns() != 1 {
                    return Err("the projection kept more than column x".into());
                }
                let x = batch
                    .column_as::<stepstone::arrow::arrow_array::Int64Array>("x")
                    .ok_or("no column x")?;
                Ok(x.values().iter().map(|v| *v as u64).sum::<u64>())
            });
        totals.push(
            p.step("parquet_total")
                .code("1")
                .lazy_inputs(&[groups])
                .run(|a| {
                    let mut total = 0;
                    for part in a.parts::<u64>(0, 1) {
                        total += *part?;
                    }
                    Ok(total)
                }),
        );
    }
    Ok(p.step("answer")
        .code("1")
        .inputs(&totals)
        .run(|a| Ok(a.slice::<u64>(0, a.len())?.iter().map(|v| **v).collect())))
}

fn main() -> ExitCode {
    stepstone::init_logging();
    let cli = Cli::parse();
    let defaults = PipelineDefaults {
        name: "objects".into(),
        budget: Some("64MiB"),
        checkpoint_every: None,
        checkpoint_dir: None,
    };
    let config = match RunConfig::resolve(&cli.run, &defaults) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            return ExitCode::from(2);
        }
    };
    match stepstone::run(&config, |p| build(p, &cli)) {
        Ok(out) => {
            let executed: serde_json::Map<String, serde_json::Value> = out
                .report
                .steps
                .iter()
                .map(|s| (s.name.clone(), s.partitions_executed.into()))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "answer": out.value,
                    "executed": executed,
                    "run_id": out.report.run_id,
                })
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", stepstone::error_chain(&e));
            ExitCode::from(1)
        }
    }
}
