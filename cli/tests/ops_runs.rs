//! `stepstone runs ls | show | plot | lineage` on the directories of real runs.

mod ops_util;

use ops_util::{cli, code, completed_dir, demo_run, failed_dir, redact, stderr, stdout};

#[test]
fn ls_lists_failed_and_completed_runs_oldest_first() {
    let dir = failed_dir();
    demo_run(dir.path(), false).unwrap();
    let out = cli(dir.path(), &["runs", "ls"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Columns are separated by two or more spaces; the RSS peak (column 8) varies by machine.
    let columns = regex::Regex::new("  +").unwrap();
    let table: Vec<String> = redact(&stdout(&out), dir.path())
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells: Vec<&str> = columns.split(line).collect();
            if i > 0 && cells.len() == 9 {
                cells[7] = "[RSS]";
            }
            cells.join(" | ")
        })
        .collect();
    insta::assert_snapshot!("runs_ls", table.join("\n"));

    let json = cli(dir.path(), &["runs", "ls", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    insta::assert_json_snapshot!("runs_ls_json", rows, {
        "[].id" => "[RUN]", "[].started_at" => "[TIME]", "[].seconds" => "[SECS]",
        "[].rss_peak_bytes" => "[RSS]"
    });
}

#[test]
fn show_prints_the_summary_table_config_and_totals() {
    let dir = completed_dir();
    let out = cli(dir.path(), &["runs", "show", "latest"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("boundary") && text.contains("checkpoint"),
        "{text}"
    );
    insta::assert_snapshot!("runs_show", redact(&text, dir.path()));

    let json = cli(dir.path(), &["runs", "show", "latest", "--json"]);
    let report: stepstone::RunReport = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report.pipeline, "ops-demo");
    let prefix = &report.run_id[..10];
    let by_prefix = cli(dir.path(), &["runs", "show", prefix]);
    assert_eq!(code(&by_prefix), 0, "{}", stderr(&by_prefix));

    let missing = cli(dir.path(), &["runs", "show", "nope"]);
    assert_eq!(code(&missing), 1);
    assert!(stderr(&missing).contains("runs ls"), "{}", stderr(&missing));
}

#[test]
fn show_of_a_failed_run_includes_the_error() {
    let dir = failed_dir();
    let out = cli(dir.path(), &["runs", "show", "latest"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("the warehouse is down"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn plot_writes_an_svg_with_the_budget_line_and_a_legend() {
    let dir = failed_dir();
    let svg_path = dir.path().join("mem.svg");
    let out = cli(
        dir.path(),
        &[
            "runs",
            "plot",
            "latest",
            "--out",
            svg_path.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    // The budget: a horizontal polyline in its colour, and its legend entry.
    let budget = svg
        .lines()
        .find(|l| l.contains("<polyline") && l.contains("#D62728"))
        .unwrap_or_else(|| panic!("no budget line in\n{svg}"));
    let points = budget
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let ys: Vec<&str> = points
        .split_whitespace()
        .map(|p| p.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(ys.len(), 2);
    assert_eq!(ys[0], ys[1], "horizontal: {points}");
    for text in [
        "budget (900 KiB)",
        "tracked",
        "RSS",
        "spill (",
        "checkpoint (1)",
        "time (s)",
        "memory (MiB)",
    ] {
        assert!(svg.contains(text), "missing {text:?}");
    }
    assert!(!svg.contains("spill (0)"), "the failed run spilled");
}

#[test]
fn plot_to_an_unwritable_path_says_so() {
    let dir = completed_dir();
    let out = cli(
        dir.path(),
        &[
            "runs",
            "plot",
            "latest",
            "--out",
            "/nonexistent/dir/mem.svg",
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("choose another --out"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lineage_dot_has_every_step_and_edge_and_renders() {
    let dir = completed_dir();
    demo_run(dir.path(), false).unwrap(); // reused and skipped steps
    let out = cli(
        dir.path(),
        &["runs", "lineage", "latest", "--format", "dot"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dot = stdout(&out);
    insta::assert_snapshot!("runs_lineage_dot", redact(&dot, dir.path()));
    check_dot_structure(&dot);
    render_with_graphviz(&dot);

    let mermaid = cli(
        dir.path(),
        &["runs", "lineage", "latest", "--format", "mermaid"],
    );
    assert_eq!(code(&mermaid), 0);
    insta::assert_snapshot!("runs_lineage_mermaid", stdout(&mermaid));
}

/// Balanced braces and quotes, one statement per line, every edge between declared nodes.
fn check_dot_structure(dot: &str) {
    assert!(dot.starts_with("digraph lineage {") && dot.trim_end().ends_with('}'));
    let mut nodes = std::collections::HashSet::new();
    for line in dot.lines().skip(1) {
        let line = line.trim();
        if line == "}" {
            continue;
        }
        assert!(line.ends_with(';'), "statement without `;`: {line}");
        assert_eq!(
            (line.matches('"').count() - line.matches("\\\"").count()) % 2,
            0,
            "{line}"
        );
        if let Some((from, to)) = line.trim_end_matches(';').split_once(" -> ") {
            assert!(
                nodes.contains(from) && nodes.contains(to),
                "edge to an undeclared node: {line}"
            );
        } else if let Some((id, _)) = line.split_once(" [")
            && id != "node"
        {
            nodes.insert(id.to_string());
        }
    }
    assert_eq!(nodes.len(), 6, "six steps: {nodes:?}");
}

/// Render with graphviz when it is installed (nothing is installed by the test).
fn render_with_graphviz(dot: &str) {
    use std::io::Write;
    let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("graphviz `dot` not installed: checked the DOT structure only");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}
