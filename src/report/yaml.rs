//! YAML as TAP's YAML blocks hold it: every string double-quoted (so that no text a server sent
//! can be read as YAML syntax), multi-line text as block scalars, and JSON values (the figures the
//! JSON Lines report has) as block mappings and sequences.

use serde_json::Value;

/// A YAML double-quoted scalar. JSON's string escapes are all valid in YAML, and quoting every
/// value means no server text can be read as YAML syntax. JSON leaves DEL and the C1 control
/// characters as they are, which YAML does not allow unescaped: they are written as `\u…` too.
pub fn quoted(text: &str) -> String {
    serde_json::Value::from(text)
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text for a YAML block scalar: control characters other than tab and newline are not allowed
/// there, so they are written as `\u{…}`.
pub fn block_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The lines of `key: value` in block style, unindented: a mapping or a sequence with anything
/// in it goes on the lines under its key, two spaces in; anything else stays on the key's line.
/// Keys are the JSON report's own field names, written plain.
pub fn entry(key: &str, value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) if !map.is_empty() => nested(key, mapping(map)),
        Value::Array(items) if !items.is_empty() => nested(key, sequence(items)),
        scalar => vec![format!("{key}: {}", inline(scalar))],
    }
}

fn nested(key: &str, lines: Vec<String>) -> Vec<String> {
    std::iter::once(format!("{key}:"))
        .chain(lines.into_iter().map(|line| format!("  {line}")))
        .collect()
}

fn mapping(map: &serde_json::Map<String, Value>) -> Vec<String> {
    map.iter()
        .flat_map(|(key, value)| entry(key, value))
        .collect()
}

/// Each item after `- `; the further lines of a mapping or sequence item in line with its first.
fn sequence(items: &[Value]) -> Vec<String> {
    let mut lines = Vec::new();
    for item in items {
        let item_lines = match item {
            Value::Object(map) if !map.is_empty() => mapping(map),
            Value::Array(inner) if !inner.is_empty() => sequence(inner),
            scalar => vec![inline(scalar)],
        };
        for (index, line) in item_lines.into_iter().enumerate() {
            let marker = if index == 0 { "- " } else { "  " };
            lines.push(format!("{marker}{line}"));
        }
    }
    lines
}

/// A value on one line: `~` for null (what TAP::Parser's YAMLish reads as undefined, as any YAML
/// reader does), numbers and booleans as JSON writes them, strings quoted, empty collections in
/// flow style.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "~".to_string(),
        Value::String(text) => quoted(text),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn block_scalars_hold_no_control_characters() {
        assert_eq!(block_safe("a\tb\n\u{1b}[0m"), "a\tb\n\\u{1b}[0m");
    }

    #[test]
    fn quoted_scalars_escape_every_control_character() {
        assert_eq!(
            quoted("a\"\n\u{1b}\u{7f}\u{85}\u{ffff}é"),
            r#""a\"\n\u001b\u007f\u0085\uffffé""#
        );
    }

    #[test]
    fn mappings_and_sequences_nest_in_block_style() {
        let value = json!({
            "list": [{"a": 1, "b": [true, null]}, "x", [], [[1, 2]]],
            "empty": {},
            "none": null,
        });
        assert_eq!(
            entry("top", &value).join("\n"),
            r#"top:
  list:
    - a: 1
      b:
        - true
        - ~
    - "x"
    - []
    - - - 1
        - 2
  empty: {}
  none: ~"#
        );
    }
}
