//! An HTTP stream's connections: reading items from a response body as its bytes arrive, and
//! opening the stream again on `reconnect`, as an EventSource does.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

use crate::ast::{ReconnectOptions, Spanned, StreamKind};
use crate::duration::format_duration;
use crate::interp::background::ReadAhead;
use crate::interp::matcher::Terminal;
use crate::interp::opening::{Opening, Reconnection};
use crate::interp::stats::StreamStats;
use crate::interp::stream::{Next, item_instead_of_end};
use crate::interp::vars::Scope;
use crate::outcome::Failure;
use crate::saturating_time::SaturatingAdd;
use crate::source::Span;
use crate::transport::decoder::Decoder;
use crate::transport::framing::FrameError;
use crate::transport::http::{ChunkRead, HttpClient, HttpRequest, HttpResponse, SendError, send};
use crate::transport::item::Item;

/// The most connections one stream may open: a reconnection loop stops here, with a message.
pub const MAX_CONNECTIONS: u32 = 100;
/// Bytes of a refused reconnection's body shown with the reason.
const RECONNECT_BODY_EXCERPT: usize = 200;

/// The request a stream was opened with, to open it again.
pub struct Reconnector<'a> {
    pub client: &'a HttpClient,
    pub request: HttpRequest,
    /// Which answers open the stream again.
    pub opening: Opening,
}

/// The items of an HTTP stream, across its connections: one response at a time, one decoder
/// whose state (the lastEventId, the reconnection time) carries over to the next connection.
pub struct HttpReader {
    /// `None` once the client dropped the connection (`disconnect`, `abort`).
    response: Option<HttpResponse>,
    decoder: Decoder,
    /// When the stream's first request was sent: every time is measured from here.
    origin: Instant,
    /// When the last chunk was read, measured from `origin`.
    chunk_at: Duration,
    /// How the current connection ended, once it has.
    closed: Option<(Terminal, Instant)>,
    /// Whether the client closed it (`disconnect`), rather than the server.
    disconnected: bool,
    bytes: u64,
    /// What a background task read while no block held the stream (a named stream).
    ahead: ReadAhead,
}

impl HttpReader {
    pub(super) fn new(response: HttpResponse, kind: StreamKind, max_item_size: usize) -> Self {
        HttpReader {
            origin: response.sent_at,
            response: Some(response),
            decoder: Decoder::new(kind, max_item_size),
            chunk_at: Duration::ZERO,
            closed: None,
            disconnected: false,
            bytes: 0,
            ahead: ReadAhead::default(),
        }
    }

    /// When the stream's first request was sent: its items' times are measured from here.
    pub(super) fn origin(&self) -> Instant {
        self.origin
    }

    /// The bytes read since the last call.
    pub(super) fn take_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.bytes)
    }

    /// The reconnection time the stream last set with a `retry` field (SSE).
    pub(super) fn retry(&self) -> Option<u64> {
        self.decoder.retry()
    }

    /// The next item: one read ahead first, then from the body as it arrives.
    pub(super) async fn next(&mut self, deadline: Instant) -> Result<Next, FrameError> {
        if let Some(next) = self.ready() {
            return next;
        }
        self.read(deadline).await
    }

    /// What [`HttpReader::next`] gives at once, without waiting: an item read ahead (or how
    /// reading ahead stopped), or an item decoded from bytes already read. `None` when the next
    /// one needs a read. Most items of a busy stream come this way, many from each read: a
    /// caller that takes them here skips the machinery of an `.await`.
    #[inline]
    pub(super) fn ready(&mut self) -> Option<Result<Next, FrameError>> {
        if let Some(next) = self.ahead.next() {
            return Some(next);
        }
        // A match rather than `transpose` and `map`: each of those moved the item once more.
        match self.decoder.next_item() {
            Ok(Some(item)) => Some(Ok(Next::Item(item, self.chunk_at))),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        }
    }

    /// Takes back an item the block is done with, for the decoder to reuse its buffers.
    pub(super) fn recycle(&mut self, item: Item) {
        self.decoder.recycle(item);
    }

    /// When the end a block just took came, if it was read ahead (see
    /// [`crate::interp::background::ReadAhead::take_end_time`]).
    pub(super) fn take_end_time(&mut self) -> Option<Instant> {
        self.ahead.take_end_time()
    }

    /// Reads one item ahead, for a block that holds the stream later; `false` once there is
    /// nothing more to read now (the stream ended, failed, timed out, or the buffer is full).
    /// Cancel-safe: what is read is kept before the next await.
    pub(super) async fn read_ahead(&mut self, deadline: Instant) -> bool {
        if !self.ahead.reading() {
            return false;
        }
        let bytes_before = self.bytes;
        let next = self.read(deadline).await;
        self.ahead.keep(next, self.bytes - bytes_before)
    }

    /// Items read ahead that no block took, with their arrival times (for the figures of a
    /// stream closed before a block held it again).
    pub(super) fn take_read_ahead(&mut self) -> impl Iterator<Item = (Item, Duration)> + '_ {
        self.ahead.take()
    }

    /// Whether reading ahead stopped at its bound.
    pub(super) fn buffer_full(&self) -> bool {
        self.ahead.full()
    }

    /// The next item from the body, reading more of it when the decoder has none.
    async fn read(&mut self, deadline: Instant) -> Result<Next, FrameError> {
        loop {
            if let Some(item) = self.decoder.next_item()? {
                return Ok(Next::Item(item, self.chunk_at));
            }
            if let Some((terminal, _)) = &self.closed {
                return Ok(Next::Ended(terminal.clone()));
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(Next::Ended(Terminal::Dropped(
                    "the client disconnected".into(),
                )));
            };
            let terminal = match response.next_chunk(deadline).await {
                ChunkRead::Data { bytes, at } => {
                    self.chunk_at = at.saturating_duration_since(self.origin);
                    self.bytes += bytes.len() as u64;
                    self.decoder.push(bytes);
                    continue;
                }
                ChunkRead::TimedOut => return Ok(Next::TimedOut),
                ChunkRead::End => {
                    let leftover = self.decoder.finish()?;
                    if let Some(item) = leftover.last {
                        self.closed = Some((Terminal::End, Instant::now()));
                        return Ok(Next::Item(item, self.chunk_at));
                    }
                    if leftover.discarded_bytes > 0 {
                        // An event without its blank line is not an event: EventSource drops it.
                        Terminal::Dropped(format!(
                            "the stream closed in the middle of an item; {} bytes of it were discarded",
                            leftover.discarded_bytes
                        ))
                    } else {
                        Terminal::End
                    }
                }
                ChunkRead::Failed(reason) => {
                    let leftover = self
                        .decoder
                        .finish()
                        .map(|l| l.discarded_bytes)
                        .unwrap_or(0);
                    Terminal::Dropped(if leftover > 0 {
                        format!("{reason}; {leftover} bytes of an unfinished item were discarded")
                    } else {
                        reason
                    })
                }
            };
            self.closed = Some((terminal.clone(), Instant::now()));
            return Ok(Next::Ended(terminal));
        }
    }

    /// Drops the connection on purpose.
    pub(super) fn disconnect(&mut self) {
        self.response = None;
        self.disconnected = true;
        if self.closed.is_none() {
            self.closed = Some((
                Terminal::Dropped("the client disconnected".into()),
                Instant::now(),
            ));
        }
    }

    pub(super) fn is_open(&self) -> bool {
        self.closed.is_none() || self.ahead.has_items()
    }
}

/// What a `reconnect` gave.
pub(super) enum Reopened {
    /// A new connection; its request was sent at this time (measured from the first request).
    Open(Duration),
    /// The server refused it (204, or another status an EventSource gives up on); the reader
    /// now holds that ending.
    Refused,
}

/// Opens the stream again, as an EventSource does: first the old connection must close, then
/// the client waits the server's `retry` time (when the server closed it), then it sends the
/// same request with `Last-Event-ID` (SSE) and the `with` changes.
#[allow(clippy::too_many_arguments)]
pub(super) async fn reopen(
    reader: &mut HttpReader,
    reconnect: &Reconnector<'_>,
    options: &ReconnectOptions,
    span: Span,
    kind: &Spanned<StreamKind>,
    deadline: Instant,
    timeout: Duration,
    max_item_size: usize,
    stats: &mut StreamStats,
    scope: &Scope,
    connections: &mut u32,
) -> Result<Reopened, Failure> {
    // `reconnect` without `end`, `dropped` or `disconnect` before it: the server must close.
    while reader.is_open() {
        match reader.next(deadline).await {
            Ok(Next::Ended(_)) => {}
            Ok(Next::Item(item, at)) => {
                return Err(Failure::assertion(
                    "expected the connection to close before `reconnect`, but an item arrived",
                    span,
                    "the connection should close here",
                )
                .with_diff(item_instead_of_end(0, &item, at)));
            }
            Ok(Next::TimedOut) => {
                return Err(Failure::error(
                    format!(
                        "the test timed out after {} waiting for the connection to close before `reconnect`",
                        format_duration(timeout)
                    ),
                    span,
                    "the server never closed the stream",
                ));
            }
            Err(error) => {
                return Err(Failure::error(
                    format!("the server sent a malformed stream: {error}"),
                    span,
                    "before this `reconnect`",
                ));
            }
        }
    }
    let closed_at = reader
        .closed
        .as_ref()
        .map_or_else(Instant::now, |(_, at)| *at);
    *connections += 1;
    if stats.connections >= MAX_CONNECTIONS {
        return Err(Failure::error(
            format!("this stream reached the limit of {MAX_CONNECTIONS} connections"),
            span,
            "reconnecting again",
        )
        .note("a reconnection loop is bounded; is the server closing every stream at once?"));
    }
    // After a close by the server, an EventSource waits the reconnection time first.
    if !reader.disconnected
        && let Some(retry) = reader.decoder.retry()
    {
        let due = closed_at.saturating_add(Duration::from_millis(retry));
        tokio::time::sleep_until(due.min(deadline).into()).await;
        if due > deadline {
            return Err(Failure::error(
                format!(
                    "the test timed out after {} waiting the server's retry time ({retry}ms) before `reconnect`",
                    format_duration(timeout)
                ),
                span,
                "reconnecting here",
            )
            .note(format!(
                "the server asked for `retry: {retry}`; raise the test's `timeout`, or have the server ask for less"
            )));
        }
    }
    let mut request = reconnect.request.clone();
    let last_event_id = HeaderName::from_static("last-event-id");
    match reader.decoder.last_event_id() {
        Some(id) => match HeaderValue::from_str(id) {
            Ok(value) => request.set_header(last_event_id, value),
            Err(_) => request.remove_header(&last_event_id),
        },
        None => request.remove_header(&last_event_id),
    }
    for (name, value) in &options.headers {
        let text = scope.resolve(value)?;
        // An empty value sends no such header: `with header last-event-id: ""` resumes afresh.
        if text.is_empty() {
            if let Ok(header) = HeaderName::from_bytes(name.value.as_bytes()) {
                request.remove_header(&header);
            }
            continue;
        }
        let header = HeaderName::from_bytes(name.value.as_bytes()).map_err(|_| {
            Failure::error("invalid header name", name.span, "not a valid header name")
        })?;
        let header_value = HeaderValue::from_str(&text).map_err(|_| {
            Failure::error(
                format!("invalid header value {}", crate::render::quote(&text)),
                value.span,
                "header values must be visible ASCII",
            )
        })?;
        request.set_header(header, header_value);
    }
    for (name, value) in &options.query {
        request.set_query(&name.value, &scope.resolve(value)?);
    }
    let waited = closed_at.elapsed();
    stats.record_reconnect(waited);
    let url = request.url.to_string();
    let response = match send(reconnect.client, request, deadline).await {
        Ok(response) => response,
        Err(SendError::TimedOut) => {
            return Err(Failure::error(
                format!(
                    "no response to the reconnection within {} (the test's timeout)",
                    format_duration(timeout)
                ),
                span,
                "reconnecting here",
            ));
        }
        Err(SendError::Failed(reason)) => {
            reader.closed = Some((
                Terminal::Dropped(format!("the reconnection failed: {reason}")),
                Instant::now(),
            ));
            return Ok(Reopened::Refused);
        }
    };
    let sent = response.sent_at.saturating_duration_since(reader.origin);
    let status = response.status;
    // As an EventSource: 204 means "stop reconnecting", another status fails the connection.
    let why = match reconnect.opening.reconnection(kind.value, status) {
        Reconnection::Opens => None,
        Reconnection::Ends => {
            reader.response = None;
            reader.closed = Some((Terminal::Refused(status.to_string()), Instant::now()));
            return Ok(Reopened::Refused);
        }
        Reconnection::Fails(why) => Some(why),
    };
    if let Some(why) = why {
        // The body often says why; a little of it, read briefly, goes with the reason.
        let mut response = response;
        let excerpt = response
            .read_to_end(
                deadline.min(Instant::now().saturating_add(Duration::from_millis(200))),
                RECONNECT_BODY_EXCERPT,
                false,
            )
            .await
            .ok()
            .map(|body| {
                // Whole, for secrets to be masked in it before it is cut.
                if body.total > body.bytes.len() as u64 {
                    let text = crate::excerpt::text_of_partial(&body.bytes)
                        .trim()
                        .replace('\n', "\\n");
                    crate::excerpt::excerpt_of_partial(&text, RECONNECT_BODY_EXCERPT)
                } else {
                    String::from_utf8_lossy(&body.bytes)
                        .trim()
                        .replace('\n', "\\n")
                }
            })
            .filter(|text| !text.is_empty())
            .map(|text| format!(" ({text})"))
            .unwrap_or_default();
        reader.response = None;
        reader.closed = Some((
            Terminal::Dropped(format!(
                "the reconnection to {url} was answered {status}{excerpt}; {why}"
            )),
            Instant::now(),
        ));
        return Ok(Reopened::Refused);
    }
    if let Err(wrong) = reconnect
        .opening
        .content_type(kind.value, response.content_type())
    {
        let failure = Failure::assertion(
            format!(
                "the reconnection was answered with {}, not `{}`",
                wrong.found, wrong.accepted[0]
            ),
            span,
            "reconnecting here",
        );
        return Err(wrong.explain(kind.value, failure));
    }
    reader.decoder = reader.decoder.resume(kind.value, max_item_size);
    reader.response = Some(response);
    reader.closed = None;
    reader.disconnected = false;
    Ok(Reopened::Open(sent))
}

impl crate::interp::background::ReadsAhead for HttpReader {
    async fn read_ahead(&mut self, deadline: Instant) -> bool {
        HttpReader::read_ahead(self, deadline).await
    }
}
