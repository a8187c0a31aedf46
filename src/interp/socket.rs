//! A test's WebSocket exchange (`ws URL` and the steps about it): the handshake, checked like
//! an HTTP response; its messages read by blocks; `send`, `close` and `abort`; the server's
//! close frame (`expect close`).

use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue};

use crate::ast::*;
use crate::interp::TestRun;
use crate::interp::background::read_past_buffer;
use crate::interp::live_socket::{LiveSocket, Wants};
use crate::interp::record::BlockUpdate;
use crate::interp::stats::StreamStats;
use crate::interp::stream::{Finish, Next, Source, StreamRun, item_instead_of_end};
use crate::interp::{HeadPart, head};
use crate::outcome::{Failure, Fix, StreamReport};
use crate::render::quote;
use crate::source::Span;
use crate::transport::http::describe_status;
use crate::transport::ws::{self, WsError, WsTarget};

/// Characters of a refusal's body shown with it.
const BODY_EXCERPT: usize = 300;

/// A `ws` step and what is known of its socket so far.
pub struct SocketExchange {
    request: WsRequest,
    headers: Vec<HeaderStep>,
    protocols: Vec<String>,
    insecure: bool,
    /// Once connected: the handshake's status and headers (a refusal's too).
    head: Option<(reqwest::StatusCode, reqwest::header::HeaderMap)>,
    /// The server refused the upgrade: the start of its answer's body.
    refused: Option<String>,
    /// An `expect status` looked at the handshake's status.
    status_checked: bool,
    live: Option<LiveSocket>,
    pub stats: Option<StreamStats>,
    /// A block read it: its figures are in the report with the block.
    pub reported: bool,
    /// While a block reads the messages: what a load's end, cutting the run off mid-block,
    /// reports of them.
    reading: Option<crate::interp::cut_off::Reading>,
}

impl SocketExchange {
    pub fn new(request: &WsRequest) -> SocketExchange {
        SocketExchange {
            request: request.clone(),
            headers: Vec::new(),
            protocols: Vec::new(),
            insecure: false,
            head: None,
            refused: None,
            status_checked: false,
            live: None,
            stats: None,
            reported: false,
            reading: None,
        }
    }

    /// A load's end cut the run off while a block read the messages: what they had measured.
    pub(super) fn cut_off_report(&mut self) -> Option<crate::outcome::StreamReport> {
        let reading = self.reading.take()?;
        let stats = self.stats.as_mut()?;
        self.reported = true;
        let waited = reading.origin.elapsed();
        // The wait for the next item, cut short: a stall still going counts (a lower
        // bound), as a block that gives up counts its wait.
        stats.gave_up_waiting(waited);
        stats.duration = Some(waited);
        Some(crate::outcome::StreamReport {
            name: self.request.name.as_ref().map(|name| name.value.clone()),
            ..stats.report(reading.kind, reading.span)
        })
    }

    /// In a load run, a socket no block read: its connect and ttfb, once (see
    /// [`TestRun::report_unread_exchange`]).
    pub(super) fn unread_report(&mut self) -> Option<StreamReport> {
        if self.reported || self.name().is_some() {
            return None;
        }
        let report = self.stats.as_ref()?.plain_request_report(self.span())?;
        self.reported = true;
        Some(report)
    }

    pub fn add_header(&mut self, header: &HeaderStep) {
        self.headers.push(header.clone());
    }

    pub fn add_protocols(&mut self, names: &[Spanned<String>]) {
        self.protocols
            .extend(names.iter().map(|name| name.value.clone()));
    }

    pub fn set_insecure(&mut self) {
        self.insecure = true;
    }

    /// `as NAME`: the socket stays open and is read in the background between blocks.
    pub fn name(&self) -> Option<&Ident> {
        self.request.name.as_ref()
    }

    pub fn span(&self) -> Span {
        self.request.url.span
    }

    pub(super) fn take_live(&mut self) -> Option<LiveSocket> {
        self.live.take()
    }

    pub(super) fn put_live(&mut self, live: LiveSocket) {
        self.live = Some(live);
    }

    /// Its open connection, if the handshake succeeded.
    pub(super) fn live_mut(&mut self) -> Option<&mut LiveSocket> {
        self.live.as_mut()
    }
}

/// The control frames a block's patterns ask for.
fn wants(entries: &[Entry]) -> Wants {
    let mut wants = Wants::default();
    let mut visit = |pattern: &ItemPattern| {
        if let ItemPatternKind::Socket(SocketPattern::Control { pong, .. }) = &pattern.kind {
            if *pong {
                wants.pong = true;
            } else {
                wants.ping = true;
            }
        }
    };
    fn walk(entries: &[Entry], visit: &mut impl FnMut(&ItemPattern)) {
        for entry in entries {
            match &entry.kind {
                EntryKind::Item(line) => visit(&line.pattern),
                EntryKind::Repeat { body, .. } => walk(body, visit),
                EntryKind::Until { stop, body } => {
                    visit(stop);
                    walk(body, visit);
                }
                EntryKind::AnyOrder(lines) => lines.iter().for_each(|line| visit(&line.pattern)),
                EntryKind::Ignore(pattern) | EntryKind::All(pattern) => visit(pattern),
                EntryKind::Split(groups) => groups.iter().for_each(|g| walk(&g.body, visit)),
                _ => {}
            }
        }
    }
    walk(entries, &mut visit);
    wants
}

impl TestRun<'_> {
    /// Opens the current WebSocket if it is not open: connects and does the handshake. A
    /// refusal is kept (its status and headers can be checked); other failures fail here.
    pub(super) async fn ensure_socket(&mut self) -> Result<(), Failure> {
        let Some(exchange) = self.socket.as_ref() else {
            return Ok(());
        };
        if exchange.head.is_some() {
            return Ok(());
        }
        let url_text = self.scope.resolve(&exchange.request.url)?;
        let url_span = exchange.request.url.span;
        let mut url = reqwest::Url::parse(&url_text).map_err(|error| {
            Failure::error(
                format!("invalid URL {url_text:?}: {error}"),
                url_span,
                "this URL",
            )
        })?;
        let scheme = match url.scheme() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            other => {
                return Err(Failure::error(
                    format!("a WebSocket URL is `ws://` or `wss://`, not `{other}://`"),
                    url_span,
                    "this URL",
                ));
            }
        };
        let _ = url.set_scheme(scheme);
        let mut headers = Vec::new();
        for header in &exchange.headers {
            let value = self.scope.resolve(&header.value)?;
            let name = HeaderName::from_bytes(header.name.value.as_bytes()).map_err(|_| {
                Failure::error("not a valid header name", header.name.span, "this name")
            })?;
            let value = HeaderValue::from_str(&value).map_err(|_| {
                Failure::error("not a valid header value", header.value.span, "this value")
            })?;
            headers.push((name, value));
        }
        let target = WsTarget {
            url,
            headers,
            protocols: exchange.protocols.clone(),
            insecure: exchange.insecure,
        };
        let deadline = self.deadline;
        let started = Instant::now();
        let connected = ws::connect(&target, self.settings.max_item_size, deadline).await;
        self.connections += 1;
        let Some(exchange) = self.socket.as_mut() else {
            return Ok(());
        };
        match connected {
            Ok((handshake, connection)) => {
                let mut stats = StreamStats::new(handshake.ttfb);
                stats.connect = Some(handshake.connect);
                exchange.stats = Some(stats);
                exchange.live = Some(LiveSocket::new(
                    connection,
                    target,
                    self.settings.max_item_size,
                    handshake.sent_at,
                    deadline,
                ));
                exchange.head = Some((handshake.status, handshake.headers));
                Ok(())
            }
            Err(WsError::Refused { head, body }) => {
                let mut stats = StreamStats::new(head.ttfb);
                stats.connect = Some(head.connect);
                exchange.stats = Some(stats);
                exchange.head = Some((head.status, head.headers));
                let text = String::from_utf8_lossy(&body);
                exchange.refused = Some(crate::excerpt::excerpt(text.trim(), BODY_EXCERPT));
                Ok(())
            }
            Err(WsError::TimedOut(what)) => {
                self.report_given_up(url_span, started.elapsed());
                Err(Failure::error(
                    format!(
                        "the test timed out after {} waiting for {what}",
                        crate::duration::format_duration(self.timeout)
                    ),
                    url_span,
                    "opening this WebSocket",
                ))
            }
            Err(error) => Err(Failure::error(
                error.to_string(),
                url_span,
                "opening this WebSocket",
            )),
        }
    }

    /// The open socket, or why there is none (the handshake was refused).
    fn open_socket(&mut self, span: Span) -> Result<(), Failure> {
        let Some(exchange) = self.socket.as_ref() else {
            return Ok(());
        };
        if let (Some(body), Some((status, _))) = (&exchange.refused, &exchange.head) {
            let mut failure = Failure::assertion(
                format!(
                    "the server answered the WebSocket handshake with {}, not 101 Switching Protocols",
                    describe_status(*status)
                ),
                span,
                "needs an open WebSocket",
            );
            if !body.is_empty() {
                failure
                    .notes
                    .push(format!("the body began: {}", quote(body)));
            }
            return Err(failure);
        }
        Ok(())
    }

    pub(super) async fn socket_expect(
        &mut self,
        expectation: &Expectation,
        span: Span,
    ) -> Result<(), Failure> {
        self.ensure_socket().await?;
        match expectation {
            Expectation::Status(alternatives) => {
                let Some(exchange) = self.socket.as_mut() else {
                    return Ok(());
                };
                exchange.status_checked = true;
                let Some((status, _)) = &exchange.head else {
                    return Ok(());
                };
                let Some(mut failure) = head::wrong_status(alternatives, *status) else {
                    return Ok(());
                };
                if let Some(body) = exchange.refused.as_ref().filter(|b| !b.is_empty()) {
                    failure
                        .notes
                        .push(format!("the body began: {}", quote(body)));
                }
                Err(failure)
            }
            Expectation::Header(header) => {
                let Some((_, headers)) = self.socket.as_ref().and_then(|e| e.head.as_ref()) else {
                    return Ok(());
                };
                let values = head::header_values(headers, &header.name.value);
                self.check_header(HeadPart::Header, header, &values, span)?;
                self.capture_header(header, &values)
            }
            Expectation::Stream(block) => {
                self.open_socket(span)?;
                let mut entries = block.entries.clone();
                self.scope.instantiate_entries(&mut entries)?;
                self.read_messages(&entries, block.kind.clone(), Some(block.block_span), None)
                    .await
            }
            Expectation::Message(line) => {
                self.open_socket(span)?;
                let mut entries = vec![Entry {
                    kind: EntryKind::Item(line.clone()),
                    span: line.span,
                }];
                self.scope.instantiate_entries(&mut entries)?;
                let kind = Spanned::new(StreamKind::Socket, line.span);
                self.read_messages(&entries, kind, None, None).await
            }
            Expectation::End => {
                self.open_socket(span)?;
                self.expect_socket_end(span).await
            }
            Expectation::Close { codes, reason } => {
                self.open_socket(span)?;
                self.expect_close(codes, reason.as_ref(), span).await
            }
            Expectation::Aggregate(aggregate) => {
                if matches!(
                    aggregate.kind,
                    AggregateKind::Bytes(_) | AggregateKind::Duration(_)
                ) {
                    self.open_socket(span)?;
                    self.drain_socket(span).await?;
                }
                self.check_aggregate(aggregate)
            }
            // The checker keeps the others off WebSockets.
            _ => Ok(()),
        }
    }

    /// `send`, `close` and `abort` between expectations.
    pub(super) async fn socket_control(
        &mut self,
        control: &Control,
        span: Span,
    ) -> Result<(), Failure> {
        self.ensure_socket().await?;
        self.open_socket(span)?;
        let Some(live) = self.socket.as_mut().and_then(|e| e.live.as_mut()) else {
            return Ok(());
        };
        match control {
            Control::Send(message) => live.send(message, &self.scope).await,
            Control::Close(frame) => live.close(frame.as_ref(), &self.scope, span).await,
            Control::Abort(_) => {
                live.abort();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Reads messages against a block (or a single `expect message`).
    pub(super) async fn read_messages(
        &mut self,
        entries: &[Entry],
        kind: Spanned<StreamKind>,
        block_span: Option<Span>,
        log: Option<&mut crate::interp::group::ItemLog>,
    ) -> Result<(), Failure> {
        let update = BlockUpdate::of(self.settings, self.spec, block_span);
        let deadline = self.deadline;
        let timeout = self.timeout;
        let max_item_size = self.settings.max_item_size;
        let Some(exchange) = self.socket.as_mut() else {
            return Ok(());
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(());
        };
        live.wants = wants(entries);
        let previous = live.previous();
        let mut received_before_abort = None;
        exchange.reading = Some(crate::interp::cut_off::Reading {
            kind: "messages",
            span: kind.span,
            origin: live.origin(),
        });
        let result = StreamRun {
            source: Source::Socket(live),
            kind: kind.clone(),
            previous,
            entries,
            deadline,
            timeout,
            max_item_size,
            stats,
            scope: &mut self.scope,
            connections: &mut self.connections,
            received_before_abort: &mut received_before_abort,
            track_ids: false,
            update,
            log,
            tokens: self
                .settings
                .tokens_capture
                .as_deref()
                .filter(|name| crate::check::block_captures_name(entries, name)),
        }
        .run()
        .await;
        live.wants = Wants::default();
        stats.read_until_now(live.origin());
        exchange.reported = true;
        exchange.reading = None;
        self.streams.push(StreamReport {
            name: exchange
                .request
                .name
                .as_ref()
                .map(|name| name.value.clone()),
            branch: self.branch.clone(),
            aborted_after: received_before_abort,
            ..stats.report("messages", kind.span)
        });
        result.map(|_: Finish| ())
    }

    /// `expect end`: no more messages, however the socket ended.
    async fn expect_socket_end(&mut self, span: Span) -> Result<(), Failure> {
        let deadline = self.deadline;
        let timeout = self.timeout;
        let Some(exchange) = self.socket.as_mut() else {
            return Ok(());
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(());
        };
        match live.next(deadline).await {
            Next::Ended(_) if live.buffer_exhausted() => {
                Err(read_past_buffer(stats.items + 1, span))
            }
            Next::Ended(_) => match live.too_large() {
                None => Ok(()),
                Some(limit) => Err(crate::interp::unreadable::too_large(
                    stats.items + 1,
                    limit,
                    span,
                    "reading the messages to their end",
                )),
            },
            Next::Item(item, at) => {
                stats.record_unstreamed_item(at);
                Err(Failure::assertion(
                    "expected the messages to end, but a message arrived",
                    span,
                    "expected the end here",
                )
                .with_diff(item_instead_of_end(
                    stats.items.saturating_sub(1),
                    &item,
                    at,
                )))
            }
            Next::TimedOut => Err(Failure::error(
                format!(
                    "the test timed out after {} waiting for the WebSocket to close",
                    crate::duration::format_duration(timeout)
                ),
                span,
                "waiting for the end here",
            )),
        }
    }

    /// Reads the messages nothing expects, to the socket's end (the step at `span` needs it).
    async fn drain_socket(&mut self, span: Span) -> Result<(), Failure> {
        let deadline = self.deadline;
        let Some(exchange) = self.socket.as_mut() else {
            return Ok(());
        };
        let (Some(live), Some(stats)) = (exchange.live.as_mut(), exchange.stats.as_mut()) else {
            return Ok(());
        };
        // Bounded by the deadline: a socket that never closes times the test out.
        while let Next::Item(item, at) = live.next(deadline).await {
            stats.drained(&item, at);
        }
        stats.bytes += live.take_bytes();
        if let Some(came) = live.ahead.take_end_time() {
            stats.end_came = Some(came.saturating_duration_since(live.origin()));
        }
        stats.read_until_now(live.origin());
        // Not the socket's end: where reading ahead (during a `wait`) stopped at its bound.
        if live.buffer_exhausted() {
            return Err(read_past_buffer(stats.items + 1, span));
        }
        Ok(())
    }

    /// `expect close 4000 "bye"`: reads to the socket's end; the server's close frame must
    /// have one of the codes and a reason that matches.
    async fn expect_close(
        &mut self,
        codes: &[Spanned<u64>],
        reason: Option<&TextMatcher>,
        span: Span,
    ) -> Result<(), Failure> {
        self.drain_socket(span).await?;
        let timeout = self.timeout;
        let Some(live) = self.socket.as_ref().and_then(|e| e.live.as_ref()) else {
            return Ok(());
        };
        let close = match (live.close_frame(), live.ending()) {
            (Some(close), _) => close.clone(),
            (None, Some(ending)) => {
                return Err(Failure::assertion(
                    "expected a close frame from the server, but the connection ended without a valid one",
                    span,
                    "expected a close frame",
                )
                .note(ending.describe()));
            }
            (None, None) => {
                return Err(Failure::error(
                    format!(
                        "the test timed out after {} waiting for the server's close frame",
                        crate::duration::format_duration(timeout)
                    ),
                    span,
                    "waiting for the close frame here",
                ));
            }
        };
        if !codes.is_empty() && !codes.iter().any(|code| code.value == u64::from(close.code)) {
            let expected: Vec<String> = codes.iter().map(|c| c.value.to_string()).collect();
            let codes_span = alternatives_span(codes);
            return Err(Failure::assertion(
                format!(
                    "expected close {}, got {close}",
                    crate::render::or_list(&expected)
                ),
                codes_span,
                format!("the server closed with {}", close.code),
            )
            .with_fix(Fix::Replace {
                span: codes_span,
                text: close.code.to_string(),
            }));
        }
        if let Some(matcher) = reason {
            let mut matcher = matcher.clone();
            self.scope.instantiate_text(&mut matcher)?;
            let mut captures = Vec::new();
            if let Err(mismatch) =
                crate::pattern::match_text(&matcher, &close.reason, &mut captures)
            {
                return Err(Failure::assertion(
                    format!("the close reason does not match: {}", mismatch.comparison()),
                    matcher.span,
                    "this reason",
                )
                .with_fix(Fix::Replace {
                    span: matcher.span,
                    text: quote(&close.reason),
                }));
            }
            self.scope.commit(&mut captures, matcher.span)?;
        }
        Ok(())
    }

    /// The test moves on (or ends): a WebSocket nothing looked at is still opened, and must
    /// be accepted; a refusal only an `expect status` looked at is fine.
    pub(super) async fn finish_socket(&mut self) -> Result<(), Failure> {
        if self.socket.is_none() {
            return Ok(());
        }
        self.ensure_socket().await?;
        let Some(exchange) = self.socket.as_mut() else {
            return Ok(());
        };
        if exchange.refused.is_some() && !exchange.status_checked {
            let span = exchange.request.url.span;
            return self.open_socket(span);
        }
        // Nothing reads it any more: a normal close, without waiting for the answer.
        if let Some(live) = exchange.live.as_mut()
            && live.is_open()
        {
            live.leave().await;
        }
        // In a load, it gives its connect and ttfb as a plain request does; otherwise `run -v`
        // shows it as a stream.
        self.report_unread_exchange();
        let Some(exchange) = self.socket.as_mut() else {
            return Ok(());
        };
        if !exchange.reported
            && let Some(stats) = exchange.stats.as_mut()
        {
            if let Some(live) = exchange.live.as_mut() {
                stats.bytes += live.take_bytes();
                stats.read_until_now(live.origin());
            }
            exchange.reported = true;
            self.streams.push(StreamReport {
                name: exchange
                    .request
                    .name
                    .as_ref()
                    .map(|name| name.value.clone()),
                branch: self.branch.clone(),
                ..stats.report("messages", exchange.request.url.span)
            });
        }
        Ok(())
    }
}
