//! Expectations on a response: its status and head, whole bodies, and aggregates over streams.

// Nodes are built once per spec file; the size difference between variants costs nothing.
#![allow(clippy::large_enum_variant)]

use super::*;

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
    /// WebSocket: `expect close 1000 "done"`: the server's close frame, with one of these codes
    /// (any when none is given) and a reason that matches.
    Close {
        codes: Vec<Spanned<u64>>,
        reason: Option<TextMatcher>,
    },
    /// `expect same items in NAME`: every stream opened as NAME received the same items in the
    /// same order.
    /// With `where PATTERN`, only the items that match it are compared.
    SameItems(Ident, Option<ItemPattern>),
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
    /// `expect count in NAME …`: over every stream opened as NAME, or every instance of the
    /// branch NAME.
    pub group: Option<Ident>,
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
