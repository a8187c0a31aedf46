//! Server-Sent Events decoding, following the WHATWG HTML "Interpreting an event stream" rules:
//! bytes in, dispatched events out, plus the stream state a reconnecting client needs
//! (`lastEventId`, the reconnection time).
//!
//! Our own decoder rather than a crate's because the details matter for a conformance tool: one
//! leading BOM stripped, and only one; `\r`, `\n` and `\r\n` line endings, with a `\r\n` split
//! across reads counted once; UTF-8 decoded with replacement per line, so a character split
//! across reads is not damaged; an unterminated final event discarded with its id uncommitted.

use std::sync::Arc;

use super::lines::{Line, LineEndings, LineSplitter};
use super::{DEFAULT_MAX_ITEM_SIZE, Finished, FrameError, Framer};
use crate::transport::item::SseEvent;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest field name the parser acts on (`event`, `retry`).
const LONGEST_FIELD_NAME: usize = 5;

/// Events with more data than this hand over the data buffer itself instead of a copy: copying
/// is cheaper for small events (the buffer's allocation is reused), moving for large ones.
const COPY_DATA_LIMIT: usize = 4096;

/// An incremental `text/event-stream` decoder.
///
/// `push` bytes as they are read and call `next_item` until it returns `Ok(None)`; call
/// `finish` when the connection closes. A line longer than the maximum item size, or an event
/// whose data grows past it, is a [`FrameError::TooLarge`] as soon as it is seen.
#[derive(Debug, Clone)]
pub struct SseDecoder {
    lines: LineSplitter,
    /// No byte has been decoded yet: a BOM may still have to be stripped.
    at_start: bool,
    state: EventState,
}

/// The parser's buffers, kept apart from the line buffer so a borrowed line can be processed
/// while they are updated.
#[derive(Debug, Clone)]
struct EventState {
    max_item_size: usize,
    /// The data buffer: each `data` value followed by `\n`.
    data: String,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer: set by `id` fields, committed at each dispatch.
    id_buffer: Arc<str>,
    /// The event source's last event ID string, as of the last dispatch.
    last_event_id: Arc<str>,
    /// The reconnection time, in ms, once the stream has set one.
    retry: Option<u64>,
    /// A valid `retry` seen since the last dispatched event, reported on the next one.
    retry_since_dispatch: Option<u64>,
    /// Some line since the last dispatch held invalid UTF-8.
    invalid_utf8: bool,
    /// Bytes of the field lines (with their line endings) since the last dispatch: what is
    /// discarded if the stream ends now. Comments are not counted, so a stream that ends after
    /// a keep-alive comment discards nothing.
    pending_bytes: usize,
    /// The previous line was counted in `pending_bytes` (so a `\n` completing its `\r\n` in a
    /// later read is counted too).
    last_line_counted: bool,
}

impl SseDecoder {
    /// A decoder that refuses lines and event data longer than `max_item_size` bytes.
    pub fn new(max_item_size: usize) -> Self {
        let empty: Arc<str> = Arc::from("");
        SseDecoder {
            lines: LineSplitter::new(LineEndings::Any, max_item_size),
            at_start: true,
            state: EventState {
                max_item_size,
                data: String::new(),
                event_type: String::new(),
                id_buffer: Arc::clone(&empty),
                last_event_id: empty,
                retry: None,
                retry_since_dispatch: None,
                invalid_utf8: false,
                pending_bytes: 0,
                last_line_counted: false,
            },
        }
    }

    /// The last event ID a client would send as `Last-Event-ID` when reconnecting; `""` means
    /// none (no header). Only ids of dispatched blocks count: an id in an event cut off by the
    /// end of the stream is not committed.
    pub fn last_event_id(&self) -> &str {
        &self.state.last_event_id
    }

    /// The reconnection time in milliseconds, if the stream set one with a valid `retry` field.
    /// As in a browser, it takes effect when the field is read, even if the event it is part
    /// of is never dispatched.
    pub fn retry(&self) -> Option<u64> {
        self.state.retry
    }

    /// A decoder for the next connection of the same event source, as after a reconnection:
    /// it starts like a new one (empty buffers, a BOM stripped again, nothing pending, the same
    /// maximum item size) but keeps what belongs to the event source rather than to one
    /// connection: the last event ID and the reconnection time.
    ///
    /// The id buffer starts at the last event ID, not empty, so events of the new connection
    /// carry that id until an `id` field changes it, as a browser's EventSource does; an `id`
    /// read in an event the old connection cut off was never committed and is not kept. Neither
    /// is a `retry` waiting to be reported on the next event: that event belonged to the old
    /// connection. The reconnection time itself is kept, since it took effect when it was read.
    pub fn resume(&self) -> SseDecoder {
        let mut next = SseDecoder::new(self.state.max_item_size);
        next.state.last_event_id = Arc::clone(&self.state.last_event_id);
        next.state.id_buffer = Arc::clone(&self.state.last_event_id);
        next.state.retry = self.state.retry;
        next
    }

    /// Strips a BOM at the very start of the stream; false while too few bytes have arrived to
    /// tell (a BOM may be split across reads).
    fn strip_bom(&mut self) -> bool {
        let pending = self.lines.pending();
        if pending.len() >= BOM.len() {
            if pending.starts_with(BOM) {
                self.lines.skip_front(BOM.len());
            }
        } else if BOM.starts_with(pending) {
            return false;
        }
        self.at_start = false;
        true
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(DEFAULT_MAX_ITEM_SIZE)
    }
}

impl EventState {
    /// Processes one line; returns the event it dispatches, if any.
    fn line(&mut self, line: Line<'_>) -> Result<Option<SseEvent>, FrameError> {
        if line.lf_skipped_before && self.last_line_counted {
            self.pending_bytes += 1;
        }
        let bytes = line.bytes;
        let Some(&first) = bytes.first() else {
            self.last_line_counted = false;
            return Ok(self.dispatch());
        };
        let is_comment = first == b':';
        self.last_line_counted = !is_comment;
        if !is_comment {
            self.pending_bytes += bytes.len() + line.ending_len;
        }
        // The stream is UTF-8 decoded with replacement. Decoding line by line gives the same
        // text as decoding the whole stream, since line endings are ASCII and never part of a
        // valid sequence; and it keeps characters split across reads intact.
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                if !is_comment {
                    self.field(text)?;
                }
            }
            Err(_) => {
                self.invalid_utf8 = true;
                if !is_comment {
                    self.field(&String::from_utf8_lossy(bytes))?;
                }
            }
        }
        Ok(None)
    }

    /// Processes a field line (not empty, not a comment).
    fn field(&mut self, line: &str) -> Result<(), FrameError> {
        // Every field acted on has a name of at most five bytes, so the colon ending one is
        // among the first six bytes; without a colon there, the line is either a bare known
        // name (empty value) or a field we ignore. This saves a search call on every line.
        let bytes = line.as_bytes();
        let head = &bytes[..bytes.len().min(LONGEST_FIELD_NAME + 1)];
        let (name, value) = match head.iter().position(|&b| b == b':') {
            // Slicing at the colon is safe: it is ASCII, so a char boundary.
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None if bytes.len() <= LONGEST_FIELD_NAME => (line, ""),
            None => return Ok(()),
        };
        match name {
            "data" => {
                if self.data.len() + value.len() > self.max_item_size {
                    return Err(FrameError::TooLarge {
                        limit: self.max_item_size,
                    });
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            // An id containing NUL is ignored. Allocate only when the id changes: many streams
            // repeat it, or send none.
            "id" if !value.as_bytes().contains(&0) && *self.id_buffer != *value => {
                self.id_buffer = Arc::from(value);
            }
            "retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.retry = Some(ms);
                    self.retry_since_dispatch = Some(ms);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The blank-line step: commit the id, and dispatch the event if it has data.
    fn dispatch(&mut self) -> Option<SseEvent> {
        self.pending_bytes = 0;
        // The id is committed even when no event is dispatched: `id: 5\n\n` sets lastEventId.
        if !Arc::ptr_eq(&self.last_event_id, &self.id_buffer) {
            self.last_event_id = Arc::clone(&self.id_buffer);
        }
        let invalid_utf8 = std::mem::take(&mut self.invalid_utf8);
        if self.data.is_empty() {
            self.event_type.clear();
            return None;
        }
        // Every data line appended a '\n'; the last one is removed.
        self.data.pop();
        let data = if self.data.len() > COPY_DATA_LIMIT {
            std::mem::take(&mut self.data)
        } else {
            let data = self.data.as_str().to_owned();
            self.data.clear();
            data
        };
        let event = if self.event_type.is_empty() {
            None
        } else {
            let event = self.event_type.clone();
            self.event_type.clear();
            Some(event)
        };
        Some(SseEvent {
            event,
            data,
            id: Arc::clone(&self.last_event_id),
            retry: self.retry_since_dispatch.take(),
            invalid_utf8,
        })
    }
}

/// A `retry` value: only ASCII digits, base 10. A value too large for `u64` saturates, which
/// still means "practically never reconnect", as the server asked.
fn parse_retry(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.bytes().fold(0u64, |ms, digit| {
        ms.saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    }))
}

impl Framer for SseDecoder {
    type Item = SseEvent;

    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_item(&mut self) -> Result<Option<SseEvent>, FrameError> {
        if self.at_start && !self.strip_bom() {
            // Undecided means at most two bytes are pending, unless a push was refused.
            return match self.lines.error() {
                Some(error) => Err(error.clone()),
                None => Ok(None),
            };
        }
        while let Some(line) = self.lines.next_line()? {
            if let Some(event) = self.state.line(line)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// An SSE stream has no unterminated last item: whatever follows the last blank line is
    /// discarded, its id not committed, and its size reported.
    fn finish(&mut self) -> Result<Finished<SseEvent>, FrameError> {
        let state = &mut self.state;
        let mut discarded = state.pending_bytes;
        if self.lines.take_lf_skipped() && state.last_line_counted {
            discarded += 1;
        }
        if let Some(line) = self.lines.finish()?
            && line.bytes.first() != Some(&b':')
        {
            discarded += line.bytes.len();
        }
        state.data.clear();
        state.event_type.clear();
        state.id_buffer = Arc::clone(&state.last_event_id);
        state.retry_since_dispatch = None;
        state.invalid_utf8 = false;
        state.pending_bytes = 0;
        state.last_line_counted = false;
        Ok(Finished {
            last: None,
            discarded_bytes: discarded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a decoding produced: events, then an error or the finish result, then the state.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        events: Vec<SseEvent>,
        error: Option<FrameError>,
        discarded: usize,
        last_event_id: String,
        retry: Option<u64>,
    }

    fn decode_with(max: usize, chunks: &[&[u8]]) -> Outcome {
        let mut decoder = SseDecoder::new(max);
        let mut events = Vec::new();
        let mut error = None;
        'outer: for chunk in chunks {
            decoder.push(chunk);
            loop {
                match decoder.next_item() {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break 'outer;
                    }
                }
            }
        }
        let mut discarded = 0;
        if error.is_none() {
            match decoder.finish() {
                Ok(f) => {
                    assert!(f.last.is_none());
                    discarded = f.discarded_bytes;
                }
                Err(e) => error = Some(e),
            }
        }
        Outcome {
            events,
            error,
            discarded,
            last_event_id: decoder.last_event_id().to_string(),
            retry: decoder.retry(),
        }
    }

    fn decode(chunks: &[&[u8]]) -> Outcome {
        decode_with(DEFAULT_MAX_ITEM_SIZE, chunks)
    }

    fn bytewise(input: &[u8]) -> Outcome {
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        decode(&chunks)
    }

    /// (type, data, id) of each event.
    fn summary(outcome: &Outcome) -> Vec<(String, String, String)> {
        outcome
            .events
            .iter()
            .map(|e| (e.event_type().to_string(), e.data.clone(), e.id.to_string()))
            .collect()
    }

    fn ev(kind: &str, data: &str, id: &str) -> (String, String, String) {
        (kind.to_string(), data.to_string(), id.to_string())
    }

    #[test]
    fn simple_event() {
        let out = decode(&[b"id: 123\ndata: {\"seq\":123}\n\n"]);
        assert_eq!(out.events.len(), 1);
        let e = &out.events[0];
        assert_eq!(e.event, None);
        assert_eq!(e.data, "{\"seq\":123}");
        assert_eq!(&*e.id, "123");
        assert_eq!(e.retry, None);
        assert!(!e.invalid_utf8);
        assert_eq!(out.last_event_id, "123");
        assert_eq!(out.discarded, 0);
    }

    #[test]
    fn crlf_split_across_pushes_is_one_line_ending() {
        // If the `\n` after a pushed `\r` were a line of its own, "a" and "b" would be two events.
        let out = decode(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(summary(&out), vec![ev("message", "a\nb", "")]);
        // The blank line's `\r\n` split: one dispatch, not a second (empty) one.
        let out = decode(&[b"data: a\r\n\r", b"\ndata: b\n\n"]);
        assert_eq!(
            summary(&out),
            vec![ev("message", "a", ""), ev("message", "b", "")]
        );
    }

    #[test]
    fn lone_cr_ends_lines() {
        let out = decode(&[b"data: a\rdata: b\r\r"]);
        assert_eq!(summary(&out), vec![ev("message", "a\nb", "")]);
        // ...and dispatches at once, without waiting for a possible `\n`.
        let mut d = SseDecoder::default();
        d.push(b"data: x\r\r");
        assert_eq!(d.next_item().unwrap().unwrap().data, "x");
    }

    #[test]
    fn bom_split_across_pushes() {
        let input = b"\xEF\xBB\xBFdata: x\n\n";
        for cut1 in 0..4 {
            for cut2 in cut1..4 {
                let out = decode(&[&input[..cut1], &input[cut1..cut2], &input[cut2..]]);
                assert_eq!(summary(&out), vec![ev("message", "x", "")]);
            }
        }
        // Only one BOM, and only at the start.
        let out = decode(&[b"\xEF\xBB", b"\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"]);
        assert_eq!(summary(&out), vec![ev("message", "y", "")]);
        // A BOM prefix that is not a BOM is decoded (as U+FFFD, making an unknown field name).
        let out = decode(&[b"\xEF", b"\xBBdata: x\n\ndata: y\n\n"]);
        assert_eq!(summary(&out), vec![ev("message", "y", "")]);
    }

    #[test]
    fn multibyte_chars_split_across_pushes() {
        let input = "data: é€😀\n\n".as_bytes();
        for cut in 0..input.len() {
            let out = decode(&[&input[..cut], &input[cut..]]);
            assert_eq!(summary(&out), vec![ev("message", "é€😀", "")]);
            assert!(!out.events[0].invalid_utf8);
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_and_flagged() {
        let out = decode(&[b"data: a\xffb\xe2\x82\n\ndata: ok\n\n"]);
        assert_eq!(
            summary(&out),
            vec![
                ev("message", "a\u{FFFD}b\u{FFFD}", ""),
                ev("message", "ok", "")
            ]
        );
        assert!(out.events[0].invalid_utf8);
        assert!(!out.events[1].invalid_utf8);
        // Invalid bytes in a comment of the event also flag it.
        let out = decode(&[b":\xff\ndata: x\n\n"]);
        assert!(out.events[0].invalid_utf8);
    }

    #[test]
    fn empty_lines_without_data_dispatch_nothing() {
        let out = decode(&[b"\n\n\r\n\r\revent: x\n\ndata: y\n\n"]);
        // The event type is reset by the empty dispatch too.
        assert_eq!(summary(&out), vec![ev("message", "y", "")]);
    }

    #[test]
    fn field_parsing() {
        let out = decode(&[
            b"data:a:b\ndata::c\ndata:  two\ndata\ndata:\tt\nDATA: no\n data: no\nx: y\n\n",
        ]);
        assert_eq!(
            summary(&out),
            vec![ev("message", "a:b\n:c\n two\n\n\tt", "")]
        );
    }

    #[test]
    fn event_type_is_per_event() {
        let out = decode(&[b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\n"]);
        assert_eq!(
            summary(&out),
            vec![ev("a", "1", ""), ev("message", "2", ""), ev("c", "3", "")]
        );
        assert_eq!(out.events[0].event.as_deref(), Some("a"));
        assert_eq!(out.events[1].event, None);
    }

    #[test]
    fn id_persistence() {
        let out = decode(&[
            b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid: x\0\ndata: d\n\nid\ndata: e\n\n",
        ]);
        assert_eq!(
            summary(&out),
            vec![
                ev("message", "a", "1"),
                ev("message", "b", "1"),
                ev("message", "c", "2"),
                ev("message", "d", "2"),
                ev("message", "e", ""),
            ]
        );
        // The id is shared, not copied, while it does not change.
        assert!(Arc::ptr_eq(&out.events[0].id, &out.events[1].id));
        assert_eq!(out.last_event_id, "");
    }

    #[test]
    fn unterminated_event_is_discarded_with_its_id() {
        let out = decode(&[b"id: 1\ndata: a\n\nid: 2\ndata: b\n"]);
        assert_eq!(summary(&out), vec![ev("message", "a", "1")]);
        assert_eq!(out.last_event_id, "1");
        assert_eq!(out.discarded, "id: 2\ndata: b\n".len());
        let out = decode(&[b"data: a\n\ndata: b"]);
        assert_eq!(out.discarded, 7);
        // Comments after the last event are not an incomplete event.
        let out = decode(&[b"data: a\n\n:keep-alive\n:ping"]);
        assert_eq!(out.discarded, 0);
        // A `\r\n` split across reads counts two bytes, as when it is not.
        assert_eq!(decode(&[b"data: b\r", b"\n"]).discarded, 9);
        assert_eq!(decode(&[b"data: b\r\n"]).discarded, 9);
    }

    #[test]
    fn retry_rules() {
        let out = decode(&[b"retry: 100\ndata: a\n\ndata: b\n\n"]);
        assert_eq!(out.events[0].retry, Some(100));
        assert_eq!(out.events[1].retry, None);
        assert_eq!(out.retry, Some(100));
        for bad in [
            "retry:  100",
            "retry: 100 ",
            "retry: -1",
            "retry: +1",
            "retry: 1e3",
            "retry: 1.5",
            "retry:",
            "retry",
            "Retry: 5",
            "retry: ١٢",
        ] {
            let out = decode(&[format!("{bad}\ndata: x\n\n").as_bytes()]);
            assert_eq!(out.retry, None, "{bad:?}");
            assert_eq!(out.events[0].retry, None, "{bad:?}");
        }
        assert_eq!(decode(&[b"retry:007\n"]).retry, Some(7));
        assert_eq!(
            decode(&[b"retry: 99999999999999999999999\n"]).retry,
            Some(u64::MAX)
        );
        // A retry in a block without data is reported on the next dispatched event.
        let out = decode(&[b"retry: 5\n\ndata: x\n\n"]);
        assert_eq!(out.events[0].retry, Some(5));
        // A later bogus value does not undo a valid one.
        assert_eq!(decode(&[b"retry: 5\nretry: x\n"]).retry, Some(5));
    }

    #[test]
    fn many_events_per_push() {
        let mut input = Vec::new();
        for i in 0..1000 {
            input.extend_from_slice(format!("id: {i}\ndata: {{\"seq\":{i}}}\n\n").as_bytes());
        }
        let out = decode(&[&input]);
        assert_eq!(out.events.len(), 1000);
        assert_eq!(out.events[999].data, "{\"seq\":999}");
        assert_eq!(out.last_event_id, "999");
        assert_eq!(bytewise(&input), out);
    }

    #[test]
    fn max_item_size() {
        let too_large = Some(FrameError::TooLarge { limit: 8 });
        // Exactly at the limit is fine: a line of 8 bytes, data of 8 bytes.
        let out = decode_with(8, &[b"data:123\ndata:123\ndata:\n\n"]);
        assert_eq!(summary(&out), vec![ev("message", "123\n123\n", "")]);
        assert_eq!(out.error, None);
        // A line of 9 bytes.
        let out = decode_with(8, &[b"data:x\n\ndata:1234\n\n"]);
        assert_eq!((out.events.len(), out.error), (1, too_large.clone()));
        // Data of 9 bytes from short lines.
        let out = decode_with(8, &[b"data:123\ndata:123\ndata:1\n\n"]);
        assert_eq!((out.events.len(), &out.error), (0, &too_large));
        // An unterminated line is refused as soon as it is too long.
        let mut d = SseDecoder::new(8);
        d.push(b"data:");
        assert_eq!(d.next_item(), Ok(None));
        d.push(b"1234");
        assert_eq!(d.next_item(), Err(FrameError::TooLarge { limit: 8 }));
        // Also when the very first read is refused (before the BOM check could run).
        let mut d = SseDecoder::new(8);
        d.push(&[b'x'; 100]);
        assert_eq!(d.next_item(), Err(FrameError::TooLarge { limit: 8 }));
    }

    #[test]
    fn huge_line_is_not_buffered() {
        let mut d = SseDecoder::new(1 << 20);
        let chunk = vec![b'x'; 64 * 1024];
        d.push(b"data: ");
        let mut result = Ok(None);
        for _ in 0..100 {
            d.push(&chunk);
            result = d.next_item();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(FrameError::TooLarge { limit: 1 << 20 }));
        for _ in 0..100 {
            d.push(&chunk);
        }
        assert!(d.lines.pending().len() < 2 << 20);
    }

    #[test]
    fn state_is_reported() {
        let mut d = SseDecoder::default();
        assert_eq!((d.last_event_id(), d.retry()), ("", None));
        d.push(b"id: abc\nretry: 3000\n\n");
        assert_eq!(d.next_item(), Ok(None));
        assert_eq!((d.last_event_id(), d.retry()), ("abc", Some(3000)));
    }

    /// Pushes `bytes` and returns every event they complete.
    fn events(decoder: &mut SseDecoder, bytes: &[u8]) -> Vec<SseEvent> {
        decoder.push(bytes);
        std::iter::from_fn(|| decoder.next_item().unwrap()).collect()
    }

    #[test]
    fn resume_keeps_the_last_event_id() {
        let mut old = SseDecoder::default();
        events(&mut old, b"id: 3\ndata: a\n\n");
        let mut next = old.resume();
        assert_eq!(next.last_event_id(), "3");
        // Events without an `id` field carry the kept id, until one changes it.
        let got = events(&mut next, b"data: b\n\nid: 4\ndata: c\n\ndata: d\n\n");
        let ids: Vec<&str> = got.iter().map(|e| &*e.id).collect();
        assert_eq!(ids, ["3", "4", "4"]);
        assert_eq!(next.last_event_id(), "4");
        // And again across a second reconnection.
        let mut third = next.resume();
        assert_eq!(&*events(&mut third, b"data: e\n\n")[0].id, "4");
        // An empty `id` still resets it on the new connection.
        let mut fourth = third.resume();
        assert_eq!(&*events(&mut fourth, b"id\ndata: f\n\n")[0].id, "");
        assert_eq!(fourth.last_event_id(), "");
    }

    #[test]
    fn resume_drops_the_pending_event_of_the_old_connection() {
        let mut old = SseDecoder::default();
        // Event 2 is cut off: its id, type and data must not leak into the new connection.
        let got = events(&mut old, b"id: 1\ndata: a\n\nid: 2\nevent: cut\ndata: half");
        assert_eq!(got.len(), 1);
        let mut next = old.resume();
        assert_eq!(next.last_event_id(), "1");
        let got = events(&mut next, b"data: b\n\n");
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].event_type(), &*got[0].data), ("message", "b"));
        assert_eq!(&*got[0].id, "1");
        // Nothing of the old connection is left to discard when the new one ends.
        assert_eq!(next.finish().unwrap().discarded_bytes, 0);
        // A `\r` that ended the old connection does not swallow a `\n` starting the new one.
        let mut old = SseDecoder::default();
        events(&mut old, b"data: a\r");
        let mut next = old.resume();
        let got = events(&mut next, b"\ndata: b\n\n");
        assert_eq!(got.iter().map(|e| &*e.data).collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn resume_keeps_the_reconnection_time_and_the_limit() {
        let mut old = SseDecoder::new(16);
        // The retry of a cut-off event still took effect.
        events(&mut old, b"retry: 250\ndata: cut");
        let mut next = old.resume();
        assert_eq!(next.retry(), Some(250));
        // It was waiting for the cut-off event; the new connection's first event does not
        // report it, as the server did not send it on this connection.
        let got = events(&mut next, b"data: x\n\n");
        assert_eq!(got[0].retry, None);
        let got = events(&mut next, b"retry: 500\ndata: y\n\n");
        assert_eq!((got[0].retry, next.retry()), (Some(500), Some(500)));
        let mut refused = next.resume();
        refused.push(b"data: 12345678901234567890\n\n");
        assert_eq!(refused.next_item(), Err(FrameError::TooLarge { limit: 16 }));
        // A refused connection does not poison the next one.
        let mut after = refused.resume();
        assert_eq!(events(&mut after, b"data: ok\n\n")[0].data, "ok");
        assert_eq!(after.retry(), Some(500));
    }

    #[test]
    fn resume_strips_a_bom_at_the_start_of_the_new_connection() {
        let mut old = SseDecoder::default();
        events(&mut old, b"\xEF\xBB\xBFid: 1\ndata: a\n\n");
        // Split across reads, as on the first connection.
        let mut next = old.resume();
        assert!(events(&mut next, b"\xEF\xBB").is_empty());
        let got = events(&mut next, b"\xBFdata: b\n\n");
        assert_eq!((&*got[0].data, &*got[0].id), ("b", "1"));
        // Only one, as on the first connection.
        let mut next = old.resume();
        let got = events(&mut next, b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n");
        assert_eq!(got.iter().map(|e| &*e.data).collect::<Vec<_>>(), ["y"]);
    }

    /// The event-stream interpretation rules written out as literally as possible, for whole
    /// inputs only: the BOM stripped, the whole stream UTF-8 decoded, split into lines by
    /// characters, each line processed in turn. The fuzz test checks the decoder against it.
    fn reference(input: &[u8]) -> (Vec<(String, String, String)>, String, Option<u64>) {
        let input = input.strip_prefix(BOM).unwrap_or(input);
        let text = String::from_utf8_lossy(input);
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    chars.next_if_eq(&'\n');
                    lines.push(std::mem::take(&mut line));
                }
                '\n' => lines.push(std::mem::take(&mut line)),
                c => line.push(c),
            }
        }
        // `line` now holds an unterminated last line: discarded.
        let (mut data, mut kind, mut id_buffer) = (String::new(), String::new(), String::new());
        let (mut last_event_id, mut retry, mut events) = (String::new(), None, Vec::new());
        for line in lines {
            if line.is_empty() {
                last_event_id = id_buffer.clone();
                if data.is_empty() {
                    kind.clear();
                    continue;
                }
                if data.ends_with('\n') {
                    data.pop();
                }
                let kind = std::mem::take(&mut kind);
                let kind = if kind.is_empty() {
                    "message".into()
                } else {
                    kind
                };
                events.push((kind, std::mem::take(&mut data), last_event_id.clone()));
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (name, value) = match line.find(':') {
                Some(i) => {
                    let value = &line[i + 1..];
                    (&line[..i], value.strip_prefix(' ').unwrap_or(value))
                }
                None => (&line[..], ""),
            };
            match name {
                "event" => kind = value.to_string(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => id_buffer = value.to_string(),
                "retry" if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) => {
                    retry = value.parse::<u64>().ok().or(Some(u64::MAX));
                }
                _ => {}
            }
        }
        (events, last_event_id, retry)
    }

    /// Inputs made of the pieces that matter to the parser, in random orders and chunkings,
    /// must never panic and must decode the same however they are split.
    #[test]
    fn random_inputs_in_random_chunkings_agree() {
        let pieces: &[&[u8]] = &[
            b"\r",
            b"\n",
            b"\r\n",
            b":",
            b" ",
            b"data",
            b"id",
            b"event",
            b"retry",
            b"x",
            b"1",
            b"\xEF\xBB\xBF",
            b"\xEF",
            b"\xff",
            b"\xc3",
            b"\xa9",
            b"\0",
            b"\xe2\x82\xac",
        ];
        let mut rng = crate::transport::framing::lines::tests::Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..6000 {
            let mut input = Vec::new();
            if round % 5 == 4 {
                // Arbitrary bytes, too.
                for _ in 0..rng.below(100) {
                    input.push(rng.next() as u8);
                }
            } else {
                for _ in 0..rng.below(60) {
                    input.extend_from_slice(pieces[rng.below(pieces.len())]);
                }
            }
            let max = if round % 3 == 0 {
                4 + rng.below(16)
            } else {
                DEFAULT_MAX_ITEM_SIZE
            };
            let whole = decode_with(max, &[&input]);
            if max == DEFAULT_MAX_ITEM_SIZE {
                assert_eq!(
                    (summary(&whole), whole.last_event_id.clone(), whole.retry),
                    reference(&input),
                    "input {input:?}"
                );
            }
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut rest = &input[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(8));
                chunks.push(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(decode_with(max, &chunks), whole, "input {input:?}");
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(decode_with(max, &bytes), whole, "input {input:?}");
        }
    }
}
