//! The HTTP/2 streams of a connection as its frames show them, read from the bytes going each
//! way through the connection (see `channel::Sniffer`): which streams are open on the wire, how
//! much request data each has written and how much more the server's flow control lets it
//! write, and when the last one finished.
//!
//! `abort` needs all of it. h2 drops a stream reset before its HEADERS are written without a
//! trace (neither HEADERS nor RST_STREAM go out), and drops the DATA it has queued but not
//! written: so a cancel first waits for the HEADERS and for the messages sent before it to be
//! written, as far as the server's flow-control windows have room for them (a server that does
//! not read never makes more room, and the rest could never go out). The reset is queued inside
//! h2 and written when its connection task next runs, so the cancel then waits until the stream
//! is over on the wire (its RST_STREAM written, or both its ends seen): the server sees the
//! cancel even when the run exits right after.

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
const SETTINGS: u8 = 0x4;
const WINDOW_UPDATE: u8 = 0x8;
const END_STREAM: u8 = 0x1;
/// The flag of a SETTINGS frame that acknowledges the peer's.
const ACK: u8 = 0x1;
/// The setting a new stream's flow-control window starts at (RFC 9113 §6.5.2).
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
/// The size every flow-control window starts at until the peer says otherwise (RFC 9113 §6.9.2).
const DEFAULT_WINDOW: i64 = 65_535;
/// The largest SETTINGS or WINDOW_UPDATE payload read: a frame's largest size until the peer
/// allows more, far beyond a real one; a larger one is skipped.
const MAX_READ_PAYLOAD: usize = 16_384;

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
    streams: Streams,
}

/// What the frames have shown of the streams.
#[derive(Debug)]
struct Streams {
    /// Streams opened and not yet over, by id.
    open: HashMap<u32, OpenStream>,
    /// Streams this client has opened, over every connection.
    opened: u64,
    /// The connection is gone (until the next one opens).
    closed: bool,
    /// How many more bytes of DATA the server lets this client write on the connection.
    connection_window: i64,
    /// The window a new stream starts with: the server's `SETTINGS_INITIAL_WINDOW_SIZE`.
    initial_window: i64,
}

impl Default for Streams {
    fn default() -> Streams {
        Streams {
            open: HashMap::new(),
            opened: 0,
            closed: false,
            connection_window: DEFAULT_WINDOW,
            initial_window: DEFAULT_WINDOW,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct OpenStream {
    /// Which stream this client opened it as, counting from 1 over every connection (see
    /// `opened`).
    ordinal: u64,
    /// The payload bytes of the DATA frames written on it (h2 never pads what it sends).
    data_written: u64,
    /// How many more bytes of DATA the server lets this client write on it.
    window: i64,
    sent_end: bool,
    received_end: bool,
}

impl Wire {
    /// A new connection starts: nothing of it has been seen.
    pub fn connection_opened(&self) {
        let mut state = self.lock();
        *state = WireState {
            out: FrameReader::client(),
            incoming: FrameReader::default(),
            streams: Streams {
                opened: state.streams.opened,
                ..Streams::default()
            },
        };
        drop(state);
        self.changed.notify_waiters();
    }

    /// The connection is gone, and every stream on it.
    pub fn connection_closed(&self) {
        let mut state = self.lock();
        state.streams.open.clear();
        state.streams.closed = true;
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
            streams,
        } = &mut *state;
        let reader = match direction {
            Direction::Out => out,
            Direction::In => incoming,
        };
        let mut changed = false;
        reader.read(bytes, |part| changed |= streams.apply(direction, part));
        drop(state);
        if changed {
            self.changed.notify_waiters();
        }
    }

    /// How many streams this client has opened so far.
    pub fn opened(&self) -> u64 {
        self.lock().streams.opened
    }

    /// Waits, until `deadline` at most, for the stream opened next after the first `before` to
    /// have written `data` bytes of DATA payload, or as many as the server's flow control lets
    /// it (its window or the connection's is used up); or for it to be over on the wire or
    /// answered to its end (nothing more of it matters then), or for the connection to close.
    /// Whether it came to that.
    pub async fn data_written(&self, before: u64, data: u64, deadline: Instant) -> bool {
        self.wait_for(deadline, |streams| {
            if streams.closed {
                return true;
            }
            if streams.opened <= before {
                return false;
            }
            let Some(stream) = streams
                .open
                .values()
                .find(|stream| stream.ordinal == before + 1)
            else {
                return true;
            };
            stream.data_written >= data
                || stream.received_end
                || stream.window <= 0
                || streams.connection_window <= 0
        })
        .await
    }

    /// Waits, until `deadline` at most, for a stream opened after the first `before` to have
    /// been written and for no stream to be open on the wire (or for the connection to close).
    /// Whether it came to that.
    pub async fn settled(&self, before: u64, deadline: Instant) -> bool {
        self.wait_for(deadline, |streams| {
            streams.closed || (streams.opened > before && streams.open.is_empty())
        })
        .await
    }

    async fn wait_for(&self, deadline: Instant, done: impl Fn(&Streams) -> bool) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so that no change between the two is missed.
            changed.as_mut().enable();
            if done(&self.lock().streams) {
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

impl Streams {
    /// Applies what a frame reader found in the bytes gone `direction`; whether that changed
    /// the streams or the windows.
    fn apply(&mut self, direction: Direction, part: FramePart<'_>) -> bool {
        match (part, direction) {
            (FramePart::Header(header), _) => self.frame_started(header, direction),
            (FramePart::Payload(header, length), Direction::Out) if header.kind == DATA => {
                self.data_sent(header.stream, length);
                true
            }
            (FramePart::Whole(header, payload), Direction::In) => match header.kind {
                WINDOW_UPDATE => self.window_update(header.stream, payload),
                SETTINGS if header.flags & ACK == 0 => self.settings(payload),
                _ => false,
            },
            _ => false,
        }
    }

    /// A frame's header went `direction`: a stream opens or ends.
    fn frame_started(&mut self, header: FrameHeader, direction: Direction) -> bool {
        if header.stream == 0 {
            return false;
        }
        let ends_stream = header.flags & END_STREAM != 0;
        match header.kind {
            HEADERS if direction == Direction::Out && !self.open.contains_key(&header.stream) => {
                self.opened += 1;
                self.open.insert(
                    header.stream,
                    OpenStream {
                        ordinal: self.opened,
                        data_written: 0,
                        window: self.initial_window,
                        sent_end: ends_stream,
                        received_end: false,
                    },
                );
                true
            }
            HEADERS | DATA if ends_stream => {
                let Some(ends) = self.open.get_mut(&header.stream) else {
                    return false;
                };
                match direction {
                    Direction::Out => ends.sent_end = true,
                    Direction::In => ends.received_end = true,
                }
                if ends.sent_end && ends.received_end {
                    self.open.remove(&header.stream);
                }
                true
            }
            RST_STREAM => self.open.remove(&header.stream).is_some(),
            _ => false,
        }
    }

    /// `length` bytes of DATA payload went out on `stream`: they count, and use up flow
    /// control (all of the payload does, RFC 9113 §6.9.1).
    fn data_sent(&mut self, stream: u32, length: usize) {
        let length = i64::try_from(length).unwrap_or(i64::MAX);
        self.connection_window = self.connection_window.saturating_sub(length);
        if let Some(stream) = self.open.get_mut(&stream) {
            stream.data_written = stream.data_written.saturating_add(length.unsigned_abs());
            stream.window = stream.window.saturating_sub(length);
        }
    }

    /// The server made room on `stream` (0: the connection).
    fn window_update(&mut self, stream: u32, payload: &[u8]) -> bool {
        let Ok(increment) = <[u8; 4]>::try_from(payload) else {
            return false;
        };
        let increment = i64::from(u32::from_be_bytes(increment) & 0x7fff_ffff);
        if stream == 0 {
            self.connection_window = self.connection_window.saturating_add(increment);
        } else if let Some(stream) = self.open.get_mut(&stream) {
            stream.window = stream.window.saturating_add(increment);
        }
        true
    }

    /// The server's settings: a new initial window changes every stream's by the difference
    /// (RFC 9113 §6.9.2).
    fn settings(&mut self, payload: &[u8]) -> bool {
        let mut changed = false;
        for setting in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([setting[0], setting[1]]);
            let value = i64::from(u32::from_be_bytes([
                setting[2], setting[3], setting[4], setting[5],
            ]));
            if id == SETTINGS_INITIAL_WINDOW_SIZE {
                let difference = value - self.initial_window;
                self.initial_window = value;
                for stream in self.open.values_mut() {
                    stream.window = stream.window.saturating_add(difference);
                }
                changed = true;
            }
        }
        changed
    }
}

/// A frame's header: its type, flags and stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    kind: u8,
    flags: u8,
    stream: u32,
}

/// What a [`FrameReader`] found in the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FramePart<'a> {
    /// A frame's header, as soon as it has come.
    Header(FrameHeader),
    /// This many more bytes of the payload of the frame with that header.
    Payload(FrameHeader, usize),
    /// The whole payload of a SETTINGS or WINDOW_UPDATE frame, once it has come (after its
    /// last `Payload`).
    Whole(FrameHeader, &'a [u8]),
}

/// Frames out of a byte stream cut anywhere.
#[derive(Debug, Default)]
struct FrameReader {
    /// Preface bytes still to skip.
    preface: usize,
    header: [u8; FRAME_HEADER_SIZE],
    header_received: usize,
    /// The current frame, whose payload is going by, and how many of its bytes are still to come.
    current: Option<FrameHeader>,
    payload_left: usize,
    /// The payload so far of a current frame that is read whole.
    kept: Option<Vec<u8>>,
}

impl FrameReader {
    fn client() -> FrameReader {
        FrameReader {
            preface: PREFACE.len(),
            ..FrameReader::default()
        }
    }

    fn read(&mut self, mut bytes: &[u8], mut found: impl FnMut(FramePart<'_>)) {
        while !bytes.is_empty() {
            if self.preface > 0 {
                let skip = self.preface.min(bytes.len());
                self.preface -= skip;
                bytes = &bytes[skip..];
            } else if self.payload_left > 0
                && let Some(header) = self.current
            {
                let take = self.payload_left.min(bytes.len());
                self.payload_left -= take;
                if let Some(kept) = &mut self.kept {
                    kept.extend_from_slice(&bytes[..take]);
                }
                bytes = &bytes[take..];
                found(FramePart::Payload(header, take));
                self.payload_done(header, &mut found);
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
                    let header = FrameHeader {
                        kind: header[3],
                        flags: header[4],
                        stream: u32::from_be_bytes([header[5], header[6], header[7], header[8]])
                            & 0x7fff_ffff,
                    };
                    self.current = Some(header);
                    self.kept = (matches!(header.kind, SETTINGS | WINDOW_UPDATE)
                        && self.payload_left <= MAX_READ_PAYLOAD)
                        .then(|| Vec::with_capacity(self.payload_left));
                    found(FramePart::Header(header));
                    self.payload_done(header, &mut found);
                }
            }
        }
    }

    /// Hands over the payload of a frame read whole once all of it has come.
    fn payload_done(&mut self, header: FrameHeader, found: &mut impl FnMut(FramePart<'_>)) {
        if self.payload_left == 0
            && let Some(kept) = self.kept.take()
        {
            found(FramePart::Whole(header, &kept));
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
        let mut open: Vec<u32> = wire.lock().streams.open.keys().copied().collect();
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
    async fn data_written_counts_the_payload_as_it_goes_out() {
        let wire = std::sync::Arc::new(Wire::default());
        wire.connection_opened();
        let mut out = PREFACE.to_vec();
        out.extend(frame(HEADERS, 0x4, 1, &[1]));
        out.extend(frame(RST_STREAM, 0, 1, &[0, 0, 0, 8]));
        wire.saw(Direction::Out, &out);
        // The second stream this client opens is the one waited for.
        let before = wire.opened();
        let soon = || Instant::now() + std::time::Duration::from_millis(20);
        assert!(
            !wire.data_written(before, 0, soon()).await,
            "not opened yet"
        );
        wire.saw(Direction::Out, &frame(HEADERS, 0x4, 3, &[1]));
        assert!(wire.data_written(before, 0, soon()).await);
        let data = [frame(DATA, 0, 3, &[7; 13]), frame(DATA, 0, 3, &[7; 13])].concat();
        // A frame header alone is not its payload.
        wire.saw(Direction::Out, &data[..FRAME_HEADER_SIZE + 10]);
        assert!(!wire.data_written(before, 13, soon()).await);
        let waiter = {
            let wire = wire.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + std::time::Duration::from_secs(10);
                wire.data_written(before, 26, deadline).await
            })
        };
        for piece in data[FRAME_HEADER_SIZE + 10..].chunks(5) {
            wire.saw(Direction::Out, piece);
        }
        assert!(waiter.await.expect("the task ran"));
        // A stream the server has answered to its end needs nothing more.
        assert!(!wire.data_written(before, 100, soon()).await);
        wire.saw(Direction::In, &frame(HEADERS, 0x4 | END_STREAM, 3, &[1]));
        assert!(wire.data_written(before, 100, soon()).await);
    }

    #[tokio::test]
    async fn data_written_stops_where_flow_control_leaves_no_room() {
        let soon = || Instant::now() + std::time::Duration::from_millis(20);
        let wire = Wire::default();
        wire.connection_opened();
        let mut out = PREFACE.to_vec();
        out.extend(frame(HEADERS, 0x4, 1, &[1]));
        wire.saw(Direction::Out, &out);
        // The server's settings (cut anywhere) shrink the open stream's window to 100 bytes.
        let settings = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0, 100]);
        for piece in settings.chunks(4) {
            wire.saw(Direction::In, piece);
        }
        wire.saw(Direction::In, &frame(SETTINGS, ACK, 0, &[]));
        wire.saw(Direction::Out, &frame(DATA, 0, 1, &[7; 60]));
        assert!(!wire.data_written(0, 200, soon()).await, "room for 40 more");
        wire.saw(Direction::Out, &frame(DATA, 0, 1, &[7; 40]));
        assert!(
            wire.data_written(0, 200, soon()).await,
            "no room on the stream"
        );
        // Room on the stream; the connection's window has 65,435 bytes left.
        wire.saw(
            Direction::In,
            &frame(WINDOW_UPDATE, 0, 1, &100_000u32.to_be_bytes()),
        );
        assert!(!wire.data_written(0, 200, soon()).await);
        wire.saw(Direction::Out, &frame(DATA, 0, 1, &vec![7; 65_435]));
        assert!(
            wire.data_written(0, 100_000, soon()).await,
            "no room on the connection"
        );
        wire.saw(
            Direction::In,
            &frame(WINDOW_UPDATE, 0, 0, &1u32.to_be_bytes()),
        );
        assert!(!wire.data_written(0, 100_000, soon()).await);
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
