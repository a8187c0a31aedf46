//! Observed items: what a transport yields (an SSE event, a JSON value, a line or a chunk),
//! each stamped with the time its last byte was read.

use std::time::Duration;

use bytes::Bytes;
use smol_str::SmolStr;

use crate::transport::grpc::shape::Shape;

/// One dispatched Server-Sent Event, as an EventSource would hand it to `onmessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type from the `event` field; `None` means the default, `message`.
    pub event: Option<String>,
    /// The data buffer, with the trailing newline removed as the spec says.
    pub data: String,
    /// The stream's lastEventId when this event was dispatched (persists across events). Most
    /// ids are short and change on every event: held inline, they cost no allocation.
    pub id: SmolStr,
    /// A valid `retry` field seen since the previous dispatch, in milliseconds.
    pub retry: Option<u64>,
    /// Whether the bytes of this event held invalid UTF-8 (replaced by U+FFFD, as a browser does).
    pub invalid_utf8: bool,
    /// Whether the event had an `id` field of its own (else `id` is the one before it).
    pub has_id: bool,
}

impl SseEvent {
    /// The event type as EventSource reports it.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// What a transport yields, one per expected item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Sse(SseEvent),
    /// An NDJSON line, or a gRPC reply in the proto3 JSON mapping with the shape its message
    /// type gives it (which strings are 64-bit integers, which `.proto` names its keys have).
    Json(serde_json::Value, Option<Shape>),
    /// One line of a line-oriented body, without its line ending.
    Line(String),
    /// One chunk exactly as it was read from the body, boundaries kept.
    Chunk(Bytes),
    /// A WebSocket message (or a control frame a pattern asked for).
    Ws(crate::transport::ws::WsMessage),
}

/// An item and when it was received, measured from the start of the test.
#[derive(Debug, Clone)]
pub struct Observed {
    pub item: Item,
    pub at: Duration,
}
