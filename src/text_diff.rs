//! A unified diff of two versions of a file, as `review` and `fmt --check` show it: with a
//! coloured palette the file names are bold, hunk headers dim, removed lines red and added lines
//! green; with the plain palette it is the usual `diff -u` text. Lines are split at every kind of
//! line break (LF, CRLF, a lone CR), and each is shown on a line of its own ended by LF.

use std::fmt::Write as _;

use anstyle::Style;
use similar::{ChangeTag, TextDiff};

use crate::line_break;
use crate::style::Palette;

/// The lines of context around each change.
const CONTEXT: usize = 3;

/// The unified diff from `old` (named `old_name`) to `new` (named `new_name`); empty when the
/// texts are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str, palette: &Palette) -> String {
    // `TextDiff::from_lines` splits at LF only: a CR-only file would be one line.
    let old_lines = line_break::lines_with_breaks(old);
    let new_lines = line_break::lines_with_breaks(new);
    let diff = TextDiff::configure().diff_slices(&old_lines, &new_lines);
    let mut out = String::new();
    let mut line = |style: Style, text: &str| {
        let _ = writeln!(out, "{}{text}{}", style.render(), style.render_reset());
    };
    let mut unified = diff.unified_diff();
    unified.context_radius(CONTEXT);
    for (index, hunk) in unified.iter_hunks().enumerate() {
        if index == 0 {
            line(palette.bold, &format!("--- {old_name}"));
            line(palette.bold, &format!("+++ {new_name}"));
        }
        line(palette.dim, &hunk.header().to_string());
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ('-', palette.removed),
                ChangeTag::Insert => ('+', palette.added),
                ChangeTag::Equal => (' ', Style::new()),
            };
            let value = change.value();
            // The style ends before the line break, so a colour never runs into the next line.
            let text = line_break::without_break(value);
            line(style, &format!("{sign}{text}"));
            if change.missing_newline() {
                line(Style::new(), "\\ No newline at end of file");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "a\nb\nc\n";
    const NEW: &str = "a\nB\nc";

    #[test]
    fn the_plain_palette_writes_a_plain_unified_diff() {
        assert_eq!(
            unified(OLD, NEW, "x", "x.new", &Palette::plain()),
            "--- x\n+++ x.new\n@@ -1,3 +1,3 @@\n a\n-b\n-c\n+B\n+c\n\\ No newline at end of file\n"
        );
        assert_eq!(unified(OLD, OLD, "x", "x.new", &Palette::plain()), "");
    }

    #[test]
    fn lines_of_every_break_are_shown_one_to_a_line() {
        let plain = Palette::plain();
        for (old, new) in [
            (OLD, NEW),
            ("a\rb\rc\r", "a\rB\rc"),
            ("a\r\nb\r\nc\r\n", "a\r\nB\r\nc"),
        ] {
            assert_eq!(
                unified(old, new, "x", "x.new", &plain),
                "--- x\n+++ x.new\n@@ -1,3 +1,3 @@\n a\n-b\n-c\n+B\n+c\n\\ No newline at end of file\n",
                "{old:?}"
            );
        }
    }

    #[test]
    fn the_coloured_palette_styles_each_kind_of_line_up_to_its_break() {
        assert_eq!(
            unified("a\nb\n", "a\nc\n", "x", "x.new", &Palette::colored()),
            "\u{1b}[1m--- x\u{1b}[0m\n\u{1b}[1m+++ x.new\u{1b}[0m\n\u{1b}[34m@@ -1,2 +1,2 @@\u{1b}[0m\n a\n\u{1b}[31m-b\u{1b}[0m\n\u{1b}[32m+c\u{1b}[0m\n"
        );
    }
}
