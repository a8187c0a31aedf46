//! Long texts in messages (an item's value, the first bytes of a body): where a message is made,
//! such a text goes in whole, marked with how much of it to show; it is cut only where a report
//! shows it ([`settle`]), after secrets were masked in the whole text. Cutting first would leave
//! the start of a secret that straddles the cut, which the masking could no longer recognise.
//!
//! Two long texts that differ (an expected value and the one found) go in whole too, each
//! marked as one side of a [`difference`]: where a report shows them, after masking, each is
//! cut to the same window around the place where the two first differ.
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
/// Ends the width of a difference's first side: the window of the first text is shown.
const LEFT: char = '\u{FDD4}';
/// Ends the width of a difference's second side: the window of the second text is shown.
const RIGHT: char = '\u{FDD5}';
/// Stands between the two texts of a difference.
const BETWEEN: char = '\u{FDD6}';

fn is_mark(c: char) -> bool {
    matches!(c, OPEN | WHOLE | PARTIAL | CLOSE | LEFT | RIGHT | BETWEEN)
}

/// Where a difference's window starts: this share of its width comes before the first
/// difference, the rest from it on.
const WINDOW_BEFORE: usize = 3;

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

/// Two texts that differ, each to be shown as the same window of `width` characters around
/// the place where they first differ, once secrets are masked in both: the first of the pair
/// shows `left`'s window, the second `right`'s. A cut is shown as `…`, inside the quotes of a
/// quoted text. Both hold both texts whole, so each side can be placed in a message on its own.
pub fn difference(left: &str, right: &str, width: usize) -> (String, String) {
    let side = |kind: char| {
        let mut out = String::with_capacity(left.len() + right.len() + 16);
        out.push(OPEN);
        out.push_str(&width.to_string());
        out.push(kind);
        push_unmarked(&mut out, left);
        out.push(BETWEEN);
        push_unmarked(&mut out, right);
        out.push(CLOSE);
        out
    };
    (side(LEFT), side(RIGHT))
}

fn marked(text: &str, limit: usize, kind: char) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    out.push(OPEN);
    out.push_str(&limit.to_string());
    out.push(kind);
    push_unmarked(&mut out, text);
    out.push(CLOSE);
    out
}

/// Appends `text` with any mark in it replaced, so that only marks made here are marks.
fn push_unmarked(out: &mut String, text: &str) {
    out.extend(
        text.chars()
            .map(|c| if is_mark(c) { '\u{FFFD}' } else { c }),
    );
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
        if kind == LEFT || kind == RIGHT {
            let Some((left, right)) = body.split_once(BETWEEN) else {
                rest = next;
                continue;
            };
            let (left, right) = windows(left, right, limit, &mask_start);
            out.push_str(if kind == LEFT { &left } else { &right });
            rest = next;
            continue;
        }
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

/// The windows of two masked texts around where they first differ (see [`difference`]). The
/// text both share before that place is masked at its end where a secret could begin there (a
/// secret one text holds whole and the other only in part), as the end of a text cut short is.
///
/// When the difference is inside a quoted string (`{ "data": "…" }`), what comes before that
/// string and after it stays, when short, so the window still says where it is.
fn windows(
    left: &str,
    right: &str,
    width: usize,
    mask_start: &impl Fn(&str) -> String,
) -> (String, String) {
    let common = left
        .char_indices()
        .zip(right.chars())
        .find(|((_, a), b)| a != b)
        .map_or(left.len().min(right.len()), |((at, _), _)| at);
    // Both share the text before `common` (at a character boundary of both).
    let shared: Vec<char> = mask_start(&left[..common]).chars().collect();
    let differ_at = shared.len();
    let opening = string_opening(&shared).filter(|&at| at < MAX_KEPT_AROUND);
    let side = |rest: &str| {
        let text: Vec<char> = shared.iter().copied().chain(rest.chars()).collect();
        let closing = opening.and_then(|_| string_closing(&text, differ_at));
        // Kept whole: up to the string's opening quote, and from its closing quote when short.
        let head = opening.map_or(0, |at| at + 1);
        let tail = closing
            .filter(|&at| text.len() - at <= MAX_KEPT_AROUND)
            .unwrap_or(text.len());
        (text, head, tail)
    };
    let (left, right) = (side(&left[common..]), side(&right[common..]));
    // The same start for both; near the end, earlier, so that the window is filled.
    let longest = (left.2 - left.1).max(right.2 - right.1);
    let start = differ_at
        .saturating_sub(width / WINDOW_BEFORE)
        .min((left.1 + longest).saturating_sub(width))
        .max(left.1);
    let shown = |(text, head, tail): (Vec<char>, usize, usize)| {
        let end = (start + width).min(tail);
        let mut out: String = text[..head].iter().collect();
        if start > head {
            out.push('…');
        }
        out.extend(&text[start..end]);
        if end < tail {
            out.push('…');
        }
        out.extend(&text[tail..]);
        out
    };
    (shown(left), shown(right))
}

/// Before a difference this far into a text, or after it this close to the end, the text
/// around the string the difference is in is kept.
const MAX_KEPT_AROUND: usize = 40;

/// Where the quoted string that is still open at the end of `text` opens, if one is: the
/// position of its unescaped `"`.
fn string_opening(text: &[char]) -> Option<usize> {
    let mut opening = None;
    let mut escaped = false;
    for (at, &c) in text.iter().enumerate() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = opening.is_some(),
            '"' if opening.is_some() => opening = None,
            '"' => opening = Some(at),
            _ => {}
        }
    }
    opening
}

/// Where the quoted string that is open at `from` closes: its next unescaped `"`.
fn string_closing(text: &[char], from: usize) -> Option<usize> {
    let mut escaped = from > 0 && text[from - 1] == '\\' && string_opening(&text[..from]).is_some();
    for (at, &c) in text.iter().enumerate().skip(from) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(at),
            _ => {}
        }
    }
    None
}

/// An excerpt after its `OPEN`: the limit, the kind, the text, and what follows its `CLOSE`.
fn parse(after_open: &str) -> Option<(usize, char, &str, &str)> {
    let digits = after_open.find(|c: char| !c.is_ascii_digit())?;
    let limit = after_open[..digits].parse().ok()?;
    let kind = after_open[digits..].chars().next()?;
    if ![WHOLE, PARTIAL, LEFT, RIGHT].contains(&kind) {
        return None;
    }
    let body_start = digits + kind.len_utf8();
    let body_len = after_open[body_start..].find(CLOSE)?;
    let body = &after_open[body_start..body_start + body_len];
    let between = if kind == LEFT || kind == RIGHT { 1 } else { 0 };
    if body.chars().filter(|&c| is_mark(c)).count() != between
        || body.matches(BETWEEN).count() != between
    {
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
    fn a_difference_shows_the_same_window_of_both_texts_around_where_they_differ() {
        let expected = format!("\"{}B{}\"", "A".repeat(100), "A".repeat(100));
        let found = format!("\"{}C{}\"", "A".repeat(100), "A".repeat(99));
        let (left, right) = difference(&expected, &found, 12);
        let message = format!("expected {left}, found {right}");
        assert_eq!(
            shown(&message),
            r#"expected "…AAAABAAAAAAA…", found "…AAAACAAAAAAA…""#
        );
        // At the start or the end, nothing is cut there; a text that ends first ends there.
        let (left, right) = difference("abcdefghijX", "abcdefghijY", 12);
        assert_eq!(
            (shown(&left), shown(&right)),
            ("abcdefghijX".into(), "abcdefghijY".into())
        );
        let (left, right) = difference("\"0123456789abc=\"", "\"0123456789abc\"", 9);
        assert_eq!(
            (shown(&left), shown(&right)),
            (r#""…56789abc=""#.into(), r#""…56789abc""#.into())
        );
    }

    #[test]
    fn a_difference_is_found_after_masking_and_hides_where_a_secret_begins() {
        // The window would start inside the secret if it were found before masking.
        let expected = format!("{}SECRET{}x", "a".repeat(20), "z".repeat(3));
        let found = format!("{}SECRET{}", "a".repeat(20), "z".repeat(30));
        let (left, right) = difference(&expected, &found, 30);
        assert_eq!(shown(&left), "…aaaa***zzzx");
        assert_eq!(shown(&right), format!("…aaaa***{}…", "z".repeat(23)));
        // Both share the start of a secret, and differ right after it: that start is masked,
        // as at the end of a text cut short.
        let mask_start = |t: &str| match t.strip_suffix("SEC") {
            Some(before) => format!("{before}***"),
            None => t.to_string(),
        };
        let (left, right) = difference("aaaaSECX", "aaaaSECY", 40);
        let settle = |t: &str| settle(t, |t| t.replace("SECRET", "***"), mask_start);
        assert_eq!(
            (settle(&left), settle(&right)),
            ("aaaa***X".into(), "aaaa***Y".into())
        );
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
