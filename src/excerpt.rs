//! Long texts in messages (an item's value, the first bytes of a body): where a message is made,
//! such a text goes in whole, marked with how much of it to show; it is cut only where a report
//! shows it ([`settle`]), after secrets were masked in the whole text. Cutting first would leave
//! the start of a secret that straddles the cut, which the masking could no longer recognise.
//!
//! The marks are Unicode noncharacters, which Unicode keeps for a program's internal use: no
//! text a server sends can forge one, as [`excerpt`] replaces any in the text it marks.

/// Opens an excerpt; the limit follows, in decimal.
const OPEN: char = '\u{FDD0}';
/// Ends the limit of an excerpt whose text is whole.
const WHOLE: char = '\u{FDD1}';
/// Ends the limit of an excerpt whose text was already cut short where it came from (reading
/// stopped there): it ends with `…` whatever its length, and its end may hold the start of a
/// secret.
const PARTIAL: char = '\u{FDD2}';
/// Closes an excerpt.
const CLOSE: char = '\u{FDD3}';

fn is_mark(c: char) -> bool {
    matches!(c, OPEN | WHOLE | PARTIAL | CLOSE)
}

/// `text`, to be shown cut to `limit` characters (then `…`) once secrets are masked in it.
pub fn excerpt(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit && !text.contains(is_mark) {
        return text.to_string();
    }
    marked(text, limit, WHOLE)
}

/// The start of a longer text (the rest was not read), to be shown cut to `limit` characters
/// and with `…` after it.
pub fn excerpt_of_partial(text: &str, limit: usize) -> String {
    marked(text, limit, PARTIAL)
}

fn marked(text: &str, limit: usize, kind: char) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    out.push(OPEN);
    out.push_str(&limit.to_string());
    out.push(kind);
    out.extend(
        text.chars()
            .map(|c| if is_mark(c) { '\u{FFFD}' } else { c }),
    );
    out.push(CLOSE);
    out
}

/// The text of `bytes`, which are the start of a longer text (reading stopped there): a
/// character the cut left incomplete at the end is dropped. Decoded as it is, it would become
/// U+FFFD, and a secret's start before it would no longer end the text, which is where
/// [`settle`] looks for one to mask.
pub fn text_of_partial(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(without_a_cut_character(bytes))
}

/// `bytes` without the first bytes of a UTF-8 character at their end (at most 3).
fn without_a_cut_character(bytes: &[u8]) -> &[u8] {
    // The last character starts at most 3 bytes before the end, at a byte that is not a
    // continuation byte (10xxxxxx).
    let tail = bytes.len().saturating_sub(3);
    let Some(start) = (tail..bytes.len())
        .rev()
        .find(|&at| bytes[at] & 0b1100_0000 != 0b1000_0000)
    else {
        return bytes;
    };
    match std::str::from_utf8(&bytes[start..]) {
        // Valid, but cut short: the rest of the character was not read.
        Err(error) if error.error_len().is_none() => &bytes[..start],
        _ => bytes,
    }
}

/// Whether `text` holds an excerpt still to be cut.
pub fn has_excerpts(text: &str) -> bool {
    text.contains(OPEN)
}

/// `text` as a report shows it: `mask` hides secrets in the whole text, `mask_start` hides what
/// at the end of a partial excerpt could be the start of a secret; then each excerpt is cut to its
/// limit. A mark out of place (never made by [`excerpt`]) is dropped.
pub fn settle(
    text: &str,
    mask: impl Fn(&str) -> String,
    mask_start: impl Fn(&str) -> String,
) -> String {
    let masked = mask(text);
    if !has_excerpts(&masked) && !masked.contains(is_mark) {
        return masked;
    }
    let mut out = String::with_capacity(masked.len());
    let mut rest = masked.as_str();
    while let Some(open) = rest.find(OPEN) {
        out.extend(rest[..open].chars().filter(|&c| !is_mark(c)));
        let after = &rest[open + OPEN.len_utf8()..];
        let Some((limit, kind, body, next)) = parse(after) else {
            rest = after;
            continue;
        };
        let body = if kind == PARTIAL {
            mask_start(body)
        } else {
            body.to_string()
        };
        match body.char_indices().nth(limit) {
            Some((cut, _)) => {
                out.push_str(&body[..cut]);
                out.push('…');
            }
            None => {
                out.push_str(&body);
                if kind == PARTIAL {
                    out.push('…');
                }
            }
        }
        rest = next;
    }
    out.extend(rest.chars().filter(|&c| !is_mark(c)));
    out
}

/// An excerpt after its `OPEN`: the limit, the kind, the text, and what follows its `CLOSE`.
fn parse(after_open: &str) -> Option<(usize, char, &str, &str)> {
    let digits = after_open.find(|c: char| !c.is_ascii_digit())?;
    let limit = after_open[..digits].parse().ok()?;
    let kind = after_open[digits..].chars().next()?;
    if kind != WHOLE && kind != PARTIAL {
        return None;
    }
    let body_start = digits + kind.len_utf8();
    let body_len = after_open[body_start..].find(CLOSE)?;
    let body = &after_open[body_start..body_start + body_len];
    if body.contains(is_mark) {
        return None;
    }
    let next = &after_open[body_start + body_len + CLOSE.len_utf8()..];
    Some((limit, kind, body, next))
}

/// `text` with its excerpts cut, for output that has no secrets to mask (`streamspec decode`).
pub fn cut(text: &str) -> String {
    settle(text, str::to_string, str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        settle(text, |t| t.replace("SECRET", "***"), |t| t.to_string())
    }

    #[test]
    fn a_short_text_is_left_as_it_is() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(shown(&excerpt("short", 10)), "short");
    }

    #[test]
    fn a_long_text_is_cut_where_it_is_shown() {
        let message = format!("found {} here", excerpt("abcdefghij", 4));
        assert_ne!(message, "found abcd… here");
        assert_eq!(shown(&message), "found abcd… here");
    }

    #[test]
    fn secrets_are_masked_before_the_cut() {
        let message = format!("found {}", excerpt("abSECRETcdefgh", 4));
        assert_eq!(shown(&message), "found ab**…");
        let message = format!("found {}", excerpt("abSECRET", 6));
        assert_eq!(shown(&message), "found ab***");
    }

    #[test]
    fn a_partial_text_always_ends_with_an_ellipsis_and_its_end_is_masked() {
        let message = excerpt_of_partial("abc SEC", 100);
        let shown = settle(&message, |t| t.to_string(), |t| t.replace(" SEC", " ***"));
        assert_eq!(shown, "abc ***…");
    }

    #[test]
    fn marks_a_server_sends_change_only_what_is_shown_after_masking() {
        let forged = format!("x{OPEN}2{WHOLE}SECRET{CLOSE}y");
        assert_eq!(shown(&forged), "x**…y");
        assert_eq!(shown(&format!("x{OPEN}SECRET{CLOSE}y")), "x***y");
        let marked = excerpt(&forged, 100);
        assert_eq!(shown(&marked), "x\u{FFFD}2\u{FFFD}***\u{FFFD}y");
    }

    #[test]
    fn a_character_cut_at_the_end_of_a_partial_text_is_dropped() {
        let text = "abcé€😀";
        for cut in 0..=text.len() {
            let kept = (0..=cut)
                .rev()
                .find(|&at| text.is_char_boundary(at))
                .unwrap_or(0);
            assert_eq!(text_of_partial(&text.as_bytes()[..cut]), &text[..kept]);
        }
        // Bytes that can never be UTF-8 are not a cut character: they read as U+FFFD.
        assert_eq!(text_of_partial(b"ab\xff"), "ab\u{FFFD}");
        assert_eq!(text_of_partial(b"ab\xc3\x28"), "ab\u{FFFD}(");
    }

    #[test]
    fn excerpts_inside_excerpts_are_not_made() {
        let inner = excerpt("abcdefgh", 2);
        let outer = excerpt(&format!("[{inner}]"), 100);
        assert!(!shown(&outer).contains(is_mark));
    }
}
