//! A failure as the terminal shows it, in HTML: the human reporter renders it with colour
//! ([`crate::style::Palette::colored`]), and its SGR escape sequences become `<span>`s with a
//! class per style, so the page shows the same caret and diff in the same colours (light or
//! dark as the page is). Every other character goes through [`escape`].

use super::escape::escape;

/// The styles a span can have; the page's CSS colours each class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    bold: bool,
    /// An SGR foreground colour, 30–37.
    color: Option<u8>,
}

impl Style {
    fn classes(self) -> String {
        let mut classes = Vec::new();
        if self.bold {
            classes.push("t-bold");
        }
        match self.color {
            Some(31) => classes.push("t-red"),
            Some(32) => classes.push("t-green"),
            Some(33) => classes.push("t-yellow"),
            Some(34) => classes.push("t-blue"),
            Some(_) | None => {}
        }
        classes.join(" ")
    }

    /// Applies one SGR sequence's parameters; `false` for one this page does not know (then the
    /// sequence is shown as text).
    fn apply(&mut self, parameters: &str) -> bool {
        for parameter in parameters.split(';') {
            match parameter {
                "" | "0" => *self = Style::default(),
                "1" => self.bold = true,
                "22" => self.bold = false,
                "39" => self.color = None,
                other => match other.parse::<u8>() {
                    Ok(code @ 30..=37) => self.color = Some(code),
                    _ => return false,
                },
            }
        }
        true
    }
}

/// Text with SGR escape sequences (`ESC [ … m`) as HTML: the text escaped, the styles as
/// spans. A sequence the page does not know is shown as the characters it is.
pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    // The style set, and the one of the span open in `out` (spans open only around text, so
    // that styles set one after the other make one span).
    let mut style = Style::default();
    let mut open = Style::default();
    let mut push = |out: &mut String, text: &str, style: Style| {
        if text.is_empty() {
            return;
        }
        if style != open {
            if open != Style::default() {
                out.push_str("</span>");
            }
            if style != Style::default() {
                out.push_str(&format!("<span class=\"{}\">", style.classes()));
            }
            open = style;
        }
        out.push_str(&escape(text));
    };
    let mut rest = text;
    while !rest.is_empty() {
        let Some(start) = rest.find('\u{1b}') else {
            push(&mut out, rest, style);
            break;
        };
        push(&mut out, &rest[..start], style);
        let after = &rest[start..];
        let sequence = after
            .strip_prefix("\u{1b}[")
            .and_then(|parameters| parameters.find('m').map(|end| &parameters[..end]))
            .filter(|parameters| parameters.chars().all(|c| c.is_ascii_digit() || c == ';'));
        let mut next = style;
        match sequence {
            Some(parameters) if next.apply(parameters) => {
                rest = &after[2 + parameters.len() + 1..];
                style = next;
            }
            _ => {
                push(&mut out, "\u{1b}", style);
                rest = &after[1..];
            }
        }
    }
    if open != Style::default() {
        out.push_str("</span>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_become_spans_and_text_is_escaped() {
        let red = anstyle::AnsiColor::Red.on_default().bold();
        let text = format!("{}error{}: <b>\n", red.render(), red.render_reset());
        assert_eq!(
            to_html(&text),
            "<span class=\"t-bold t-red\">error</span>: &lt;b&gt;\n"
        );
    }

    #[test]
    fn an_unknown_or_broken_sequence_is_shown_as_text() {
        assert_eq!(to_html("a\u{1b}]0;title\u{7}b"), "a\\u{1b}]0;title\\u{7}b");
        assert_eq!(to_html("\u{1b}[38;5;9mx"), "\\u{1b}[38;5;9mx");
        assert_eq!(to_html("\u{1b}[31"), "\\u{1b}[31");
    }
}
