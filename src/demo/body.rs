//! Building blocks for streamed response bodies: the body stream type, paced chunks, deliberate
//! aborts and hangs, on-the-fly filler bytes, and the response that wraps a stream with its
//! content type and the `/stats` counting.
//!
//! Every body is a lazy stream of `Bytes`, one item per body frame, so a client sees the chunk
//! boundaries an endpoint chose and memory stays flat however long the stream is.

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream};
use futures_util::{Stream, StreamExt};

use super::AppState;
use super::stats::{OnCancel, Tracked};

/// A response body: each item is one body frame; an error item aborts the connection.
pub type Chunks = BoxStream<'static, Result<Bytes, io::Error>>;

pub const SSE: &str = "text/event-stream";
pub const NDJSON: &str = "application/x-ndjson";
pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain";

/// The size of the pieces that long bodies are cut into: large enough for throughput, small
/// enough that nothing big is ever held in memory.
pub const PIECE: usize = 64 * 1024;

/// Filler for padding and huge lines, shared by every request so that a 100 MiB line costs no
/// allocation at all: its pieces are slices of this.
static XS: [u8; PIECE] = [b'x'; PIECE];

/// `n` (at most [`PIECE`]) filler bytes, without copying.
pub fn xs(n: usize) -> Bytes {
    Bytes::from_static(&XS[..n.min(PIECE)])
}

/// Appends `n` filler bytes to `buf`.
pub fn push_xs(buf: &mut Vec<u8>, mut n: usize) {
    while n > 0 {
        let take = n.min(PIECE);
        buf.extend_from_slice(&XS[..take]);
        n -= take;
    }
}

/// Appends the decimal digits of `n`: `itoa` because the flood endpoint formats millions of
/// numbers a second.
pub fn push_u64(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// Yields each chunk after waiting its delay. The iterator is consumed lazily, one step at a
/// time, so it may be as long as the endpoint likes.
pub fn paced<I>(steps: I) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static
where
    I: IntoIterator<Item = (Duration, Bytes)>,
    I::IntoIter: Send + 'static,
{
    stream::iter(steps).then(|(wait, bytes)| async move {
        // Even a zero-length sleep goes through the timer wheel (a millisecond's resolution), so
        // "no delay" must skip it.
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(bytes)
    })
}

/// Ends a body abruptly: hyper sees an error, so it drops the connection without the chunked
/// terminator and the client gets a truncated body, not a clean end.
///
/// Hyper only flushes its write buffer when the body stream is pending; an error straight after
/// ready chunks could lose them. The short wait lets everything sent so far reach the socket.
pub fn abort(
    reason: &'static str,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    stream::once(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Err(io::Error::other(reason))
    })
}

/// Wraps `chunks` into a streamed response, counted by `/stats`. SSE responses also get
/// `cache-control: no-cache`, as proxies and browsers expect of an event stream.
pub fn streaming(state: &AppState, content_type: &'static str, chunks: Chunks) -> Response {
    streaming_with(state, content_type, chunks, None)
}

/// [`streaming`], also running `on_cancel` if the client drops the stream before its end.
pub fn streaming_with(
    state: &AppState,
    content_type: &'static str,
    chunks: Chunks,
    on_cancel: Option<OnCancel>,
) -> Response {
    let tracked = Tracked::new(chunks, state.stats.clone(), on_cancel);
    let mut response = Response::new(Body::from_stream(tracked));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type == SSE {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// The delay before the `i`th (0-based) of a paced sequence: the first goes at once.
pub fn gap(i: u64, interval: Duration) -> Duration {
    if i == 0 { Duration::ZERO } else { interval }
}
