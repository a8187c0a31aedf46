//! One decoder per stream kind behind a single interface: bytes in, observed items out.

use bytes::Bytes;

use crate::ast::StreamKind;
use crate::transport::framing::lines::LineFramer;
use crate::transport::framing::ndjson::NdjsonDecoder;
use crate::transport::framing::sse::SseDecoder;
use crate::transport::framing::{FrameError, Framer};
use crate::transport::item::Item;

pub enum Decoder {
    Sse(SseDecoder),
    Ndjson(NdjsonDecoder),
    Lines(LineFramer),
    /// Chunks are items as they are: the decoder only holds the one not yet taken, and refuses
    /// one larger than the maximum item size, as the other decoders refuse a longer item.
    Chunks {
        next: Option<Bytes>,
        max_item_size: usize,
    },
}

/// What was left when the body ended.
pub struct Leftover {
    pub last: Option<Item>,
    pub discarded_bytes: usize,
}

impl Decoder {
    pub fn new(kind: StreamKind, max_item_size: usize) -> Decoder {
        match kind {
            StreamKind::Sse => Decoder::Sse(SseDecoder::new(max_item_size)),
            StreamKind::Ndjson => Decoder::Ndjson(NdjsonDecoder::new(max_item_size)),
            StreamKind::Lines => Decoder::Lines(LineFramer::new(max_item_size)),
            // gRPC replies are decoded by the call, not from a body: never asked for here.
            StreamKind::Chunks | StreamKind::Messages | StreamKind::Socket => Decoder::Chunks {
                next: None,
                max_item_size,
            },
        }
    }

    /// The decoder for the next connection of the same stream: an SSE decoder keeps the
    /// lastEventId and the reconnection time, as an EventSource does; the others start afresh.
    pub fn resume(&self, kind: StreamKind, max_item_size: usize) -> Decoder {
        match self {
            Decoder::Sse(decoder) => Decoder::Sse(decoder.resume()),
            _ => Decoder::new(kind, max_item_size),
        }
    }

    /// What an EventSource sends as `Last-Event-ID` on reconnection (`None` for other streams,
    /// and for an empty id, which is sent as no header at all).
    pub fn last_event_id(&self) -> Option<&str> {
        match self {
            Decoder::Sse(decoder) if !decoder.last_event_id().is_empty() => {
                Some(decoder.last_event_id())
            }
            _ => None,
        }
    }

    /// The reconnection time the stream set with `retry`, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        match self {
            Decoder::Sse(decoder) => decoder.retry(),
            _ => None,
        }
    }

    /// Takes the next chunk of the body. Call only when `next_item` has returned `None`.
    pub fn push(&mut self, bytes: Bytes) {
        match self {
            Decoder::Sse(decoder) => decoder.push(&bytes),
            Decoder::Ndjson(decoder) => decoder.push(&bytes),
            Decoder::Lines(decoder) => decoder.push(&bytes),
            Decoder::Chunks { next, .. } => *next = Some(bytes),
        }
    }

    /// Takes back an item the caller is done with, for its buffers to be reused (see
    /// [`SseDecoder::recycle`]); other decoders drop it.
    pub fn recycle(&mut self, item: Item) {
        if let (Decoder::Sse(decoder), Item::Sse(event)) = (self, item) {
            decoder.recycle(event.data);
        }
    }

    #[inline]
    pub fn next_item(&mut self) -> Result<Option<Item>, FrameError> {
        Ok(match self {
            Decoder::Sse(decoder) => decoder.next_item()?.map(Item::Sse),
            Decoder::Ndjson(decoder) => decoder
                .next_item()?
                .map(|value| Item::Json(Box::new(value), None)),
            Decoder::Lines(decoder) => decoder.next_item()?.map(Item::Line),
            Decoder::Chunks {
                next,
                max_item_size,
            } => match next.take() {
                Some(chunk) if chunk.len() > *max_item_size => {
                    return Err(FrameError::TooLarge {
                        limit: *max_item_size,
                    });
                }
                chunk => chunk.map(Item::Chunk),
            },
        })
    }

    pub fn finish(&mut self) -> Result<Leftover, FrameError> {
        let (last, discarded_bytes) = match self {
            Decoder::Sse(decoder) => {
                let finished = decoder.finish()?;
                (finished.last.map(Item::Sse), finished.discarded_bytes)
            }
            Decoder::Ndjson(decoder) => {
                let finished = decoder.finish()?;
                (
                    finished.last.map(|value| Item::Json(Box::new(value), None)),
                    finished.discarded_bytes,
                )
            }
            Decoder::Lines(decoder) => {
                let finished = decoder.finish()?;
                (finished.last.map(Item::Line), finished.discarded_bytes)
            }
            Decoder::Chunks { .. } => (self.next_item()?, 0),
        };
        Ok(Leftover {
            last,
            discarded_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_larger_than_the_maximum_item_size_is_refused() {
        let mut decoder = Decoder::new(StreamKind::Chunks, 4);
        decoder.push(Bytes::from_static(b"abcd"));
        assert!(matches!(decoder.next_item(), Ok(Some(Item::Chunk(chunk))) if chunk == "abcd"));
        decoder.push(Bytes::from_static(b"abcde"));
        assert_eq!(
            decoder.next_item().err(),
            Some(FrameError::TooLarge { limit: 4 })
        );
    }
}
