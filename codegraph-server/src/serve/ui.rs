//! The web view's files: plain HTML, CSS and ES modules under `codegraph-server/ui/`,
//! compiled into the binary, served at `/` and `/ui/` without a token. The page
//! itself reads everything through `/api/v1` with the reader's token, so it can do
//! nothing a client cannot.
//!
//! The Content-Security-Policy keeps every request on this origin: no script, style,
//! image or connection elsewhere, and no inline script.

use axum::extract::Path as UrlPath;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// `(name, content type, bytes)` of every file the page loads.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", "text/javascript", include_str!("../../ui/app.js")),
    ("api.js", "text/javascript", include_str!("../../ui/api.js")),
    (
        "views.js",
        "text/javascript",
        include_str!("../../ui/views.js"),
    ),
    (
        "graph.js",
        "text/javascript",
        include_str!("../../ui/graph.js"),
    ),
    (
        "highlight.js",
        "text/javascript",
        include_str!("../../ui/highlight.js"),
    ),
    ("style.css", "text/css", include_str!("../../ui/style.css")),
];

const INDEX: &str = include_str!("../../ui/index.html");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

fn respond(content_type: &'static str, body: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The files change with the binary; a reload after an upgrade must not mix them.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /`: the page.
pub async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX)
}

/// `GET /ui/{file}`: one of the page's files.
pub async fn asset(UrlPath(name): UrlPath<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => respond(content_type, body),
        None => ApiError::not_found(
            "asset_not_found",
            format!("no file {name:?} in the web view"),
        )
        .into_response(),
    }
}
