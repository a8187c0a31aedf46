//! One diagnostic type for every message that points at a file: parse errors, check errors,
//! config errors and test failures are all rendered here, plain or coloured, the same way.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::source::{SourceFile, Span};
use crate::style::Palette;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a source file with a short text shown next to the caret.
#[derive(Debug, Clone)]
pub struct Label {
    pub file: Arc<SourceFile>,
    pub span: Span,
    pub text: String,
}

/// A message, optionally pointing at a place in a file, with notes and help lines after it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub label: Option<Label>,
    /// Extra lines shown after the source excerpt, each already phrased (`help: …`, `note: …`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            label: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, file: &Arc<SourceFile>, span: Span, text: impl Into<String>) -> Self {
        self.label = Some(Label {
            file: Arc::clone(file),
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl AsRef<str>) -> Self {
        self.notes.push(format!("help: {}", text.as_ref()));
        self
    }

    pub fn note(mut self, text: impl AsRef<str>) -> Self {
        self.notes.push(format!("note: {}", text.as_ref()));
        self
    }

    /// `path:line:col` of the label, if there is one.
    pub fn location(&self) -> Option<String> {
        self.label
            .as_ref()
            .map(|label| label.file.location(label.span.start))
    }

    /// Renders the diagnostic the way rustc and just do:
    ///
    /// ```text
    /// error: unknown step `expcet`
    ///  --> specs/a.stream:3:3
    ///   |
    /// 3 |   expcet status 200
    ///   |   ^^^^^^ expected a step
    ///   |
    ///   = help: did you mean `expect`?
    /// ```
    pub fn render(&self, palette: &Palette) -> String {
        let mut out = String::new();
        let (word, style) = match self.severity {
            Severity::Error => ("error", palette.error),
            Severity::Warning => ("warning", palette.warning),
        };
        let _ = writeln!(
            out,
            "{}{word}{}: {}{}{}",
            style.render(),
            style.render_reset(),
            palette.bold.render(),
            self.message,
            palette.bold.render_reset()
        );
        let gutter_width = self
            .label
            .as_ref()
            .map(|label| label.file.line_col(label.span.start).line.to_string().len())
            .unwrap_or(1);
        let pad = " ".repeat(gutter_width);
        let bar = format!("{}|{}", palette.dim.render(), palette.dim.render_reset());
        if let Some(label) = &self.label {
            let file = &label.file;
            let start = file.line_col(label.span.start);
            let _ = writeln!(
                out,
                "{pad}{}-->{} {}",
                palette.dim.render(),
                palette.dim.render_reset(),
                file.location(label.span.start)
            );
            let _ = writeln!(out, "{pad} {bar}");
            let line_text = file.line_text(start.line);
            let _ = writeln!(
                out,
                "{}{:>gutter_width$}{} {bar} {}",
                palette.dim.render(),
                start.line,
                palette.dim.render_reset(),
                line_text.replace('\t', " ")
            );
            // Underline to the end of the span or of the line, whichever comes first, measured
            // in display columns so wide characters (CJK, emoji) keep the caret in place.
            let line_start = file.line_start(start.line);
            let caret_from = label
                .span
                .start
                .saturating_sub(line_start)
                .min(line_text.len());
            let caret_to = label
                .span
                .end
                .saturating_sub(line_start)
                .clamp(caret_from, line_text.len());
            let before = line_text.get(..caret_from).unwrap_or("");
            let under = line_text.get(caret_from..caret_to).unwrap_or("");
            let indent = display_width(before);
            let caret_len = display_width(under).max(1);
            let text = if label.text.is_empty() {
                String::new()
            } else {
                format!(" {}", label.text)
            };
            let _ = writeln!(
                out,
                "{pad} {bar} {}{}{}{text}{}",
                " ".repeat(indent),
                style.render(),
                "^".repeat(caret_len),
                style.render_reset()
            );
            if !self.notes.is_empty() {
                let _ = writeln!(out, "{pad} {bar}");
            }
        }
        for note in &self.notes {
            let mut lines = note.lines();
            if let Some(first) = lines.next() {
                let _ = writeln!(out, "{pad} = {first}");
            }
            for line in lines {
                let _ = writeln!(out, "{pad}   {line}");
            }
        }
        out
    }
}

/// Columns a text takes on a terminal (tabs are printed as one space, and counted as one).
fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// Suggests the closest of `candidates` to a misspelt `word`, if one is close enough to be a typo.
/// Case is ignored when measuring, so `get` suggests `GET`.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| {
            let distance = strsim::damerau_levenshtein(&word_lower, &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_source_line_with_a_caret() {
        let file = SourceFile::new("a.stream", "test \"x\" {\n  expcet status 200\n}\n");
        let diagnostic = Diagnostic::error("unknown step `expcet`")
            .at(&file, Span::new(13, 19), "expected a step")
            .help("did you mean `expect`?");
        assert_eq!(
            diagnostic.render(&Palette::plain()),
            "error: unknown step `expcet`\n --> a.stream:2:3\n  |\n2 |   expcet status 200\n  |   ^^^^^^ expected a step\n  |\n  = help: did you mean `expect`?\n"
        );
    }

    #[test]
    fn suggests_close_keywords_only() {
        assert_eq!(did_you_mean("expcet", ["expect", "header"]), Some("expect"));
        assert_eq!(did_you_mean("hedaer", ["expect", "header"]), Some("header"));
        assert_eq!(did_you_mean("banana", ["expect", "header"]), None);
        assert_eq!(did_you_mean("get", ["GET", "POST"]), Some("GET"));
        assert_eq!(did_you_mean("GET", ["GET", "POST"]), None);
    }
}
