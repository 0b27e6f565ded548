//! What every request passes before a route sees it, and what every answer carries.
//!
//! Refused: a path with a `.` or `..` segment (also percent-encoded) or a backslash (400); a
//! method other than GET or HEAD (405); on a loopback listener, a `Host` that is not a loopback
//! name (421): a web page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding) cannot
//! read the runs. Every answer gets a Content-Security-Policy that allows only this server's
//! own scripts and styles, `nosniff`, no referrer, and `Server-Timing` with the time spent.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The page may load only what this server serves; no inline script, no frames, no plugins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The address the server listens on, to judge `Host` headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guard {
    local: SocketAddr,
}

impl Guard {
    /// A guard for a server listening on `local`.
    pub(crate) fn new(local: SocketAddr) -> Self {
        Guard { local }
    }

    /// Why `request` is refused, if it is.
    fn refusal(&self, request: &Request) -> Option<(StatusCode, String)> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return Some((
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} is not served here: this page only reads",
                    request.method()
                ),
            ));
        }
        let path = request.uri().path();
        if let Some(why) = path_refusal(path) {
            return Some((StatusCode::BAD_REQUEST, why));
        }
        if self.local.ip().is_loopback()
            && let Some(host) = request.headers().get(header::HOST)
            && !is_loopback_host(host.as_bytes())
        {
            return Some((
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "refused: Host `{}` is not this loopback server (a guard against DNS \
                     rebinding); open http://{}/ instead",
                    String::from_utf8_lossy(host.as_bytes()),
                    self.local
                ),
            ));
        }
        None
    }
}

/// Why a URL path is refused: a `.` or `..` segment (decoded), a backslash, a NUL.
pub(crate) fn path_refusal(path: &str) -> Option<String> {
    for segment in path.split('/') {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if decoded == ".." || decoded == "." {
            return Some(format!(
                "refused: the path {path:?} has a `{decoded}` segment; this server serves no files \
                 by path"
            ));
        }
        if decoded.contains(['\\', '\0', '/']) {
            return Some(format!(
                "refused: the path {path:?} has an encoded slash, backslash or NUL"
            ));
        }
    }
    None
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &[u8]) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The middleware: refuse, or pass on and add the headers.
pub(crate) async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = match guard.refusal(&request) {
        Some((status, why)) => (status, why).into_response(),
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(timing) = HeaderValue::from_str(&format!("app;dur={millis:.2}")) {
        headers.insert("server-timing", timing);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_refused_encoded_or_not() {
        for path in [
            "/..",
            "/runs/../x",
            "/runs/%2e%2E/x",
            "/assets/.",
            "/a%2fb",
            "/a%5cb",
        ] {
            assert!(path_refusal(path).is_some(), "{path}");
        }
        for path in [
            "/",
            "/runs/20260101T000000Z-1-0",
            "/assets/app.css",
            "/api/runs",
        ] {
            assert!(path_refusal(path).is_none(), "{path}");
        }
    }

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "localhost",
            "localhost:7878",
            "127.0.0.1:1",
            "[::1]:80",
            "127.1.2.3",
        ] {
            assert!(is_loopback_host(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7878",
            "10.0.0.1:7878",
            "[fe80::1]:1",
            "",
        ] {
            assert!(!is_loopback_host(bad.as_bytes()), "{bad}");
        }
    }
}
