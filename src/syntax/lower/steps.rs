//! Lowering tests and their steps: requests, headers, bodies, timeouts, client actions and gRPC
//! call options.

use pest::iterators::Pair;

use super::{Lowerer, inner, span};
use crate::ast::*;
use crate::source::Span;
use crate::syntax::grammar::Rule;

impl Lowerer {
    pub(super) fn test(&mut self, pair: Pair<'_, Rule>) -> Test {
        let span = span(&pair);
        self.socket_latest = false;
        self.sockets.clear();
        let mut test = Test {
            name: Spanned::new(String::new(), span),
            tags: Vec::new(),
            steps: Vec::new(),
            span,
        };
        for part in inner(pair) {
            match part.as_rule() {
                Rule::string => {
                    let (text, span) = self.string(part);
                    test.name = Spanned::new(text, span);
                }
                Rule::tag => {
                    if let Some(ident) = part.into_inner().next() {
                        test.tags.push(self.ident(ident));
                    }
                }
                Rule::step => {
                    if let Some(step) = self.step(part) {
                        test.steps.push(step);
                    }
                }
                _ => {}
            }
        }
        test
    }

    pub(super) fn step(&mut self, pair: Pair<'_, Rule>) -> Option<Step> {
        let span = span(&pair);
        let part = inner(pair).next()?;
        let kind = match part.as_rule() {
            Rule::request => {
                let mut parts = inner(part);
                let method = parts.next()?;
                let url = parts.next()?;
                let name = self.stream_name(parts.next());
                self.socket_latest = false;
                StepKind::Request(Request {
                    method: Spanned::new(method.as_str().to_string(), self::span(&method)),
                    url: self.raw_template(url),
                    name,
                })
            }
            Rule::header_step => {
                let mut parts = inner(part);
                let name = parts.next()?;
                let value = parts.next()?;
                StepKind::Header(HeaderStep {
                    name: Spanned::new(name.as_str().to_string(), self::span(&name)),
                    value: self.header_value(value),
                })
            }
            Rule::body_step => StepKind::Body(self.body(inner(part).next()?)?),
            Rule::timeout_step => StepKind::Timeout(self.duration(inner(part).next()?)),
            Rule::threshold_step => {
                let text = inner(part).next()?;
                StepKind::Threshold(Spanned::new(
                    crate::load::thresholds::Threshold::canonical(text.as_str()),
                    self::span(&text),
                ))
            }
            Rule::expect_step => StepKind::Expect(self.expectation(inner(part).next()?)?),
            Rule::control_step => StepKind::Control(self.control(part)?),
            Rule::grpc_step => {
                let mut parts = inner(part);
                let target = parts.next()?;
                let method = parts.next()?;
                let name = self.stream_name(parts.next());
                self.socket_latest = false;
                StepKind::Grpc(GrpcCall {
                    target: self.raw_template(target),
                    method: Spanned::new(method.as_str().to_string(), self::span(&method)),
                    name,
                })
            }
            Rule::repeat_step => {
                let mut parts = inner(part).peekable();
                let count = self.count(parts.next()?);
                let _ = parts.next_if(|p| p.as_rule() == Rule::kw_times);
                let index = self.index_name(&mut parts);
                let block = parts.next()?;
                StepKind::Repeat(RepeatSteps {
                    count,
                    index,
                    block_span: self::span(&block),
                    steps: self.steps(block),
                })
            }
            Rule::parallel_step => {
                let block_span = self::span(&part);
                let branches = inner(part)
                    .filter(|p| p.as_rule() == Rule::branch)
                    .filter_map(|branch| self.branch(branch))
                    .collect();
                StepKind::Parallel(Parallel {
                    branches,
                    block_span,
                })
            }
            Rule::barrier_step => StepKind::Barrier(self.ident(inner(part).last()?)),
            Rule::ws_step => {
                let mut parts = inner(part);
                let url = parts.next()?;
                let name = self.stream_name(parts.next());
                self.socket_latest = true;
                if let Some(name) = &name {
                    self.sockets.insert(name.value.clone());
                }
                StepKind::Ws(WsRequest {
                    url: self.raw_template(url),
                    name,
                })
            }
            Rule::protocol_step => StepKind::Protocol(
                inner(part)
                    .map(|name| Spanned::new(name.as_str().to_string(), self::span(&name)))
                    .collect(),
            ),
            Rule::grpc_option => StepKind::GrpcOption(self.grpc_option(inner(part).next()?)?),
            _ => return None,
        };
        Some(Step { kind, span })
    }

    /// `as NAME` after a request or a call.
    fn stream_name(&mut self, pair: Option<Pair<'_, Rule>>) -> Option<Ident> {
        let name = inner(pair?).last()?;
        Some(self.ident(name))
    }

    /// `as i` after a `repeat` or a `branch`, when there is one.
    fn index_name<'i>(
        &mut self,
        parts: &mut std::iter::Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
    ) -> Option<Ident> {
        let index = parts.next_if(|p| p.as_rule() == Rule::index_name)?;
        self.stream_name(Some(index))
    }

    /// A `repeat` or `branch` count, as written.
    fn count(&mut self, pair: Pair<'_, Rule>) -> Spanned<u64> {
        let span = self::span(&pair);
        match pair.as_str().parse::<u64>() {
            Ok(count) => Spanned::new(count, span),
            Err(_) => {
                self.error(span, "this count is too large", "too large");
                Spanned::new(u64::MAX, span)
            }
        }
    }

    /// The steps between the braces of a `repeat` or a `branch`.
    fn steps(&mut self, block: Pair<'_, Rule>) -> Vec<Step> {
        inner(block)
            .filter(|p| p.as_rule() == Rule::step)
            .filter_map(|step| self.step(step))
            .collect()
    }

    fn branch(&mut self, pair: Pair<'_, Rule>) -> Option<Branch> {
        let span = self::span(&pair);
        let mut parts = inner(pair).peekable();
        let name = self.ident(parts.next()?);
        let times = parts
            .next_if(|p| p.as_rule() == Rule::branch_times)
            .and_then(|times| inner(times).next())
            .map(|count| self.count(count));
        let index = self.index_name(&mut parts);
        let block = parts.next()?;
        Some(Branch {
            name,
            times,
            index,
            block_span: self::span(&block),
            steps: self.steps(block),
            span,
        })
    }

    /// A quoted string, or the raw text of a bare value (headers, `authority`), as a template.
    pub(super) fn header_value(&mut self, pair: Pair<'_, Rule>) -> Template {
        match pair.into_inner().next() {
            Some(value) if value.as_rule() == Rule::string => self.template(value),
            Some(value) => self.raw_template(value),
            None => Template {
                text: String::new(),
                span: Span::default(),
                text_offset: 0,
            },
        }
    }

    pub(super) fn body(&mut self, pair: Pair<'_, Rule>) -> Option<Body> {
        let rule = pair.as_rule();
        let value = inner(pair).next()?;
        Some(match rule {
            Rule::body_json => {
                let pattern = self.json_pattern(value);
                self.require_literal(&pattern, "a request body");
                Body::Json(pattern)
            }
            Rule::body_text if value.as_rule() == Rule::repeated => {
                let (text, times) = self.repeated(value)?;
                Body::Text {
                    text,
                    times: Some(times),
                }
            }
            Rule::body_text => Body::Text {
                text: self.template(value),
                times: None,
            },
            _ => Body::File(self.template(value)),
        })
    }

    /// Request bodies and `send` messages are data, not patterns: matchers make no sense there.
    pub(super) fn require_literal(&mut self, pattern: &JsonPattern, what: &str) {
        if let Some(capture) = &pattern.capture {
            self.error(
                capture.span,
                format!("a capture cannot appear in {what}"),
                "captures belong in patterns",
            );
        }
        match &pattern.kind {
            JsonPatternKind::Object { members, exact } => {
                if *exact {
                    self.error(
                        pattern.span,
                        format!("`exact` cannot appear in {what}"),
                        "it is JSON data",
                    );
                }
                for (_, member) in members {
                    self.require_literal(member, what);
                }
            }
            JsonPatternKind::Array { items, open } => {
                if *open {
                    self.error(
                        pattern.span,
                        format!("`...` cannot appear in {what}"),
                        "it is JSON data",
                    );
                }
                for item in items {
                    self.require_literal(item, what);
                }
            }
            JsonPatternKind::Null
            | JsonPatternKind::Bool(_)
            | JsonPatternKind::Number(_)
            | JsonPatternKind::String(_)
            | JsonPatternKind::Repeated { .. }
            | JsonPatternKind::Var(_)
            | JsonPatternKind::Literal(_) => {}
            _ => self.error(
                pattern.span,
                format!("a matcher cannot appear in {what}"),
                "write a JSON value here",
            ),
        }
    }

    /// A gRPC request message: `{ … }` (data, not a pattern) or `file "message.json"`.
    pub(super) fn message(&mut self, pair: Pair<'_, Rule>, what: &str) -> Message {
        if pair.as_rule() == Rule::message_file
            && let Some(path) = inner(pair.clone()).next()
        {
            return Message::File(self.template(path));
        }
        let pattern = self.json_pattern(pair);
        self.require_literal(&pattern, what);
        Message::Json(pattern)
    }

    /// What `send` sends: a gRPC message, or (WebSocket) text, JSON, binary or a ping.
    fn sent(&mut self, pair: Pair<'_, Rule>) -> Option<Message> {
        Some(match pair.as_rule() {
            Rule::send_ping => Message::Ping(inner(pair).next().map(|p| self.template(p))),
            Rule::send_text => {
                let value = inner(pair).next()?;
                let value_span = span(&value);
                let pattern = self.json_pattern(value);
                if !matches!(
                    pattern.kind,
                    JsonPatternKind::String(_) | JsonPatternKind::Repeated { .. }
                ) {
                    self.error(value_span, "`send text` takes a string", "not a string");
                }
                self.require_literal(&pattern, "a message");
                Message::Json(pattern)
            }
            Rule::send_json => {
                let pattern = self.json_pattern(inner(pair).next()?);
                self.require_literal(&pattern, "a message");
                Message::JsonText(pattern)
            }
            Rule::send_binary => {
                let source = inner(pair).next()?;
                let rule = source.as_rule();
                let text = self.template(inner(source).next()?);
                Message::Binary(match rule {
                    Rule::binary_hex => BinarySource::Hex(text),
                    Rule::binary_base64 => BinarySource::Base64(text),
                    _ => BinarySource::File(text),
                })
            }
            _ => self.message(pair, "a message"),
        })
    }

    pub(super) fn control(&mut self, pair: Pair<'_, Rule>) -> Option<Control> {
        let part = inner(pair).next()?;
        Some(match part.as_rule() {
            Rule::abort_step => Control::Abort(match inner(part).next() {
                None => None,
                Some(when) => {
                    let condition = inner(when).next()?;
                    if condition.as_rule() == Rule::abort_items {
                        let condition_span = span(&condition);
                        let count = self.integer(inner(condition).next()?)?;
                        if count == 0 {
                            self.error(
                                condition_span,
                                "`abort after 0 items` aborts before anything",
                                "at least 1",
                            );
                        }
                        Some(AbortWhen::Items(count))
                    } else {
                        Some(AbortWhen::After(self.duration(condition).value))
                    }
                }
            }),
            Rule::wait_step => Control::Wait(self.duration(inner(part).next()?).value),
            Rule::pace_step => Control::Pace(self.duration(inner(part).next()?).value),
            Rule::disconnect_step => Control::Disconnect,
            Rule::reconnect_step => {
                let mut options = ReconnectOptions::default();
                for option in inner(part) {
                    let Some(option) = inner(option).next() else {
                        continue;
                    };
                    let is_header = option.as_rule() == Rule::reconnect_header;
                    let mut parts = inner(option);
                    let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let name_text = if is_header {
                        name.as_str().to_ascii_lowercase()
                    } else {
                        name.as_str().to_string()
                    };
                    let name = Spanned::new(name_text, span(&name));
                    let value = match value.into_inner().next() {
                        Some(v) if v.as_rule() == Rule::string => self.template(v),
                        Some(v) => self.raw_template(v),
                        None => continue,
                    };
                    if is_header {
                        options.headers.push((name, value));
                    } else {
                        options.query.push((name, value));
                    }
                }
                Control::Reconnect(options)
            }
            Rule::send_step => Control::Send(self.sent(inner(part).next()?)?),
            _ => {
                let mut parts = inner(part);
                match parts.next() {
                    None => Control::Close(None),
                    Some(code) => {
                        let code_span = span(&code);
                        let value = self.integer(code)?;
                        let reason = parts.next().map(|reason| self.template(reason));
                        Control::Close(Some(CloseFrameSpec {
                            code: Spanned::new(value, code_span),
                            reason,
                        }))
                    }
                }
            }
        })
    }
}
