//! Line splitting: the byte-level `LineSplitter` every line-based framer (plain lines, NDJSON,
//! Server-Sent Events) is built on, and `LineFramer`, which yields each line of a body as text.
//!
//! Line endings for `LineFramer` and NDJSON: `\n` and `\r\n` end a line, and the `\r` of a `\r\n`
//! is not part of the line. A lone `\r` (not followed by `\n`) is an ordinary byte, as most
//! line-oriented tools treat it, so `"a\rb\n"` is the one line `"a\rb"`. The exception is a `\r`
//! as the very last byte of the body: it is taken as the start of a `\r\n` the server never
//! finished, and stripped. Server-Sent Events also end lines with a lone `\r`
//! ([`LineEndings::Any`]).

use memchr::{memchr, memchr2};

use super::{DEFAULT_MAX_ITEM_SIZE, Finished, FrameError, Framer};

/// Bytes at the start of a search for a line end looked at a word at a time: most lines are
/// short, and for them this costs less than setting up the vectorised search that takes over
/// for the rest of a long line.
const SHORT_LINE: usize = 64;

/// Where the first `\n` or `\r` of `hay` is (the end of a line, in [`LineEndings::Any`]).
#[inline]
pub fn line_end(hay: &[u8]) -> Option<usize> {
    let head = &hay[..hay.len().min(SHORT_LINE)];
    // Eight bytes at a time, in a register: an SSE line (`id: 42`, `data: {…}`, the blank line)
    // is a few bytes to a few dozen, and for those this beats both a comparison per byte and
    // the setup of a vectorised search.
    let (words, tail) = head.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        let found = zero_bytes(word ^ EVERY_BYTE_LF) | zero_bytes(word ^ EVERY_BYTE_CR);
        if found != 0 {
            // The lowest flagged byte is a real match (see `zero_bytes`), the first in memory.
            return Some(index * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tail_start = words.len() * 8;
    if let Some(end) = tail.iter().position(|&b| b == b'\n' || b == b'\r') {
        return Some(tail_start + end);
    }
    memchr2(b'\n', b'\r', &hay[head.len()..]).map(|end| head.len() + end)
}

const EVERY_BYTE_LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
const EVERY_BYTE_CR: u64 = u64::from_ne_bytes([b'\r'; 8]);

/// The high bit of each zero byte of `word` is set, and no bit below the lowest zero byte: a
/// byte above a zero byte may be flagged too (the borrow of the subtraction runs into it), so
/// only the lowest flag is to be trusted.
#[inline]
fn zero_bytes(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// Where the first `\n` of `hay` is.
#[inline]
fn lf_end(hay: &[u8]) -> Option<usize> {
    let head = &hay[..hay.len().min(SHORT_LINE)];
    match memchr::arch::all::memchr::One::new(b'\n').find(head) {
        Some(end) => Some(end),
        None => memchr(b'\n', &hay[head.len()..]).map(|end| head.len() + end),
    }
}

/// Which byte sequences end a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEndings {
    /// `\n` and `\r\n`; a lone `\r` is an ordinary byte (plain text bodies, NDJSON).
    Lf,
    /// `\r\n`, `\n` and a lone `\r` (Server-Sent Events). A `\r` at the end of one push followed
    /// by `\n` at the start of the next is one line ending, not two.
    Any,
}

/// One complete line, borrowed from the splitter's buffer until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line without its line ending.
    pub bytes: &'a [u8],
    /// 1-based number of this line within the stream.
    pub number: u64,
    /// Bytes of the line ending consumed with it: 0 (final unterminated line), 1 or 2. A `\r` that
    /// ended a push counts 1 here; its `\n`, if it comes, is reported by `lf_skipped_before` on
    /// the following line (or [`LineSplitter::take_lf_skipped`]).
    pub ending_len: usize,
    /// The `\n` completing the previous line's `\r\n` arrived in a later push and was skipped
    /// just before this line. Only a consumer that counts bytes per line needs it.
    pub lf_skipped_before: bool,
}

/// Splits bytes, arriving in arbitrary pieces, into lines, without copying a line out of its
/// buffer and without allocating per line.
///
/// Bytes are appended to one buffer; consumed lines are compacted away at the next `push` (only
/// the unfinished tail moves, so this is linear). The search for a line end resumes where the
/// previous search stopped, so a long line arriving in tiny pieces is scanned once, not once per
/// piece. A line longer than `max_line` is an error as soon as that many bytes are pending,
/// whether or not its end has arrived.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Start of the first unconsumed byte in `buf`.
    pos: usize,
    /// Where the next search for a line end starts: `buf[pos..scan]` holds no line end.
    scan: usize,
    endings: LineEndings,
    max_line: usize,
    /// Lines returned so far.
    lines: u64,
    /// The last line ended with a `\r` that was the last byte available: a `\n` next is part of
    /// that line ending. Only in `LineEndings::Any`.
    skip_lf: bool,
    /// Such a `\n` was skipped and not yet reported.
    lf_skipped: bool,
    /// Once a line is too large the splitter stops buffering and repeats the error.
    error: Option<FrameError>,
}

impl LineSplitter {
    /// A splitter for the given line endings that refuses lines longer than `max_line` bytes.
    pub fn new(endings: LineEndings, max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            endings,
            max_line,
            lines: 0,
            skip_lf: false,
            lf_skipped: false,
            error: None,
        }
    }

    /// The largest line accepted, in bytes.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Appends bytes just read.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() || bytes.is_empty() {
            return;
        }
        self.compact();
        // Refuse to buffer a line that is already certain to be too long: without this a single
        // huge read with no line end would be copied in full before `next_line` could object.
        // `[pos..scan]` holds no line end, so when `scan` is at the end the whole tail is one
        // unfinished line. The slack covers a `\r` of `\r\n` and a BOM a consumer strips later,
        // so this never fires where `next_line` would not.
        if self.scan == self.buf.len()
            && self.buf.len() - self.pos + bytes.len() > self.max_line.saturating_add(4)
            && self.find_end(bytes).is_none()
        {
            self.error = Some(FrameError::TooLarge {
                limit: self.max_line,
            });
            return;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, or `Ok(None)` when more bytes are needed.
    #[inline]
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>, FrameError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.skip_lf {
            if self.pos == self.buf.len() {
                return Ok(None);
            }
            self.skip_lf = false;
            if self.buf[self.pos] == b'\n' {
                self.pos += 1;
                self.lf_skipped = true;
                self.scan = self.scan.max(self.pos);
            }
        }
        let start = self.pos;
        let from = self.scan;
        let Some(offset) = self.find_end(&self.buf[from..]) else {
            self.scan = self.buf.len();
            let mut pending = self.buf.len() - start;
            // In `Lf` mode a trailing `\r` may be the first half of `\r\n`, not line content.
            if self.endings == LineEndings::Lf && pending > 0 && self.buf.last() == Some(&b'\r') {
                pending -= 1;
            }
            if pending > self.max_line {
                return Err(self.fail());
            }
            return Ok(None);
        };
        let end = from + offset;
        let (content_end, next) = if self.buf[end] == b'\n' {
            // In `Any` mode a `\r` before this `\n` would have been found first.
            if self.endings == LineEndings::Lf && end > start && self.buf[end - 1] == b'\r' {
                (end - 1, end + 1)
            } else {
                (end, end + 1)
            }
        } else if end + 1 < self.buf.len() {
            let next = if self.buf[end + 1] == b'\n' {
                end + 2
            } else {
                end + 1
            };
            (end, next)
        } else {
            // A `\r` is the last byte we have: the line is complete now (waiting could delay an
            // event indefinitely), and a `\n` arriving next belongs to this line ending.
            self.skip_lf = true;
            (end, end + 1)
        };
        if content_end - start > self.max_line {
            return Err(self.fail());
        }
        self.pos = next;
        self.scan = next;
        self.lines += 1;
        let lf_skipped_before = std::mem::take(&mut self.lf_skipped);
        Ok(Some(Line {
            bytes: &self.buf[start..content_end],
            number: self.lines,
            ending_len: next - content_end,
            lf_skipped_before,
        }))
    }

    /// The bytes after the last complete line (what has arrived of an unfinished line, when
    /// `next_line` last returned `None`).
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Drops up to `n` bytes from the front of `pending()` (a byte order mark, say).
    pub fn skip_front(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        self.scan = self.scan.max(self.pos);
    }

    /// Whether a `\n` completing a `\r\n` split across pushes was skipped and not yet reported
    /// on a returned line; clears the flag.
    pub fn take_lf_skipped(&mut self) -> bool {
        std::mem::take(&mut self.lf_skipped)
    }

    /// The error that stopped the splitter, if one did (it is also returned by `next_line`).
    pub fn error(&self) -> Option<&FrameError> {
        self.error.as_ref()
    }

    /// Lines returned so far.
    pub fn lines_read(&self) -> u64 {
        self.lines
    }

    /// At end of input: the final line that had no line ending, if any bytes of one arrived.
    /// Call it once `next_line` has returned `Ok(None)`; the splitter is then empty. In `Lf`
    /// mode a final `\r` is stripped, as the start of an unfinished `\r\n`.
    pub fn finish(&mut self) -> Result<Option<Line<'_>>, FrameError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let start = self.pos;
        let mut end = self.buf.len();
        self.pos = end;
        self.scan = end;
        self.skip_lf = false;
        if start == end {
            return Ok(None);
        }
        if self.endings == LineEndings::Lf && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        if end - start > self.max_line {
            return Err(self.fail());
        }
        self.lines += 1;
        let lf_skipped_before = std::mem::take(&mut self.lf_skipped);
        Ok(Some(Line {
            bytes: &self.buf[start..end],
            number: self.lines,
            ending_len: 0,
            lf_skipped_before,
        }))
    }

    #[inline]
    fn find_end(&self, hay: &[u8]) -> Option<usize> {
        match self.endings {
            LineEndings::Lf => lf_end(hay),
            LineEndings::Any => line_end(hay),
        }
    }

    /// Whether the pending bytes start a line with nothing carried over from earlier pushes (a
    /// `\r` waiting for its `\n`, a skipped `\n` not yet reported, or the start of a line
    /// already searched for its end) and no error: a caller may then read whole lines from
    /// [`LineSplitter::pending`] itself, and [`LineSplitter::consume`] them. A line arriving in
    /// many pushes is left to [`LineSplitter::next_line`], which searches each byte once.
    pub fn at_clean_line_start(&self) -> bool {
        self.error.is_none() && !self.skip_lf && !self.lf_skipped && self.scan == self.pos
    }

    /// Takes the first `bytes` of [`LineSplitter::pending`], `lines` complete lines with their
    /// line endings that the caller read itself.
    pub fn consume(&mut self, bytes: usize, lines: u64) {
        self.pos = (self.pos + bytes).min(self.buf.len());
        self.scan = self.scan.max(self.pos);
        self.lines += lines;
    }

    /// Moves the unconsumed tail to the front, keeping the allocation.
    fn compact(&mut self) {
        if self.pos == 0 {
            return;
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.copy_within(self.pos.., 0);
            self.buf.truncate(self.buf.len() - self.pos);
        }
        self.scan -= self.pos;
        self.pos = 0;
    }

    /// Records a too-large line and frees the buffer: the splitter is unusable afterwards.
    fn fail(&mut self) -> FrameError {
        let error = FrameError::TooLarge {
            limit: self.max_line,
        };
        self.error = Some(error.clone());
        self.buf = Vec::new();
        self.pos = 0;
        self.scan = 0;
        error
    }
}

/// Yields each line of a body as a `String`, without its line ending (see the module docs for
/// which endings count). A line that is not UTF-8 is an error naming its line number; the lines
/// after it can still be read.
#[derive(Debug, Clone)]
pub struct LineFramer {
    lines: LineSplitter,
}

impl LineFramer {
    /// A framer that refuses lines longer than `max_line_size` bytes.
    pub fn new(max_line_size: usize) -> Self {
        LineFramer {
            lines: LineSplitter::new(LineEndings::Lf, max_line_size),
        }
    }
}

impl Default for LineFramer {
    fn default() -> Self {
        LineFramer::new(DEFAULT_MAX_ITEM_SIZE)
    }
}

fn line_text(line: Line<'_>) -> Result<String, FrameError> {
    match std::str::from_utf8(line.bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(FrameError::InvalidUtf8 { line: line.number }),
    }
}

impl Framer for LineFramer {
    type Item = String;

    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_item(&mut self) -> Result<Option<String>, FrameError> {
        match self.lines.next_line()? {
            Some(line) => line_text(line).map(Some),
            None => Ok(None),
        }
    }

    /// The final line if the body did not end with a line ending (an empty body, or one ending
    /// in `\n`, has none).
    fn finish(&mut self) -> Result<Finished<String>, FrameError> {
        let last = match self.lines.finish()? {
            Some(line) => Some(line_text(line)?),
            None => None,
        };
        Ok(Finished {
            last,
            discarded_bytes: 0,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every line (and the error, if any) from `chunks`, then the finish result.
    fn run(framer: &mut LineFramer, chunks: &[&[u8]]) -> Vec<Result<String, FrameError>> {
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            loop {
                match framer.next_item() {
                    Ok(Some(line)) => out.push(Ok(line)),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Err(e.clone()));
                        if matches!(e, FrameError::TooLarge { .. }) {
                            return out;
                        }
                    }
                }
            }
        }
        match framer.finish() {
            Ok(f) => out.extend(f.last.map(Ok)),
            Err(e) => out.push(Err(e)),
        }
        out
    }

    fn lines(chunks: &[&[u8]]) -> Vec<Result<String, FrameError>> {
        run(&mut LineFramer::default(), chunks)
    }

    fn ok(lines: &[&str]) -> Vec<Result<String, FrameError>> {
        lines.iter().map(|l| Ok(l.to_string())).collect()
    }

    /// `line_end` (a word at a time over the head, then vectorised) agrees with one vectorised
    /// search over the whole input, for endings anywhere: in the head, at its edge, past it.
    #[test]
    fn line_end_finds_what_a_plain_search_finds() {
        let mut rng = fastrand::Rng::with_seed(14);
        let alphabet = [b'a', b'\n', b'\r', 0, 9, 11, 12, 14, 0xC3, 0xFF];
        for _ in 0..20_000 {
            let len = rng.usize(0..200);
            // Mostly ordinary bytes, so endings fall at every distance from the start; now and
            // then many special bytes, so a word holds several (and bytes next to an ending's
            // value: 0x0B and 0x0C, 0x0E, 0x09).
            let rare = [2, 8, 40][rng.usize(..3)];
            let hay: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.u8(0..rare) == 0 {
                        alphabet[rng.usize(..alphabet.len())]
                    } else {
                        rng.u8(..)
                    }
                })
                .collect();
            assert_eq!(line_end(&hay), memchr2(b'\n', b'\r', &hay), "in {hay:?}");
        }
    }

    #[test]
    fn splits_on_lf_and_crlf() {
        assert_eq!(lines(&[b"a\nb\r\nc\n"]), ok(&["a", "b", "c"]));
    }

    #[test]
    fn lone_cr_is_content() {
        assert_eq!(lines(&[b"a\rb\n\r\r\n"]), ok(&["a\rb", "\r"]));
    }

    #[test]
    fn crlf_split_across_pushes() {
        assert_eq!(lines(&[b"a\r", b"\nb\r", b"\n"]), ok(&["a", "b"]));
        assert_eq!(lines(&[b"a\r", b"b\n"]), ok(&["a\rb"]));
    }

    #[test]
    fn empty_lines_are_lines() {
        assert_eq!(lines(&[b"\n\r\n\n"]), ok(&["", "", ""]));
    }

    #[test]
    fn final_line_without_newline_is_delivered() {
        assert_eq!(lines(&[b"a\nlast"]), ok(&["a", "last"]));
        assert_eq!(lines(&[b"a\nlast\r"]), ok(&["a", "last"]));
        assert_eq!(lines(&[b"a\n"]), ok(&["a"]));
        assert_eq!(lines(&[]), ok(&[]));
    }

    #[test]
    fn incremental_across_pushes() {
        assert_eq!(
            lines(&[b"he", b"llo", b"\nwor", b"ld\n", b"!"]),
            ok(&["hello", "world", "!"])
        );
    }

    #[test]
    fn multibyte_char_split_across_pushes() {
        let text = "é€😀\n".as_bytes();
        for cut in 0..text.len() {
            assert_eq!(lines(&[&text[..cut], &text[cut..]]), ok(&["é€😀"]));
        }
    }

    #[test]
    fn invalid_utf8_names_the_line_and_continues() {
        assert_eq!(
            lines(&[b"ok\nbad\xff\nfine\n\xc3"]),
            vec![
                Ok("ok".to_string()),
                Err(FrameError::InvalidUtf8 { line: 2 }),
                Ok("fine".to_string()),
                Err(FrameError::InvalidUtf8 { line: 4 }),
            ]
        );
    }

    #[test]
    fn max_line_size() {
        let too_large = Err(FrameError::TooLarge { limit: 4 });
        assert_eq!(run(&mut LineFramer::new(4), &[b"abcd\n"]), ok(&["abcd"]));
        assert_eq!(run(&mut LineFramer::new(4), &[b"abcd\r\n"]), ok(&["abcd"]));
        assert_eq!(
            run(&mut LineFramer::new(4), &[b"ab", b"cd", b"\r", b"\n"]),
            ok(&["abcd"])
        );
        assert_eq!(
            run(&mut LineFramer::new(4), &[b"ab\nabcde\n"]),
            vec![Ok("ab".to_string()), too_large.clone()]
        );
        assert_eq!(
            run(&mut LineFramer::new(4), &[b"abc", b"de"]),
            vec![too_large.clone()]
        );
        assert_eq!(run(&mut LineFramer::new(4), &[b"abcde"]), vec![too_large]);
    }

    #[test]
    fn too_large_line_is_not_buffered() {
        let mut framer = LineFramer::new(1024);
        let chunk = vec![b'x'; 64 * 1024];
        framer.push(&chunk);
        assert_eq!(
            framer.next_item(),
            Err(FrameError::TooLarge { limit: 1024 })
        );
        for _ in 0..100 {
            framer.push(&chunk);
        }
        assert!(framer.lines.buf.capacity() < 128 * 1024);
        // A large push that does end lines is still accepted whole.
        let mut framer = LineFramer::new(1024);
        let mut many = Vec::new();
        for _ in 0..1000 {
            many.extend_from_slice(b"0123456789\n");
        }
        framer.push(&many);
        let mut n = 0;
        while let Ok(Some(_)) = framer.next_item() {
            n += 1;
        }
        assert_eq!(n, 1000);
    }

    #[test]
    fn buffer_is_compacted_not_grown() {
        let mut framer = LineFramer::default();
        for i in 0..10_000 {
            framer.push(format!("line {i}\nhalf").as_bytes());
            framer.push(b" done\n");
            while let Ok(Some(_)) = framer.next_item() {}
        }
        assert!(framer.lines.buf.capacity() < 1024);
    }

    #[test]
    fn splitter_any_mode_cr_lf_split() {
        let mut s = LineSplitter::new(LineEndings::Any, 100);
        s.push(b"a\r");
        let line = s.next_line().unwrap().unwrap();
        assert_eq!((line.bytes, line.ending_len), (&b"a"[..], 1));
        assert_eq!(s.next_line(), Ok(None));
        s.push(b"\n\rb\n");
        let line = s.next_line().unwrap().unwrap();
        assert_eq!(line.bytes, b"");
        assert!(line.lf_skipped_before);
        let line = s.next_line().unwrap().unwrap();
        assert_eq!((line.bytes, line.number), (&b"b"[..], 3));
        assert!(!line.lf_skipped_before);
    }

    /// A tiny xorshift generator: the fuzz loops need no dependency.
    pub(crate) struct Rng(pub u64);

    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_chunkings_agree() {
        let alphabet = b"ab\r\n\xff\xc3\xa9 ";
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = rng.below(40);
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let max = 1 + rng.below(12);
            let whole = run(&mut LineFramer::new(max), &[&input]);
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut rest = &input[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len());
                chunks.push(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(run(&mut LineFramer::new(max), &chunks), whole, "{input:?}");
        }
    }
}
