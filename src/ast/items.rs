//! The items of a stream block: entries, item patterns, text matchers, conditions.

// Nodes are built once per spec file; the size difference between variants costs nothing.
#![allow(clippy::large_enum_variant)]

use super::*;

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
    /// The messages of a WebSocket (written `messages` too).
    Socket,
}

impl StreamKind {
    pub fn keyword(self) -> &'static str {
        match self {
            StreamKind::Sse => "sse",
            StreamKind::Ndjson => "ndjson",
            StreamKind::Lines => "lines",
            StreamKind::Chunks => "chunks",
            StreamKind::Messages | StreamKind::Socket => "messages",
        }
    }
}

/// `expect sse { … }`: items matched one by one as they arrive.
#[derive(Debug, Clone)]
pub struct StreamBlock {
    pub kind: Spanned<StreamKind>,
    /// `expect sse from NAME { … }`: holds the named stream, from where it stands.
    pub from: Option<Ident>,
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
    Socket(SocketPattern),
}

/// The bytes a binary message must hold, and how the spec wrote them.
#[derive(Debug, Clone)]
pub struct BinaryContent {
    pub bytes: bytes::Bytes,
    /// Written in base64 rather than hex.
    pub base64: bool,
    pub span: Span,
}

/// A WebSocket message.
#[derive(Debug, Clone)]
pub enum SocketPattern {
    /// A data message matched as a `lines` item is: text matchers, JSON (written bare, `{ … }`,
    /// or `json …`), JSONPath, `size`. Only `_` and `size` match a binary message too.
    Data(TextItemPattern),
    /// `text "…"`, `text /…/`, `text _` (with `size` when given): a text message, never a
    /// binary one.
    Text(TextItemPattern),
    /// `binary`, `binary hex "…"`, `binary base64 "…"`, with `size` when given.
    Binary {
        content: Option<BinaryContent>,
        size: Option<Spanned<NumCond>>,
    },
    /// `ping`, `pong "payload"`, `ping /^tick/`: a control frame, its payload matched as text.
    Control {
        pong: bool,
        payload: Option<TextMatcher>,
    },
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
