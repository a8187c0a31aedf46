//! Matching a JSON value against a JSON pattern: literals, subset objects, open arrays, type
//! matchers, ranges, comparisons, regexes and captures.

use serde_json::Value;

use super::difference::text_mismatch;
use super::number::{Exact, format_json_number};
use super::{Captures, Mismatch};
use crate::ast::{JsonPattern, JsonPatternKind, JsonType};
use crate::diagnostic::did_you_mean;
use crate::render::render_json_pattern;
use crate::transport::grpc::shape::Shape;

pub fn match_json(
    pattern: &JsonPattern,
    value: &Value,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    match_json_shaped(pattern, value, None, captures)
}

/// [`match_json`] on a value whose type is known (a gRPC reply, see [`Shape`]): a 64-bit
/// integer written as a string matches numeric patterns as the number it is, and a key may be
/// a field's `.proto` name.
pub fn match_json_shaped(
    pattern: &JsonPattern,
    value: &Value,
    shape: Option<&Shape>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    match_kind(pattern, value, shape, captures)?;
    if let Some(name) = &pattern.capture {
        captures.push((name.value.clone(), value.clone()));
    }
    Ok(())
}

fn mismatch(pattern: &JsonPattern, value: &Value) -> Mismatch {
    Mismatch::new(render_json_pattern(pattern), render_value_short(value))
}

/// The number a value is for numeric patterns: a JSON number, or an integer its type says is
/// written as a string (`"-42"` of an `int64` field).
fn as_number(value: &Value, shape: Option<&Shape>) -> Option<Exact> {
    match value {
        Value::Number(number) => Some(Exact::of(number)),
        Value::String(text) if shape.is_some_and(Shape::is_integer_string) => {
            Exact::of_integer_text(text)
        }
        _ => None,
    }
}

fn match_kind(
    pattern: &JsonPattern,
    value: &Value,
    shape: Option<&Shape>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let number = as_number(value, shape);
    let ok = match (&pattern.kind, value) {
        (JsonPatternKind::Any, _) => true,
        (JsonPatternKind::Null, Value::Null) => true,
        (JsonPatternKind::Bool(expected), Value::Bool(actual)) => expected == actual,
        (JsonPatternKind::Number(expected), _) if number.is_some() => {
            number == Some(Exact::of(expected))
        }
        (JsonPatternKind::Literal(Value::Number(expected)), _) if number.is_some() => {
            number == Some(Exact::of(expected))
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
            let numeric = match kind {
                JsonType::Number => number.is_some(),
                JsonType::Integer => number.is_some_and(Exact::is_integer),
                _ => false,
            };
            if !(numeric || type_matches(*kind, actual)) {
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
        (JsonPatternKind::Range(lo, hi), _) if number.is_some() => number.is_some_and(|n| {
            lo.as_ref().is_none_or(|lo| n >= Exact::of(lo))
                && hi.as_ref().is_none_or(|hi| n <= Exact::of(hi))
        }),
        (JsonPatternKind::Compare(op, bound), _) if number.is_some() => {
            number.is_some_and(|n| op.holds(n, Exact::of(bound)))
        }
        (JsonPatternKind::Object { members, exact }, Value::Object(map)) => {
            let mut keys_taken = Vec::with_capacity(members.len());
            for (key, member) in members {
                let Some((json_key, actual)) = member_of(map, &key.value, shape) else {
                    let found = match did_you_mean(&key.value, map.keys().map(String::as_str)) {
                        Some(near) => format!("no such key (did you mean `{near}`?)"),
                        None => "no such key".to_string(),
                    };
                    return Err(Mismatch::new(render_json_pattern(member), found)
                        .within(&key_segment(&key.value)));
                };
                let member_shape = shape.and_then(|shape| shape.member(json_key));
                match_json_shaped(member, actual, member_shape.as_ref(), captures)
                    .map_err(|m| m.within(&key_segment(&key.value)))?;
                keys_taken.push(json_key);
            }
            if *exact
                && let Some(extra) = map.keys().find(|key| !keys_taken.contains(&key.as_str()))
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
            let item_shape = shape.and_then(Shape::item);
            for (index, (item, actual)) in items.iter().zip(actual).enumerate() {
                match_json_shaped(item, actual, item_shape.as_ref(), captures)
                    .map_err(|m| m.within(&format!("[{index}]")))?;
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

/// The member a pattern's key names, with the key the object has for it: the key itself, or
/// the JSON name of the field a gRPC reply's pattern names by its `.proto` name.
pub fn member_of<'v>(
    map: &'v serde_json::Map<String, Value>,
    key: &str,
    shape: Option<&Shape>,
) -> Option<(&'v str, &'v Value)> {
    if let Some((key, value)) = map.get_key_value(key) {
        return Some((key.as_str(), value));
    }
    let json_key = shape?.json_key(key)?;
    map.get_key_value(&json_key)
        .map(|(key, value)| (key.as_str(), value))
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Numbers in specs and in items are read by serde_json; without its `float_roundtrip`
    /// feature it read `1e-30` as 9.999999999999999e-31, so a spec could never match the
    /// exact double a gRPC reply (converted from the binary value) carries.
    #[test]
    fn decimal_numbers_are_read_as_the_nearest_double() {
        for (text, expected) in [
            ("1e-30", 1e-30_f64),
            ("0.000000000000000000000000000001", 1e-30),
            ("1e-45", 1e-45),
            ("8.9e-16", 8.9e-16),
            ("0.1", 0.1),
        ] {
            let read: Value = serde_json::from_str(text).expect("a number");
            assert_eq!(read.as_f64(), Some(expected), "{text}");
        }
    }

    #[test]
    fn very_small_and_very_large_numbers_are_shown_with_an_exponent() {
        use crate::pattern::format_number;
        assert_eq!(format_number(1e-30), "1e-30");
        assert_eq!(
            format_number(1.401298464324817e-45),
            "1.401298464324817e-45"
        );
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(0.00001), "0.00001");
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(42.0), "42");
        assert_eq!(format_number(1e21), "1e+21");
    }
}
