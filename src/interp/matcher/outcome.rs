//! What the matcher answers: how a stream ended as it sees it, what became of an item, what
//! follows an ending it accepted, and why an item or an ending failed the block.

use std::time::Duration;

use crate::pattern::Mismatch;
use crate::source::Span;

/// How a stream ended, as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// The server closed the stream cleanly.
    End,
    /// The connection broke; the text says how.
    Dropped(String),
    /// A reconnection was answered `204 No Content`: an EventSource closes for good, cleanly,
    /// so this counts as `end`. The text says what the server answered.
    Refused(String),
    /// A gRPC call ended with a status other than OK (`INTERNAL "boom"`): counts as `dropped`.
    Status(String),
    /// A WebSocket's server sent its close frame (`close 1000 "done"`): a normal closure (or the
    /// answer to the client's own close) is a clean `end`, any other code counts as `dropped`.
    Closed { clean: bool, frame: String },
}

impl Terminal {
    pub fn describe(&self) -> String {
        self.describe_after(None)
    }

    /// `the stream ended after 2 items`, `the connection was dropped before any item: reset`.
    pub fn describe_after(&self, items: Option<u64>) -> String {
        let when = match items {
            None => String::new(),
            Some(0) => " before any item".to_string(),
            Some(1) => " after 1 item".to_string(),
            Some(n) => format!(" after {n} items"),
        };
        match self {
            Terminal::End => format!("the stream ended{when}"),
            Terminal::Dropped(reason) => format!("the connection was dropped{when}: {reason}"),
            Terminal::Refused(reason) => {
                format!("the stream ended{when}: the reconnection was refused ({reason})")
            }
            Terminal::Status(status) => format!("the call ended{when} with status {status}"),
            Terminal::Closed { frame, .. } => {
                format!("the server closed the WebSocket{when} with {frame}")
            }
        }
    }

    /// Whether this ending is a clean one (`end`) rather than a failure (`dropped`).
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            Terminal::End | Terminal::Refused(_) | Terminal::Closed { clean: true, .. }
        )
    }
}

/// What follows a stream's ending that the block accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEnd {
    /// Nothing: the block is done.
    Done,
    /// Client actions (`wait`, `reconnect`) at the current position: take them next.
    Actions,
}

/// What happened to one fed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// It matched an expected item (the line's span), or the stop pattern of an `until`.
    Matched(Span),
    /// `...` passed over it.
    Skipped,
    /// An `ignore` pattern dropped it.
    Ignored,
    /// The block was already complete; the item is not part of it.
    Done,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchFailure {
    /// The expectation that failed.
    pub span: Span,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailureKind {
    /// The item did not match the expected pattern.
    Mismatch {
        expected: String,
        mismatch: Box<Mismatch>,
    },
    /// In `any order`, the item matched none of the patterns still open.
    NoneInAnyOrder { open: Vec<String> },
    /// An item came where the stream should have ended (or dropped).
    ExpectedTerminal { expected: &'static str },
    /// A timing bound was broken by an item that came too late or too early.
    Timing { bound: String, measured: Duration },
    /// No item came before a timing bound ran out.
    NothingWithin { bound: String, waited: Duration },
    /// The stream ended (or dropped) while an item was still expected.
    EndedEarly {
        terminal: Terminal,
        expected: String,
    },
    /// The stream ended one way where the spec said the other.
    WrongTerminal {
        expected: &'static str,
        terminal: Terminal,
    },
    /// A pattern uses a variable that is still not set when its item arrives.
    Unbound { message: String },
    /// The item's key has a value no `where` group takes (`found` says which, or why none).
    NoGroup { groups: Vec<String>, found: String },
    /// An item for a `where` group that already had all its items.
    GroupComplete { group: String },
}
