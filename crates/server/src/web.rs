//! The chat page: the web client's bundle (`web/dist`), embedded at compile time and served at
//! `/` with its caching, compression and security headers.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use axum::Router;
use memory_serve::CacheControl;

/// What the page may load: only its own scripts, styles and images (and images it makes from
/// files the user picks), and only this origin to talk to (`'self'` covers `ws:`/`wss:` to the
/// same host in CSP 3). No inline script or style exists in the bundle, so none is allowed; the
/// page cannot be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
    manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The routes of the page: `/` (and `/index.html`) with `no-cache`, so a new release is picked
/// up at once, and every other file under its content-hashed name (Vite puts the hash in the
/// name) cached for a year. Text files are served brotli- or gzip-compressed when the browser
/// accepts it, with an `ETag` that `If-None-Match` is answered against.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    memory_serve::load!()
        .index_file(Some("/index.html"))
        .html_cache_control(CacheControl::NoCache)
        .cache_control(CacheControl::Long)
        .enable_gzip(true)
        .enable_brotli(true)
        .into_router()
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(service_worker_fresh))
}

/// The service worker (`/sw.js`) keeps its name across releases, so no cache (a proxy's or a
/// CDN's) may keep it: `no-cache`, like the page itself. Browsers' own update checks skip the
/// HTTP cache for it anyway.
async fn service_worker_fresh(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let worker = request.uri().path() == "/sw.js";
    let mut response = next.run(request).await;
    if worker {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// Adds the headers every response of the page carries.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}
