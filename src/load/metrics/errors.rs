//! How a load groups what went wrong: the class of an error (refused, reset, timeout, status,
//! TLS, the load generator's own open-file limit), and the tallies of failures by spec line and
//! class, and of errors by class with when the first came.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outcome::{Failure, FailureClass};

/// Why an iteration got no usable answer, as the summary groups errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// Nobody listened, or the connection could not be made.
    Refused,
    /// The connection was reset or closed before the answer was complete.
    Reset,
    /// A wait ran out: for the head, an item, or the test.
    Timeout,
    /// The status was not the one the spec expects.
    Status,
    Tls,
    /// The open-file limit was reached: the load generator's limit, not the server's.
    Files,
    Other,
}

impl ErrorClass {
    pub fn label(self) -> &'static str {
        match self {
            ErrorClass::Refused => "refused",
            ErrorClass::Reset => "reset",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Status => "status",
            ErrorClass::Tls => "tls",
            ErrorClass::Files => "open files",
            ErrorClass::Other => "other",
        }
    }

    /// The class of a failure, or `None` for an expectation the answer did not meet.
    pub fn of(failure: &Failure) -> Option<ErrorClass> {
        let message = failure.message.to_ascii_lowercase();
        // An answer, but not the status the spec reads on: a WebSocket handshake refused with
        // an HTTP status, a gRPC call ended with one that is not OK (an overloaded service's
        // 503 or UNAVAILABLE is an error, as an HTTP status is).
        if message.contains("answered the websocket handshake with")
            || (message.contains("ended before any item with status ")
                && !message.contains("with status ok"))
        {
            return Some(ErrorClass::Status);
        }
        if failure.class == FailureClass::Assertion {
            return message
                .starts_with("expected status")
                .then_some(ErrorClass::Status);
        }
        Some(if message.contains("too many open files") {
            ErrorClass::Files
        } else if message.contains("tls") || message.contains("certificate") {
            ErrorClass::Tls
        } else if message.contains("could not connect") || message.contains("refused") {
            ErrorClass::Refused
        } else if message.contains("timed out") || message.contains("timeout") {
            ErrorClass::Timeout
        } else if message.contains("reset")
            || message.contains("dropped")
            || message.contains("closed mid-body")
            || message.contains("closed before")
            || message.contains("closed the connection")
            || message.contains("connection was closed")
            || message.contains("broken pipe")
        {
            ErrorClass::Reset
        } else {
            ErrorClass::Other
        })
    }
}

/// Failures of one spec line and one error class (or of one spec line's expectation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureTally {
    /// `file:line:col` of what failed.
    pub at: String,
    /// The first such failure's.
    pub message: String,
    pub count: u64,
    /// The first such failure as `streamspec run` shows it, with its diff.
    pub example: String,
    /// The class of the error; absent for an expectation the answer did not meet (and from
    /// reports written before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<ErrorClass>,
}

/// What failures are grouped by: the spec line that failed and the class of its error (`None`
/// for an unmet expectation, a group of its own). A line that fails in two ways — reset while
/// its service went down, refused once it was gone — is two groups, each with its own count,
/// message and example: keyed by the line alone, the first message seen labelled them all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FailureKey {
    pub at: String,
    pub class: Option<ErrorClass>,
}

impl FailureTally {
    pub fn key(&self) -> FailureKey {
        FailureKey {
            at: self.at.clone(),
            class: self.class,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ErrorTally {
    pub count: u64,
    /// Since the start of the load, when the first came (the earliest, once merged).
    #[serde(with = "crate::load::json::millis")]
    pub first_at: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    #[test]
    fn a_status_the_spec_does_not_read_on_is_a_status_error_whatever_the_transport() {
        let class = |message: &str| ErrorClass::of(&Failure::error(message, Span::new(0, 1), ""));
        assert_eq!(
            class(
                "the server answered the WebSocket handshake with 404 Not Found, not 101 Switching Protocols"
            ),
            Some(ErrorClass::Status)
        );
        assert_eq!(
            class("the call ended before any item with status UNAVAILABLE \"overloaded\""),
            Some(ErrorClass::Status)
        );
        assert_eq!(
            class("could not connect to 127.0.0.1:1: Connection refused (os error 111)"),
            Some(ErrorClass::Refused)
        );
    }
}
