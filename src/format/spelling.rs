//! Spellings the syntax tree does not keep: the formatter writes a statement's canonical text,
//! but where a token of it is only another spelling of the token the author wrote there
//! (`1500ms` for `1.5s`, `1.. times` for `+ times`, `Content-Type` for `content-type`, `1 items`
//! for `1 item`), the author's spelling stays. Both texts are split into tokens; when they line up one to one, each
//! such token is taken from the source. When they do not, the canonical text is used as it is.

use std::ops::Range;

use crate::duration::parse_duration;

/// `canonical` with the author's spellings from `written` where they mean the same.
pub fn keep_written(canonical: &str, written: &str) -> String {
    let (Some(canonical_tokens), Some(written_tokens)) = (tokens(canonical), tokens(written))
    else {
        return canonical.to_string();
    };
    if canonical_tokens.len() != written_tokens.len() {
        return canonical.to_string();
    }
    let mut out = String::with_capacity(canonical.len());
    let mut copied = 0;
    for (ours, theirs) in canonical_tokens.iter().zip(&written_tokens) {
        let ours_text = &canonical[ours.clone()];
        let theirs_text = &written[theirs.clone()];
        if ours_text == theirs_text {
            continue;
        }
        if !same_token(ours_text, theirs_text) {
            return canonical.to_string();
        }
        out.push_str(&canonical[copied..ours.start]);
        out.push_str(theirs_text);
        copied = ours.end;
    }
    out.push_str(&canonical[copied..]);
    out
}

/// Whether two tokens at the same place are spellings of one thing.
fn same_token(ours: &str, theirs: &str) -> bool {
    // Header names and status classes (`2XX`) are read without case; strings are not.
    if !ours.starts_with('"') && ours.eq_ignore_ascii_case(theirs) {
        return true;
    }
    if same_string(ours, theirs) || same_duration(ours, theirs) || same_number(ours, theirs) {
        return true;
    }
    if let (Some((ours_lo, ours_hi)), Some((theirs_lo, theirs_hi))) =
        (ours.split_once(".."), theirs.split_once(".."))
    {
        let same_bound = |ours: &str, theirs: &str| {
            (ours.is_empty() && theirs.is_empty())
                || same_duration(ours, theirs)
                || same_number(ours, theirs)
        };
        if same_bound(ours_lo, theirs_lo) && same_bound(ours_hi, theirs_hi) {
            return true;
        }
    }
    same_quantifier(ours, theirs) || same_keyword(ours, theirs)
}

/// `item` and `items`: the one keyword the grammar takes in two spellings (`abort after 1 items`,
/// `expect first items`); which one was written is the author's choice, not a meaning.
fn same_keyword(ours: &str, theirs: &str) -> bool {
    let items = |text: &str| matches!(text, "item" | "items");
    items(ours) && items(theirs)
}

/// `"é"` and `"\u00e9"`: the same text, escaped another way.
fn same_string(ours: &str, theirs: &str) -> bool {
    if !(ours.starts_with('"') && theirs.starts_with('"')) {
        return false;
    }
    match (
        serde_json::from_str::<String>(ours),
        serde_json::from_str::<String>(theirs),
    ) {
        (Ok(ours), Ok(theirs)) => ours == theirs,
        _ => false,
    }
}

/// `1.5` and `1.50`: numbers (in ranges and comparisons) that are equal.
fn same_number(ours: &str, theirs: &str) -> bool {
    match (ours.parse::<f64>(), theirs.parse::<f64>()) {
        (Ok(ours), Ok(theirs)) => ours == theirs,
        _ => false,
    }
}

fn same_duration(ours: &str, theirs: &str) -> bool {
    match (parse_duration(ours), parse_duration(theirs)) {
        (Ok(ours), Ok(theirs)) => ours == theirs,
        _ => false,
    }
}

/// `+` and `1..`, `*` and `0..`, `3` and `3..3`: how many times a repetition runs.
fn same_quantifier(ours: &str, theirs: &str) -> bool {
    let bounds = |text: &str| -> Option<(u64, Option<u64>)> {
        match text {
            "*" => Some((0, None)),
            "+" => Some((1, None)),
            _ => match text.split_once("..") {
                Some((lo, "")) => Some((lo.parse().ok()?, None)),
                Some((lo, hi)) => Some((lo.parse().ok()?, Some(hi.parse().ok()?))),
                None => {
                    let n = text.parse().ok()?;
                    Some((n, Some(n)))
                }
            },
        }
    };
    let special = |text: &str| matches!(text, "*" | "+") || !text.contains("..");
    (special(ours) || special(theirs)) && bounds(ours).is_some() && bounds(ours) == bounds(theirs)
}

/// Splits a statement into tokens: strings, regexes, punctuation and runs of other characters.
/// `None` for text it cannot split (an unterminated string), which keeps the canonical text.
fn tokens(text: &str) -> Option<Vec<Range<usize>>> {
    const PUNCTUATION: &[u8] = b"{}[],;:";
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        let start = position;
        if byte.is_ascii_whitespace() {
            position += 1;
            continue;
        }
        let after_value_start = start == 0 || {
            let previous = bytes[start - 1];
            previous.is_ascii_whitespace() || b"[{,:~=".contains(&previous)
        };
        if byte == b'"' {
            position = closing(bytes, start, b'"')?;
        } else if byte == b'/' && after_value_start {
            position = closing(bytes, start, b'/')?;
            while position < bytes.len() && b"imsx".contains(&bytes[position]) {
                position += 1;
            }
        } else if PUNCTUATION.contains(&byte) {
            position += 1;
        } else {
            while position < bytes.len()
                && !bytes[position].is_ascii_whitespace()
                && !PUNCTUATION.contains(&bytes[position])
                && bytes[position] != b'"'
            {
                position += 1;
            }
        }
        tokens.push(start..position);
    }
    Some(tokens)
}

/// The offset just past the `quote` that closes the literal opened at `start`.
fn closing(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut position = start + 1;
    while position < bytes.len() {
        match bytes[position] {
            b'\\' => position += 2,
            b'\n' => return None,
            byte if byte == quote => return Some(position + 1),
            _ => position += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_quantifiers_and_header_names_keep_their_spelling() {
        assert_eq!(
            keep_written(
                "expect reconnect delay in 480ms..1.5s",
                "expect reconnect delay in 480ms..1500ms"
            ),
            "expect reconnect delay in 480ms..1500ms"
        );
        assert_eq!(
            keep_written("timeout 90s", "timeout   1.5m"),
            "timeout 1.5m"
        );
        assert_eq!(keep_written("+ times", "1.. times"), "1.. times");
        assert_eq!(
            keep_written("abort after 1 item", "abort after 1 items"),
            "abort after 1 items"
        );
        assert_eq!(
            keep_written("expect first item < 1.5s", "expect first items < 1500ms"),
            "expect first items < 1500ms"
        );
        assert_eq!(
            keep_written(
                "expect header content-type == a/b",
                "expect header Content-Type == a/b"
            ),
            "expect header Content-Type == a/b"
        );
    }

    #[test]
    fn anything_else_stays_canonical() {
        // Spacing is not a token: it stays canonical.
        assert_eq!(keep_written("{ \"a\": 1 }", "{\"a\":1}"), "{ \"a\": 1 }");
        // Escapes are another spelling of the same text.
        assert_eq!(
            keep_written(
                "data: \"é\"  within 1.5s",
                "data: \"\\u00e9\" within 1500ms"
            ),
            "data: \"\\u00e9\"  within 1500ms"
        );
        // A token that is not another spelling: the canonical text as a whole.
        assert_eq!(
            keep_written(
                "id: \"1\"  retry: 500  within 1.5s",
                "retry: 500  id: \"1\" within 1500ms"
            ),
            "id: \"1\"  retry: 500  within 1.5s"
        );
        assert_eq!(keep_written("data: \"a", "data: \"a"), "data: \"a");
    }
}
