//! The fragile chat service under `/bad/fragile/`: the chat of `/v1/chat/completions` from a
//! server that breaks when a client aborts a stream, the failing twin of the healthy chat for
//! specs that abort a stream and then check that the server is still well.
//!
//! Each `client=` name (default `default`) has its own fate, so specs running side by side do not
//! break each other. Once the client drops one of its streams before the end, the server marks
//! that name broken: `GET /bad/fragile/health` and every further chat request of that name answer
//! `503` with `broken: a client aborted a stream`, for as long as the name is remembered (the map
//! is bounded; see `clients`). A stream the server cuts short itself (`X-Test-Pattern: abort:N`)
//! is not the client's doing and breaks nothing; nor does a non-streaming request.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::AppState;
use super::chat::{self, Refusal};
use super::params::{BadRequest, Params, QueryPairs};
use super::stats::OnCancel;

/// The body of every answer for a broken client.
const BROKEN: &str = "broken: a client aborted a stream";

/// `POST /bad/fragile/v1/chat/completions?client=default[&interval=30ms]`: the reply of
/// `/v1/chat/completions`, byte for byte, while `client` is healthy; `503` once it is broken.
pub async fn completions(
    State(state): State<AppState>,
    Query(query): QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let params = Params::new(query, &["client", "interval"])?;
    let client = params.str("client", "default");
    if state.broken_clients.contains(client) {
        return Ok(broken());
    }
    // Run by the `/stats` drop guard, which sees every way a stream can end: hyper drops the
    // body when the client goes away, whether mid-write or while the next token is pending.
    let broken_clients = Arc::clone(&state.broken_clients);
    let name = client.to_owned();
    let on_cancel: OnCancel = Box::new(move || {
        broken_clients.record(&name, Instant::now());
    });
    chat::reply(&state, &params, &headers, &body, Some(on_cancel))
}

/// `GET /bad/fragile/health?client=default`: `200 ok`, or `503` once `client` is broken.
pub async fn health(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["client"])?;
    if state
        .broken_clients
        .contains(params.str("client", "default"))
    {
        return Ok(broken());
    }
    Ok("ok".into_response())
}

fn broken() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, BROKEN).into_response()
}
