//! Static checks after parsing: what is wrong with a spec before any request is sent. Collects
//! every problem (undefined variables, steps out of order, duplicate test names, entries after
//! `end`, HTTP steps on a gRPC call and the other way round) rather than stopping at the first.

use std::collections::HashSet;
use std::sync::Arc;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::interp::vars::BUILTIN_VARS;
use crate::interpolate::Context;
use crate::source::{SourceFile, Span};
use flow::Flow;
use vars::file_captures;

mod block;
mod concurrency;
mod expectations;
mod flow;
mod socket;
mod streams;
#[cfg(test)]
mod tests;
mod vars;

/// The warning for `expect sse { }`, which `--update` does not show: there an empty block is
/// how a stream is recorded.
pub const EMPTY_BLOCK: &str = "this block expects nothing";

/// Checks one parsed spec. `known_vars` are the variables the run provides (config, `--var`,
/// environment); the file's own `let`s and captures are added here.
pub fn check(spec: &Spec, known_vars: &HashSet<String>) -> Vec<Diagnostic> {
    check_with(spec, known_vars, false)
}

/// The names a test captures (`-> name`), those of its `repeat`s and branches included: for
/// `load --tokens NAME`, which counts tokens from one of them.
pub fn test_captures(test: &Test) -> Vec<&Ident> {
    let mut captures = Vec::new();
    vars::steps_captures(&test.steps, &mut captures);
    captures
}

/// Whether a block's entries capture `name` (`-> name`), repetitions and groups included.
pub fn block_captures_name(entries: &[Entry], name: &str) -> bool {
    let mut captures = Vec::new();
    vars::block_captures(entries, &mut captures);
    captures.iter().any(|capture| capture.value == name)
}

/// Checks one parsed spec as [`check`] does, but with every variable taken as set: for `fmt`,
/// which runs without the variables a run is given (`--var`, `--secret`, the environment).
pub fn check_any_vars(spec: &Spec) -> Vec<Diagnostic> {
    check_with(spec, &HashSet::new(), true)
}

fn check_with(spec: &Spec, known_vars: &HashSet<String>, any_var: bool) -> Vec<Diagnostic> {
    let mut known = known_vars.clone();
    known.extend(BUILTIN_VARS.iter().map(|name| name.to_string()));
    let mut checker = Checker {
        file: Arc::clone(&spec.file),
        diagnostics: Vec::new(),
        known,
        any_var,
        captured_somewhere: file_captures(spec)
            .into_iter()
            .rev()
            .map(|name| (name.value.clone(), name.span))
            .collect(),
        flow: Flow::default(),
    };
    checker.spec(spec);
    checker
        .diagnostics
        .sort_by_key(|d| d.label.as_ref().map(|l| l.span.start));
    checker.diagnostics
}

struct Checker {
    file: Arc<SourceFile>,
    diagnostics: Vec<Diagnostic>,
    known: HashSet<String>,
    /// Every variable counts as set (`fmt`).
    any_var: bool,
    /// Where each capture of the file is first set, to explain a use before it.
    captured_somewhere: std::collections::HashMap<String, Span>,
    /// Where the checker stands in the current test's `repeat`s and branches, and the streams
    /// it has opened.
    flow: Flow,
}

/// What the test has done so far, to know which steps may come next.
#[derive(Default)]
struct TestState {
    has_request: bool,
    /// The request's body was already read by this expectation.
    body_read_at: Option<Span>,
    /// The request was sent, by the first expectation (or `abort`) after it.
    sent: bool,
    has_body: Option<Span>,
    timeout_at: Option<Span>,
    captures: HashSet<String>,
    /// The kind of the stream block that read the current request's body, if one did.
    stream: Option<StreamKind>,
    /// The current exchange is a gRPC call (`grpc …`), not an HTTP request.
    grpc: Option<GrpcState>,
    /// The current exchange is a WebSocket (`ws …`).
    socket: Option<socket::SocketState>,
    /// The current exchange is a named stream (`as NAME`): its index in `Flow::streams`.
    named: Option<usize>,
}

impl TestState {
    /// A request, call or socket starts: nothing of the one before carries over to it.
    fn new_exchange(&mut self, grpc: Option<GrpcState>, socket: Option<socket::SocketState>) {
        self.has_request = true;
        self.body_read_at = None;
        self.has_body = None;
        self.sent = false;
        self.stream = None;
        self.grpc = grpc;
        self.socket = socket;
    }
}

/// What a test has done with its current gRPC call.
#[derive(Default)]
struct GrpcState {
    /// Where the request stream was half-closed (`close`).
    closed: Option<Span>,
    /// Where the replies were read to their end (`expect end`, `expect status`, a block's `end`).
    ended: Option<Span>,
    deadline: Option<Span>,
    authority: Option<Span>,
    schema: Option<Span>,
}

/// The gRPC status codes, by the names the gRPC spec gives them.
pub const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

impl Checker {
    fn error(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        let diagnostic = Diagnostic::error(message).at(&self.file, span, label);
        self.diagnostics.push(diagnostic);
    }

    fn spec(&mut self, spec: &Spec) {
        let mut seen_lets: Vec<&Ident> = Vec::new();
        for binding in &spec.lets {
            if seen_lets.iter().any(|l| l.value == binding.name.value) {
                self.error(
                    binding.name.span,
                    format!(
                        "variable `{}` is set twice in this file",
                        binding.name.value
                    ),
                    "set again here",
                );
            }
            seen_lets.push(&binding.name);
            self.template_text(
                &binding.value.value,
                binding.value.span.start + 1,
                &HashSet::new(),
            );
            self.known.insert(binding.name.value.clone());
        }
        if spec.tests.is_empty() {
            self.diagnostics.push(
                Diagnostic::error("this file has no tests")
                    .at(&self.file, crate::source::Span::new(0, 0), "")
                    .help("a test looks like `test \"name\" { GET http://… }`"),
            );
        }
        let mut names: Vec<&Spanned<String>> = Vec::new();
        for test in &spec.tests {
            if let Some(first) = names.iter().find(|n| n.value == test.name.value) {
                let line = self.file.line_col(first.span.start).line;
                self.error(
                    test.name.span,
                    format!("test name `{}` is used twice in this file", test.name.value),
                    format!("also the name of the test on line {line}"),
                );
            }
            names.push(&test.name);
            self.test(test);
        }
    }

    fn test(&mut self, test: &Test) {
        let mut state = TestState::default();
        self.flow = Flow::for_test(test);
        if test.name.value.trim().is_empty() {
            self.error(test.name.span, "a test needs a name", "empty name");
        }
        if !flow::sends_request(&test.steps) {
            self.error(
                test.name.span,
                "this test sends no request",
                "add a request such as `GET http://…`, `ws ws://…` or `grpc http://… package.Service/Method`",
            );
        }
        self.steps(&test.steps, &mut state);
        self.unheld_streams();
    }

    fn steps(&mut self, steps: &[Step], state: &mut TestState) {
        for step in steps {
            self.step(step, state);
        }
    }

    /// A URL must be `http://` or `https://`; whatever of it is written out is checked here, so
    /// a missing scheme is a spec error, not a test failure. A variable written the way another
    /// language writes it is named as such, rather than as a URL without a scheme.
    fn url(&mut self, url: &Template, captures: &HashSet<String>) {
        self.url_with_schemes(url, captures, &["http", "https"]);
    }

    fn url_with_schemes(&mut self, url: &Template, captures: &HashSet<String>, schemes: &[&str]) {
        let errors_before = self.diagnostics.len();
        self.look_alikes(url, Context::Url, captures);
        let text = &url.text;
        if text.starts_with("{{") || self.diagnostics.len() > errors_before {
            return;
        }
        let Some((scheme, _)) = text.split_once("://") else {
            let diagnostic = Diagnostic::error("a URL needs a scheme")
                .at(&self.file, url.span, "no `http://` or `https://`")
                .help(format!("write `http://{text}`"));
            self.diagnostics.push(diagnostic);
            return;
        };
        if !schemes.contains(&scheme.to_ascii_lowercase().as_str()) {
            let help = if matches!(scheme.to_ascii_lowercase().as_str(), "ws" | "wss") {
                "a WebSocket is opened with `ws URL`"
            } else {
                "streamspec speaks `http://` and `https://` (and `ws://`, `wss://` after `ws`)"
            };
            self.error(url.span, format!("unsupported URL scheme `{scheme}`"), help);
            return;
        }
        if !url.has_placeholders()
            && let Err(error) = reqwest::Url::parse(text)
        {
            self.error(url.span, format!("invalid URL: {error}"), "this URL");
        }
    }

    /// Headers and bodies belong to a request not yet sent: the first expectation sends it.
    fn not_sent_yet(&mut self, state: &TestState, span: Span, what: &str) {
        if state.sent {
            self.error(
                span,
                format!("{what} must come before the request's expectations"),
                "the request was already sent",
            );
        }
    }

    fn needs_request(&mut self, state: &TestState, span: Span, what: &str) -> bool {
        if !state.has_request {
            self.error(
                span,
                format!("{what} needs a request before it"),
                match self.flow.in_branch() {
                    true => "no request yet in this branch",
                    false => "no request yet in this test",
                },
            );
        }
        state.has_request
    }

    fn step(&mut self, step: &Step, state: &mut TestState) {
        // A named stream is parked (sent, and read in the background) at the first step that
        // is neither one of its options nor an expectation on it.
        let parks = match &step.kind {
            StepKind::Repeat(_) | StepKind::Parallel(_) | StepKind::Barrier(_) => true,
            StepKind::Expect(Expectation::Stream(block)) => block.from.is_some(),
            _ => false,
        };
        if parks && state.named.is_some() {
            state.sent = true;
        }
        self.step_kind(step, state);
        if let Some(index) = state.named
            && state.body_read_at.is_some()
        {
            self.flow.streams[index].held = true;
        }
    }

    fn step_kind(&mut self, step: &Step, state: &mut TestState) {
        match &step.kind {
            StepKind::Repeat(repeat) => self.repeat(repeat, state),
            StepKind::Parallel(parallel) => self.parallel(parallel, step.span, state),
            StepKind::Barrier(_) => self.barrier(step.span),
            StepKind::Request(request) => {
                state.named = self.open_stream(request.name.as_ref(), false);
                state.new_exchange(None, None);
                self.template(&request.url, &state.captures);
                self.url(&request.url, &state.captures);
            }
            StepKind::Ws(request) => self.ws_request(request, state),
            StepKind::Protocol(names) => self.protocols(names, step.span, state),
            StepKind::Grpc(call) => {
                state.named = self.open_stream(call.name.as_ref(), true);
                state.new_exchange(Some(GrpcState::default()), None);
                self.template(&call.target, &state.captures);
                self.url(&call.target, &state.captures);
            }
            StepKind::GrpcOption(GrpcOption::Insecure) if state.socket.is_some() => {
                self.socket_option("insecure", step.span, state)
            }
            StepKind::GrpcOption(option) => self.grpc_option(option, step.span, state),
            StepKind::Header(header) => {
                if self.needs_request(state, step.span, "`header`")
                    && self.http_only(state, step.span, "`header`", "`metadata name: value`")
                {
                    self.not_sent_yet(state, step.span, "`header`");
                }
                self.template(&header.value, &state.captures);
                self.look_alikes(&header.value, Context::Value, &state.captures);
            }
            StepKind::Body(body) => {
                if state.socket.is_some() {
                    self.error(
                        step.span,
                        "`body` is for HTTP requests, and this is a WebSocket",
                        "a WebSocket sends messages with `send`",
                    );
                    return;
                }
                if !self.needs_request(state, step.span, "`body`")
                    || !self.http_only(
                        state,
                        step.span,
                        "`body`",
                        "`message { … }` or `send { … }`",
                    )
                {
                    return;
                }
                self.not_sent_yet(state, step.span, "`body`");
                if let Some(first) = state.has_body {
                    let line = self.file.line_col(first.start).line;
                    self.error(
                        step.span,
                        "this request already has a body",
                        format!("the body is set on line {line}"),
                    );
                }
                state.has_body = Some(step.span);
                match body {
                    Body::Json(pattern) => self.json_vars(pattern, &state.captures),
                    Body::Text { text: template, .. } | Body::File(template) => {
                        self.template(template, &state.captures)
                    }
                }
            }
            StepKind::Threshold(text) => {
                if self.test_step_in_a_body(
                    step.span,
                    "`threshold` judges the test's figures in a load, and goes outside `repeat` and `parallel`",
                ) {
                    return;
                }
                if let Err(message) = crate::load::thresholds::Threshold::parse(&text.value) {
                    self.error(text.span, message, "not a threshold");
                }
            }
            StepKind::Timeout(duration) => {
                if self.timeout_in_body(step.span) {
                    return;
                }
                if let Some(first) = state.timeout_at {
                    let line = self.file.line_col(first.start).line;
                    self.error(
                        step.span,
                        "the timeout is set twice in this test",
                        format!("also set on line {line}"),
                    );
                }
                if duration.value.is_zero() {
                    self.error(
                        duration.span,
                        "the timeout must be longer than zero",
                        "zero",
                    );
                }
                state.timeout_at = Some(step.span);
            }
            StepKind::Expect(expectation) => self.expectation(expectation, step.span, state),
            StepKind::Control(control) => match control {
                Control::Abort(None) => {
                    self.needs_request(state, step.span, "`abort`");
                    state.body_read_at = Some(step.span);
                    state.sent = true;
                    if let Some(grpc) = &mut state.grpc {
                        grpc.ended.get_or_insert(step.span);
                    }
                    if let Some(socket) = &mut state.socket {
                        socket.ended.get_or_insert(step.span);
                    }
                }
                Control::Send(_) | Control::Close(_) if state.socket.is_some() => {
                    self.socket_control(control, step.span, state);
                }
                Control::Send(_) | Control::Close(_) => {
                    self.request_stream(control, step.span, state);
                }
                Control::Wait(_) => {}
                Control::Abort(Some(_))
                | Control::Pace(_)
                | Control::Disconnect
                | Control::Reconnect(_) => {
                    let keyword = control.keyword();
                    self.error(
                        step.span,
                        format!("`{keyword}` goes inside an `expect` block"),
                        "it acts on the stream being read",
                    );
                }
            },
        }
    }

    /// `header` and `body` (and the HTTP expectations) do not fit a gRPC call: says what does.
    fn http_only(&mut self, state: &TestState, span: Span, what: &str, instead: &str) -> bool {
        if state.grpc.is_some() {
            self.error(
                span,
                format!("{what} is for HTTP requests, and this is a gRPC call"),
                format!("a gRPC call takes {instead}"),
            );
            return false;
        }
        true
    }

    /// The gRPC steps need a `grpc` call before them: says so, and what the HTTP way is.
    fn grpc_only(&mut self, state: &TestState, span: Span, what: &str, instead: &str) -> bool {
        if state.grpc.is_none() {
            let diagnostic = Diagnostic::error(format!("{what} is for gRPC calls"))
                .at(
                    &self.file,
                    span,
                    if state.has_request {
                        "the exchange before it is an HTTP request"
                    } else {
                        "no `grpc` call before it"
                    },
                )
                .help(if state.has_request {
                    format!("{instead}; or start a call with `grpc http://host:port package.Service/Method`")
                } else {
                    "start a call first: `grpc http://host:port package.Service/Method`".to_string()
                });
            self.diagnostics.push(diagnostic);
            return false;
        }
        true
    }

    fn grpc_option(&mut self, option: &GrpcOption, span: Span, state: &mut TestState) {
        let word = match option {
            GrpcOption::Metadata(_) => "metadata",
            GrpcOption::Deadline(_) => "deadline",
            GrpcOption::Message(_) => "message",
            GrpcOption::Authority(_) => "authority",
            GrpcOption::Insecure => "insecure",
            GrpcOption::Proto(_) => "proto",
            GrpcOption::Import(_) => "import",
            GrpcOption::Descriptor(_) => "descriptor",
        };
        let instead = match option {
            GrpcOption::Metadata(_) => "an HTTP request takes `header name: value`",
            GrpcOption::Message(_) => "an HTTP request takes `body json { … }`",
            GrpcOption::Deadline(_) => "an HTTP request is bounded by the test's `timeout`",
            _ => "HTTP requests have no such option",
        };
        if !self.grpc_only(state, span, &format!("`{word}`"), instead) {
            return;
        }
        if state.sent {
            let label = "the call has already started";
            let diagnostic = Diagnostic::error(format!(
                "`{word}` must come before the call's first expectation"
            ))
            .at(&self.file, span, label);
            self.diagnostics.push(match option {
                GrpcOption::Message(_) => {
                    diagnostic.help("to send another message on a started call, write `send { … }`")
                }
                _ => diagnostic,
            });
        }
        let Some(grpc) = state.grpc.as_mut() else {
            return;
        };
        let once = match option {
            GrpcOption::Deadline(_) => Some((&mut grpc.deadline, "deadline")),
            GrpcOption::Authority(_) => Some((&mut grpc.authority, "authority")),
            GrpcOption::Proto(_) | GrpcOption::Descriptor(_) => {
                Some((&mut grpc.schema, "schema (`proto` or `descriptor`)"))
            }
            _ => None,
        };
        if let Some((slot, what)) = once {
            match *slot {
                Some(first) => {
                    let line = self.file.line_col(first.start).line;
                    self.error(
                        span,
                        format!("the call's {what} is set twice"),
                        format!("also set on line {line}"),
                    );
                }
                None => *slot = Some(span),
            }
        }
        match option {
            GrpcOption::Metadata(header) => {
                self.template(&header.value, &state.captures);
                self.look_alikes(&header.value, Context::Value, &state.captures);
            }
            GrpcOption::Message(message) => self.message_vars(message, &state.captures),
            GrpcOption::Deadline(duration) if duration.value.is_zero() => {
                self.error(
                    duration.span,
                    "the deadline must be longer than zero",
                    "zero",
                );
            }
            GrpcOption::Authority(t)
            | GrpcOption::Proto(t)
            | GrpcOption::Import(t)
            | GrpcOption::Descriptor(t) => self.template(t, &state.captures),
            _ => {}
        }
    }

    /// `send` and `close` at the test's level (between expectations): the request stream must be
    /// open. They start the call.
    fn request_stream(&mut self, control: &Control, span: Span, state: &mut TestState) {
        let word = format!("`{}`", control.keyword());
        if state.grpc.is_none() {
            let label = if state.has_request {
                "the exchange before it is an HTTP request"
            } else {
                "no `ws` request or `grpc` call before it"
            };
            self.diagnostics.push(
                Diagnostic::error(format!("{word} is for WebSockets and gRPC calls"))
                    .at(&self.file, span, label)
                    .help("open a WebSocket first (`ws ws://host/path`), or start a call (`grpc http://host:port package.Service/Method`); an HTTP request sends its `body` at once"),
            );
            return;
        }
        if !self.grpc_only(
            state,
            span,
            &word,
            "an HTTP request sends its `body` at once",
        ) {
            return;
        }
        state.sent = true;
        let Some(grpc) = state.grpc.as_mut() else {
            return;
        };
        if let Some(first) = grpc.closed {
            let line = self.file.line_col(first.start).line;
            self.error(
                span,
                format!("{word} after the request stream was closed"),
                format!("`close` on line {line} closed it"),
            );
        }
        if let Some(first) = grpc.ended {
            let line = self.file.line_col(first.start).line;
            self.error(
                span,
                format!("{word} after the call ended"),
                format!("line {line} read the call to its end"),
            );
        }
        match control {
            Control::Send(message) => {
                if message.is_websocket_only() {
                    self.error(
                        span,
                        "this `send` is for WebSockets, and this is a gRPC call",
                        "a gRPC call sends messages as `send { … }` or `send file \"…\"`",
                    );
                }
                let captures = state.captures.clone();
                self.message_vars(message, &captures);
            }
            Control::Close(Some(_)) => {
                grpc.closed = Some(span);
                self.error(
                    span,
                    "a close code is for WebSockets, and this is a gRPC call",
                    "a gRPC call's `close` half-closes its request stream, with no code",
                );
            }
            _ => grpc.closed = Some(span),
        }
    }

    /// The replies of a gRPC call can be read only until they end.
    fn replies_open(&mut self, state: &TestState, span: Span) {
        if let Some(ended) = state.grpc.as_ref().and_then(|g| g.ended) {
            let line = self.file.line_col(ended.start).line;
            self.error(
                span,
                "the call's replies have already ended",
                format!("line {line} read them to their end"),
            );
        }
    }
}
