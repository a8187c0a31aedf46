//! `reconnect` on a WebSocket: once the old connection has ended, the handshake again (the
//! same URL and headers, with the `with` changes), and the block reads on from the new one.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};

use crate::ast::ReconnectOptions;
use crate::duration::format_duration;
use crate::interp::http_stream::{MAX_CONNECTIONS, Reopened};
use crate::interp::live_socket::LiveSocket;
use crate::interp::matcher::Terminal;
use crate::interp::stats::StreamStats;
use crate::interp::stream::{Next, item_instead_of_end};
use crate::interp::vars::Scope;
use crate::outcome::Failure;
use crate::source::Span;
use crate::transport::ws::{self, WsError};

/// What a `reconnect` in a block needs besides the socket.
pub(super) struct Reconnect<'a> {
    pub options: &'a ReconnectOptions,
    pub span: Span,
    pub deadline: Instant,
    pub timeout: Duration,
    pub stats: &'a mut StreamStats,
    pub scope: &'a Scope,
    pub connections: &'a mut u32,
}

impl LiveSocket {
    pub(super) async fn reconnect(&mut self, how: Reconnect<'_>) -> Result<Reopened, Failure> {
        let Reconnect {
            options,
            span,
            deadline,
            timeout,
            stats,
            scope,
            connections,
        } = how;
        // The old connection must have ended (`end`, `dropped`, `disconnect`), or end now.
        while self.is_open() {
            match self.next(deadline).await {
                Next::Ended(_) => {}
                Next::Item(item, at) => {
                    return Err(Failure::assertion(
                        "expected the WebSocket to close before `reconnect`, but a message arrived",
                        span,
                        "the connection should close here",
                    )
                    .with_diff(item_instead_of_end(0, &item, at)));
                }
                Next::TimedOut => {
                    return Err(Failure::error(
                        format!(
                            "the test timed out after {} waiting for the WebSocket to close before `reconnect`",
                            format_duration(timeout)
                        ),
                        span,
                        "the server never closed the WebSocket",
                    ));
                }
            }
        }
        *connections += 1;
        if stats.connections >= MAX_CONNECTIONS {
            return Err(Failure::error(
                format!("this stream reached the limit of {MAX_CONNECTIONS} connections"),
                span,
                "reconnecting again",
            )
            .note("a reconnection loop is bounded; is the server closing every socket at once?"));
        }
        let mut target = self.target.clone();
        for (name, value) in &options.headers {
            let text = scope.resolve(value)?;
            let header = HeaderName::from_bytes(name.value.as_bytes()).map_err(|_| {
                Failure::error("invalid header name", name.span, "not a valid header name")
            })?;
            target.headers.retain(|(existing, _)| *existing != header);
            // An empty value sends no such header.
            if text.is_empty() {
                continue;
            }
            let header_value = HeaderValue::from_str(&text).map_err(|_| {
                Failure::error(
                    format!("invalid header value {}", crate::render::quote(&text)),
                    value.span,
                    "header values must be visible ASCII",
                )
            })?;
            target.headers.push((header, header_value));
        }
        for (name, value) in &options.query {
            let value = scope.resolve(value)?;
            let kept: Vec<(String, String)> = target
                .url
                .query_pairs()
                .filter(|(key, _)| *key != name.value)
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
            let mut pairs = target.url.query_pairs_mut();
            pairs.clear();
            for (key, kept_value) in &kept {
                pairs.append_pair(key, kept_value);
            }
            pairs.append_pair(&name.value, &value);
        }
        let waited = self.ended_at.map_or(Duration::ZERO, |at| at.elapsed());
        stats.record_reconnect(waited);
        match ws::connect(&target, self.max_message, deadline).await {
            Ok((handshake, connection)) => {
                self.connection = Some(connection);
                self.ended = None;
                self.ended_at = None;
                self.close = None;
                self.closed_by_client = false;
                self.previous = handshake.sent_at.saturating_duration_since(self.origin);
                Ok(Reopened::Open(self.previous))
            }
            Err(WsError::TimedOut(what)) => Err(Failure::error(
                format!(
                    "the test timed out after {} waiting for {what} on reconnecting",
                    format_duration(timeout)
                ),
                span,
                "reconnecting here",
            )),
            Err(error) => {
                let reason = match &error {
                    WsError::Refused { body, .. } if !body.is_empty() => format!(
                        "{error} ({})",
                        crate::excerpt::excerpt(String::from_utf8_lossy(body).trim(), 200)
                    ),
                    _ => error.to_string(),
                };
                self.ended = Some(Terminal::Dropped(format!(
                    "the reconnection failed: {reason}"
                )));
                self.ended_at = Some(Instant::now());
                Ok(Reopened::Refused)
            }
        }
    }
}
