//! The misbehaving endpoints under `/bad/`: streams that break the rules in one known way each —
//! invalid UTF-8, no end, a stall, a huge line, a wrong content type, no response at all, a reset
//! mid-event — so that tests, and users, can see how streamspec reports each failure.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio::time::MissedTickBehavior;

use super::AppState;
use super::body::{self, JSON, NDJSON, PIECE, SSE, TEXT, push_u64, xs};
use super::params::{BadRequest, Params, QueryPairs};

/// The framings a `/bad/` endpoint can speak, chosen with `format=`.
const FORMATS: [&str; 3] = ["sse", "ndjson", "lines"];

fn content_type(format: &str) -> &'static str {
    match format {
        "sse" => SSE,
        "ndjson" => NDJSON,
        _ => TEXT,
    }
}

/// The `n`th well-formed item in `format`: `id: n` + `data: {"n":n}`, `{"n":n}` or `line n`.
fn item(format: &str, n: u64) -> Bytes {
    let mut buf = Vec::with_capacity(32);
    match format {
        "sse" => {
            buf.extend_from_slice(b"id: ");
            push_u64(&mut buf, n);
            buf.extend_from_slice(b"\ndata: {\"n\":");
            push_u64(&mut buf, n);
            buf.extend_from_slice(b"}\n\n");
        }
        "ndjson" => {
            buf.extend_from_slice(b"{\"n\":");
            push_u64(&mut buf, n);
            buf.extend_from_slice(b"}\n");
        }
        _ => {
            buf.extend_from_slice(b"line ");
            push_u64(&mut buf, n);
            buf.push(b'\n');
        }
    }
    Bytes::from(buf)
}

/// `GET /bad/invalid-utf8?format=sse`: item 1, then item 2 holding the bytes 0xFF 0xFE (never
/// valid in UTF-8), then item 3, each its own chunk, and a clean end.
pub async fn invalid_utf8(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["format"])?;
    let format = params.choice("format", &FORMATS)?;
    let bad: &'static [u8] = match format {
        "sse" => b"id: 2\ndata: {\"n\":2,\"text\":\"\xFF\xFE\"}\n\n",
        "ndjson" => b"{\"n\":2,\"text\":\"\xFF\xFE\"}\n",
        _ => b"line 2 \xFF\xFE\n",
    };
    let chunks = [item(format, 1), Bytes::from_static(bad), item(format, 3)];
    let chunks = stream::iter(chunks.map(Ok)).boxed();
    Ok(body::streaming(&state, content_type(format), chunks))
}

/// `GET /bad/endless?format=sse&interval=50ms`: item n every `interval`, forever.
pub async fn endless(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["format", "interval"])?;
    let format = params.choice("format", &FORMATS)?;
    let interval = params.duration("interval", Duration::from_millis(50))?;
    if interval.is_zero() {
        // Forever and as fast as possible would only heat the machine; `/sse/flood` is for speed.
        return Err(BadRequest(
            "bad query parameter `interval`: must be more than 0 for an endless stream".to_owned(),
        ));
    }
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let chunks = stream::unfold((1u64, timer), move |(n, mut timer)| async move {
        timer.tick().await;
        Some((Ok(item(format, n)), (n.wrapping_add(1), timer)))
    });
    Ok(body::streaming(
        &state,
        content_type(format),
        chunks.boxed(),
    ))
}

/// `GET /bad/stall?after=2&format=sse`: `after` items, then silence with the connection open.
pub async fn stall(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["after", "format"])?;
    let after = params.u64("after", 2)?;
    let format = params.choice("format", &FORMATS)?;
    let chunks = stream::iter((1..=after).map(move |n| Ok(item(format, n))))
        .chain(stream::pending())
        .boxed();
    Ok(body::streaming(&state, content_type(format), chunks))
}

/// `GET /bad/huge-line?size=104857600&format=sse`: one line of `size` bytes before its line
/// ending — `data: xx…` (sse), `{"data":"xx…"}` (ndjson) or `xx…` (lines) — sent in pieces of
/// 64 KiB cut from a static buffer, so the line never exists in memory.
pub async fn huge_line(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["size", "format"])?;
    let size = params.u64("size", 100 * 1024 * 1024)?;
    let format = params.choice("format", &FORMATS)?;
    let (head, tail): (&'static [u8], &'static [u8]) = match format {
        "sse" => (b"data: ", b"\n\n"),
        "ndjson" => (b"{\"data\":\"", b"\"}\n"),
        _ => (b"", b"\n"),
    };
    // The line holds the head and the tail's closing quote and brace, not the line ending.
    let fixed = (head.len() + tail.len() - tail.iter().filter(|&&b| b == b'\n').count()) as u64;
    let Some(filler) = size.checked_sub(fixed) else {
        return Err(BadRequest(format!(
            "bad query parameter `size`: a `{format}` line needs at least {fixed} bytes"
        )));
    };
    let (whole, rest) = (filler / PIECE as u64, (filler % PIECE as u64) as usize);
    let pieces = (0..whole)
        .map(|_| xs(PIECE))
        .chain((rest > 0).then(|| xs(rest)));
    let chunks = (!head.is_empty())
        .then(|| Bytes::from_static(head))
        .into_iter()
        .chain(pieces)
        .chain([Bytes::from_static(tail)])
        .map(Ok);
    Ok(body::streaming(
        &state,
        content_type(format),
        stream::iter(chunks).boxed(),
    ))
}

/// `GET /bad/wrong-content-type`: three good SSE events, labelled `application/json`.
pub async fn wrong_content_type(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    Params::new(query, &[])?;
    let chunks = stream::iter((1..=3).map(|n| Ok(item("sse", n)))).boxed();
    Ok(body::streaming(&state, JSON, chunks))
}

/// `GET /bad/silent`: accepts the request and never answers, not even with a response head.
pub async fn silent() -> Response {
    std::future::pending().await
}

/// `GET /bad/reset`: one whole SSE event, the first half of the next, then a dropped connection.
pub async fn reset(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    Params::new(query, &[])?;
    let second = item("sse", 2);
    let half = second.slice(..second.len() / 2);
    let chunks = stream::iter([Ok(item("sse", 1)), Ok(half)])
        .chain(body::abort(
            "demo: dropping the connection mid-event, as /bad/reset does",
        ))
        .boxed();
    Ok(body::streaming(&state, SSE, chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_per_format() {
        assert_eq!(&item("sse", 7)[..], b"id: 7\ndata: {\"n\":7}\n\n");
        assert_eq!(&item("ndjson", 7)[..], b"{\"n\":7}\n");
        assert_eq!(&item("lines", 7)[..], b"line 7\n");
    }
}
