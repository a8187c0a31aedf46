//! Line breaks in spec text: LF, CRLF and a lone CR each end a line (the rule the SSE spec uses
//! for streams, and the grammar's `NEWLINE`), and a file's line-ending style, which a rewrite
//! keeps. Every place that finds lines in spec text goes through here.

/// The length of the line break that starts at byte `at`, or `None` when none starts there.
/// `at` inside a CRLF (on its LF) is no start: the break began one byte earlier.
pub fn break_len(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.get(at)? {
        b'\r' if bytes.get(at + 1) == Some(&b'\n') => Some(2),
        b'\r' => Some(1),
        b'\n' if at > 0 && bytes[at - 1] == b'\r' => None,
        b'\n' => Some(1),
        _ => None,
    }
}

/// The byte offset where each line starts: 0, then just after every line break.
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(breaks(text).map(|(_, end)| end));
    starts
}

/// The line breaks of `text`, each as the byte range it covers.
pub fn breaks(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    memchr::memchr2_iter(b'\n', b'\r', text.as_bytes())
        .filter_map(|at| break_len(text, at).map(|len| (at, at + len)))
}

/// Whether `text` holds a line break.
pub fn has_break(text: &str) -> bool {
    text.contains(['\n', '\r'])
}

/// Where the line that holds byte `offset` starts.
pub fn line_start(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    match memchr::memrchr2(b'\n', b'\r', &text.as_bytes()[..offset]) {
        // The CR of a CRLF whose LF is at `offset`: `offset` is inside that break, on its line.
        Some(at) if break_len(text, at) == Some(2) && at + 1 == offset => line_start(text, at),
        Some(at) => at + 1,
        None => 0,
    }
}

/// Where the line that holds byte `offset` ends: at its line break, or at the end of the text.
pub fn line_end(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    memchr::memchr2(b'\n', b'\r', &text.as_bytes()[offset..]).map_or(text.len(), |at| offset + at)
}

/// The lines of `text` without their breaks; a break at the very end starts no empty line (as
/// `str::lines`).
pub fn lines(text: &str) -> impl Iterator<Item = &str> + '_ {
    lines_with_breaks(text).into_iter().map(without_break)
}

/// A line without the line break at its end.
pub fn without_break(line: &str) -> &str {
    line.strip_suffix("\r\n")
        .or_else(|| line.strip_suffix(['\n', '\r']))
        .unwrap_or(line)
}

/// The lines of `text`, each with its line break (the last one without, when the text does not
/// end with one).
pub fn lines_with_breaks(text: &str) -> Vec<&str> {
    let starts = line_starts(text);
    starts
        .iter()
        .zip(starts.iter().skip(1).chain([&text.len()]))
        .map(|(&start, &end)| &text[start..end])
        .filter(|line| !line.is_empty())
        .collect()
}

/// How a file's lines end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
    Cr,
}

impl LineEnding {
    /// A file's style: that of its first line break (LF when it has none).
    pub fn of(text: &str) -> LineEnding {
        match breaks(text).next().map(|(start, end)| &text[start..end]) {
            Some("\r\n") => LineEnding::CrLf,
            Some("\r") => LineEnding::Cr,
            _ => LineEnding::Lf,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }

    /// `text` with every line break, of whatever kind, written in this style.
    pub fn apply(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in breaks(text) {
            out.push_str(&text[at..start]);
            out.push_str(self.as_str());
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_crlf_and_a_lone_cr_each_end_a_line() {
        let text = "a\nb\r\nc\rd";
        assert_eq!(line_starts(text), vec![0, 2, 5, 7]);
        assert_eq!(lines(text).collect::<Vec<_>>(), vec!["a", "b", "c", "d"]);
        assert_eq!(lines_with_breaks(text), vec!["a\n", "b\r\n", "c\r", "d"]);
        // Two CRs are two breaks, and so a blank line; CR then LF is one break.
        assert_eq!(line_starts("a\r\rb"), vec![0, 2, 3]);
        assert_eq!(lines("a\r\n").collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(lines("").count(), 0);
    }

    #[test]
    fn line_start_and_end_of_an_offset() {
        let text = "ab\r\ncd\ref";
        assert_eq!(line_start(text, 1), 0);
        // On the LF of a CRLF: still the first line.
        assert_eq!(line_start(text, 3), 0);
        assert_eq!(line_start(text, 4), 4);
        assert_eq!(line_start(text, 8), 7);
        assert_eq!(line_end(text, 0), 2);
        assert_eq!(line_end(text, 5), 6);
        assert_eq!(line_end(text, 8), text.len());
    }

    #[test]
    fn a_files_style_is_its_first_break_and_apply_writes_every_break_in_it() {
        assert_eq!(LineEnding::of("a\r\nb\nc"), LineEnding::CrLf);
        assert_eq!(LineEnding::of("a\rb\n"), LineEnding::Cr);
        assert_eq!(LineEnding::of("a"), LineEnding::Lf);
        assert_eq!(LineEnding::Cr.apply("a\nb\r\nc\rd\n"), "a\rb\rc\rd\r");
        assert_eq!(LineEnding::CrLf.apply("a\nb\r\n"), "a\r\nb\r\n");
        assert_eq!(LineEnding::Lf.apply("a\r\r\nb"), "a\n\nb");
    }
}
