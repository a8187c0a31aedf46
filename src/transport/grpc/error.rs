//! Everything that can go wrong on the gRPC side, in the user's words: which server, what
//! happened, and, where there is one, what to do about it. The texts follow the HTTP transport's
//! (`could not connect to 127.0.0.1:1234: Connection refused`).
//!
//! tonic reports every failure as a `Status`; [`classify`] tells the server's own statuses apart
//! from failures on this side of the wire (a refused connection, a broken HTTP/2 stream, a
//! malformed frame), which tonic marks with a `source` or, for frames, with its own messages.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::duration::format_measured;
use crate::transport::framing::format_size;
use crate::transport::http::describe_error;

use super::channel::{MAX_HEADER_LIST, Peer, Sniffed};
use super::frames::CutFrame;
use super::status::CallStatus;
use super::status_fields::MalformedStatus;

#[derive(Debug, Clone)]
pub enum GrpcError {
    /// The target URL cannot be used (not `http://` or `https://`, no host, a bad authority).
    InvalidTarget { url: String, reason: String },
    /// No TCP connection could be made.
    Connect { address: String, reason: String },
    /// The TLS handshake failed (a certificate that does not verify, an alert).
    Tls { address: String, reason: String },
    /// An `https://` target whose server answered the TLS handshake with something else.
    NotTls { address: String },
    /// An `http://` target whose server answered with TLS.
    SpeaksTls { address: String },
    /// A plain-text connection the server closed before sending anything.
    Silent { address: String },
    /// The server answered with HTTP/1; `answer` says how (its status line, in backticks).
    Http1 { address: String, answer: String },
    /// An HTTP/2 server that answered without gRPC: its content-type, and how the answer ended.
    NotGrpc {
        address: String,
        content_type: Option<String>,
        detail: String,
    },
    /// The connection or the HTTP/2 stream broke.
    Transport { address: String, reason: String },
    /// A response frame or message that cannot be decoded.
    MalformedFrame { reason: String },
    /// The replies ended inside a frame (see `frames`).
    CutFrame(CutFrame),
    /// A status field that cannot be read (see `status_fields`): what the server sent.
    MalformedStatus(MalformedStatus),
    /// A reply larger than the largest the call may decode (`--max-item-size`).
    TooLarge { size: usize, limit: usize },
    /// A wait ran past its deadline.
    Deadline {
        after: Duration,
        waiting_for: String,
    },
    /// The server offers neither reflection service.
    NoReflection { url: String },
    /// The reflection service answered, but not usefully.
    Reflection { url: String, reason: String },
    /// A `.proto` file or a descriptor set could not be read or compiled.
    Schema { reason: String },
    /// Not of the form `package.Service/Method`.
    BadMethodName { name: String },
    UnknownService {
        service: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    UnknownMethod {
        service: String,
        method: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// A request message or request metadata that does not fit.
    Request { reason: String },
    /// A message sent after the call ended; the status it ended with, when known.
    CallEnded { status: Option<String> },
    /// A message sent after the request stream was closed.
    RequestClosed,
    /// The server ended a call that had to succeed (reflection) with this status.
    Status(Box<CallStatus>),
}

impl fmt::Display for GrpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrpcError::InvalidTarget { url, reason } => {
                write!(f, "`{url}` is not a gRPC target: {reason}")
            }
            GrpcError::Connect { address, reason } => {
                write!(f, "could not connect to {address}: {reason}")
            }
            GrpcError::Tls { address, reason } => {
                write!(f, "the TLS handshake with {address} failed: {reason}")
            }
            GrpcError::NotTls { address } => write!(
                f,
                "the TLS handshake with {address} failed: the server does not seem to speak TLS (should the URL be `http://`?)"
            ),
            GrpcError::SpeaksTls { address } => write!(
                f,
                "the server at {address} speaks TLS, not plain HTTP/2 (should the URL be `https://`?)"
            ),
            GrpcError::Silent { address } => write!(
                f,
                "the server at {address} closed the connection without answering in HTTP/2: is it a gRPC server? (if it expects TLS, the URL should be `https://`)"
            ),
            GrpcError::Http1 { address, answer } => write!(
                f,
                "the server at {address} speaks HTTP/1, not gRPC (HTTP/2): it answered {answer}"
            ),
            GrpcError::NotGrpc {
                address,
                content_type,
                detail,
            } => {
                write!(
                    f,
                    "the server at {address} does not speak gRPC: it answered "
                )?;
                match content_type {
                    Some(content_type) => write!(f, "with content-type `{content_type}`")?,
                    None => write!(f, "without a content-type")?,
                }
                write!(f, " ({detail})")
            }
            GrpcError::Transport { address, reason } => {
                write!(f, "the connection to {address} failed: {reason}")
            }
            GrpcError::MalformedFrame { reason } => write!(f, "a malformed gRPC frame: {reason}"),
            GrpcError::CutFrame(cut) => cut.fmt(f),
            GrpcError::MalformedStatus(malformed) => malformed.fmt(f),
            GrpcError::TooLarge { size, limit } => write!(
                f,
                "a reply of {} is larger than the maximum item size of {} (raise it with --max-item-size)",
                format_size(*size),
                format_size(*limit)
            ),
            GrpcError::Deadline { after, waiting_for } => write!(
                f,
                "deadline exceeded after {} waiting for {waiting_for}",
                format_measured(*after)
            ),
            GrpcError::NoReflection { url } => write!(
                f,
                "the server at {url} does not offer reflection (neither `grpc.reflection.v1` nor `v1alpha`): give its schema as `.proto` files or as a descriptor set (`protoc --include_imports --descriptor_set_out=…`)"
            ),
            GrpcError::Reflection { url, reason } => {
                write!(f, "reflection at {url} failed: {reason}")
            }
            GrpcError::Schema { reason } => f.write_str(reason),
            GrpcError::BadMethodName { name } => write!(
                f,
                "`{name}` is not a gRPC method: expected `package.Service/Method`"
            ),
            GrpcError::UnknownService {
                service,
                suggestion,
                known,
            } => {
                write!(f, "unknown service `{service}`")?;
                if let Some(suggestion) = suggestion {
                    write!(f, "; did you mean `{suggestion}`?")
                } else if known.is_empty() {
                    write!(f, "; the schema has no services")
                } else {
                    write!(f, "; the schema has {}", backticked(known))
                }
            }
            GrpcError::UnknownMethod {
                service,
                method,
                suggestion,
                known,
            } => {
                write!(f, "no method `{method}` in `{service}`")?;
                if let Some(suggestion) = suggestion {
                    write!(f, "; did you mean `{suggestion}`?")?;
                }
                if known.is_empty() {
                    write!(f, " (it has no methods)")
                } else {
                    write!(f, " (its methods: {})", backticked(known))
                }
            }
            GrpcError::Request { reason } => f.write_str(reason),
            GrpcError::CallEnded {
                status: Some(status),
            } => {
                write!(f, "cannot send: the call has already ended ({status})")
            }
            GrpcError::CallEnded { status: None } => {
                write!(f, "cannot send: the call has already ended")
            }
            GrpcError::RequestClosed => {
                write!(f, "cannot send: the request stream was already closed")
            }
            GrpcError::Status(status) => write!(f, "the server answered {status}"),
        }
    }
}

impl StdError for GrpcError {}

/// `` `a`, `b` ``: names as a list in backticks.
pub(crate) fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A failure the connector met, carried through tonic's error layers as their innermost source
/// so that [`classify`] finds it again, already described.
#[derive(Debug)]
pub(crate) struct ConnectFailure(pub GrpcError);

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for ConnectFailure {}

/// A response message the codec could not decode.
#[derive(Debug)]
pub(crate) struct MalformedMessage(pub String);

impl fmt::Display for MalformedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for MalformedMessage {}

/// What a `Status` out of tonic means.
pub(crate) enum Classified {
    /// The server's status (sent in trailers, or trailers-only).
    Server(CallStatus),
    /// A failure on the way: there is no status from the server.
    Failed(GrpcError),
}

/// tonic's own texts for frames it cannot read; they come without a `source`.
const LOCAL_FRAME_ERRORS: [&str; 5] = [
    "protocol error: received message with",
    "Unexpected EOF decoding stream",
    "Error, decoded message length too large",
    "Error decompressing",
    "Message compressed with",
];

pub(crate) fn classify(status: &tonic::Status, peer: &Peer) -> Classified {
    if let Some(source) = status.source() {
        return Classified::Failed(describe_failure(source, peer));
    }
    let message = status.message();
    if let Some(sizes) = message.strip_prefix("Error, decoded message length too large: found ") {
        // "found 22 bytes, the limit is: 10 bytes"
        let numbers: Vec<usize> = sizes
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        if let [size, limit] = numbers[..] {
            return Classified::Failed(GrpcError::TooLarge { size, limit });
        }
    }
    if LOCAL_FRAME_ERRORS
        .iter()
        .any(|prefix| message.starts_with(prefix))
    {
        return Classified::Failed(GrpcError::MalformedFrame {
            reason: message.to_string(),
        });
    }
    Classified::Server(CallStatus::from_server(status))
}

/// Describes an error from the connection: the connector's own finding if there is one, what
/// the first bytes from the server showed, else the chain of causes.
pub(crate) fn describe_failure(error: &(dyn StdError + 'static), peer: &Peer) -> GrpcError {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(ConnectFailure(found)) = error.downcast_ref::<ConnectFailure>() {
            return found.clone();
        }
        if let Some(cut) = error.downcast_ref::<CutFrame>() {
            return GrpcError::CutFrame(cut.clone());
        }
        if let Some(malformed) = error.downcast_ref::<MalformedStatus>() {
            return GrpcError::MalformedStatus(malformed.clone());
        }
        if let Some(MalformedMessage(reason)) = error.downcast_ref::<MalformedMessage>() {
            return GrpcError::MalformedFrame {
                reason: reason.clone(),
            };
        }
        current = error.source();
    }
    match peer.sniffed() {
        Some(Sniffed::Http1 { answer }) => GrpcError::Http1 {
            address: peer.address.clone(),
            answer,
        },
        Some(Sniffed::Silent) => GrpcError::Silent {
            address: peer.address.clone(),
        },
        Some(Sniffed::Tls) => GrpcError::SpeaksTls {
            address: peer.address.clone(),
        },
        None => GrpcError::Transport {
            address: peer.address.clone(),
            reason: plain_words(&describe_error(error)),
        },
    }
}

/// The causes as hyper and h2 give them, with their most common cases said plainly first.
fn plain_words(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let too_large;
    let plain = if lower.contains("connection reset") {
        Some("the server reset the connection")
    } else if lower.contains("broken pipe") {
        Some("the server closed the connection")
    } else if lower.contains("connection closed") || lower.contains("unexpected eof") {
        Some("the connection was closed before the call ended")
    } else if lower.contains("too_many_continuations")
        || lower.contains("header_list_way_too_large")
    {
        too_large = format!(
            "the server sent response headers or trailers larger than {}",
            format_size(MAX_HEADER_LIST as usize)
        );
        Some(too_large.as_str())
    } else if lower.contains("stream error received") {
        Some("the server reset the stream")
    } else if lower.contains("frame with invalid size")
        || lower.contains("protocol error")
        || lower.contains("malformed headers")
    {
        Some("the server broke the HTTP/2 protocol")
    } else {
        None
    };
    match plain {
        Some(plain) => format!("{plain} ({chain})"),
        None => chain.to_string(),
    }
}
