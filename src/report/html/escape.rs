//! The one way text gets into the HTML report: [`escape`]. Whatever a server sent (markup,
//! `<script>`, quotes, control characters) comes out as text to read, never as markup, in an
//! element's content and in a quoted attribute alike.

use std::fmt::Write;

/// `text` as HTML text: `&`, `<`, `>`, `"` and `'` as character references, and each control
/// character (other than a tab or a line break), which a browser would drop or show as nothing,
/// as a visible `\u{…}`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            // C0 and C1 controls, DEL, the noncharacters (which HTML calls parse errors), and
            // the bidirectional controls, which would reorder what is shown: a received
            // `\u{202e}` must not make an item (or its time) read backwards.
            c if c.is_control() || is_noncharacter(c) || is_bidi_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_noncharacter(c: char) -> bool {
    let code = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_text() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("&lt;"), "&amp;lt;");
        assert_eq!(escape("]]><!--"), "]]&gt;&lt;!--");
    }

    #[test]
    fn control_characters_are_shown_not_dropped() {
        assert_eq!(
            escape("a\u{0}b\u{1b}[31mc\u{7f}\u{85}\r\u{FDD0}\u{FFFE}"),
            "a\\u{0}b\\u{1b}[31mc\\u{7f}\\u{85}\\u{d}\\u{fdd0}\\u{fffe}"
        );
        assert_eq!(escape("tab\tline\n"), "tab\tline\n");
        assert_eq!(
            escape("del \u{202e}RLO-evil\u{2066}\u{200f}"),
            "del \\u{202e}RLO-evil\\u{2066}\\u{200f}"
        );
    }

    #[test]
    fn other_text_is_left_as_it_is() {
        assert_eq!(
            escape("délai · 50 ms — 🚀 \u{FFFD}"),
            "délai · 50 ms — 🚀 \u{FFFD}"
        );
    }
}
