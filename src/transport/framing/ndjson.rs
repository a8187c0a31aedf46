//! NDJSON (newline-delimited JSON) framing: one JSON value per line, split by the shared
//! `LineSplitter` (`\n` or `\r\n`), with blank lines skipped.

use serde_json::Value;

use super::lines::{Line, LineEndings, LineSplitter};
use super::{DEFAULT_MAX_ITEM_SIZE, Finished, FrameError, Framer};

/// How much of a bad line an error quotes: enough to recognise it, not a whole megabyte.
const MAX_QUOTED_CHARS: usize = 200;

/// Decodes a body of newline-delimited JSON values.
///
/// Lines holding only JSON whitespace (space, tab, `\r`) are skipped, as most producers and
/// consumers of NDJSON allow. A line that is not exactly one JSON value is an
/// [`FrameError::InvalidJson`] naming its 1-based line number; the lines after it can still be
/// read. A final line without a newline is parsed at `finish`.
#[derive(Debug, Clone)]
pub struct NdjsonDecoder {
    lines: LineSplitter,
}

impl NdjsonDecoder {
    /// A decoder that refuses lines longer than `max_item_size` bytes.
    pub fn new(max_item_size: usize) -> Self {
        NdjsonDecoder {
            lines: LineSplitter::new(LineEndings::Lf, max_item_size),
        }
    }
}

impl Default for NdjsonDecoder {
    fn default() -> Self {
        NdjsonDecoder::new(DEFAULT_MAX_ITEM_SIZE)
    }
}

/// The value on a line, or `None` for a blank line.
fn parse_line(line: Line<'_>) -> Result<Option<Value>, FrameError> {
    if line.bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        return Ok(None);
    }
    match serde_json::from_slice(line.bytes) {
        Ok(value) => Ok(Some(value)),
        // serde_json also rejects invalid UTF-8 inside strings; say so plainly rather than
        // quoting its message about a bad code point. Checked only here, off the fast path.
        Err(_) if std::str::from_utf8(line.bytes).is_err() => {
            Err(FrameError::InvalidUtf8 { line: line.number })
        }
        Err(error) => Err(FrameError::InvalidJson {
            line: line.number,
            error: error.to_string(),
            text: quote(line.bytes),
        }),
    }
}

/// The line as text for an error message, cut to `MAX_QUOTED_CHARS` characters where a report
/// shows it (after masking secrets).
fn quote(bytes: &[u8]) -> String {
    crate::excerpt::excerpt(&String::from_utf8_lossy(bytes), MAX_QUOTED_CHARS)
}

impl Framer for NdjsonDecoder {
    type Item = Value;

    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_item(&mut self) -> Result<Option<Value>, FrameError> {
        while let Some(line) = self.lines.next_line()? {
            if let Some(value) = parse_line(line)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<Finished<Value>, FrameError> {
        let last = match self.lines.finish()? {
            Some(line) => parse_line(line)?,
            None => None,
        };
        Ok(Finished {
            last,
            discarded_bytes: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(decoder: &mut NdjsonDecoder, chunks: &[&[u8]]) -> Vec<Result<Value, FrameError>> {
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            loop {
                match decoder.next_item() {
                    Ok(Some(value)) => out.push(Ok(value)),
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
        match decoder.finish() {
            Ok(f) => out.extend(f.last.map(Ok)),
            Err(e) => out.push(Err(e)),
        }
        out
    }

    fn values(chunks: &[&[u8]]) -> Vec<Result<Value, FrameError>> {
        run(&mut NdjsonDecoder::default(), chunks)
    }

    #[test]
    fn one_value_per_line() {
        assert_eq!(
            values(&[b"{\"a\":1}\n[1,2]\r\n\"s\"\n3\nnull\n"]),
            vec![
                Ok(json!({"a": 1})),
                Ok(json!([1, 2])),
                Ok(json!("s")),
                Ok(json!(3)),
                Ok(json!(null))
            ]
        );
    }

    #[test]
    fn values_split_across_pushes() {
        assert_eq!(
            values(&[b"{\"a\"", b":\"\xc3", b"\xa9\"}\r", b"\n{}", b"\n"]),
            vec![Ok(json!({"a": "é"})), Ok(json!({}))]
        );
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(
            values(&[b"\n  \n\t\r\n1\n\n2\n \n"]),
            vec![Ok(json!(1)), Ok(json!(2))]
        );
    }

    #[test]
    fn final_unterminated_line_is_parsed() {
        assert_eq!(values(&[b"1\n2"]), vec![Ok(json!(1)), Ok(json!(2))]);
        assert_eq!(values(&[b"1\n  "]), vec![Ok(json!(1))]);
        assert!(matches!(
            values(&[b"1\n{\"a\":"]).as_slice(),
            [Ok(_), Err(FrameError::InvalidJson { line: 2, .. })]
        ));
    }

    #[test]
    fn invalid_json_names_line_and_quotes_text() {
        let out = values(&[b"1\n\nnot json\n2 3\n4\n"]);
        assert_eq!(out.len(), 4);
        match &out[1] {
            Err(FrameError::InvalidJson { line, text, .. }) => {
                assert_eq!((*line, text.as_str()), (3, "not json"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            out[2],
            Err(FrameError::InvalidJson { line: 4, .. })
        ));
        assert_eq!(out[3], Ok(json!(4)));
    }

    #[test]
    fn long_bad_line_is_truncated_for_display() {
        let line = format!("{}\n", "é".repeat(1000));
        match &values(&[line.as_bytes()])[0] {
            Err(FrameError::InvalidJson { text, .. }) => {
                let shown = crate::report::redact::Secrets::default().redact(text);
                assert_eq!(shown.chars().count(), MAX_QUOTED_CHARS + 1);
                assert!(shown.ends_with('…'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_utf8_is_reported_as_such() {
        assert_eq!(
            values(&[b"\"a\xff\"\n"]),
            vec![Err(FrameError::InvalidUtf8 { line: 1 })]
        );
    }

    #[test]
    fn max_size() {
        assert_eq!(
            run(&mut NdjsonDecoder::new(8), &[b"[1,2,3]\n[1,2,3,4,5]\n"]),
            vec![Ok(json!([1, 2, 3])), Err(FrameError::TooLarge { limit: 8 })]
        );
    }
}
