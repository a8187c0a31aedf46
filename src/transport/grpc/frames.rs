//! The length-prefixed frames of gRPC replies, followed as their bytes go by, so that a reply
//! stream that ends inside a frame is a broken stream and never a clean end.
//!
//! tonic keeps a frame's bytes until the whole frame has come and, when the trailers arrive
//! first, drops them without a word: a frame that announces 100 bytes and brings 10, then
//! `grpc-status: 0`, reads as a clean OK with no message. Every reply body reaches tonic through
//! a [`FrameCheck`] (see `checked`), which replaces the end (trailers or the last frame) of a
//! body cut inside a frame with a [`CutFrame`] error saying how many bytes were missing.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};

/// The 5 bytes before each message: a compression flag and the message's length.
const HEADER_SIZE: usize = 5;

/// A reply stream that ended inside a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutFrame {
    /// `received` of the 5 header bytes came.
    Header { received: usize },
    /// The header announced `announced` bytes; `received` of them came.
    Message { announced: usize, received: usize },
}

impl fmt::Display for CutFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CutFrame::Header { received } => write!(
                f,
                "the replies ended inside a gRPC frame header: {received} of its {HEADER_SIZE} bytes came ({} missing)",
                HEADER_SIZE - received
            ),
            CutFrame::Message {
                announced,
                received,
            } => write!(
                f,
                "the replies ended inside a gRPC frame: its header announced {announced} bytes and {received} came ({} missing)",
                announced - received
            ),
        }
    }
}

impl StdError for CutFrame {}

/// Where the bytes seen so far leave the stream: between frames, in a header, or in a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Framing {
    /// Header bytes of the frame under way (0 between frames; the header is complete at 5).
    header: [u8; HEADER_SIZE],
    header_received: usize,
    /// The message length the header announced, and how much of it has come.
    announced: usize,
    received: usize,
}

impl Framing {
    /// Follows `bytes`, the next part of the stream.
    fn advance(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.header_received < HEADER_SIZE {
                let take = (HEADER_SIZE - self.header_received).min(bytes.len());
                self.header[self.header_received..self.header_received + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_received += take;
                bytes = &bytes[take..];
                if self.header_received == HEADER_SIZE {
                    let mut length = &self.header[1..];
                    self.announced = length.get_u32() as usize;
                    self.received = 0;
                }
            } else {
                let take = (self.announced - self.received).min(bytes.len());
                self.received += take;
                bytes = &bytes[take..];
            }
            if self.header_received == HEADER_SIZE && self.received == self.announced {
                *self = Framing::default();
            }
        }
    }

    /// What is missing if the stream ends here.
    fn cut(&self) -> Option<CutFrame> {
        match self.header_received {
            0 => None,
            HEADER_SIZE => Some(CutFrame::Message {
                announced: self.announced,
                received: self.received,
            }),
            received => Some(CutFrame::Header { received }),
        }
    }
}

/// A reply body whose end is checked against its framing.
pub(crate) struct FrameCheck<B> {
    inner: B,
    framing: Framing,
    /// The cut was reported: the body is over.
    failed: bool,
}

impl<B> FrameCheck<B> {
    pub fn new(inner: B) -> FrameCheck<B> {
        FrameCheck {
            inner,
            framing: Framing::default(),
            failed: false,
        }
    }
}

impl<B> Body for FrameCheck<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        let ends = match &frame {
            Some(Ok(frame)) => match frame.data_ref() {
                Some(data) => {
                    this.framing.advance(data);
                    false
                }
                None => frame.is_trailers(),
            },
            Some(Err(_)) => false,
            None => true,
        };
        if ends && let Some(cut) = this.framing.cut() {
            this.failed = true;
            return Poll::Ready(Some(Err(Box::new(cut))));
        }
        Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.inner.is_end_stream() && self.framing.cut().is_none())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(parts: &[&[u8]]) -> Option<CutFrame> {
        let mut framing = Framing::default();
        for part in parts {
            framing.advance(part);
        }
        framing.cut()
    }

    #[test]
    fn frames_are_followed_across_any_split() {
        let two = [0, 0, 0, 0, 2, 7, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 9];
        assert_eq!(after(&[&two]), None);
        for split in 0..two.len() {
            assert_eq!(
                after(&[&two[..split], &two[split..]]),
                None,
                "split at {split}"
            );
            assert!(after(&[&two[..split]]).is_none() == [0, 7, 12].contains(&split));
        }
        assert_eq!(after(&[&[0, 0, 0]]), Some(CutFrame::Header { received: 3 }));
        assert_eq!(
            after(&[&[0, 0, 0, 0, 100], &[1; 10]]),
            Some(CutFrame::Message {
                announced: 100,
                received: 10
            })
        );
        // A frame of length 5 holding zero bytes so far is cut too.
        assert_eq!(
            after(&[&[0, 0, 0, 0, 5]]),
            Some(CutFrame::Message {
                announced: 5,
                received: 0
            })
        );
    }
}
