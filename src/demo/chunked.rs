//! The plain chunked-HTTP endpoints: a JSON array written piece by piece, an NDJSON stream, and a
//! slow response for time-to-first-byte measurements (scenarios 8–10).

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;

use super::AppState;
use super::body::{self, JSON, NDJSON, TEXT, gap};
use super::params::{BadRequest, Params, QueryPairs};

/// The pieces of `/chunked/array`, each its own body frame; together they parse as one array.
const ARRAY_PIECES: [&str; 7] = [
    "[",
    r#"{"id":1,"name":"first"}"#,
    ",",
    r#"{"id":2,"name":"second"}"#,
    ",",
    r#"{"id":3,"name":"third"}"#,
    "]",
];

/// The lines of `/ndjson/events`, each its own body frame.
const NDJSON_LINES: [&str; 4] = [
    "{\"event\":\"start\",\"ts\":1}\n",
    "{\"event\":\"data\",\"value\":42,\"ts\":2}\n",
    "{\"event\":\"data\",\"value\":84,\"ts\":3}\n",
    "{\"event\":\"end\",\"ts\":4}\n",
];

/// Static pieces, the first at once and the rest `interval` apart.
fn paced_static(pieces: &'static [&'static str], interval: Duration) -> body::Chunks {
    let steps = (0u64..)
        .zip(pieces)
        .map(move |(i, piece)| (gap(i, interval), Bytes::from_static(piece.as_bytes())));
    body::paced(steps).boxed()
}

/// `GET /chunked/array?interval=50ms`: `[`, three objects and the commas between them, and `]`,
/// as separate chunks `interval` apart; `content-type: application/json`.
pub async fn array(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["interval"])?;
    let interval = params.duration("interval", Duration::from_millis(50))?;
    Ok(body::streaming(
        &state,
        JSON,
        paced_static(&ARRAY_PIECES, interval),
    ))
}

/// `GET /ndjson/events?interval=20ms`: four NDJSON lines (start, data 42, data 84, end), each its
/// own chunk, `interval` apart; `content-type: application/x-ndjson`.
pub async fn ndjson(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["interval"])?;
    let interval = params.duration("interval", Duration::from_millis(20))?;
    Ok(body::streaming(
        &state,
        NDJSON,
        paced_static(&NDJSON_LINES, interval),
    ))
}

/// `GET /slow/ttfb?ttfb=300ms&chunks=3&interval=100ms`: no response head until `ttfb` has
/// passed, then `chunk 1\n` … `chunk <chunks>\n`, the first at once and the rest `interval`
/// apart; `content-type: text/plain`.
pub async fn slow_ttfb(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["ttfb", "chunks", "interval"])?;
    let ttfb = params.duration("ttfb", Duration::from_millis(300))?;
    let chunks = params.u64("chunks", 3)?;
    let interval = params.duration("interval", Duration::from_millis(100))?;
    // Waiting in the handler, before a response exists, is what delays the head (and so the
    // first byte) rather than just the body.
    tokio::time::sleep(ttfb).await;
    let steps =
        (1..=chunks).map(move |n| (gap(n - 1, interval), Bytes::from(format!("chunk {n}\n"))));
    Ok(body::streaming(&state, TEXT, body::paced(steps).boxed()))
}
