//! Steps of a test: requests and their options, gRPC calls, and client actions.

// Nodes are built once per spec file; the size difference between variants costs nothing.
#![allow(clippy::large_enum_variant)]

use super::*;

#[derive(Debug, Clone)]
pub enum StepKind {
    Request(Request),
    Header(HeaderStep),
    Body(Body),
    Timeout(Spanned<Duration>),
    /// `threshold p99 gap < 100ms`: in a load, a bound on this test's figures; a run ignores it.
    Threshold(Spanned<String>),
    Expect(Expectation),
    Control(Control),
    /// `grpc {{target}} package.Service/Method`
    Grpc(GrpcCall),
    /// What a gRPC call sends and how.
    GrpcOption(GrpcOption),
    /// `repeat 5 as i { … }`: the steps run this many times, one after another.
    Repeat(RepeatSteps),
    /// `parallel { branch … }`: branches that run at the same time, joined at the `}`.
    Parallel(Parallel),
    /// `barrier NAME`: inside a branch, wait until every branch that has this barrier is here.
    Barrier(Ident),
    /// `ws {{base}}/ws/echo`: a WebSocket.
    Ws(WsRequest),
    /// `protocol a, b`: the subprotocols a WebSocket asks for.
    Protocol(Vec<Spanned<String>>),
}

/// `ws {{base}}/ws/chat as room`
#[derive(Debug, Clone)]
pub struct WsRequest {
    /// `ws://`, `wss://`, or `http://` / `https://` read as those.
    pub url: Template,
    /// `as NAME`: the socket stays open and is read in the background while later steps run.
    pub name: Option<Ident>,
}

/// The most times `repeat` may run its steps, and the most branch instances one `parallel` may
/// start: beyond these a spec is refused at check time.
pub const MAX_REPEAT: u64 = 100_000;
pub const MAX_BRANCHES: u64 = 10_000;

/// `repeat 5 as i { … }`
#[derive(Debug, Clone)]
pub struct RepeatSteps {
    pub count: Spanned<u64>,
    /// `as i`: the iteration's number, from 1.
    pub index: Option<Ident>,
    pub steps: Vec<Step>,
    /// The braces and everything between them.
    pub block_span: Span,
}

/// `parallel { branch a { … } branch b 5 times as i { … } }`
#[derive(Debug, Clone)]
pub struct Parallel {
    pub branches: Vec<Branch>,
    pub block_span: Span,
}

/// One sequence of steps of a `parallel`, run `times` times at once when it says so.
#[derive(Debug, Clone)]
pub struct Branch {
    pub name: Ident,
    pub times: Option<Spanned<u64>>,
    /// `as i`: the instance's number, from 1.
    pub index: Option<Ident>,
    pub steps: Vec<Step>,
    pub block_span: Span,
    pub span: Span,
}

/// Calls `visit` with every step in document order, with the sequence it stands in and its
/// index there, going into the bodies of `repeat`s and of `parallel` branches as they come.
pub fn for_each_step<'s>(steps: &'s [Step], visit: &mut impl FnMut(&'s [Step], usize)) {
    for (index, step) in steps.iter().enumerate() {
        visit(steps, index);
        match &step.kind {
            StepKind::Repeat(repeat) => for_each_step(&repeat.steps, visit),
            StepKind::Parallel(parallel) => {
                for branch in &parallel.branches {
                    for_each_step(&branch.steps, visit);
                }
            }
            _ => {}
        }
    }
}

impl Branch {
    pub fn instances(&self) -> u64 {
        self.times.as_ref().map_or(1, |times| times.value)
    }
}

#[derive(Debug, Clone)]
pub struct GrpcCall {
    /// `http://` (cleartext HTTP/2) or `https://`.
    pub target: Template,
    /// `package.Service/Method`
    pub method: Spanned<String>,
    /// `as NAME`: the call stays open and is read in the background while later steps run.
    pub name: Option<Ident>,
}

#[derive(Debug, Clone)]
pub enum GrpcOption {
    /// `metadata name: value`: request metadata.
    Metadata(HeaderStep),
    /// `deadline 2s`: sent as `grpc-timeout`; the server ends the call with DEADLINE_EXCEEDED.
    Deadline(Spanned<Duration>),
    /// `message { … }` or `message file "…"`: a request message, sent when the call starts.
    Message(Message),
    /// `authority name`: the `:authority` the call names.
    Authority(Template),
    /// `insecure`: do not verify the server's TLS certificate.
    Insecure,
    /// `proto "file.proto"`: the schema, compiled from this file, when the server has no reflection.
    Proto(Template),
    /// `import "dir"`: where `proto` files' imports are found.
    Import(Template),
    /// `descriptor "set.pb"`: the schema as a compiled descriptor set.
    Descriptor(Template),
}

/// `GET {{base}}/path`
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Spanned<String>,
    pub url: Template,
    /// `as NAME`: the stream stays open and is read in the background while later steps run.
    pub name: Option<Ident>,
}

/// `header name: value` on a request.
#[derive(Debug, Clone)]
pub struct HeaderStep {
    pub name: Spanned<String>,
    pub value: Template,
}

/// A message a test sends: a gRPC request message (written in the spec, or read from a file
/// of JSON), or a WebSocket message.
#[derive(Debug, Clone)]
pub enum Message {
    /// `{ … }`: only literals, `{{vars}}` and repeated strings (no matchers). On a WebSocket, a
    /// string is sent as its text, anything else as JSON text.
    Json(JsonPattern),
    /// `file "message.json"`: a path relative to the spec file (on a WebSocket, its text).
    File(Template),
    /// WebSocket: `json "…"`: the value as JSON text, a string with its quotes.
    JsonText(JsonPattern),
    /// WebSocket: `binary hex "…"`, `binary base64 "…"`, `binary file "…"`.
    Binary(BinarySource),
    /// WebSocket: `ping "payload"`.
    Ping(Option<Template>),
}

/// Where a binary message's bytes come from.
#[derive(Debug, Clone)]
pub enum BinarySource {
    Hex(Template),
    Base64(Template),
    File(Template),
}

impl Message {
    pub fn span(&self) -> Span {
        match self {
            Message::Json(pattern) | Message::JsonText(pattern) => pattern.span,
            Message::File(path)
            | Message::Binary(BinarySource::Hex(path))
            | Message::Binary(BinarySource::Base64(path))
            | Message::Binary(BinarySource::File(path)) => path.span,
            Message::Ping(payload) => payload.as_ref().map(|p| p.span).unwrap_or_default(),
        }
    }

    /// Whether only a WebSocket can send this.
    pub fn is_websocket_only(&self) -> bool {
        matches!(
            self,
            Message::JsonText(_) | Message::Binary(_) | Message::Ping(_)
        )
    }
}

/// `close 4000 "reason"`: the close frame a WebSocket client sends.
#[derive(Debug, Clone)]
pub struct CloseFrameSpec {
    pub code: Spanned<u64>,
    pub reason: Option<Template>,
}

#[derive(Debug, Clone)]
pub enum Body {
    /// A JSON literal; only literals and `{{vars}}` (no matchers) are allowed.
    Json(JsonPattern),
    /// `"…"`, or `"…" * N`: the text repeated `times` times.
    Text {
        text: Template,
        times: Option<Spanned<u64>>,
    },
    /// A path relative to the spec file.
    File(Template),
}

/// Client actions between items. `send`, `close` and `grpc` are reserved for gRPC and rejected
/// by the checker.
#[derive(Debug, Clone)]
pub enum Control {
    /// `abort`: drop the connection here. With a condition (`abort after 3 items`, `abort after
    /// 500ms`) it is a rule for the whole block rather than a point in it.
    Abort(Option<AbortWhen>),
    Wait(Duration),
    Pace(Duration),
    /// Drop the connection on purpose, to `reconnect` later (a page refresh).
    Disconnect,
    /// Open the stream again; for SSE, as an EventSource does, with `Last-Event-ID`.
    Reconnect(ReconnectOptions),
    /// gRPC: send a request message on the call's request stream.
    Send(Message),
    /// gRPC: half-close the request stream. WebSocket: send a close frame (with a code and
    /// reason when given) and read on to the server's.
    Close(Option<CloseFrameSpec>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AbortWhen {
    /// Once this many items of the block have arrived.
    Items(u64),
    /// Once this long has passed since the request.
    After(Duration),
}

/// What a `reconnect` changes in the request: headers to set and query parameters to set.
#[derive(Debug, Clone, Default)]
pub struct ReconnectOptions {
    pub headers: Vec<(Spanned<String>, Template)>,
    pub query: Vec<(Spanned<String>, Template)>,
}

impl Control {
    pub fn keyword(&self) -> &'static str {
        match self {
            Control::Abort(_) => "abort",
            Control::Wait(_) => "wait",
            Control::Pace(_) => "pace",
            Control::Disconnect => "disconnect",
            Control::Reconnect(_) => "reconnect",
            Control::Send(_) => "send",
            Control::Close(_) => "close",
        }
    }
}
