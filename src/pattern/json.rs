//! Matching a JSON value against a JSON pattern: literals, subset objects, open arrays, type
//! matchers, ranges, comparisons, regexes and captures.

use serde_json::Value;

use super::difference::text_mismatch;
use super::number::{Exact, format_json_number};
use super::{Captures, Mismatch};
use crate::ast::{JsonPattern, JsonPatternKind, JsonType};
use crate::render::render_json_pattern;

pub fn match_json(
    pattern: &JsonPattern,
    value: &Value,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    match_kind(pattern, value, captures)?;
    if let Some(name) = &pattern.capture {
        captures.push((name.value.clone(), value.clone()));
    }
    Ok(())
}

fn mismatch(pattern: &JsonPattern, value: &Value) -> Mismatch {
    Mismatch::new(render_json_pattern(pattern), render_value_short(value))
}

fn match_kind(
    pattern: &JsonPattern,
    value: &Value,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let ok = match (&pattern.kind, value) {
        (JsonPatternKind::Any, _) => true,
        (JsonPatternKind::Null, Value::Null) => true,
        (JsonPatternKind::Bool(expected), Value::Bool(actual)) => expected == actual,
        (JsonPatternKind::Number(expected), Value::Number(actual)) => {
            Exact::of(actual) == Exact::of(expected)
        }
        (JsonPatternKind::String(expected), Value::String(actual)) => {
            if expected.text != *actual {
                return Err(text_mismatch("strings", &expected.text, actual));
            }
            true
        }
        (JsonPatternKind::Literal(Value::String(expected)), Value::String(actual)) => {
            if expected != actual {
                return Err(text_mismatch("strings", expected, actual));
            }
            true
        }
        (JsonPatternKind::Repeated { text, times }, Value::String(actual)) => {
            crate::payload::is_repetition(actual, &text.text, times.value)
        }
        (JsonPatternKind::Literal(expected), actual) => expected == actual,
        (JsonPatternKind::Type { kind, len }, actual) => {
            if !type_matches(*kind, actual) {
                false
            } else if let Some(len) = len
                && let Some((length, unit)) = length_of(*kind, actual)
                && !len.value.holds(length as f64)
            {
                return Err(Mismatch::new(
                    render_json_pattern(pattern),
                    format!(
                        "{} ({})",
                        render_value_short(value),
                        crate::report::plural(length, unit)
                    ),
                ));
            } else {
                true
            }
        }
        (JsonPatternKind::Regex(regex), Value::String(actual)) => regex.regex.is_match(actual),
        (JsonPatternKind::Range(lo, hi), Value::Number(actual)) => {
            let n = Exact::of(actual);
            lo.as_ref().is_none_or(|lo| n >= Exact::of(lo))
                && hi.as_ref().is_none_or(|hi| n <= Exact::of(hi))
        }
        (JsonPatternKind::Compare(op, bound), Value::Number(actual)) => {
            op.holds(Exact::of(actual), Exact::of(bound))
        }
        (JsonPatternKind::Object { members, exact }, Value::Object(map)) => {
            for (key, member) in members {
                match map.get(&key.value) {
                    Some(actual) => match_json(member, actual, captures)
                        .map_err(|m| m.within(&key_segment(&key.value)))?,
                    None => {
                        return Err(Mismatch::new(render_json_pattern(member), "no such key")
                            .within(&key_segment(&key.value)));
                    }
                }
            }
            if *exact
                && let Some(extra) = map
                    .keys()
                    .find(|key| !members.iter().any(|(k, _)| &k.value == *key))
            {
                return Err(Mismatch::new(
                    "no other keys (`exact`)",
                    format!("key `{extra}`"),
                ));
            }
            true
        }
        (JsonPatternKind::Array { items, open }, Value::Array(actual)) => {
            let length_ok = if *open {
                actual.len() >= items.len()
            } else {
                actual.len() == items.len()
            };
            if !length_ok {
                let expected = if *open {
                    format!("an array of at least {} items", items.len())
                } else {
                    format!("an array of {} items", items.len())
                };
                return Err(Mismatch::new(
                    expected,
                    format!("{} items: {}", actual.len(), render_value_short(value)),
                ));
            }
            for (index, (item, actual)) in items.iter().zip(actual).enumerate() {
                match_json(item, actual, captures).map_err(|m| m.within(&format!("[{index}]")))?;
            }
            true
        }
        // Variables are resolved before matching; one left here can match nothing.
        (JsonPatternKind::Var(_), _) => false,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(mismatch(pattern, value))
    }
}

fn key_segment(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_') {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_string()))
    }
}

fn type_matches(kind: JsonType, value: &Value) -> bool {
    match (kind, value) {
        (JsonType::String, Value::String(_)) => true,
        (JsonType::Number, Value::Number(_)) => true,
        (JsonType::Integer, Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        (JsonType::Bool, Value::Bool(_)) => true,
        (JsonType::Object, Value::Object(_)) => true,
        (JsonType::Array, Value::Array(_)) => true,
        (JsonType::Bytes, Value::String(text)) => decode_base64(text).is_some(),
        _ => false,
    }
}

/// How long a value of a type with a length is, and in what: characters of a string (Unicode
/// scalar values, as JSON Schema counts them), items of an array, keys of an object, bytes of
/// base64 data once decoded.
fn length_of(kind: JsonType, value: &Value) -> Option<(usize, &'static str)> {
    let unit = kind.length_unit()?;
    let length = match (kind, value) {
        (JsonType::String, Value::String(text)) => text.chars().count(),
        (JsonType::Bytes, Value::String(text)) => decode_base64(text)?.len(),
        (JsonType::Array, Value::Array(items)) => items.len(),
        (JsonType::Object, Value::Object(map)) => map.len(),
        _ => return None,
    };
    Some((length, unit))
}

/// Base64 as the proto3 JSON mapping accepts it: the standard or the URL-safe alphabet, with or
/// without padding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const ENGINES: [GeneralPurpose; 2] = [
        GeneralPurpose::new(&STANDARD, LENIENT),
        GeneralPurpose::new(&URL_SAFE, LENIENT),
    ];
    ENGINES.iter().find_map(|engine| engine.decode(text).ok())
}

/// A value on one line for a message, cut to 80 characters where a report shows it (after
/// masking secrets).
pub fn render_value_short(value: &Value) -> String {
    let text = match value {
        Value::Number(n) => format_json_number(n),
        _ => value.to_string(),
    };
    crate::excerpt::excerpt(&text, 80)
}
