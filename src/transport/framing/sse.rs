//! Server-Sent Events decoding, following the WHATWG HTML "Interpreting an event stream" rules:
//! bytes in, dispatched events out, plus the stream state a reconnecting client needs
//! (`lastEventId`, the reconnection time).
//!
//! Our own decoder rather than a crate's because the details matter for a conformance tool: one
//! leading BOM stripped, and only one; `\r`, `\n` and `\r\n` line endings, with a `\r\n` split
//! across reads counted once; UTF-8 decoded with replacement per line, so a character split
//! across reads is not damaged; an unterminated final event discarded with its id uncommitted.

use smol_str::SmolStr;

use super::lines::{Line, LineEndings, LineSplitter, line_end};
use super::{DEFAULT_MAX_ITEM_SIZE, Finished, FrameError, Framer};
use crate::transport::item::{SseEvent, SseRare};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest field name the parser acts on (`event`, `retry`).
const LONGEST_FIELD_NAME: usize = 5;

/// Lines of a block read whole (see [`SseDecoder::simple_block`]); a block with more is read
/// line by line.
const BLOCK_LINES: usize = 16;

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
    /// Whether simple event blocks are read whole (see [`SseDecoder::simple_block`]); off
    /// only in tests that compare both ways.
    whole_blocks: bool,
    state: EventState,
}

/// The parser's buffers, kept apart from the line buffer so a borrowed line can be processed
/// while they are updated.
#[derive(Debug, Clone)]
struct EventState {
    max_item_size: usize,
    /// The data buffer: each `data` value followed by `\n`.
    data: String,
    /// The data of an event the caller no longer needs (see [`SseDecoder::recycle`]): the next
    /// event's data is copied into it, so a stream of small events allocates none.
    spare: String,
    /// The event type buffer.
    event_type: String,
    /// The last event ID buffer: set by `id` fields, committed at each dispatch.
    id_buffer: SmolStr,
    /// The event source's last event ID string, as of the last dispatch.
    last_event_id: SmolStr,
    /// The reconnection time, in ms, once the stream has set one.
    retry: Option<u64>,
    /// A valid `retry` seen since the last dispatched event, reported on the next one.
    retry_since_dispatch: Option<u64>,
    /// Some line since the last dispatch held invalid UTF-8.
    invalid_utf8: bool,
    /// Whether the event being read has an `id` field of its own.
    id_seen: bool,
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
        SseDecoder {
            lines: LineSplitter::new(LineEndings::Any, max_item_size),
            at_start: true,
            whole_blocks: true,
            state: EventState {
                max_item_size,
                data: String::new(),
                spare: String::new(),
                event_type: String::new(),
                id_buffer: SmolStr::default(),
                last_event_id: SmolStr::default(),
                retry: None,
                retry_since_dispatch: None,
                invalid_utf8: false,
                id_seen: false,
                pending_bytes: 0,
                last_line_counted: false,
            },
        }
    }

    /// A decoder that reads every block line by line, to check [`SseDecoder::simple_block`]
    /// against.
    #[cfg(test)]
    fn line_by_line(max_item_size: usize) -> Self {
        SseDecoder {
            whole_blocks: false,
            ..SseDecoder::new(max_item_size)
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
        next.whole_blocks = self.whole_blocks;
        next.state.last_event_id = self.state.last_event_id.clone();
        next.state.id_buffer = self.state.last_event_id.clone();
        next.state.retry = self.state.retry;
        next
    }

    /// Reads the rest of an event block in one go when it is simple, up to the dispatch: `true`
    /// when it did (the caller dispatches next), `false` when the block is left to the
    /// line-by-line reading. Simple is: complete up to its blank line, its lines ended by `\n`
    /// alone, at most [`BLOCK_LINES`] of them, valid UTF-8, none over the limit, and no line
    /// ending carried over from the last read. Most streams send only such blocks, and for them
    /// this gives what reading line by line gives, at a fraction of the cost: one search per
    /// line, one UTF-8 check per block, and no count of the bytes an unfinished event would
    /// leave (the blank line ends it). Lines of the event read before (the start of a block cut
    /// by a read) count as they do when reading line by line. Anything else is left to the
    /// line-by-line reading, which knows every rule (`\r`, replacement of invalid UTF-8,
    /// limits, the bytes an unfinished event leaves).
    fn simple_block(&mut self) -> Result<bool, FrameError> {
        if !self.whole_blocks || !self.lines.at_clean_line_start() {
            return Ok(false);
        }
        let pending = self.lines.pending();
        let max_line = self.lines.max_line();
        // Where each field line ends (its `\n`); the blank line comes after the last.
        let mut ends = [0u32; BLOCK_LINES];
        let mut count = 0;
        let mut at = 0;
        loop {
            let rest = &pending[at..];
            let Some(end) = line_end(rest) else {
                return Ok(false);
            };
            if rest[end] == b'\r' || end > max_line {
                return Ok(false);
            }
            if end == 0 {
                break;
            }
            at += end;
            if count == BLOCK_LINES || at > self.state.max_item_size {
                return Ok(false);
            }
            ends[count] = at as u32;
            count += 1;
            at += 1;
        }
        // The fields end where the blank line starts; the data buffer holds at most their
        // bytes, so no field can be too large.
        let Some(fields) = utf8_text(&pending[..at]) else {
            return Ok(false);
        };
        let mut start = 0;
        for &end in &ends[..count] {
            let line = &fields[start..end as usize];
            if !line.starts_with(':') {
                self.state.field(line)?;
            }
            start = end as usize + 1;
        }
        self.state.last_line_counted = false;
        self.lines.consume(at + 1, count as u64 + 1);
        Ok(true)
    }

    /// Takes back the data of an event the caller is done with, for the next event's data to be
    /// copied into instead of a new allocation. One is kept, and only a small one: a large
    /// buffer held for reuse would be memory the stream no longer needs.
    pub fn recycle(&mut self, data: String) {
        if self.state.spare.capacity() == 0 && data.capacity() <= COPY_DATA_LIMIT {
            self.state.spare = data;
        }
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
        // Matched as byte arrays: compared in registers, with no call to compare memory.
        match *name.as_bytes() {
            [b'd', b'a', b't', b'a'] => {
                if self.data.len() + value.len() > self.max_item_size {
                    return Err(FrameError::TooLarge {
                        limit: self.max_item_size,
                    });
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            [b'e', b'v', b'e', b'n', b't'] => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            // An id containing NUL is ignored. A short id is held inline: copying it in costs
            // less than comparing it first, and `SmolStr::new` would look for a run of
            // whitespace it could share. A long one is replaced only when it changes: many
            // streams repeat it, and it is then shared, not copied.
            [b'i', b'd'] if !value.bytes().any(|b| b == 0) => {
                self.id_seen = true;
                if value.len() <= SmolStr::INLINE_CAP {
                    self.id_buffer = SmolStr::new_inline(value);
                } else if *self.id_buffer != *value {
                    self.id_buffer = SmolStr::new(value);
                }
            }
            [b'r', b'e', b't', b'r', b'y'] => {
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
    // Inlined up to where the event becomes an item: an event built in a function of its own is
    // copied out of it, and copying it costs more than building it.
    #[inline]
    fn dispatch(&mut self) -> Option<SseEvent> {
        self.pending_bytes = 0;
        // The id is committed even when no event is dispatched: `id: 5\n\n` sets lastEventId.
        self.last_event_id.clone_from(&self.id_buffer);
        let invalid_utf8 = std::mem::take(&mut self.invalid_utf8);
        let has_id = std::mem::take(&mut self.id_seen);
        if self.data.is_empty() {
            self.event_type.clear();
            return None;
        }
        // Every data line appended a '\n'; the last one is removed.
        self.data.pop();
        let data = if self.data.len() > COPY_DATA_LIMIT {
            std::mem::take(&mut self.data)
        } else {
            // Into the spare buffer when the caller gave one back (it allocates if not).
            let mut data = std::mem::take(&mut self.spare);
            data.clear();
            data.push_str(&self.data);
            self.data.clear();
            data
        };
        let retry = self.retry_since_dispatch.take();
        let rare = if self.event_type.is_empty() && retry.is_none() {
            None
        } else {
            let event = (!self.event_type.is_empty()).then(|| self.event_type.clone());
            self.event_type.clear();
            SseRare::boxed(event, retry)
        };
        Some(SseEvent {
            data,
            id: self.last_event_id.clone(),
            rare,
            invalid_utf8,
            has_id,
        })
    }
}

/// `bytes` as text, if they are UTF-8. Almost every event is ASCII, which is UTF-8 as it is:
/// checked a word at a time, it spares the byte-by-byte validation `from_utf8` gives short,
/// unaligned text (5% of the CPU of a flood of small events).
#[inline]
fn utf8_text(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every byte is ASCII, and ASCII text is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
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

    #[inline]
    fn next_item(&mut self) -> Result<Option<SseEvent>, FrameError> {
        if self.at_start && !self.strip_bom() {
            // Undecided means at most two bytes are pending, unless a push was refused.
            return match self.lines.error() {
                Some(error) => Err(error.clone()),
                None => Ok(None),
            };
        }
        while self.simple_block()? {
            if let Some(event) = self.state.dispatch() {
                return Ok(Some(event));
            }
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
        state.id_buffer = state.last_event_id.clone();
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
mod tests;
