//! Expectations on the current exchange: which fit an HTTP request and which a gRPC call, what
//! reading a body, the replies or a stream does to the test's state, what an aggregate needs
//! read before it, and the hand-over of `from NAME` blocks and `in NAME` measures to
//! [`super::streams`].

use super::{Checker, EMPTY_BLOCK, GRPC_CODES, TestState};
use crate::ast::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Span;

impl Checker {
    pub(super) fn expectation(
        &mut self,
        expectation: &Expectation,
        span: Span,
        state: &mut TestState,
    ) {
        let what = match expectation {
            Expectation::Status(_) | Expectation::GrpcStatus { .. } => "`expect status`",
            Expectation::Header(_) => "`expect header`",
            Expectation::Stream(_) | Expectation::WholeBody(_) => "a body expectation",
            Expectation::Metadata { trailer: false, .. } => "`expect metadata`",
            Expectation::Metadata { trailer: true, .. } => "`expect trailer`",
            Expectation::Message(_) => "`expect message`",
            Expectation::End => "`expect end`",
            Expectation::Close { .. } => "`expect close`",
            Expectation::Aggregate(_) => "this expectation",
            // Over named streams or branches, not the current request.
            Expectation::SameItems(name, _) => return self.group_name(name),
        };
        match expectation {
            Expectation::Stream(
                block @ StreamBlock {
                    from: Some(name), ..
                },
            ) => {
                return self.held_block(block, name, state);
            }
            Expectation::Aggregate(
                aggregate @ Aggregate {
                    group: Some(group), ..
                },
            ) => return self.grouped_aggregate(aggregate, group),
            _ => {}
        }
        // Captures are the test's, not a request's: after a `parallel`, a branch's captures
        // are checked with no request of the test's own before them.
        let on_captures = matches!(
            expectation,
            Expectation::Aggregate(Aggregate {
                kind: AggregateKind::Capture { .. } | AggregateKind::Distinct(_),
                ..
            })
        );
        if !on_captures || state.has_request {
            if !self.needs_request(state, span, what) {
                return;
            }
            state.sent = true;
            if !self.fits_exchange(expectation, span, state) {
                return;
            }
        }
        if let (Expectation::Stream(block), Some(index)) = (expectation, state.named) {
            self.read_as(index, block.kind.value, block.kind.span);
        }
        match expectation {
            Expectation::Status(_) | Expectation::SameItems(..) => {}
            Expectation::GrpcStatus { codes, message } => {
                for code in codes
                    .iter()
                    .filter(|code| !GRPC_CODES.contains(&code.value.as_str()))
                {
                    let mut diagnostic = Diagnostic::error(format!(
                        "unknown gRPC status `{}`",
                        code.value
                    ))
                    .at(&self.file, code.span, "not a gRPC status code");
                    diagnostic = match did_you_mean(&code.value, GRPC_CODES.iter().copied()) {
                        Some(s) => diagnostic.help(format!("did you mean `{s}`?")),
                        None => diagnostic.help(format!("the codes are {}", GRPC_CODES.join(", "))),
                    };
                    self.diagnostics.push(diagnostic);
                }
                if let Some(matcher) = message {
                    let captures = state.captures.clone();
                    self.text_vars(matcher, &captures);
                    if let Some(capture) = &matcher.capture {
                        state.captures.insert(capture.value.clone());
                    }
                }
                if let Some(grpc) = &mut state.grpc {
                    grpc.ended.get_or_insert(span);
                }
                state.body_read_at.get_or_insert(span);
            }
            Expectation::Metadata { trailer, header } => {
                self.header_vars(header, state);
                if *trailer && let Some(grpc) = &mut state.grpc {
                    grpc.ended.get_or_insert(span);
                }
            }
            Expectation::Close { codes, reason } => {
                self.expect_close(codes, reason.as_ref(), span, state);
            }
            Expectation::Message(line) if state.socket.is_some() => {
                self.messages_open(state, span);
                state.body_read_at.get_or_insert(span);
                self.pattern_vars(&line.pattern, state);
            }
            Expectation::End if state.socket.is_some() => {
                self.messages_open(state, span);
                state.body_read_at.get_or_insert(span);
                if let Some(socket) = &mut state.socket {
                    socket.ended = Some(span);
                }
            }
            Expectation::Stream(block) if block.kind.value == StreamKind::Socket => {
                self.messages_open(state, span);
                state.body_read_at.get_or_insert(span);
                state.stream = Some(StreamKind::Socket);
                self.empty_block(block);
                self.block(&block.entries, true, state);
                let ends = block.entries.iter().any(|e| {
                    matches!(
                        e.kind,
                        EntryKind::End | EntryKind::Dropped | EntryKind::Control(Control::Abort(_))
                    )
                });
                if ends && let Some(socket) = &mut state.socket {
                    socket.ended.get_or_insert(span);
                }
            }
            Expectation::Message(line) => {
                self.replies_open(state, span);
                state.body_read_at.get_or_insert(span);
                self.pattern_vars(&line.pattern, state);
            }
            Expectation::End => {
                self.replies_open(state, span);
                state.body_read_at.get_or_insert(span);
                if let Some(grpc) = &mut state.grpc {
                    grpc.ended = Some(span);
                }
            }
            Expectation::Stream(block) if block.kind.value == StreamKind::Messages => {
                self.replies_open(state, span);
                state.body_read_at.get_or_insert(span);
                state.stream = Some(StreamKind::Messages);
                self.block(&block.entries, true, state);
                let ends = block.entries.iter().any(|e| {
                    matches!(
                        e.kind,
                        EntryKind::End | EntryKind::Dropped | EntryKind::Control(Control::Abort(_))
                    )
                });
                if ends && let Some(grpc) = &mut state.grpc {
                    grpc.ended.get_or_insert(span);
                }
            }
            Expectation::Header(header) => self.header_vars(header, state),
            Expectation::Stream(block) => {
                self.body_once(span, state);
                state.stream = Some(block.kind.value);
                self.empty_block(block);
                self.block(&block.entries, true, state);
            }
            Expectation::WholeBody(body) => {
                self.body_once(span, state);
                self.pattern_vars(&body.pattern, state);
            }
            Expectation::Aggregate(aggregate) => {
                let counts_items = matches!(
                    aggregate.kind,
                    AggregateKind::Count(_) | AggregateKind::Gaps(_)
                ) && !aggregate.whole_test;
                let needs_stream = match &aggregate.kind {
                    AggregateKind::Ids(_) | AggregateKind::Retry(_) => {
                        Some("an `expect sse` block")
                    }
                    AggregateKind::Connections(_) | AggregateKind::ReconnectDelay(_) => {
                        Some("an `expect sse|ndjson|lines|chunks { … }` block")
                    }
                    _ => None,
                };
                let stream_fits = match &aggregate.kind {
                    AggregateKind::Ids(_) | AggregateKind::Retry(_) => {
                        state.stream == Some(StreamKind::Sse)
                    }
                    _ => state.stream.is_some(),
                };
                if let Some(block) = needs_stream
                    && !stream_fits
                {
                    let (what, field) = match aggregate.kind {
                        AggregateKind::Retry(_) => (
                            "`expect retry`",
                            "the reconnection time is an SSE `retry:` field",
                        ),
                        _ => ("`expect ids`", "ids are SSE `id:` fields"),
                    };
                    let diagnostic = match state.stream {
                        Some(kind) => Diagnostic::error(format!(
                            "{what} is about an SSE stream, but this response was read as `{}`",
                            kind.keyword()
                        ))
                        .at(&self.file, span, "the stream before it is not SSE")
                        .help(format!(
                            "{field}: read the response with `expect sse {{ … }}`"
                        )),
                        None => Diagnostic::error(
                            "this expectation is about a stream that was not read",
                        )
                        .at(&self.file, span, "no stream before it")
                        .help(format!("put {block} for this request before it")),
                    };
                    self.diagnostics.push(diagnostic);
                }
                if counts_items && state.body_read_at.is_none() {
                    let what = if matches!(aggregate.kind, AggregateKind::Count(_)) {
                        "`expect count` counts"
                    } else {
                        "`expect gaps` measures"
                    };
                    self.diagnostics.push(
                        Diagnostic::error(format!(
                            "{what} the items of a stream, but this response's body is not read before it"
                        ))
                        .at(&self.file, span, "no items to measure yet")
                        .help("put an `expect sse|ndjson|lines|chunks { … }` block for this request before it"),
                    );
                }
                // `bytes` and `duration` read a body nothing read yet, to measure all of it.
                if matches!(
                    aggregate.kind,
                    AggregateKind::Bytes(_) | AggregateKind::Duration(_)
                ) && state.body_read_at.is_none()
                {
                    state.body_read_at = Some(span);
                }
                if let AggregateKind::Distinct(name) = &aggregate.kind {
                    self.captured_before(name, state);
                }
                if let AggregateKind::Capture { name, check, .. } = &aggregate.kind {
                    self.captured_before(name, state);
                    match &check.kind {
                        ValueCheckKind::Matches(p) | ValueCheckKind::NotMatches(p) => {
                            self.json_vars(p, &state.captures)
                        }
                        ValueCheckKind::Contains(t) => self.template(t, &state.captures),
                        _ => {}
                    }
                }
            }
        }
    }

    /// HTTP expectations on an HTTP request, gRPC ones on a gRPC call: a mix-up says what fits.
    fn fits_exchange(&mut self, expectation: &Expectation, span: Span, state: &TestState) -> bool {
        if state.socket.is_some() {
            return self.fits_socket(expectation, span);
        }
        if matches!(expectation, Expectation::Close { .. }) {
            // Said by `expect_close`, with the rest of what it checks.
            return true;
        }
        let grpc = state.grpc.is_some();
        let (http_word, grpc_way) = match expectation {
            Expectation::Status(_) => (
                "a numeric `expect status`".to_string(),
                "gRPC statuses are names: `expect status OK`, `expect status NOT_FOUND`",
            ),
            Expectation::Header(_) => (
                "`expect header`".to_string(),
                "a gRPC call has `expect metadata name …` and `expect trailer name …`",
            ),
            Expectation::WholeBody(_) => (
                "`expect body`".to_string(),
                "a gRPC call's replies are read with `expect messages { … }` or `expect message { … }`",
            ),
            Expectation::Stream(block) if block.kind.value != StreamKind::Messages => (
                format!("`expect {}`", block.kind.value.keyword()),
                "a gRPC call's replies are read with `expect messages { … }`",
            ),
            Expectation::Aggregate(Aggregate {
                kind: AggregateKind::Connections(_) | AggregateKind::ReconnectDelay(_),
                ..
            }) => (
                "this expectation".to_string(),
                "a gRPC call is one stream on one connection; it does not reconnect",
            ),
            _ => {
                let grpc_word = match expectation {
                    Expectation::GrpcStatus { .. } => "a named status",
                    Expectation::Metadata { trailer: false, .. } => "`expect metadata`",
                    Expectation::Metadata { trailer: true, .. } => "`expect trailer`",
                    Expectation::Message(_) => "`expect message`",
                    Expectation::End => "`expect end`",
                    Expectation::Stream(_) => "`expect messages`",
                    _ => return true,
                };
                let http_way = match expectation {
                    Expectation::GrpcStatus { .. } => {
                        "an HTTP status is a number: `expect status 200`, `expect status 4xx`"
                    }
                    Expectation::Metadata { .. } => "an HTTP response has `expect header name …`",
                    Expectation::End => {
                        "an HTTP stream's end is `end` inside its `expect sse|ndjson|lines|chunks { … }` block"
                    }
                    _ => {
                        "an HTTP response's items are read with `expect sse|ndjson|lines|chunks { … }`"
                    }
                };
                if grpc {
                    return true;
                }
                if matches!(
                    expectation,
                    Expectation::Message(_) | Expectation::End | Expectation::Stream(_)
                ) {
                    return self.messages_only(state, span, grpc_word, http_way);
                }
                return self.grpc_only(state, span, grpc_word, http_way);
            }
        };
        if grpc {
            self.error(
                span,
                format!("{http_word} is for HTTP responses, and this is a gRPC call"),
                grpc_way,
            );
            return false;
        }
        true
    }

    fn body_once(&mut self, span: Span, state: &mut TestState) {
        if let Some(first) = state.body_read_at {
            let line = self.file.line_col(first.start).line;
            self.error(
                span,
                "the body of this response is already read",
                match first == span {
                    true => "the `repeat` around it reads it again; send a request inside the `repeat` to read again".to_string(),
                    false => format!(
                        "line {line} already read or dropped it; send another request to read again"
                    ),
                },
            );
        }
        state.body_read_at = Some(span);
    }

    /// `expect sse { }`: a block that passes whatever the stream sends.
    pub(super) fn empty_block(&mut self, block: &StreamBlock) {
        if block.entries.is_empty() {
            let diagnostic = Diagnostic::warning(EMPTY_BLOCK)
                .at(
                    &self.file,
                    block.block_span,
                    "passes whatever the stream sends",
                )
                .help("list the items you expect, or write `end` for a stream that must be empty");
            self.diagnostics.push(diagnostic);
        }
    }
}
