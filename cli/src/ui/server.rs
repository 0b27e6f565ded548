//! The server: a current-thread tokio runtime, a listener on the `--bind` address (loopback by
//! default), the router, and `--open`. Store reads are blocking (the S3 backend runs its own
//! runtime), so handlers run them on tokio's blocking pool.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use stepstone::store::Store;

use super::guard::Guard;
use super::routes;
use super::runs::Runs;
use crate::output;

/// What `stepstone ui` serves and where.
pub(crate) struct ServeOptions {
    /// The checkpoint directory, opened read-only.
    pub(crate) store: Store,
    /// How the user named it (for messages and the page header).
    pub(crate) dir: String,
    /// Address to listen on.
    pub(crate) bind: SocketAddr,
    /// Open a browser on the page.
    pub(crate) open: bool,
}

/// Serve until the process is stopped. Prints the page's URL on standard output first.
pub(crate) fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Store reads (local files, S3 requests) run here; a few are plenty for one user.
        .max_blocking_threads(4)
        .build()
        .context("cannot start the web server's runtime")?;
    runtime.block_on(run(options))
}

async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let bind = options.bind;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| {
        format!(
            "cannot listen on {bind}; pass --bind 127.0.0.1:PORT with a free port (port 0 picks \
             one)"
        )
    })?;
    let local = listener
        .local_addr()
        .with_context(|| format!("cannot read the address bound for {bind}"))?;
    let url = format!("http://{local}/");
    let runs = Arc::new(Runs::new(options.store, options.dir.clone()));
    let guard = Guard::new(local);
    let app = routes::router(runs, guard);
    // The URL alone on stdout, for scripts and tests; the sentence on stderr.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{url}");
    let _ = stdout.flush();
    drop(stdout);
    output::status(format!(
        "serving the runs of {} at {url} (Ctrl-C stops)",
        options.dir
    ));
    if !local.ip().is_loopback() {
        output::warn(format!(
            "listening on {local}, not on loopback: anyone who can reach this address sees the \
             runs (pass --bind 127.0.0.1:{} to keep them local)",
            local.port()
        ));
    }
    if options.open {
        open_browser(&url);
    }
    axum::serve(listener, app)
        .await
        .with_context(|| format!("the web server on {local} stopped"))
}

/// Start the desktop's browser on `url`; a failure is a warning (the URL is printed anyway).
fn open_browser(url: &str) {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    let spawned = std::process::Command::new(program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reap it when it exits (xdg-open returns once the browser is started).
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => output::warn(format!(
            "cannot open a browser with `{program}`: {e}; open {url} yourself"
        )),
    }
}
