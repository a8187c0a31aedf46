//! `streamspec fmt`: a spec file's text in the canonical layout, with its comments. The
//! statements render through [`crate::render`], as diffs do; the comments and blank lines are
//! read back from the source between the statements' spans. Every result is checked before it
//! is used: it must parse to the same syntax tree as the source.

mod layout;
mod spelling;
mod tree;
mod trivia;
pub mod verify;

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::line_break::LineEnding;
use crate::source::SourceFile;

const BOM: char = '\u{feff}';

/// Why a file was not formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The file does not parse: its syntax errors.
    Invalid(Vec<Diagnostic>),
    /// The formatter could not lay the file out without a risk of changing it (a bug): the
    /// reason, for a message.
    Unsafe(String),
}

/// The canonical text of a spec file. Line endings stay as they were (every line ends as the
/// first line does: LF, CRLF or CR), and so does a byte order mark.
pub fn format_source(path: &Path, text: &str) -> Result<String, FormatError> {
    let (bom, text) = match text.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let ending = LineEnding::of(text);
    // The layout works on LF lines; no token holds a line break, so this changes no value.
    let formatted = format_lf(path, &LineEnding::Lf.apply(text))?;
    let mut out = String::with_capacity(formatted.len() + 4);
    if bom {
        out.push(BOM);
    }
    out.push_str(&ending.apply(&formatted));
    Ok(out)
}

fn format_lf(path: &Path, text: &str) -> Result<String, FormatError> {
    let source = SourceFile::new(path, text);
    let spec = crate::syntax::parse(&source).map_err(FormatError::Invalid)?;
    let unsafe_at = |error: trivia::Unexpected| {
        FormatError::Unsafe(format!("unexpected text at {}", source.location(error.0)))
    };
    let nodes = tree::file_nodes(&spec, text).map_err(unsafe_at)?;
    let formatted = layout::Layout::new(text).file(&nodes).map_err(unsafe_at)?;
    verify::same_meaning(&spec, path, &formatted).map_err(FormatError::Unsafe)?;
    Ok(formatted)
}

#[cfg(test)]
mod tests;
