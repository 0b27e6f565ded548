//! The pages in a real headless browser (Chromium `--dump-dom`, after the scripts ran): the
//! runs list, and a run's step table, statuses and lineage SVG with one node per step.

use crate::ops_util::{demo_run, failed_dir};
use crate::util::{UiServer, browser_dom, count};

#[test]
fn the_run_page_draws_every_step_in_the_table_and_the_graph() {
    let dir = failed_dir();
    let report = demo_run(dir.path(), false).unwrap();
    let ui = UiServer::start(&dir.path().display().to_string(), &[]);
    let test = "the_run_page_draws_every_step_in_the_table_and_the_graph";
    let Some(dom) = browser_dom(test, &ui.url(&format!("/runs/{}", report.run_id))) else {
        return;
    };
    assert!(dom.contains("id=\"lineage-svg\""), "no lineage SVG: {dom}");
    assert_eq!(count(&dom, "<g class=\"node "), report.steps.len(), "{dom}");
    assert_eq!(count(&dom, "<tr data-seq="), report.steps.len(), "{dom}");
    for step in &report.steps {
        assert!(
            dom.contains(&format!(">{}</td>", step.name)),
            "{}: {dom}",
            step.name
        );
        let status = format!("{:?}", step.status).to_lowercase();
        let node = format!("data-seq=\"{}\" data-status=\"{status}\"", step.seq);
        assert_eq!(
            count(&dom, &node),
            2,
            "table row and graph node of {}",
            step.name
        );
    }
    // The checkpointed step is marked in the graph; the memory chart has its budget line.
    assert_eq!(count(&dom, " checkpoint\" data-seq="), 1, "{dom}");
    assert!(dom.contains("id=\"memory-svg\""), "{dom}");
    assert!(dom.contains("budget 900.0 KiB"), "{dom}");
    assert!(dom.contains("class=\"badge completed\""), "{dom}");

    let Some(list) = browser_dom(test, &ui.url("/")) else {
        return;
    };
    assert_eq!(count(&list, "<tr data-status=\"completed\""), 1, "{list}");
    assert_eq!(count(&list, "<tr data-status=\"failed\""), 1, "{list}");
    assert!(list.contains(&format!(">{}</a>", report.run_id)), "{list}");
    let Some(filtered) = browser_dom(test, &ui.url("/?status=failed")) else {
        return;
    };
    assert_eq!(count(&filtered, "<tr data-status="), 1, "{filtered}");
}
