//! Source files and spans: where in which file a piece of spec text is, and its line and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A byte range in a source file. Every AST node carries one, so every error can point at the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(span: pest::Span<'_>) -> Self {
        Span::new(span.start(), span.end())
    }
}

/// One spec (or config) file's text, shared by every diagnostic that points into it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it (or as found under a directory they gave), for messages.
    pub path: PathBuf,
    pub text: String,
    /// Byte offset where each line starts; computed once so offset → line is a binary search.
    line_starts: Vec<usize>,
}

/// A 1-based line and column; the column counts characters, not bytes, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        let mut text = text.into();
        // Editors on some systems start UTF-8 files with a byte order mark; it is not content.
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        // LF, CRLF and a lone CR each end a line, as the grammar's NEWLINE does.
        let line_starts = crate::line_break::line_starts(&text);
        Arc::new(SourceFile {
            path: path.into(),
            text,
            line_starts,
        })
    }

    /// Reads a file; the error says what is wrong in words for a message (`cannot read …: …`).
    pub fn read(path: &Path) -> Result<Arc<SourceFile>, String> {
        let bytes = crate::spec_file::read(path)?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(path, text)),
            Err(error) => {
                let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
                let text = String::from_utf8_lossy(valid);
                let line = text.matches('\n').count() + 1;
                let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                Err(format!(
                    "the file is not valid UTF-8 (line {line}, column {col})"
                ))
            }
        }
    }

    /// The directory the file is in, against which relative paths in it (body files) resolve.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_index];
        let col = self.text[line_start..floor_char_boundary(&self.text, offset)]
            .chars()
            .count()
            + 1;
        LineCol {
            line: line_index + 1,
            col,
        }
    }

    /// The byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        crate::line_break::without_break(&self.text[start..end])
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// `path:line:col` for a byte offset.
    pub fn location(&self, offset: usize) -> String {
        let lc = self.line_col(offset);
        format!("{}:{}:{}", self.path.display(), lc.line, lc.col)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let file = SourceFile::new("a.stream", "ab\nçd\n\nx");
        assert_eq!(file.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, col: 1 });
        // 'ç' is two bytes; the 'd' after it is column 2.
        assert_eq!(file.line_col(5), LineCol { line: 2, col: 2 });
        assert_eq!(file.line_col(8), LineCol { line: 4, col: 1 });
        assert_eq!(file.line_text(2), "çd");
        assert_eq!(file.line_text(3), "");
        assert_eq!(file.line_text(9), "");
    }

    #[test]
    fn a_lone_cr_and_crlf_end_lines_too() {
        let file = SourceFile::new("a.stream", "ab\rcd\r\n\rx");
        assert_eq!(file.line_col(3), LineCol { line: 2, col: 1 });
        assert_eq!(file.line_col(8), LineCol { line: 4, col: 1 });
        assert_eq!(file.line_text(1), "ab");
        assert_eq!(file.line_text(2), "cd");
        assert_eq!(file.line_text(3), "");
        assert_eq!(file.line_start(4), 8);
    }
}
