//! The HTTP/2 streams of a connection as its frames show them, read from the bytes going each
//! way through the connection (see `channel::Sniffer`): which streams are open on the wire, and
//! when the last one finished.
//!
//! `abort` needs both: h2 drops a stream reset before its HEADERS are written without a trace
//! (neither HEADERS nor RST_STREAM go out), so a cancel waits for the HEADERS to be written;
//! and the reset is queued inside h2 and written when its connection task next runs, so the
//! cancel then waits until the stream is over on the wire (its RST_STREAM written, or both its
//! ends seen): the server sees the cancel even when the run exits right after.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

/// What a client writes before its first frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER_SIZE: usize = 9;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const END_STREAM: u8 = 0x1;

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Out,
    In,
}

/// The streams of the peer's current connection.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    state: Mutex<WireState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct WireState {
    out: FrameReader,
    incoming: FrameReader,
    /// Streams opened and not yet over, by id.
    open: HashMap<u32, StreamEnds>,
    /// Streams this client has opened, over every connection.
    opened: u64,
    /// The connection is gone (until the next one opens).
    closed: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct StreamEnds {
    sent_end: bool,
    received_end: bool,
}

impl Wire {
    /// A new connection starts: nothing of it has been seen.
    pub fn connection_opened(&self) {
        let mut state = self.lock();
        state.out = FrameReader::client();
        state.incoming = FrameReader::default();
        state.open.clear();
        state.closed = false;
        drop(state);
        self.changed.notify_waiters();
    }

    /// The connection is gone, and every stream on it.
    pub fn connection_closed(&self) {
        let mut state = self.lock();
        state.open.clear();
        state.closed = true;
        drop(state);
        self.changed.notify_waiters();
    }

    /// `bytes` went `direction` on the connection.
    pub fn saw(&self, direction: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut state = self.lock();
        let WireState {
            out,
            incoming,
            open,
            opened,
            ..
        } = &mut *state;
        let reader = match direction {
            Direction::Out => out,
            Direction::In => incoming,
        };
        let mut changed = false;
        reader.read(bytes, |header| {
            changed |= header.apply(direction, open, opened);
        });
        drop(state);
        if changed {
            self.changed.notify_waiters();
        }
    }

    /// How many streams this client has opened so far.
    pub fn opened(&self) -> u64 {
        self.lock().opened
    }

    /// Waits, until `deadline` at most, for a stream opened after the first `before` to have
    /// been written (or for the connection to close). Whether it came to that.
    pub async fn written(&self, before: u64, deadline: Instant) -> bool {
        self.wait_for(deadline, |state| state.closed || state.opened > before)
            .await
    }

    /// Waits, until `deadline` at most, for a stream opened after the first `before` to have
    /// been written and for no stream to be open on the wire (or for the connection to close).
    /// Whether it came to that.
    pub async fn settled(&self, before: u64, deadline: Instant) -> bool {
        self.wait_for(deadline, |state| {
            state.closed || (state.opened > before && state.open.is_empty())
        })
        .await
    }

    async fn wait_for(&self, deadline: Instant, done: impl Fn(&WireState) -> bool) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so that no change between the two is missed.
            changed.as_mut().enable();
            if done(&self.lock()) {
                return true;
            }
            if tokio::time::timeout_at(deadline.into(), changed)
                .await
                .is_err()
            {
                return false;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WireState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A frame's header: its type, flags and stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    kind: u8,
    flags: u8,
    stream: u32,
}

impl FrameHeader {
    /// Applies the frame to the open streams; whether they changed.
    fn apply(
        self,
        direction: Direction,
        open: &mut HashMap<u32, StreamEnds>,
        opened: &mut u64,
    ) -> bool {
        if self.stream == 0 {
            return false;
        }
        let ends_stream = self.flags & END_STREAM != 0;
        match self.kind {
            HEADERS if direction == Direction::Out && !open.contains_key(&self.stream) => {
                *opened += 1;
                open.insert(
                    self.stream,
                    StreamEnds {
                        sent_end: ends_stream,
                        received_end: false,
                    },
                );
                true
            }
            HEADERS | DATA if ends_stream => {
                let Some(ends) = open.get_mut(&self.stream) else {
                    return false;
                };
                match direction {
                    Direction::Out => ends.sent_end = true,
                    Direction::In => ends.received_end = true,
                }
                if ends.sent_end && ends.received_end {
                    open.remove(&self.stream);
                }
                true
            }
            RST_STREAM => open.remove(&self.stream).is_some(),
            _ => false,
        }
    }
}

/// Frame headers out of a byte stream cut anywhere.
#[derive(Debug, Default)]
struct FrameReader {
    /// Preface bytes still to skip.
    preface: usize,
    header: [u8; FRAME_HEADER_SIZE],
    header_received: usize,
    /// Payload bytes of the current frame still to skip.
    payload_left: usize,
}

impl FrameReader {
    fn client() -> FrameReader {
        FrameReader {
            preface: PREFACE.len(),
            ..FrameReader::default()
        }
    }

    fn read(&mut self, mut bytes: &[u8], mut found: impl FnMut(FrameHeader)) {
        while !bytes.is_empty() {
            if self.preface > 0 {
                let skip = self.preface.min(bytes.len());
                self.preface -= skip;
                bytes = &bytes[skip..];
            } else if self.payload_left > 0 {
                let skip = self.payload_left.min(bytes.len());
                self.payload_left -= skip;
                bytes = &bytes[skip..];
            } else {
                let take = (FRAME_HEADER_SIZE - self.header_received).min(bytes.len());
                self.header[self.header_received..self.header_received + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_received += take;
                bytes = &bytes[take..];
                if self.header_received == FRAME_HEADER_SIZE {
                    let header = self.header;
                    self.header_received = 0;
                    self.payload_left = usize::from(header[0]) << 16
                        | usize::from(header[1]) << 8
                        | usize::from(header[2]);
                    found(FrameHeader {
                        kind: header[3],
                        flags: header[4],
                        stream: u32::from_be_bytes([header[5], header[6], header[7], header[8]])
                            & 0x7fff_ffff,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let length = payload.len();
        let mut bytes = vec![
            (length >> 16) as u8,
            (length >> 8) as u8,
            length as u8,
            kind,
            flags,
        ];
        bytes.extend(stream.to_be_bytes());
        bytes.extend(payload);
        bytes
    }

    fn open_streams(wire: &Wire) -> Vec<u32> {
        let mut open: Vec<u32> = wire.lock().open.keys().copied().collect();
        open.sort();
        open
    }

    #[test]
    fn streams_open_with_headers_and_end_with_both_ends_or_a_reset() {
        let wire = Wire::default();
        wire.connection_opened();
        let mut out = PREFACE.to_vec();
        out.extend(frame(0x4, 0, 0, &[0; 6])); // SETTINGS
        out.extend(frame(HEADERS, 0x4, 1, &[1, 2, 3]));
        out.extend(frame(DATA, END_STREAM, 1, &[9; 20]));
        out.extend(frame(HEADERS, 0x4, 3, &[1]));
        out.extend(frame(DATA, 0, 3, &[9; 5]));
        // Written in pieces cut anywhere.
        for piece in out.chunks(7) {
            wire.saw(Direction::Out, piece);
        }
        assert_eq!(wire.opened(), 2);
        assert_eq!(open_streams(&wire), [1, 3]);
        // The answer to stream 1 ends it; a reset ends stream 3.
        let mut incoming = frame(0x4, 0, 0, &[]);
        incoming.extend(frame(HEADERS, 0x4, 1, &[1]));
        incoming.extend(frame(DATA, 0, 1, &[5; 3]));
        incoming.extend(frame(HEADERS, 0x4 | END_STREAM, 1, &[1]));
        wire.saw(Direction::In, &incoming);
        assert_eq!(open_streams(&wire), [3]);
        wire.saw(Direction::Out, &frame(RST_STREAM, 0, 3, &[0, 0, 0, 8]));
        assert_eq!(open_streams(&wire), Vec::<u32>::new());
        assert_eq!(wire.opened(), 2);
    }

    #[tokio::test]
    async fn settled_waits_for_a_new_stream_to_be_over() {
        let wire = std::sync::Arc::new(Wire::default());
        wire.connection_opened();
        wire.saw(Direction::Out, PREFACE);
        let before = wire.opened();
        let soon = Instant::now() + std::time::Duration::from_millis(20);
        // Nothing opened yet: not settled.
        assert!(!wire.settled(before, soon).await);
        let waiter = {
            let wire = wire.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + std::time::Duration::from_secs(10);
                wire.settled(before, deadline).await
            })
        };
        wire.saw(Direction::Out, &frame(HEADERS, 0x4, 1, &[]));
        wire.saw(Direction::Out, &frame(RST_STREAM, 0, 1, &[0, 0, 0, 8]));
        assert!(waiter.await.expect("the task ran"));
    }
}
