//! When an answer opens a stream: the status and content type a block needs before it reads a
//! body, on the first connection and on every reconnection — for `expect sse`, what an
//! EventSource needs — and the headers an `expect sse` request carries, as an EventSource's does.
//! A test that checks the status or the content type itself (`expect status`, `expect header
//! content-type`) decides instead: the block then reads what came.
//!
//! All of it is known from the test's steps before the request is sent.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderName, HeaderValue};

use crate::ast::{Expectation, StatusPattern, Step, StepKind, StreamKind};
use crate::outcome::Failure;
use crate::render::and_list;

/// The headers an EventSource's request carries, sent with an `expect sse` request unless the
/// spec sets them itself: name, name as messages write it, value.
const EVENTSOURCE_HEADERS: [(HeaderName, &str, &str); 2] = [
    (ACCEPT, "Accept", "text/event-stream"),
    (CACHE_CONTROL, "Cache-Control", "no-cache"),
];

/// What a test says about one request's answer, read from its steps.
#[derive(Debug, Clone, Default)]
pub struct Opening {
    /// The kind of the block that reads the body, when a stream block does: the request's first
    /// expectation that reads the body.
    stream: Option<StreamKind>,
    /// The alternatives of each `expect status` line of the request.
    statuses: Vec<Vec<StatusPattern>>,
    /// The request has an `expect header content-type …`.
    checks_content_type: bool,
}

/// What a reconnection's status does to the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconnection {
    /// The new connection is read on.
    Opens,
    /// `204 No Content`: the server says the stream is over, as an EventSource hears it.
    Ends,
    /// The connection fails, and the stream with it: why, after the status.
    Fails(&'static str),
}

/// A content type the block does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongContentType {
    /// The types the block reads, the usual one first.
    pub accepted: &'static [&'static str],
    /// What the server sent: `content type `…``, or `no content type`.
    pub found: String,
}

impl WrongContentType {
    /// The notes of a failure on it: the types the block reads, when there are several, and how
    /// to read the body anyway.
    pub fn explain(&self, stream: StreamKind, failure: Failure) -> Failure {
        let failure = if self.accepted.len() > 1 {
            let types: Vec<String> = self.accepted.iter().map(|t| format!("`{t}`")).collect();
            failure.note(format!(
                "an {} block reads {}",
                stream.keyword(),
                and_list(&types)
            ))
        } else {
            failure
        };
        failure.help_note(
            "if this content type is what the server should send, check it with `expect header content-type …`: the block then reads the body whatever its type",
        )
    }
}

impl Opening {
    /// What the steps of the request at `steps[index]` say about its answer: its own steps, up
    /// to the next request or call.
    /// A named request (`as NAME`) that no block right after it reads is read as `framing`
    /// says (the first block that holds it later).
    pub fn for_request(
        steps: &[Step],
        index: usize,
        framing: &std::collections::HashMap<String, StreamKind>,
    ) -> Opening {
        let own = steps[index + 1..].iter().take_while(|step| {
            !matches!(
                step.kind,
                StepKind::Request(_)
                    | StepKind::Grpc(_)
                    | StepKind::Repeat(_)
                    | StepKind::Parallel(_)
            )
        });
        let mut opening = Opening::default();
        if let StepKind::Request(crate::ast::Request {
            name: Some(name), ..
        }) = &steps[index].kind
        {
            opening.stream = framing.get(&name.value).copied();
        }
        let mut body_read = false;
        for step in own {
            let StepKind::Expect(expectation) = &step.kind else {
                continue;
            };
            match expectation {
                Expectation::Status(alternatives) => opening
                    .statuses
                    .push(alternatives.iter().map(|a| a.value).collect()),
                Expectation::Header(header) => {
                    opening.checks_content_type |=
                        header.name.value.eq_ignore_ascii_case("content-type");
                }
                Expectation::Stream(block) if !body_read && block.from.is_none() => {
                    opening.stream = Some(block.kind.value);
                    body_read = true;
                }
                Expectation::WholeBody(_) => body_read = true,
                _ => {}
            }
        }
        opening
    }

    /// The spec checks the status itself, so any status lets a block read the body.
    pub fn status_expected(&self) -> bool {
        !self.statuses.is_empty()
    }

    /// The headers an EventSource sends that `headers` (the spec's) do not set, for an
    /// `expect sse` request; none for any other.
    pub fn eventsource_headers(
        &self,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Vec<(HeaderName, HeaderValue)> {
        if self.stream != Some(StreamKind::Sse) {
            return Vec::new();
        }
        EVENTSOURCE_HEADERS
            .iter()
            .filter(|(name, ..)| !headers.iter().any(|(set, _)| set == name))
            .map(|(name, _, value)| (name.clone(), HeaderValue::from_static(value)))
            .collect()
    }

    /// Whether a block (`stream`, or a whole body for `None`) reads the body of a first answer
    /// with `status`: with `expect status`, any; for `sse`, 200 only; else any `2xx`.
    pub fn first_status_reads(&self, stream: Option<StreamKind>, status: StatusCode) -> bool {
        self.status_expected() || status_opens(stream, status)
    }

    /// The kind of the block that reads the body as a stream, when one does and will read this
    /// first answer: its status and content type let the block read it, and every
    /// `expect status` accepts the status (a failing one shows the start of the body instead).
    /// Such a body may be read ahead before the block, by a `wait`.
    pub fn stream_read_from(
        &self,
        status: StatusCode,
        content_type: Option<&str>,
    ) -> Option<StreamKind> {
        let stream = self.stream?;
        let read = self.first_status_reads(Some(stream), status)
            && self.reconnection(stream, status) == Reconnection::Opens
            && self.content_type(stream, content_type).is_ok();
        read.then_some(stream)
    }

    /// What a reconnection answered with `status` does. `204` ends the stream; with
    /// `expect status`, a status that every such line accepts opens the connection; without,
    /// `200` opens an `sse` stream and any `2xx` the others. Any other status fails it.
    pub fn reconnection(&self, stream: StreamKind, status: StatusCode) -> Reconnection {
        if status == StatusCode::NO_CONTENT {
            return Reconnection::Ends;
        }
        if self.status_expected() {
            let accepted = self.statuses.iter().all(|alternatives| {
                alternatives
                    .iter()
                    .any(|pattern| pattern.matches(status.as_u16()))
            });
            return if accepted {
                Reconnection::Opens
            } else {
                Reconnection::Fails("which the test's `expect status` does not accept")
            };
        }
        if status_opens(Some(stream), status) {
            Reconnection::Opens
        } else {
            Reconnection::Fails("an EventSource does not reconnect after that")
        }
    }

    /// Whether a `stream` block reads a body of this content type (on any connection): with
    /// `expect header content-type`, any; else one of the types of its kind.
    pub fn content_type(
        &self,
        stream: StreamKind,
        content_type: Option<&str>,
    ) -> Result<(), WrongContentType> {
        let Some(accepted) = accepted_types(stream) else {
            return Ok(());
        };
        if self.checks_content_type {
            return Ok(());
        }
        let found = match content_type {
            Some(text) if !text.is_empty() => format!("content type `{text}`"),
            _ => "no content type".to_string(),
        };
        let media_type = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if accepted.contains(&media_type.as_str()) {
            Ok(())
        } else {
            Err(WrongContentType { accepted, found })
        }
    }
}

/// Whether `status` opens a stream of this kind (or a whole body, for `None`) when the spec does
/// not check the status: an EventSource takes 200 only.
fn status_opens(stream: Option<StreamKind>, status: StatusCode) -> bool {
    match stream {
        Some(StreamKind::Sse) => status == StatusCode::OK,
        _ => status.is_success(),
    }
}

/// The content types a block of this kind reads, the usual one first; `None` for any.
fn accepted_types(stream: StreamKind) -> Option<&'static [&'static str]> {
    match stream {
        StreamKind::Sse => Some(&["text/event-stream"]),
        // What servers send NDJSON as: its own names, and the generic JSON and text types.
        StreamKind::Ndjson => Some(&[
            "application/x-ndjson",
            "application/ndjson",
            "application/jsonl",
            "application/x-jsonlines",
            "application/json-lines",
            "application/json",
            "text/plain",
        ]),
        StreamKind::Lines | StreamKind::Chunks | StreamKind::Messages | StreamKind::Socket => None,
    }
}

/// For an answer that refuses the request (`403`, `406`): a help line naming the EventSource
/// headers streamspec added to it (`added`), and how to send others.
pub fn refused_headers_help(
    status: StatusCode,
    added: &[(HeaderName, HeaderValue)],
) -> Option<String> {
    if !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_ACCEPTABLE) {
        return None;
    }
    let added: Vec<_> = EVENTSOURCE_HEADERS
        .iter()
        .filter(|(name, ..)| added.iter().any(|(sent, _)| sent == name))
        .collect();
    let sent: Vec<String> = added
        .iter()
        .map(|(_, shown, value)| format!("`{shown}: {value}`"))
        .collect();
    let set: Vec<String> = added
        .iter()
        .map(|(name, ..)| format!("`header {}: …`", name.as_str()))
        .collect();
    let (value, it) = match added.len() {
        0 => return None,
        1 => ("another value", "it"),
        _ => ("other values", "them"),
    };
    Some(format!(
        "streamspec sent {}, as an EventSource does; to send {value}, set {it} with {}",
        and_list(&sent),
        and_list(&set)
    ))
}
