//! The string literals of text written in spec style (a `--update` fix, the items of a diff)
//! and the values they hold, for [`super::redact::Secrets`] to find a secret that no one of
//! them holds: one a stream sent a few characters per event, as text or in the same field of
//! each JSON item, which is written (and shown) as several literals. Their values are joined
//! in order, all of them and those under each JSON key.

use std::collections::HashMap;
use std::ops::Range;

/// A string literal of spec text.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// Where it is in the text, quotes included.
    pub range: Range<usize>,
    /// Its value, escapes read.
    pub value: String,
    /// A `:` follows it: a key of a JSON object.
    pub is_key: bool,
}

/// The string literals of spec text (`"…"`, with JSON escapes), in order. A quote that opens no
/// literal that reads (an odd quote in a regex or a comment) is skipped.
pub fn string_literals(text: &str) -> Vec<Literal> {
    let mut literals = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find('"').map(|found| at + found) {
        let mut escaped = false;
        let close = text[open + 1..].char_indices().find(|&(_, c)| {
            let closes = !escaped && (c == '"' || c == '\n' || c == '\r');
            escaped = !escaped && c == '\\';
            closes
        });
        let Some((close, c)) = close else { break };
        let end = open + 1 + close + c.len_utf8();
        at = end;
        if c == '"'
            && let Ok(value) = serde_json::from_str::<String>(&text[open..end])
        {
            literals.push(Literal {
                range: open..end,
                value,
                is_key: text[end..].trim_start_matches([' ', '\t']).starts_with(':'),
            });
        }
    }
    literals
}

/// The values of the `literals` of `text` that join, as indices into `literals`: every value
/// that is not a key, in order, then those under each key (the key last written before them on
/// their line: a line is an item), keys in the order they first appear.
pub fn joined_runs(text: &str, literals: &[Literal]) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    let mut by_key: Vec<Vec<usize>> = Vec::new();
    let mut slots: HashMap<Option<&str>, usize> = HashMap::new();
    let mut key = None;
    let mut previous_end = 0;
    for (index, literal) in literals.iter().enumerate() {
        if text[previous_end..literal.range.start].contains(['\n', '\r']) {
            key = None;
        }
        previous_end = literal.range.end;
        if literal.is_key {
            key = Some(literal.value.as_str());
            continue;
        }
        all.push(index);
        let slot = *slots.entry(key).or_insert_with(|| {
            by_key.push(Vec::new());
            by_key.len() - 1
        });
        by_key[slot].push(index);
    }
    let mut runs = vec![all];
    runs.extend(by_key);
    runs
}

/// The ways `text` (a `--update` fix) can be read: as written, with its escapes read (a string
/// literal's `\/` and `\u00e9`, a regex's `\.`), each literal's value, and the values joined
/// ([`joined_runs`]).
pub fn readings(text: &str) -> Vec<String> {
    let literals = string_literals(text);
    let mut readings = vec![text.to_string(), without_escapes(text)];
    readings.extend(literals.iter().map(|literal| literal.value.clone()));
    for run in joined_runs(text, &literals) {
        readings.push(
            run.iter()
                .map(|&index| literals[index].value.as_str())
                .collect(),
        );
    }
    readings
}

/// `text` with every backslash before an ASCII punctuation character dropped, as a regex and a
/// string literal read `\.`, `\/`, `\"` and `\\`.
fn without_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&next) = chars.peek()
            && next.is_ascii_punctuation()
        {
            out.push(next);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_read_and_keys_told_apart() {
        let text = r#"data: json { "a\/b": "c\u00e9" } # "odd"#;
        let literals = string_literals(text);
        assert_eq!(
            literals,
            [
                Literal {
                    range: 13..19,
                    value: "a/b".into(),
                    is_key: true
                },
                Literal {
                    range: 21..30,
                    value: "cé".into(),
                    is_key: false
                },
            ]
        );
        assert_eq!(&text[literals[1].range.clone()], r#""c\u00e9""#);
    }

    #[test]
    fn values_are_joined_in_all_and_under_each_key() {
        let text = r#"
            data: "ab"
            data: json { "id": "1", "delta": { "content": "cd" } }
            data: json { "id": "2", "delta": { "content": "ef" } }
            data: "gh"
        "#;
        let readings = readings(text);
        assert!(readings.contains(&"ab1cd2efgh".to_string()), "{readings:?}");
        assert!(readings.contains(&"cdef".to_string()), "{readings:?}");
        assert!(readings.contains(&"12".to_string()), "{readings:?}");
        // Values under no key on their line join, whatever came before.
        assert!(readings.contains(&"abgh".to_string()), "{readings:?}");
    }

    #[test]
    fn regex_and_string_escapes_are_read() {
        assert_eq!(
            without_escapes(r#"/^a\.b\/c\d$/ "x\"y\\z""#),
            r#"/^a.b/c\d$/ "x"y\z""#
        );
    }
}
