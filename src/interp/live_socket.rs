//! An open WebSocket as blocks and expectations read it: its messages as items with their
//! arrival times, the messages and close frame a spec sends, `abort` and `disconnect`.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::ast::{BinarySource, CloseFrameSpec, Message};
use crate::interp::background::{ReadAhead, ReadsAhead};
use crate::interp::matcher::Terminal;
use crate::interp::stream::Next;
use crate::interp::vars::Scope;
use crate::outcome::Failure;
use crate::saturating_time::SaturatingAdd;
use crate::transport::item::Item;
use crate::transport::ws::{Close, Connection, Outgoing, Read, WsMessage, WsTarget};

/// The control frames the block being read expects; the others are skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wants {
    pub ping: bool,
    pub pong: bool,
}

/// A WebSocket after its handshake.
pub struct LiveSocket {
    /// `None` once `abort` or `disconnect` dropped it.
    pub(super) connection: Option<Connection>,
    /// Where it was opened and how, to open it again on `reconnect`.
    pub(super) target: WsTarget,
    pub(super) max_message: usize,
    /// When the connection ended, for the wait before a `reconnect`.
    pub(super) ended_at: Option<Instant>,
    /// When the upgrade request was sent: every time is measured from here.
    pub(super) origin: Instant,
    /// The later of the last message taken (by a block or a line; not one only read ahead)
    /// and the last sent, from `origin`: what a block's first `within` counts from.
    pub(super) previous: Duration,
    /// The test's deadline, for sends a slow server holds up.
    deadline: Instant,
    /// The server's close frame, once it came.
    pub(super) close: Option<Close>,
    /// How the connection ended, once it did.
    pub(super) ended: Option<Terminal>,
    /// The client sent its close frame: the server's is the reply.
    pub(super) closed_by_client: bool,
    /// The size limit a message went over, when that ended the connection.
    too_large: Option<usize>,
    /// Message bytes read since the statistics last took them.
    unreported_bytes: u64,
    pub wants: Wants,
    /// Messages read ahead (a named socket between blocks, any socket during a `wait` between
    /// steps) that no block took yet.
    pub(super) ahead: ReadAhead,
}

impl LiveSocket {
    pub fn new(
        connection: Connection,
        target: WsTarget,
        max_message: usize,
        origin: Instant,
        deadline: Instant,
    ) -> LiveSocket {
        LiveSocket {
            connection: Some(connection),
            target,
            max_message,
            ended_at: None,
            origin,
            previous: Duration::ZERO,
            deadline,
            close: None,
            ended: None,
            closed_by_client: false,
            too_large: None,
            unreported_bytes: 0,
            wants: Wants::default(),
            ahead: ReadAhead::default(),
        }
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    pub fn previous(&self) -> Duration {
        self.previous
    }

    pub fn take_bytes(&mut self) -> u64 {
        std::mem::take(&mut self.unreported_bytes)
    }

    pub fn is_open(&self) -> bool {
        self.ended.is_none() || self.ahead.has_items()
    }

    pub fn too_large(&self) -> Option<usize> {
        self.too_large
    }

    /// The server's close frame, if one came.
    pub fn close_frame(&self) -> Option<&Close> {
        self.close.as_ref()
    }

    /// How the connection ended, once it has.
    pub fn ending(&self) -> Option<&Terminal> {
        self.ended.as_ref()
    }

    /// The next message (a ping or pong only when `wants` says so), or how the socket ended:
    /// what was read in the background first.
    pub async fn next(&mut self, deadline: Instant) -> Next {
        let next = match self.ahead.taken() {
            Some(next) => next,
            None => self.read(deadline).await,
        };
        if let Next::Item(_, at) = &next {
            self.previous = self.previous.max(*at);
        }
        next
    }

    /// Reads one message ahead, for a block that holds the socket later; `false` once there
    /// is nothing more to read now. Cancel-safe, as reading a message is.
    pub(super) async fn read_ahead(&mut self, deadline: Instant) -> bool {
        if !self.ahead.reading() {
            return false;
        }
        let before = self.unreported_bytes;
        let next = self.read(deadline).await;
        let bytes = self.unreported_bytes - before;
        self.ahead.keep(Ok(next), bytes)
    }

    /// Reading ahead stopped at its bound.
    pub(super) fn buffer_full(&self) -> bool {
        self.ahead.full()
    }

    /// Reading ahead stopped at its bound and everything before that was taken.
    pub(super) fn buffer_exhausted(&self) -> bool {
        self.ahead.exhausted()
    }

    /// Messages read ahead that nothing took, for the figures of a socket closed before.
    pub(super) fn take_read_ahead(&mut self) -> impl Iterator<Item = (Item, Duration)> + '_ {
        self.ahead.take()
    }

    async fn read(&mut self, deadline: Instant) -> Next {
        loop {
            if let Some(ended) = &self.ended {
                return Next::Ended(ended.clone());
            }
            let Some(connection) = self.connection.as_mut() else {
                let ended = Terminal::Dropped("the client closed the connection".to_string());
                self.ended = Some(ended.clone());
                return Next::Ended(ended);
            };
            let ended = match connection.next(deadline).await {
                Read::Message(message, at) => {
                    let skipped = match message {
                        WsMessage::Ping(_) => !self.wants.ping,
                        WsMessage::Pong(_) => !self.wants.pong,
                        _ => false,
                    };
                    if skipped {
                        continue;
                    }
                    let at = at.saturating_duration_since(self.origin);
                    self.unreported_bytes += message.len() as u64;
                    return Next::Item(Item::Ws(message), at);
                }
                Read::Closed(close, _) => {
                    let clean = self.closed_by_client || close.is_normal();
                    let frame = close.to_string();
                    self.close = Some(close);
                    Terminal::Closed { clean, frame }
                }
                Read::Dropped(reason, _) => Terminal::Dropped(reason),
                Read::TooLarge { limit } => {
                    self.too_large = Some(limit);
                    Terminal::Dropped(format!("a message over the {limit}-byte limit"))
                }
                Read::TimedOut => return Next::TimedOut,
            };
            self.connection = None;
            self.ended = Some(ended.clone());
            self.ended_at = Some(Instant::now());
            return Next::Ended(ended);
        }
    }

    /// `send …`: one message. After the connection ended it goes nowhere, as in a browser.
    pub async fn send(&mut self, message: &Message, scope: &Scope) -> Result<(), Failure> {
        let outgoing = outgoing(message, scope)?;
        self.send_outgoing(outgoing, message.span()).await
    }

    /// `close 4000 "reason"`: the client's close frame; the server's reply ends the stream.
    pub async fn close(
        &mut self,
        frame: Option<&CloseFrameSpec>,
        scope: &Scope,
        span: crate::source::Span,
    ) -> Result<(), Failure> {
        let close = match frame {
            None => None,
            Some(frame) => Some(Close {
                code: u16::try_from(frame.code.value).unwrap_or(1000),
                reason: match &frame.reason {
                    Some(reason) => scope.resolve(reason)?,
                    None => String::new(),
                },
            }),
        };
        self.closed_by_client = true;
        self.send_outgoing(Outgoing::Close(close), span).await
    }

    async fn send_outgoing(
        &mut self,
        outgoing: Outgoing,
        span: crate::source::Span,
    ) -> Result<(), Failure> {
        let Some(connection) = self.connection.as_mut() else {
            return Ok(());
        };
        if self.ended.is_some() {
            return Ok(());
        }
        if let Err(reason) = connection.send(outgoing, self.deadline).await {
            return Err(Failure::error(
                format!("could not send this message: {reason}"),
                span,
                "sending this",
            ));
        }
        self.previous = self.origin.elapsed();
        Ok(())
    }

    /// `abort`: cuts the TCP connection, with no close frame.
    pub fn abort(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.abort();
        }
        self.ended_at.get_or_insert_with(Instant::now);
        self.ended
            .get_or_insert_with(|| Terminal::Dropped("the client aborted".to_string()));
    }

    /// The end of the branch or test that opened it: the closing handshake with `1000`.
    pub async fn leave(&mut self) {
        self.close_and_go(1000).await;
        self.ended
            .get_or_insert_with(|| Terminal::Dropped("the test ended".to_string()));
    }

    /// `disconnect`: a page that goes away, with `1001`. What the server sent that the block
    /// had not read is lost with the connection, as in a browser.
    pub async fn disconnect(&mut self) {
        self.close_and_go(1001).await;
        self.ended_at.get_or_insert_with(Instant::now);
        self.ended
            .get_or_insert_with(|| Terminal::Dropped("the client disconnected".to_string()));
    }

    /// Sends a close frame and waits (briefly) for the server's, discarding what comes before
    /// it, so the server closes the TCP connection first, as RFC 6455 asks. Dropping the
    /// connection at once would reset it, and the server would lose messages the client had
    /// sent but it had not read yet.
    async fn close_and_go(&mut self, code: u16) {
        /// The longest a client that leaves waits for the server's close frame.
        const CLOSE_WAIT: Duration = Duration::from_secs(1);
        let Some(mut connection) = self.connection.take() else {
            return;
        };
        let until = Instant::now().saturating_add(CLOSE_WAIT).min(self.deadline);
        let close = Outgoing::Close(Some(Close {
            code,
            reason: String::new(),
        }));
        if connection.send(close, until).await.is_err() {
            return;
        }
        // Bounded by `until`, and each read takes at least one message or ends.
        while let Read::Message(..) = connection.next(until).await {}
    }
}

impl ReadsAhead for LiveSocket {
    async fn read_ahead(&mut self, deadline: Instant) -> bool {
        LiveSocket::read_ahead(self, deadline).await
    }
}

/// The message a `send` step sends, its variables resolved and its files read.
fn outgoing(message: &Message, scope: &Scope) -> Result<Outgoing, Failure> {
    let span = message.span();
    Ok(match message {
        Message::Json(pattern) => match scope.json_value(pattern)? {
            serde_json::Value::String(text) => Outgoing::Text(text),
            value => Outgoing::Text(value.to_string()),
        },
        Message::JsonText(pattern) => Outgoing::Text(scope.json_value(pattern)?.to_string()),
        Message::File(path) => {
            let bytes = read_file(scope, path)?;
            Outgoing::Text(String::from_utf8(bytes).map_err(|_| {
                Failure::error(
                    "the file is not UTF-8 text; send it with `send binary file`",
                    span,
                    "this file",
                )
            })?)
        }
        Message::Binary(BinarySource::File(path)) => {
            Outgoing::Binary(read_file(scope, path)?.into())
        }
        Message::Binary(BinarySource::Hex(text) | BinarySource::Base64(text)) => {
            let hex = matches!(message, Message::Binary(BinarySource::Hex(_)));
            let resolved = scope.resolve(text)?;
            let bytes = crate::payload::decode_bytes(&resolved, hex)
                .map_err(|why| Failure::error(why, text.span, "these bytes"))?;
            Outgoing::Binary(bytes.into())
        }
        Message::Ping(payload) => {
            let payload = match payload {
                Some(payload) => scope.resolve(payload)?,
                None => String::new(),
            };
            if payload.len() > 125 {
                return Err(Failure::error(
                    format!(
                        "a ping's payload may take at most 125 bytes, and this one takes {}",
                        payload.len()
                    ),
                    span,
                    "this payload",
                ));
            }
            Outgoing::Ping(Bytes::from(payload))
        }
    })
}

fn read_file(scope: &Scope, path: &crate::ast::Template) -> Result<Vec<u8>, Failure> {
    let full = scope.path(path)?;
    std::fs::read(&full).map_err(|error| {
        Failure::error(
            format!("could not read {}: {error}", full.display()),
            path.span,
            "this file",
        )
    })
}
