//! The syntax tree of a `.stream` file. Every node carries the span of the text it came from, so
//! parse errors, check errors and test failures can all point at `file:line:col`.

// Nodes are built once per spec file; the size difference between variants costs nothing.
#![allow(clippy::large_enum_variant)]

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::source::{SourceFile, Span};

/// A value with the span of the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

pub type Ident = Spanned<String>;

/// A parsed spec file.
#[derive(Debug, Clone)]
pub struct Spec {
    pub file: Arc<SourceFile>,
    pub lets: Vec<Let>,
    pub tests: Vec<Test>,
}

/// `let name = "value"`: a file-level variable.
#[derive(Debug, Clone)]
pub struct Let {
    pub name: Ident,
    /// The value as text: numbers and booleans are kept as written.
    pub value: Spanned<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Test {
    pub name: Spanned<String>,
    pub tags: Vec<Ident>,
    pub steps: Vec<Step>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Request(Request),
    Header(HeaderStep),
    Body(Body),
    Timeout(Spanned<Duration>),
    Expect(Expectation),
    Control(Control),
    /// `grpc {{target}} package.Service/Method`
    Grpc(GrpcCall),
    /// What a gRPC call sends and how.
    GrpcOption(GrpcOption),
}

#[derive(Debug, Clone)]
pub struct GrpcCall {
    /// `http://` (cleartext HTTP/2) or `https://`.
    pub target: Template,
    /// `package.Service/Method`
    pub method: Spanned<String>,
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

/// Text with `{{name}}` placeholders, resolved when the test runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub text: String,
    /// Where the text came from. For a quoted string, the span includes the quotes.
    pub span: Span,
    /// Offset of `text[0]` in the file, so a placeholder's position can be found for errors.
    pub text_offset: usize,
}

impl Template {
    pub fn has_placeholders(&self) -> bool {
        self.text.contains("{{")
    }
}

/// `GET {{base}}/path`
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Spanned<String>,
    pub url: Template,
}

/// `header name: value` on a request.
#[derive(Debug, Clone)]
pub struct HeaderStep {
    pub name: Spanned<String>,
    pub value: Template,
}

/// A gRPC request message: written in the spec, or read from a file of JSON.
#[derive(Debug, Clone)]
pub enum Message {
    /// `{ … }`: only literals, `{{vars}}` and repeated strings (no matchers).
    Json(JsonPattern),
    /// `file "message.json"`: a path relative to the spec file.
    File(Template),
}

impl Message {
    pub fn span(&self) -> Span {
        match self {
            Message::Json(pattern) => pattern.span,
            Message::File(path) => path.span,
        }
    }
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
    /// gRPC: half-close the request stream.
    Close,
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
            Control::Close => "close",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Expectation {
    /// `expect status 200`, `2xx`, or alternatives: `200 | 404` (any of them).
    Status(Vec<Spanned<StatusPattern>>),
    Header(HeaderExpectation),
    Stream(StreamBlock),
    WholeBody(WholeBody),
    Aggregate(Aggregate),
    /// gRPC: `expect status NOT_FOUND message ~ /symbol/`, or alternatives: `OK | NOT_FOUND`.
    GrpcStatus {
        codes: Vec<Spanned<String>>,
        message: Option<TextMatcher>,
    },
    /// gRPC: `expect metadata …` (initial metadata) or `expect trailer …`.
    Metadata {
        trailer: bool,
        header: HeaderExpectation,
    },
    /// gRPC: `expect message { … }`: the next reply.
    Message(ItemLine),
    /// gRPC: `expect end`: the replies end here.
    End,
}

/// `200` or a class such as `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPattern {
    Exact(u16),
    Class(u16),
}

impl StatusPattern {
    pub fn matches(&self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(code) => *code == status,
            StatusPattern::Class(class) => status / 100 == *class,
        }
    }

    /// `200`, `2xx`.
    pub fn render(&self) -> String {
        match self {
            StatusPattern::Exact(code) => code.to_string(),
            StatusPattern::Class(class) => format!("{class}xx"),
        }
    }
}

/// The span from the first alternative through the last (`200 | 404`).
pub fn alternatives_span<T>(alternatives: &[Spanned<T>]) -> Span {
    match (alternatives.first(), alternatives.last()) {
        (Some(first), Some(last)) => first.span.to(last.span),
        _ => Span::default(),
    }
}

#[derive(Debug, Clone)]
pub struct HeaderExpectation {
    pub name: Spanned<String>,
    pub check: HeaderCheck,
    /// `-> name`: the header's value (or a regex's first group) becomes a variable.
    pub capture: Option<Ident>,
}

#[derive(Debug, Clone)]
pub enum HeaderCheck {
    Equals(Template),
    NotEquals(Template),
    Matches(RegexLit),
    Contains(Template),
    Exists,
    Absent,
}

/// A regular expression as written, compiled once at parse time.
#[derive(Debug, Clone)]
pub struct RegexLit {
    pub source: String,
    pub flags: String,
    pub regex: Regex,
}

impl PartialEq for RegexLit {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl RegexLit {
    /// What `~ /regex/ -> name` captures from `text`, if the regex matches: the first group when
    /// the regex has one and it took part in the match, else the whole text (not only the part
    /// the regex matched: `/^text\//` on `text/event-stream` captures all of it).
    pub fn capture<'t>(&self, text: &'t str) -> Option<&'t str> {
        let groups = self.regex.captures(text)?;
        Some(groups.get(1).map_or(text, |group| group.as_str()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Sse,
    Ndjson,
    Lines,
    Chunks,
    /// The replies of a gRPC call, each in the proto3 JSON mapping.
    Messages,
}

impl StreamKind {
    pub fn keyword(self) -> &'static str {
        match self {
            StreamKind::Sse => "sse",
            StreamKind::Ndjson => "ndjson",
            StreamKind::Lines => "lines",
            StreamKind::Chunks => "chunks",
            StreamKind::Messages => "messages",
        }
    }
}

/// `expect sse { … }`: items matched one by one as they arrive.
#[derive(Debug, Clone)]
pub struct StreamBlock {
    pub kind: Spanned<StreamKind>,
    pub entries: Vec<Entry>,
    /// The braces and everything between them.
    pub block_span: Span,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: EntryKind,
    pub span: Span,
}

impl Entry {
    /// The item line this entry matches items with: its own, or the one line of a repetition
    /// (`3 times { data: … }`).
    pub fn item_line(&self) -> Option<&ItemLine> {
        match &self.kind {
            EntryKind::Item(line) => Some(line),
            EntryKind::Repeat { body, .. } => match body.as_slice() {
                [
                    Entry {
                        kind: EntryKind::Item(line),
                        ..
                    },
                ] => Some(line),
                _ => None,
            },
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum EntryKind {
    Item(ItemLine),
    /// `N times { … }` and friends.
    Repeat {
        quantifier: Quantifier,
        body: Vec<Entry>,
    },
    /// `until <pattern> { … }`: repeat the body until an item matches the pattern.
    Until {
        stop: ItemPattern,
        body: Vec<Entry>,
    },
    /// `any order { … }`: these items, in any order.
    AnyOrder(Vec<ItemLine>),
    /// `...`: any items, up to the next one that matches what follows.
    Skip,
    /// `end`: the stream closes cleanly here.
    End,
    /// `dropped`: the connection breaks here.
    Dropped,
    /// `ignore <pattern>`: drop such items wherever they appear.
    Ignore(ItemPattern),
    /// `first within 500ms`
    FirstWithin(Duration),
    Control(Control),
    /// Consecutive `where key == value { … }` groups: each item goes to the group whose key it
    /// has, and each group is matched in its own order (per-key order, interleaved any way).
    Split(Vec<WhereGroup>),
    /// `all <pattern>`: every item of the block matches this as well.
    All(ItemPattern),
}

#[derive(Debug, Clone)]
pub struct WhereGroup {
    /// `symbol` (a top-level field) or a JSONPath such as `$.quote.symbol`.
    pub key: Spanned<String>,
    pub query: Arc<jsonpath_rust::parser::model::JpQuery>,
    pub value: JsonPattern,
    pub body: Vec<Entry>,
    /// `where symbol == "AAPL"`
    pub span: Span,
}

impl EntryKind {
    /// Rules for the whole block (`ignore`, `first within`, `abort after …`), not points in it.
    pub fn is_declaration(&self) -> bool {
        matches!(
            self,
            EntryKind::Ignore(_)
                | EntryKind::FirstWithin(_)
                | EntryKind::All(_)
                | EntryKind::Control(Control::Abort(Some(_)))
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantifier {
    pub min: u64,
    /// `None`: no upper bound.
    pub max: Option<u64>,
}

impl Quantifier {
    pub fn render(&self) -> String {
        match (self.min, self.max) {
            (0, None) => "*".to_string(),
            (1, None) => "+".to_string(),
            (min, None) => format!("{min}.."),
            (min, Some(max)) if min == max => min.to_string(),
            (min, Some(max)) => format!("{min}..{max}"),
        }
    }
}

/// One expected item, with its timing bounds.
#[derive(Debug, Clone)]
pub struct ItemLine {
    pub pattern: ItemPattern,
    /// `within 200ms`: at most this long after the previous item (or the request, for the first).
    pub within: Option<Spanned<Duration>>,
    /// `after 50ms`: not sooner than this after the previous item.
    pub after: Option<Spanned<Duration>>,
    pub span: Span,
}

/// A pattern for one item, typed by the stream it applies to.
#[derive(Debug, Clone)]
pub struct ItemPattern {
    pub kind: ItemPatternKind,
    pub span: Span,
    /// Uses a capture the block itself makes: its variables are bound when it is matched,
    /// not when the block starts.
    pub late: bool,
}

#[derive(Debug, Clone)]
pub enum ItemPatternKind {
    Sse(SsePattern),
    Json(JsonItemPattern),
    Text(TextItemPattern),
}

/// `id: "1"  event: "tick"  data: json { … }  retry: 500  $.a == 1`
#[derive(Debug, Clone, Default)]
pub struct SsePattern {
    pub id: Option<TextMatcher>,
    pub event: Option<TextMatcher>,
    pub data: Option<DataMatcher>,
    pub retry: Option<Spanned<NumCond>>,
    /// JSONPath assertions on the data, parsed as JSON.
    pub paths: Vec<PathAssert>,
}

#[derive(Debug, Clone)]
pub enum DataMatcher {
    Text(TextMatcher),
    Json(JsonPattern),
}

/// An NDJSON line or whole JSON body: a JSON pattern and/or JSONPath assertions.
#[derive(Debug, Clone, Default)]
pub struct JsonItemPattern {
    pub value: Option<JsonPattern>,
    pub paths: Vec<PathAssert>,
}

/// A line, a chunk or a whole text body.
#[derive(Debug, Clone, Default)]
pub struct TextItemPattern {
    pub text: Option<TextMatcher>,
    pub size: Option<Spanned<NumCond>>,
    /// `json <pattern>`: the line parsed as JSON (lines only; never with `text`).
    pub json: Option<JsonPattern>,
    /// JSONPath assertions on the line parsed as JSON (lines only).
    pub paths: Vec<PathAssert>,
}

#[derive(Debug, Clone)]
pub struct TextMatcher {
    pub kind: TextMatcherKind,
    pub capture: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TextMatcherKind {
    Exact(Template),
    Regex(RegexLit),
    Contains(Template),
    Any,
}

/// `$.choices[0].delta.content == "Hello"`
#[derive(Debug, Clone)]
pub struct PathAssert {
    pub path: Spanned<String>,
    pub query: Arc<jsonpath_rust::parser::model::JpQuery>,
    pub check: PathCheck,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum PathCheck {
    Matches(JsonPattern),
    NotMatches(JsonPattern),
    Regex(RegexLit),
    Contains(Template),
    /// `$.a < 5`: the bound kept exact (an integer beyond 2^53 is no `f64`).
    Compare(CmpOp, serde_json::Number),
    Exists,
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
        }
    }
}

/// A condition on a number: `== 5`, `< 10`, `in 3..7`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumCond {
    Compare(CmpOp, f64),
    Range(Option<f64>, Option<f64>),
}

impl NumCond {
    pub fn holds(&self, value: f64) -> bool {
        match *self {
            NumCond::Compare(op, bound) => op.holds(value, bound),
            NumCond::Range(lo, hi) => {
                lo.is_none_or(|lo| value >= lo) && hi.is_none_or(|hi| value <= hi)
            }
        }
    }
}

/// A condition on a duration: `< 500ms`, `in 400ms..1s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DurationCond {
    Compare(CmpOp, Duration),
    Range(Duration, Duration),
}

impl DurationCond {
    pub fn holds(&self, value: Duration) -> bool {
        match *self {
            DurationCond::Compare(op, bound) => op.holds(value, bound),
            DurationCond::Range(lo, hi) => value >= lo && value <= hi,
        }
    }
}

#[derive(Debug, Clone)]
pub struct JsonPattern {
    pub kind: JsonPatternKind,
    pub capture: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum JsonPatternKind {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Template),
    /// Matches an object that has these members (and, when `exact`, no others).
    Object {
        members: Vec<(Spanned<String>, JsonPattern)>,
        exact: bool,
    },
    /// Matches an array of exactly these items, or at least these when `open` (`[a, ...]`).
    Array {
        items: Vec<JsonPattern>,
        open: bool,
    },
    /// `string`, `array`, …; with `len`, a string, array, object or base64 value of that length.
    Type {
        kind: JsonType,
        len: Option<Spanned<NumCond>>,
    },
    Any,
    Regex(RegexLit),
    /// `90..120`, `90..`, `..120`: the bounds kept exact, as [`JsonPatternKind::Number`] is.
    Range(Option<serde_json::Number>, Option<serde_json::Number>),
    /// `< 0`, `!= 5`: the bound kept exact.
    Compare(CmpOp, serde_json::Number),
    /// `"A" * 1000`: the string repeated, to build a large value without pasting it.
    Repeated {
        text: Template,
        times: Spanned<u64>,
    },
    /// `{{name}}` as a whole value: replaced by the variable's value before matching.
    Var(Ident),
    /// A value fixed when the test runs (a resolved `{{name}}`).
    Literal(serde_json::Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    Integer,
    Bool,
    Object,
    Array,
    /// A string in base64, as the proto3 JSON mapping writes `bytes` fields.
    Bytes,
}

impl JsonType {
    pub fn keyword(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Bool => "bool",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Bytes => "bytes",
        }
    }

    /// What `len` counts in a value of this type, when it has a length.
    pub fn length_unit(self) -> Option<&'static str> {
        match self {
            JsonType::String => Some("character"),
            JsonType::Array => Some("item"),
            JsonType::Object => Some("key"),
            JsonType::Bytes => Some("byte"),
            JsonType::Number | JsonType::Integer | JsonType::Bool => None,
        }
    }
}

/// `expect json …` / `expect text …`: the whole body, read to the end.
#[derive(Debug, Clone)]
pub struct WholeBody {
    pub pattern: ItemPattern,
}

#[derive(Debug, Clone)]
pub struct Aggregate {
    pub kind: AggregateKind,
    /// `expect test …`: over every stream of the test, not just the latest.
    pub whole_test: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum AggregateKind {
    /// `expect count == 5`: items received (ignored ones excluded).
    Count(Spanned<NumCond>),
    /// `expect bytes > 0`: body bytes received.
    Bytes(Spanned<NumCond>),
    /// `expect ttfb < 1s`: from sending the request to the response head.
    Ttfb(Spanned<DurationCond>),
    /// `expect duration < 2s`: from sending the request to the end of the stream.
    Duration(Spanned<DurationCond>),
    /// `expect first item < 500ms`: from sending the request to the first item.
    FirstItem(Spanned<DurationCond>),
    /// `expect connections == 2`: connections the stream used (1 + reconnections).
    Connections(Spanned<NumCond>),
    /// `expect retry == 500`: the reconnection time the server last set, in milliseconds.
    Retry(Spanned<NumCond>),
    /// `expect reconnect delay in 400ms..1s`: every wait before a reconnection.
    ReconnectDelay(Spanned<DurationCond>),
    /// `expect ids increasing` / `contiguous`: SSE ids, across reconnections.
    Ids(Spanned<IdOrder>),
    /// `expect gaps max < 500ms, mean < 200ms`
    Gaps(Vec<(Spanned<GapStat>, Spanned<DurationCond>)>),
    /// `expect id distinct`: no value of the capture repeats.
    Distinct(Ident),
    /// `expect reply joined == "…"`
    Capture {
        name: Ident,
        function: Spanned<CaptureFn>,
        check: ValueCheck,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdOrder {
    /// Each id is above the one before: nothing arrived twice.
    Increasing,
    /// Each id is one more than the one before: nothing twice and nothing missing.
    Contiguous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapStat {
    Min,
    Max,
    Mean,
    P50,
    P95,
    P99,
}

impl GapStat {
    pub fn keyword(self) -> &'static str {
        match self {
            GapStat::Min => "min",
            GapStat::Max => "max",
            GapStat::Mean => "mean",
            GapStat::P50 => "p50",
            GapStat::P95 => "p95",
            GapStat::P99 => "p99",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFn {
    Joined,
    Count,
    First,
    Last,
}

impl CaptureFn {
    pub fn keyword(self) -> &'static str {
        match self {
            CaptureFn::Joined => "joined",
            CaptureFn::Count => "count",
            CaptureFn::First => "first",
            CaptureFn::Last => "last",
        }
    }
}

/// A check on a computed value: `== pattern`, `!= pattern`, `~ /re/`, `contains "x"`, `< 5`, `in 1..3`.
#[derive(Debug, Clone)]
pub struct ValueCheck {
    pub kind: ValueCheckKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ValueCheckKind {
    Matches(JsonPattern),
    NotMatches(JsonPattern),
    Regex(RegexLit),
    Contains(Template),
    Number(NumCond),
}
