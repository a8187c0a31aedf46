//! The Server-Sent Events endpoints under `/sse/`: a timed ticker, a stream that drops and is
//! resumed, a retry-interval probe, long and flood streams for memory and throughput, and an
//! empty stream (scenarios 1–7).
//!
//! The ticker and the resume stream can also resume wrongly on request (`repeat=1`, `skip=1`):
//! a duplicate or a gap right after `Last-Event-ID`, the faults a reconnection spec must catch.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};

use super::AppState;
use super::body::{self, PIECE, SSE, push_u64, push_xs};
use super::params::{BadRequest, Params, QueryPairs, resume_after, resume_after_prefixed};
use super::schedule::Schedule;

/// The largest `size` accepted for one event: sizes are about realistic events, and a huge
/// single line has its own endpoint (`/bad/huge-line`).
const MAX_EVENT_SIZE: u64 = 1024 * 1024;

/// How a resumed stream goes wrong, on request: the faults a reconnection spec must catch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ResumeFaults {
    /// `repeat=1`: event k, which the client already has, is sent again first (a duplicate).
    repeat: bool,
    /// `skip=1`: event k+1 is left out (a gap).
    skip: bool,
}

impl ResumeFaults {
    fn from_params(params: &Params) -> Result<ResumeFaults, BadRequest> {
        Ok(ResumeFaults {
            repeat: params.flag("repeat")?,
            skip: params.flag("skip")?,
        })
    }
}

/// The ids a stream of events 1..=`last` sends on a connection: all of them on a first
/// connection; after `Last-Event-ID: k`, k+1..=last, bent by `faults`. There is no event 0, so
/// `repeat` after k = 0 repeats nothing; nor is an event past `last` repeated.
#[derive(Debug, Clone)]
struct Ids {
    /// `None` when nothing can follow: resuming after the largest possible id.
    range: Option<RangeInclusive<u64>>,
    skipped: Option<u64>,
}

impl Ids {
    fn new(resumed: Option<u64>, last: u64, faults: ResumeFaults) -> Ids {
        let Some(k) = resumed else {
            return Ids {
                range: Some(1..=last),
                skipped: None,
            };
        };
        let first = if faults.repeat {
            Some(k.max(1))
        } else {
            k.checked_add(1)
        };
        Ids {
            range: first.map(|first| first..=last),
            skipped: k.checked_add(1).filter(|_| faults.skip),
        }
    }
}

impl Iterator for Ids {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let skipped = self.skipped;
        self.range.as_mut()?.find(|&n| Some(n) != skipped)
    }
}

/// `GET /sse/ticker?count=5&interval=100ms[&after=k][&repeat=1][&skip=1]`: `id: n`,
/// `event: message`, `data: {"count":n,"timestamp":<unix ms>}` for n = start..=count, the first
/// at once and the rest `interval` apart; start is one past `Last-Event-ID` (or `after`), else
/// 1. When resuming after k, `repeat=1` sends event k again first and `skip=1` leaves out k+1.
///
/// `id_prefix=P` writes the ids `P<n>` (composite ids such as `1796411252:3`), and a resume
/// reads the `n` after it.
pub async fn ticker(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(
        query,
        &["count", "interval", "after", "repeat", "skip", "id_prefix"],
    )?;
    let count = params.u64("count", 5)?;
    let interval = params.duration("interval", Duration::from_millis(100))?;
    let faults = ResumeFaults::from_params(&params)?;
    let id_prefix = params.text("id_prefix", "");
    if id_prefix.contains(['\n', '\r']) {
        return Err(BadRequest(
            "bad query parameter `id_prefix`: an id cannot hold a line break".to_string(),
        ));
    }
    let id_prefix = Bytes::copy_from_slice(id_prefix.as_bytes());
    let ids = Ids::new(
        resume_after_prefixed(&headers, &params, params.text("id_prefix", ""))?,
        count,
        faults,
    );

    // The schedule keeps its grid, so the gaps do not drift with the time spent formatting and
    // writing, nor with a busy server's late ticks; a tick missed whole (a slow client) pushes
    // the rest back instead of bursting to catch up. A zero interval means as fast as possible.
    let timer = (!interval.is_zero()).then(|| Schedule::new(interval));
    let events = stream::unfold(
        (ids, timer),
        move |(mut ids, mut timer): (Ids, Option<Schedule>)| {
            let id_prefix = id_prefix.clone();
            async move {
                let n = ids.next()?;
                if let Some(timer) = timer.as_mut() {
                    timer.tick().await;
                }
                // The timestamp is taken after the tick, so it says when the event was really
                // sent.
                let event = ticker_event(&id_prefix, n, body::unix_ms());
                Some((Ok(event), (ids, timer)))
            }
        },
    );
    Ok(body::streaming(&state, SSE, events.boxed()))
}

fn ticker_event(id_prefix: &[u8], n: u64, timestamp: u128) -> Bytes {
    let mut buf = Vec::with_capacity(80 + id_prefix.len());
    buf.extend_from_slice(b"id: ");
    buf.extend_from_slice(id_prefix);
    push_u64(&mut buf, n);
    buf.extend_from_slice(b"\nevent: message\ndata: {\"count\":");
    push_u64(&mut buf, n);
    buf.extend_from_slice(b",\"timestamp\":");
    buf.extend_from_slice(itoa::Buffer::new().format(timestamp).as_bytes());
    buf.extend_from_slice(b"}\n\n");
    Bytes::from(buf)
}

/// `id: n` + `data: {"n":n}`, the event of the resume and retry endpoints.
fn numbered_event(n: u64) -> Bytes {
    let mut buf = Vec::with_capacity(32);
    buf.extend_from_slice(b"id: ");
    push_u64(&mut buf, n);
    buf.extend_from_slice(b"\ndata: {\"n\":");
    push_u64(&mut buf, n);
    buf.extend_from_slice(b"}\n\n");
    Bytes::from(buf)
}

/// `GET /sse/resume?drop_after=3&last=6[&retry=ms][&after=k][&repeat=1][&skip=1]`: without
/// `Last-Event-ID`, ids 1..=drop_after and then the connection is dropped; with
/// `Last-Event-ID: k` (or `after=k`), ids k+1..=last and a clean end — with event k sent again
/// first under `repeat=1`, and without event k+1 under `skip=1`.
pub async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(
        query,
        &["drop_after", "last", "retry", "after", "repeat", "skip"],
    )?;
    let drop_after = params.u64("drop_after", 3)?;
    let last = params.u64("last", 6)?;
    let retry = params.opt_u64("retry")?;
    let faults = ResumeFaults::from_params(&params)?;
    let resumed = resume_after(&headers, &params)?;

    let retry = stream::iter(retry.map(|ms| Ok(Bytes::from(format!("retry: {ms}\n")))));
    let chunks = match resumed {
        None => retry
            .chain(stream::iter(
                (1..=drop_after).map(|n| Ok(numbered_event(n))),
            ))
            .chain(body::abort(
                "demo: dropping the connection, as /sse/resume does",
            ))
            .boxed(),
        Some(k) => retry
            .chain(stream::iter(
                Ids::new(Some(k), last, faults).map(|n| Ok(numbered_event(n))),
            ))
            .boxed(),
    };
    Ok(body::streaming(&state, SSE, chunks))
}

/// `GET /sse/retry?retry=500&count=2&client=default`: each connection gets `retry: <retry>` and
/// one event, `data: {"n":n,"since_previous_ms":…}`, with n one past `Last-Event-ID` (1 when
/// absent); once `Last-Event-ID` reaches `count`, `204 No Content` tells the client to stop.
pub async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["retry", "count", "client", "after"])?;
    let retry = params.u64("retry", 500)?;
    let count = params.u64("count", 2)?;
    let client = params.str("client", "default");
    let resumed = resume_after(&headers, &params)?;
    let since_previous = remember_connection(&state, client, resumed.is_some());

    let n = match resumed {
        Some(k) if k >= count => return Ok(StatusCode::NO_CONTENT.into_response()),
        Some(k) => k + 1,
        None => 1,
    };
    let since = since_previous.map_or_else(|| "null".to_owned(), |d| d.as_millis().to_string());
    let event =
        format!("retry: {retry}\nid: {n}\ndata: {{\"n\":{n},\"since_previous_ms\":{since}}}\n\n");
    let chunks = stream::once(async move { Ok(Bytes::from(event)) });
    Ok(body::streaming(&state, SSE, chunks.boxed()))
}

/// Records this connection of `client` and returns the time since its previous one. A first
/// connection (no `Last-Event-ID`) starts afresh, so a run is not measured against an earlier
/// run that used the same client name.
fn remember_connection(state: &AppState, client: &str, reconnect: bool) -> Option<Duration> {
    let now = Instant::now();
    let previous = state.retry_clients.record(client, now);
    previous
        .filter(|_| reconnect)
        .map(|at| now.duration_since(at))
}

/// `GET /sse/long?count=1000&size=1024`: `id: n` + `data: {"seq":n,"payload":"xx…"}` where the
/// data line is `size` bytes (or as short as it can be), as fast as possible.
pub async fn long(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["count", "size"])?;
    let count = params.u64("count", 1000)?;
    let size = params.u64_at_most("size", 1024, MAX_EVENT_SIZE)? as usize;
    let chunks = batched(1..=count, move |buf, n| {
        write_padded_event(buf, n, "payload", size);
    });
    Ok(body::streaming(&state, SSE, chunks))
}

/// `GET /sse/flood?count=1000000&size=0`: `id: n` + `data: {"seq":n}` (with a `"pad"` field
/// making the data line `size` bytes when size > 0), for the throughput benchmark.
pub async fn flood(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    let params = Params::new(query, &["count", "size"])?;
    let count = params.u64("count", 1_000_000)?;
    let size = params.u64_at_most("size", 0, MAX_EVENT_SIZE)? as usize;
    let chunks = batched(1..=count, move |buf, n| {
        if size == 0 {
            buf.extend_from_slice(b"id: ");
            push_u64(buf, n);
            buf.extend_from_slice(b"\ndata: {\"seq\":");
            push_u64(buf, n);
            buf.extend_from_slice(b"}\n\n");
        } else {
            write_padded_event(buf, n, "pad", size);
        }
    });
    Ok(body::streaming(&state, SSE, chunks))
}

/// `id: n` + `data: {"seq":n,"<field>":"xx…"}` with the data line padded to `size` bytes.
fn write_padded_event(buf: &mut Vec<u8>, n: u64, field: &str, size: usize) {
    buf.extend_from_slice(b"id: ");
    push_u64(buf, n);
    buf.push(b'\n');
    let line_start = buf.len();
    buf.extend_from_slice(b"data: {\"seq\":");
    push_u64(buf, n);
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(field.as_bytes());
    buf.extend_from_slice(b"\":\"");
    let closing = b"\"}";
    let used = buf.len() - line_start + closing.len();
    push_xs(buf, size.saturating_sub(used));
    buf.extend_from_slice(closing);
    buf.extend_from_slice(b"\n\n");
}

/// Formats events `ids` into buffers of about [`PIECE`] bytes, one buffer per body frame.
/// Batching is what makes the flood fast: a frame per event would cost a chunk header, a
/// syscall's share and an allocation for every 30 bytes.
fn batched<F>(mut ids: RangeInclusive<u64>, mut write: F) -> body::Chunks
where
    F: FnMut(&mut Vec<u8>, u64) + Send + 'static,
{
    let batches = std::iter::from_fn(move || {
        let mut buf = Vec::with_capacity(PIECE + 128);
        while buf.len() < PIECE {
            match ids.next() {
                Some(n) => write(&mut buf, n),
                None => break,
            }
        }
        (!buf.is_empty()).then(|| Ok(Bytes::from(buf)))
    });
    stream::iter(batches).boxed()
}

/// `GET /sse/empty`: SSE headers, then a clean close with no events.
pub async fn empty(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Response, BadRequest> {
    Params::new(query, &[])?;
    Ok(body::streaming(&state, SSE, stream::empty().boxed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_event_lines_have_the_asked_size() {
        for size in [0, 10, 40, 1024, 100_000] {
            let mut buf = Vec::new();
            write_padded_event(&mut buf, 12345, "payload", size);
            let text = String::from_utf8(buf).unwrap();
            let line = text.lines().nth(1).unwrap();
            assert!(line.starts_with("data: {\"seq\":12345,\"payload\":\""));
            assert_eq!(
                line.len(),
                size.max(r#"data: {"seq":12345,"payload":""}"#.len())
            );
            assert!(text.starts_with("id: 12345\n") && text.ends_with("\"}\n\n"));
        }
    }

    fn ids(resumed: Option<u64>, last: u64, repeat: bool, skip: bool) -> Vec<u64> {
        Ids::new(resumed, last, ResumeFaults { repeat, skip }).collect()
    }

    #[test]
    fn resumed_ids_with_and_without_faults() {
        assert_eq!(ids(None, 4, false, false), [1, 2, 3, 4]);
        // The faults are about resuming; a first connection is whole.
        assert_eq!(ids(None, 4, true, true), [1, 2, 3, 4]);
        assert_eq!(ids(Some(2), 6, false, false), [3, 4, 5, 6]);
        assert_eq!(ids(Some(2), 6, true, false), [2, 3, 4, 5, 6]);
        assert_eq!(ids(Some(2), 6, false, true), [4, 5, 6]);
        assert_eq!(ids(Some(2), 6, true, true), [2, 4, 5, 6]);
        // At the end: nothing left, but a repeat still repeats the last event.
        assert_eq!(ids(Some(6), 6, false, false), Vec::<u64>::new());
        assert_eq!(ids(Some(6), 6, true, true), [6]);
        // No event 0 to repeat, and no event past `last`.
        assert_eq!(ids(Some(0), 3, true, false), [1, 2, 3]);
        assert_eq!(ids(Some(9), 6, true, false), Vec::<u64>::new());
        assert_eq!(
            ids(Some(u64::MAX), u64::MAX, false, false),
            Vec::<u64>::new()
        );
        assert_eq!(ids(Some(u64::MAX), u64::MAX, true, true), [u64::MAX]);
    }

    #[test]
    fn ticker_event_bytes() {
        assert_eq!(
            &ticker_event(b"", 3, 1_700_000_000_123)[..],
            b"id: 3\nevent: message\ndata: {\"count\":3,\"timestamp\":1700000000123}\n\n"
        );
        assert_eq!(
            &ticker_event(b"1796411252:", 3, 1_700_000_000_123)[..],
            b"id: 1796411252:3\nevent: message\ndata: {\"count\":3,\"timestamp\":1700000000123}\n\n"
        );
    }
}
