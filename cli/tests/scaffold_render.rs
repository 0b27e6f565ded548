//! `stepstone new` renders archetypes: the built-in ones with defaults and answers, and custom
//! ones with templated names, conditional files and binary files copied byte for byte.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{Scratch, archetype, code, header, run, stderr};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file below `dir`, relative and sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The files every built-in archetype generates (besides its sample data).
const COMMON_FILES: [&str; 12] = [
    ".ci/run",
    ".gitignore",
    ".stepstone/archetype.toml",
    "Cargo.toml",
    "README.md",
    "build.rs",
    "src/lib.rs",
    "src/main.rs",
    "src/pipeline.rs",
    "src/steps.rs",
    "stepstone.toml",
    "tests/pipeline.rs",
];

#[test]
fn every_builtin_archetype_renders_with_defaults() {
    let lake: &[&str] = &[
        "data/sales/part-0000.parquet",
        "data/sales/part-0001.parquet",
        "data/sales/part-0002.parquet",
        "data/sales/part-0003.parquet",
        "data/stores/stores-1.csv",
        "data/stores/stores-2.csv",
    ];
    let builtins: [(&str, &str, &[&str]); 3] = [
        ("batch-etl", "etl", &["data/sample.csv"]),
        ("iterative", "kmeans", &["data/sample.csv"]),
        ("lakehouse", "revenue", lake),
    ];
    for (name, pipeline, data) in builtins {
        let scratch = Scratch::new();
        let dest = scratch.dest();
        let started = Instant::now();
        let output = run(&[
            "new",
            "my-proj",
            "--archetype",
            name,
            "--no-input",
            "--dest",
            dest.to_str().unwrap(),
        ]);
        eprintln!(
            "render time of `stepstone new --archetype {name}` (process included): {:?}",
            started.elapsed()
        );
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let mut expected: Vec<&str> = COMMON_FILES.iter().chain(data).copied().collect();
        expected.sort_unstable();
        assert_eq!(files(&dest), expected, "{name}");
        // Sample data is copied byte for byte (the Parquet files too).
        let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");
        for file in data {
            let original = Path::new(templates).join(name).join(file);
            assert!(
                std::fs::read(dest.join(file)).unwrap() == std::fs::read(original).unwrap(),
                "{name}/{file} differs from the archetype's"
            );
        }
        assert!(read(&dest.join("Cargo.toml")).contains("name = \"my-proj\""));
        assert!(
            read(&dest.join("Cargo.toml")).contains("stepstone = { path = "),
            "default is the workspace runtime"
        );
        let main = read(&dest.join("src/main.rs"));
        assert!(
            main.contains(&format!("my_proj::pipeline::{pipeline}::main()")),
            "{main}"
        );
        let record: toml::Table =
            toml::from_str(&read(&dest.join(".stepstone/archetype.toml"))).unwrap();
        assert_eq!(record["archetype"]["name"].as_str(), Some(name));
        // The version recorded is the built-in manifest's.
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");
        let manifest: toml::Table = toml::from_str(&read(
            &Path::new(manifest).join(name).join("archetype.toml"),
        ))
        .unwrap();
        assert_eq!(
            record["archetype"]["version"].as_str(),
            manifest["archetype"]["version"].as_str()
        );
        assert_eq!(record["answers"]["with_ci"].as_bool(), Some(true));
        let ignore = read(&dest.join(".gitignore"));
        assert!(
            ignore.contains("/.stepstone/*\n!/.stepstone/archetype.toml"),
            "{ignore}"
        );
        let quota = read(&dest.join("stepstone.toml"));
        assert!(
            quota.contains("budget = ")
                && quota.contains("checkpoint_every = ")
                && quota.contains("checkpoint_dir = ")
        );
        for file in COMMON_FILES {
            assert!(
                !read(&dest.join(file)).contains("{{"),
                "{name}/{file} has unrendered Tera"
            );
        }
    }
}

#[test]
fn answers_reach_the_files_and_conditional_files_follow_them() {
    let scratch = Scratch::new();
    let dest = scratch.dest();
    let args = [
        "new",
        "etl2",
        "--no-input",
        "--dest",
        dest.to_str().unwrap(),
    ];
    let defines = [
        "-D",
        "rows=1234",
        "-D",
        "steps=7",
        "-D",
        "budget=3 GiB",
        "-D",
        "with_ci=false",
    ];
    let output = run(&[&args[..], &defines[..]].concat());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let pipeline = read(&dest.join("src/pipeline.rs"));
    assert!(pipeline.contains("#[default(1234)]"), "{pipeline}");
    assert!(pipeline.contains("pub const STEPS: u32 = 7;"));
    assert!(pipeline.contains("#[pipeline(budget = \"3 GiB\", checkpoint_every = 4)]"));
    assert!(read(&dest.join("stepstone.toml")).contains("budget = \"3 GiB\""));
    assert!(!dest.join(".ci").exists(), "with_ci=false must drop .ci/");
    assert!(!read(&dest.join("README.md")).contains(".ci/run"));
}

#[test]
fn runtime_dependency_flags() {
    for (flag, value, expected) in [
        ("--stepstone-version", "0.9.1", "stepstone = \"0.9.1\""),
        (
            "--stepstone-git",
            "https://example.invalid/s.git",
            "stepstone = { git = \"https://example.invalid/s.git\" }",
        ),
        (
            "--stepstone-path",
            "/opt/stepstone/runtime",
            "stepstone = { path = \"/opt/stepstone/runtime\" }",
        ),
    ] {
        let scratch = Scratch::new();
        let dest = scratch.dest();
        let output = run(&[
            "new",
            "dep",
            "--no-input",
            "--dest",
            dest.to_str().unwrap(),
            flag,
            value,
        ]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(read(&dest.join("Cargo.toml")).contains(expected), "{flag}");
    }
    let output = run(&[
        "new",
        "dep",
        "--no-input",
        "--stepstone-version",
        "1",
        "--stepstone-git",
        "x",
    ]);
    assert_eq!(code(&output), 2, "the three sources are exclusive");
}

#[test]
fn the_record_replays_as_an_answers_file() {
    let scratch = Scratch::new();
    let first = scratch.root().join("out/first");
    let output = run(&[
        "new",
        "a",
        "--no-input",
        "--dest",
        first.to_str().unwrap(),
        "-D",
        "rows=77",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let record = first.join(".stepstone/archetype.toml");
    let second = scratch.root().join("out/second");
    let output = run(&[
        "new",
        "a",
        "--no-input",
        "--dest",
        second.to_str().unwrap(),
        "--answers",
        record.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        read(&first.join("src/pipeline.rs")),
        read(&second.join("src/pipeline.rs"))
    );
}

#[test]
fn custom_archetype_templated_names_tera_suffix_and_binary_bytes() {
    let scratch = Scratch::new();
    let binary: Vec<u8> = (0..=255u8).chain([0xff, 0xfe, 0x00, 0x80]).collect();
    let manifest = format!(
        "{}[[variables]]\nname = \"module\"\ntype = \"choice\"\nchoices = [\"alpha\", \"beta\"]\ndefault = \"alpha\"\n\n\
         [[variables]]\nname = \"extra\"\ntype = \"bool\"\ndefault = false\n\n\
         [derived]\nshout = \"{{{{ module | upper }}}}\"\n\n[[files]]\npath = \"optional\"\nwhen = \"extra\"\n",
        header("custom", "approved")
    );
    let arch = archetype(
        &scratch.root().join("arch"),
        &manifest,
        &[
            ("{{ module }}/data.bin", &binary),
            (
                "{{ module }}/{{ project_name }}.txt.tera",
                b"{{ shout }} for {{ project_name }}\n",
            ),
            ("raw.txt", b"{{ not rendered }}\n"),
            ("optional/x.txt", b"x"),
        ],
    );
    let dest = scratch.dest();
    let base = [
        "new",
        "thing",
        "--no-input",
        "--archetype-path",
        arch.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
    ];
    let output = run(&[&base[..], &["-D", "module=beta"]].concat());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        files(&dest),
        [
            ".stepstone/archetype.toml",
            "beta/data.bin",
            "beta/thing.txt",
            "raw.txt"
        ]
    );
    assert_eq!(std::fs::read(dest.join("beta/data.bin")).unwrap(), binary);
    assert_eq!(read(&dest.join("beta/thing.txt")), "BETA for thing\n");
    assert_eq!(read(&dest.join("raw.txt")), "{{ not rendered }}\n");

    let output = run(&[&base[..], &["-D", "extra=true", "--force"]].concat());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(dest.join("optional/x.txt").exists());
}

#[test]
fn non_empty_destination_is_refused_without_force() {
    let scratch = Scratch::new();
    let dest = scratch.dest();
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("notes.txt"), "mine").unwrap();
    let before = scratch.listing();
    let output = run(&[
        "new",
        "demo",
        "--no-input",
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("is not empty") && stderr(&output).contains("--force"),
        "{}",
        stderr(&output)
    );
    scratch.assert_untouched(&before);

    let output = run(&[
        "new",
        "demo",
        "--no-input",
        "--force",
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(read(&dest.join("notes.txt")), "mine");
    assert!(dest.join("src/pipeline.rs").exists());
}

#[test]
fn an_empty_destination_folder_is_filled() {
    let scratch = Scratch::new();
    let dest = scratch.dest();
    std::fs::create_dir_all(&dest).unwrap();
    let output = run(&[
        "new",
        "demo",
        "--no-input",
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(dest.join("Cargo.toml").exists());
    assert_eq!(
        std::fs::read_dir(scratch.root().join("out"))
            .unwrap()
            .count(),
        1,
        "staging folder left behind"
    );
}

#[test]
fn default_destination_is_the_name_in_the_current_folder() {
    let scratch = Scratch::new();
    let output = common::stepstone()
        .args(["new", "here", "--no-input"])
        .current_dir(scratch.root())
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(scratch.root().join("here/Cargo.toml").exists());
}
