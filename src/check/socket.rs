//! WebSocket steps and expectations: what fits a `ws` exchange (its subprotocols, `send`
//! variants, close codes, `expect close`) and what is for HTTP or gRPC only.

use super::{Checker, TestState};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::interpolate::Context;
use crate::source::Span;
use crate::transport::ws::close_code_is_valid;

/// What a test has done with its current WebSocket.
#[derive(Default)]
pub(super) struct SocketState {
    /// Where the client sent its close frame (`close`).
    pub closed: Option<Span>,
    /// Where the messages were read to their end (`expect end`, `expect close`, `end`).
    pub ended: Option<Span>,
    pub protocols: Option<Span>,
    pub insecure: Option<Span>,
}

impl Checker {
    pub(super) fn ws_request(&mut self, request: &WsRequest, state: &mut TestState) {
        state.named = self.open_stream(request.name.as_ref(), false);
        if let Some(index) = state.named {
            self.flow.streams[index].socket = true;
        }
        state.new_exchange(None, Some(SocketState::default()));
        self.template(&request.url, &state.captures);
        self.url_with_schemes(
            &request.url,
            &state.captures,
            &["ws", "wss", "http", "https"],
        );
    }

    /// `protocol a, b` and `insecure`: options of a WebSocket not opened yet.
    pub(super) fn socket_option(&mut self, word: &str, span: Span, state: &mut TestState) {
        let Some(socket) = state.socket.as_mut() else {
            self.error(
                span,
                format!("`{word}` is for WebSocket requests"),
                if state.has_request {
                    "the exchange before it is not a `ws` request"
                } else {
                    "no `ws` request before it"
                },
            );
            return;
        };
        let slot = if word == "protocol" {
            &mut socket.protocols
        } else {
            &mut socket.insecure
        };
        if let Some(first) = *slot {
            let line = self.file.line_col(first.start).line;
            self.error(
                span,
                format!("`{word}` is given twice for this WebSocket"),
                format!("also on line {line}"),
            );
        }
        *slot = Some(span);
        if state.sent {
            self.error(
                span,
                format!("`{word}` must come before the WebSocket's first expectation"),
                "the WebSocket is already open",
            );
        }
    }

    /// `protocol a, b`: each name once, as RFC 6455 asks.
    pub(super) fn protocols(
        &mut self,
        names: &[Spanned<String>],
        span: Span,
        state: &mut TestState,
    ) {
        self.socket_option("protocol", span, state);
        for (index, name) in names.iter().enumerate() {
            if names[..index]
                .iter()
                .any(|earlier| earlier.value == name.value)
            {
                self.error(
                    name.span,
                    format!("the subprotocol `{}` is asked for twice", name.value),
                    "already in the list",
                );
            }
        }
    }

    /// `send …` and `close …` on a WebSocket (a test step, or a point in a block).
    pub(super) fn socket_control(&mut self, control: &Control, span: Span, state: &mut TestState) {
        state.sent = true;
        let Some(socket) = state.socket.as_mut() else {
            return;
        };
        let word = format!("`{}`", control.keyword());
        if let Some(first) = socket.closed {
            let line = self.file.line_col(first.start).line;
            self.error(
                span,
                format!("{word} after the WebSocket's close frame was sent"),
                format!("`close` on line {line} sent it"),
            );
        }
        match control {
            Control::Send(message) => {
                let captures = state.captures.clone();
                self.message_vars(message, &captures);
                self.literal_payload(message);
            }
            Control::Close(frame) => {
                socket.closed = Some(span);
                if let Some(frame) = frame {
                    if !close_code_is_valid(frame.code.value) {
                        self.diagnostics.push(
                            Diagnostic::error(format!(
                                "{} is not a close code a client may send",
                                frame.code.value
                            ))
                            .at(&self.file, frame.code.span, "not a valid close code")
                            .help("the codes are 1000–1003, 1007–1014 and 3000–4999 (1000 is a normal close; 4000–4999 are for applications)"),
                        );
                    }
                    if let Some(reason) = &frame.reason {
                        if reason.text.len() > 123 {
                            self.error(
                                reason.span,
                                "a close reason may take at most 123 bytes",
                                format!("{} bytes", reason.text.len()),
                            );
                        }
                        self.template(reason, &state.captures);
                        self.look_alikes(reason, Context::Value, &state.captures);
                    }
                }
            }
            _ => {}
        }
    }

    /// What a `send` writes out without variables is checked now, not when the test runs: bytes
    /// in hex or base64, a ping's payload of at most 125 bytes.
    fn literal_payload(&mut self, message: &Message) {
        match message {
            Message::Binary(source @ (BinarySource::Hex(text) | BinarySource::Base64(text)))
                if !text.has_placeholders() =>
            {
                let hex = matches!(source, BinarySource::Hex(_));
                if let Err(why) = crate::payload::decode_bytes(&text.text, hex) {
                    self.error(text.span, why, "not valid here");
                }
            }
            Message::Ping(Some(payload))
                if !payload.has_placeholders() && payload.text.len() > 125 =>
            {
                self.error(
                    payload.span,
                    "a ping's payload may take at most 125 bytes",
                    format!("{} bytes", payload.text.len()),
                );
            }
            _ => {}
        }
    }

    /// `expect close …`: only on a WebSocket, with codes a close frame can carry.
    pub(super) fn expect_close(
        &mut self,
        codes: &[Spanned<u64>],
        reason: Option<&TextMatcher>,
        span: Span,
        state: &mut TestState,
    ) {
        if state.socket.is_none() {
            self.error(
                span,
                "`expect close` is for WebSockets",
                "the exchange before it is not a `ws` request",
            );
            return;
        }
        for code in codes {
            // 1005 is how a close frame without a code reads (RFC 6455 §7.1.5).
            if code.value != 1005 && !close_code_is_valid(code.value) {
                self.diagnostics.push(
                    Diagnostic::error(format!(
                        "{} is not a code a close frame can carry",
                        code.value
                    ))
                    .at(&self.file, code.span, "not a valid close code")
                    .help("the codes are 1000–1003, 1007–1014 and 3000–4999, and 1005 for a close frame without a code; no close frame at all is `dropped`"),
                );
            }
        }
        if let Some(matcher) = reason {
            let captures = state.captures.clone();
            self.text_vars(matcher, &captures);
            if let Some(capture) = &matcher.capture {
                state.captures.insert(capture.value.clone());
            }
        }
        if let Some(socket) = &mut state.socket {
            socket.ended.get_or_insert(span);
        }
        state.body_read_at.get_or_insert(span);
    }

    /// What does not fit a WebSocket, and what to write instead; `true` when it fits.
    pub(super) fn fits_socket(&mut self, expectation: &Expectation, span: Span) -> bool {
        let (what, instead) = match expectation {
            Expectation::GrpcStatus { .. } => (
                "a named status",
                "a WebSocket's handshake has a number: `expect status 101`",
            ),
            Expectation::Metadata { .. } => (
                "gRPC metadata",
                "the handshake's headers are checked with `expect header name …`",
            ),
            Expectation::WholeBody(_) => (
                "a whole body",
                "a WebSocket's messages are read with `expect messages { … }` or `expect message …`",
            ),
            Expectation::Stream(block) if block.kind.value != StreamKind::Socket => (
                "this block",
                "a WebSocket's messages are read with `expect messages { … }`",
            ),
            Expectation::Aggregate(Aggregate {
                kind: AggregateKind::Retry(_) | AggregateKind::Ids(_),
                ..
            }) => ("this expectation", "it is about SSE event ids and `retry`"),
            _ => return true,
        };
        self.error(span, format!("{what} does not fit a WebSocket"), instead);
        false
    }

    /// `expect messages`, `expect message` and `expect end` need a gRPC call or a WebSocket:
    /// says so, and what the HTTP way is.
    pub(super) fn messages_only(
        &mut self,
        state: &TestState,
        span: Span,
        what: &str,
        http_way: &str,
    ) -> bool {
        let label = if state.has_request {
            "the exchange before it is an HTTP request"
        } else {
            "no `grpc` call or `ws` request before it"
        };
        let help = if state.has_request {
            format!(
                "{http_way}; or open a WebSocket with `ws ws://host/path`, or start a call with `grpc http://host:port package.Service/Method`"
            )
        } else {
            "open a WebSocket first (`ws ws://host/path`), or start a call (`grpc http://host:port package.Service/Method`)".to_string()
        };
        self.diagnostics.push(
            Diagnostic::error(format!("{what} is for gRPC calls and WebSockets"))
                .at(&self.file, span, label)
                .help(help),
        );
        false
    }

    /// A WebSocket's messages can be read only until they end.
    pub(super) fn messages_open(&mut self, state: &TestState, span: Span) {
        if let Some(ended) = state.socket.as_ref().and_then(|s| s.ended) {
            let line = self.file.line_col(ended.start).line;
            self.error(
                span,
                "the WebSocket's messages have already ended",
                format!("line {line} read them to their end"),
            );
        }
    }
}
