//! `POST /echo`: answers with the request's body and content type, so a spec can check what it
//! sent — a body built with `"A" * 1000`, a `{{run_id}}` — by reading it back.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;

/// The largest body echoed: the default maximum item size of `streamspec run`, so an echoed
/// payload can always be read back whole.
pub const MAX_ECHO: usize = 16 * 1024 * 1024;

/// The body back, with the request's content type (`application/octet-stream` without one).
pub async fn echo(headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, content_type)], body)
}
