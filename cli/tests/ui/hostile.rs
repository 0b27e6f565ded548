//! Hostile run data and requests (RELIABILITY row 38): a step name and a panic message with
//! `<script>` are shown as text, never run; `..` in a URL path is refused; a request for
//! another host (DNS rebinding) is refused; only GET is served; unknown paths are 404.

use std::path::Path;

use stepstone::{Handle, Pipeline};

use crate::util::{UiServer, browser_dom, config, count};

const NAME: &str = "<script>document.title='pwned-name'</script>";
const PANIC: &str = "<script>document.title='pwned-panic'</script> & <b>bold</b>";

/// A run whose second step, named [`NAME`], panics with [`PANIC`].
fn hostile_run(dir: &Path) -> String {
    let err = stepstone::run(
        &config("<img src=x>", dir),
        |p: &mut Pipeline| -> stepstone::Result<Handle<u64>> {
            let a = p.step("first").code("1").run(|_| Ok(1u64));
            Ok(p.step(NAME)
                .code("1")
                .input(&a)
                .run(|_| -> Result<u64, stepstone::BoxError> { panic!("{PANIC}") }))
        },
    )
    .expect_err("the hostile step panics");
    assert!(err.to_string().contains("panicked"), "{err}");
    let runs = std::fs::read_dir(dir.join("runs")).unwrap();
    let ids: Vec<String> = runs
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    ids[0].clone()
}

#[test]
fn script_in_a_step_name_and_a_panic_message_is_shown_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let id = hostile_run(dir.path());
    let ui = UiServer::start(&dir.path().display().to_string(), &[]);

    // The JSON carries the text as it is (JSON, served as JSON, with nosniff).
    let reply = ui.get(&format!("/api/runs/{id}"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    let csp = reply.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let run: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(run["report"]["steps"][1]["name"], NAME);
    let panic = run["notable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "panic")
        .unwrap_or_else(|| panic!("no panic event: {}", run["notable"]));
    assert!(panic["detail"].as_str().unwrap().contains(PANIC), "{panic}");
    let location = panic["location"].as_str().unwrap();
    assert!(location.contains("hostile.rs:"), "{location}");

    // In a real browser: the text is in the DOM as text, no script from the report ran.
    let Some(dom) = browser_dom("script_in_a_step_name…", &ui.url(&format!("/runs/{id}"))) else {
        return;
    };
    assert!(
        !dom.contains("<title>pwned"),
        "a script from the report ran: {dom}"
    );
    assert!(
        dom.contains("<title>stepstone · "),
        "the page's title changed: {dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned-name'&lt;/script&gt;"),
        "the step name is not shown as text: {dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned-panic'&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"),
        "the panic message is not shown as text: {dom}"
    );
    // Only the page's own three scripts; no element from the report's markup.
    assert_eq!(count(&dom, "<script"), 3, "{dom}");
    assert_eq!(count(&dom, "<b>bold"), 0, "{dom}");
    assert_eq!(count(&dom, "<img src=\"x\""), 0, "{dom}");
    // The failed step is drawn as such, and its panic location is listed.
    assert!(dom.contains("data-status=\"failed\""), "{dom}");
    assert!(dom.contains("hostile.rs:"), "{dom}");

    let runs = browser_dom("script_in_a_step_name…", &ui.url("/")).unwrap_or_default();
    assert!(runs.contains("&lt;img src=x&gt;"), "{runs}");
    assert_eq!(count(&runs, "<img"), 0, "{runs}");
}

#[test]
fn dot_dot_paths_foreign_hosts_and_other_methods_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    hostile_run(dir.path());
    let ui = UiServer::start(&dir.path().display().to_string(), &[]);
    for path in [
        "/../../etc/passwd",
        "/assets/../../Cargo.toml",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/runs/..%2f..%2fobjects",
        "/api/runs/..",
        "/api/runs/%2E%2E",
        "/./api/runs",
    ] {
        let reply = ui.get(path);
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(reply.body.contains("refused"), "{path}: {}", reply.body);
        assert!(!reply.body.contains("root:"), "{path}");
    }
    let port = ui.addr.rsplit(':').next().unwrap();
    let foreign = ui.request("GET", "/api/runs", &format!("rebind.example:{port}"));
    assert_eq!(foreign.status, 421, "{}", foreign.body);
    assert!(foreign.body.contains("DNS rebinding"), "{}", foreign.body);
    let local = ui.request("GET", "/api/runs", &format!("localhost:{port}"));
    assert_eq!(local.status, 200, "{}", local.body);
    let post = ui.request("POST", "/api/runs", &ui.addr);
    assert_eq!(post.status, 405, "{}", post.body);
}
