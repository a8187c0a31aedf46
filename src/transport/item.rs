//! Observed items: what a transport yields (an SSE event, a JSON value, a line or a chunk),
//! each stamped with the time its last byte was read.

use std::time::Duration;

use bytes::Bytes;
use smol_str::SmolStr;

use crate::transport::grpc::shape::Shape;

/// One dispatched Server-Sent Event, as an EventSource would hand it to `onmessage`.
///
/// Kept small (every item is moved from the decoder through the run loop into the ring of recent
/// items): the fields most events lack are boxed in [`SseRare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The data buffer, with the trailing newline removed as the spec says.
    pub data: String,
    /// The stream's lastEventId when this event was dispatched (persists across events). Most
    /// ids are short and change on every event: held inline, they cost no allocation.
    pub id: SmolStr,
    /// The `event` type and `retry`, when the event has either; `None` for most events.
    pub rare: Option<Box<SseRare>>,
    /// Whether the bytes of this event held invalid UTF-8 (replaced by U+FFFD, as a browser does).
    pub invalid_utf8: bool,
    /// Whether the event had an `id` field of its own (else `id` is the one before it).
    pub has_id: bool,
}

/// The fields of an event that most streams never send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseRare {
    /// The event type from the `event` field; `None` means the default, `message`.
    pub event: Option<String>,
    /// A valid `retry` field seen since the previous dispatch, in milliseconds.
    pub retry: Option<u64>,
}

impl SseRare {
    /// What an event holds for these fields: nothing at all when it has neither.
    pub fn boxed(event: Option<String>, retry: Option<u64>) -> Option<Box<SseRare>> {
        (event.is_some() || retry.is_some()).then(|| Box::new(SseRare { event, retry }))
    }
}

impl SseEvent {
    /// The event type as EventSource reports it.
    pub fn event_type(&self) -> &str {
        self.event().unwrap_or("message")
    }

    /// The event type from the `event` field; `None` means the default, `message`.
    pub fn event(&self) -> Option<&str> {
        self.rare.as_ref()?.event.as_deref()
    }

    /// A valid `retry` field seen since the previous dispatch, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.rare.as_ref()?.retry
    }
}

/// What a transport yields, one per expected item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Sse(SseEvent),
    /// An NDJSON line, or a gRPC reply in the proto3 JSON mapping with the shape its message
    /// type gives it (which strings are 64-bit integers, which `.proto` names its keys have).
    /// Boxed: a JSON value is larger than any other item, and every item is moved several times.
    Json(Box<serde_json::Value>, Option<Shape>),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item is moved from the decoder through the run loop into the ring of recent items,
    /// at millions a second in a flood: its size is a cost on every one.
    #[test]
    fn an_item_stays_small() {
        assert!(size_of::<SseEvent>() <= 64, "{}", size_of::<SseEvent>());
        assert!(size_of::<Item>() <= 64, "{}", size_of::<Item>());
    }
}
