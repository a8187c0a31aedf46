//! `{{name}}` placeholders in config and spec strings.
//!
//! A placeholder is `{{`, optional spaces, a name, optional spaces and `}}`; names are
//! `[A-Za-z_][A-Za-z0-9_.-]*`, so `{{ base }}`, `{{demo_port}}` and `{{user.id}}` are all
//! placeholders. Any other `{{` is an error rather than literal text: a mistyped placeholder
//! (`{{demo port}}`, `{{base}`) would otherwise reach the server as text and fail far from its
//! cause. A lone `{`, `}` or `}}` is literal. There is no escape for a literal `{{` yet; the spec
//! language can add one here when it needs it.
//!
//! Every error carries the byte range of the offending text within the string, so a caller that
//! knows where the string sits in its file can point a caret at the exact placeholder.

use std::fmt;
use std::ops::Range;

/// Why a string could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// A well-formed placeholder whose name the lookup does not know.
    Unknown { name: String, range: Range<usize> },
    /// A `{{` that does not start a well-formed placeholder; `text` is what was written, from the
    /// `{{` to the `}}` that closes it on the same line if there is one, else just `{{`.
    Malformed { text: String, range: Range<usize> },
}

impl InterpolateError {
    /// The byte range within the interpolated string that the error is about.
    pub fn range(&self) -> Range<usize> {
        match self {
            InterpolateError::Unknown { range, .. } | InterpolateError::Malformed { range, .. } => {
                range.clone()
            }
        }
    }
}

impl fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolateError::Unknown { name, .. } => write!(f, "unknown variable `{name}`"),
            InterpolateError::Malformed { text, .. } => write!(
                f,
                "`{text}` is not a placeholder: write `{{{{name}}}}`, with a name of letters, digits, `_`, `.` and `-`"
            ),
        }
    }
}

impl std::error::Error for InterpolateError {}

/// A piece of a string: literal text, a placeholder, or a `{{` that starts no placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(Range<usize>),
    Placeholder {
        name: Range<usize>,
        whole: Range<usize>,
    },
    Malformed(Range<usize>),
}

/// Splits `text` into segments, in order, covering all of it.
fn segments(text: &str) -> impl Iterator<Item = Segment> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let rest = &text[pos..];
        let Some(open) = rest.find("{{") else {
            let segment = Segment::Literal(pos..text.len());
            pos = text.len();
            return Some(segment);
        };
        if open > 0 {
            let segment = Segment::Literal(pos..pos + open);
            pos += open;
            return Some(segment);
        }
        let start = pos;
        Some(match parse_placeholder(text, start) {
            Some((name, end)) => {
                pos = end;
                Segment::Placeholder {
                    name,
                    whole: start..end,
                }
            }
            None => {
                pos = malformed_end(text, start);
                Segment::Malformed(start..pos)
            }
        })
    })
}

/// Reads `{{ name }}` at `start` (which holds `{{`): the name's range and the end of the `}}`.
fn parse_placeholder(text: &str, start: usize) -> Option<(Range<usize>, usize)> {
    let bytes = text.as_bytes();
    let skip_spaces = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        i
    };
    let name_start = skip_spaces(start + 2);
    let first = *bytes.get(name_start)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut name_end = name_start + 1;
    while name_end < bytes.len()
        && (bytes[name_end].is_ascii_alphanumeric()
            || matches!(bytes[name_end], b'_' | b'.' | b'-'))
    {
        name_end += 1;
    }
    let close = skip_spaces(name_end);
    if text[close..].starts_with("}}") {
        Some((name_start..name_end, close + 2))
    } else {
        None
    }
}

/// Where a malformed placeholder starting at `start` ends, for the message: through the first
/// `}}` on the same line before any other `{{`, else right after the `{{`.
fn malformed_end(text: &str, start: usize) -> usize {
    let after = start + 2;
    let rest = &text[after..];
    let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
    let line = &line[..line.find("{{").unwrap_or(line.len())];
    match line.find("}}") {
        Some(close) => after + close + 2,
        None => after,
    }
}

/// Replaces every placeholder in `text` with what `lookup` gives for its name. Stops at the first
/// unknown name or malformed `{{`.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(text.len());
    for segment in segments(text) {
        match segment {
            Segment::Literal(range) => out.push_str(&text[range]),
            Segment::Placeholder { name, whole } => {
                let name = &text[name];
                let value = lookup(name).ok_or_else(|| InterpolateError::Unknown {
                    name: name.to_string(),
                    range: whole,
                })?;
                out.push_str(&value);
            }
            Segment::Malformed(range) => {
                return Err(InterpolateError::Malformed {
                    text: text[range.clone()].to_string(),
                    range,
                });
            }
        }
    }
    Ok(out)
}

/// The well-formed placeholders in `text`, in order: each name and the range of the whole
/// `{{ name }}`. Malformed ones are skipped; [`check`] reports them.
pub fn placeholders(text: &str) -> impl Iterator<Item = (String, Range<usize>)> + '_ {
    segments(text).filter_map(move |segment| match segment {
        Segment::Placeholder { name, whole } => Some((text[name].to_string(), whole)),
        _ => None,
    })
}

/// Every problem `interpolate` could meet in `text`, not just the first, for static checks
/// before anything runs: malformed `{{` and names that `is_known` refuses.
pub fn check(text: &str, is_known: impl Fn(&str) -> bool) -> Vec<InterpolateError> {
    segments(text)
        .filter_map(|segment| match segment {
            Segment::Literal(_) => None,
            Segment::Placeholder { name, whole } => {
                let name = &text[name];
                (!is_known(name)).then(|| InterpolateError::Unknown {
                    name: name.to_string(),
                    range: whole,
                })
            }
            Segment::Malformed(range) => Some(InterpolateError::Malformed {
                text: text[range.clone()].to_string(),
                range,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "host" => Some("127.0.0.1".to_string()),
            "demo_port" => Some("4000".to_string()),
            "user.id" => Some("7".to_string()),
            "a-b" => Some("ab".to_string()),
            _ => None,
        }
    }

    #[test]
    fn replaces_placeholders_with_and_without_spaces() {
        assert_eq!(
            interpolate("http://{{host}}:{{ demo_port }}/u/{{user.id}}", vars).as_deref(),
            Ok("http://127.0.0.1:4000/u/7")
        );
        assert_eq!(interpolate("{{\ta-b\t}}", vars).as_deref(), Ok("ab"));
        assert_eq!(interpolate("", vars).as_deref(), Ok(""));
        assert_eq!(
            interpolate("no placeholders", vars).as_deref(),
            Ok("no placeholders")
        );
    }

    #[test]
    fn lone_braces_are_literal() {
        assert_eq!(
            interpolate(r#"{"a": {"b": 1}} } { }}"#, vars).as_deref(),
            Ok(r#"{"a": {"b": 1}} } { }}"#)
        );
    }

    #[test]
    fn values_are_not_interpolated_again() {
        let lookup = |name: &str| (name == "x").then(|| "{{y}}".to_string());
        assert_eq!(interpolate("<{{x}}>", lookup).as_deref(), Ok("<{{y}}>"));
    }

    #[test]
    fn unknown_names_are_reported_with_their_range() {
        let text = "http://{{host}}:{{ port }}/";
        let error = interpolate(text, vars).unwrap_err();
        assert_eq!(
            error,
            InterpolateError::Unknown {
                name: "port".to_string(),
                range: 16..26
            }
        );
        assert_eq!(&text[error.range()], "{{ port }}");
        assert_eq!(error.to_string(), "unknown variable `port`");
    }

    #[test]
    fn malformed_placeholders_are_errors_naming_them() {
        let cases = [
            ("a {{demo port}} b", "{{demo port}}"),
            ("a {{base} b", "{{"),
            ("{{}}", "{{}}"),
            ("{{1x}}", "{{1x}}"),
            ("x {{", "{{"),
            ("{{ a\n}}", "{{"),
            ("{{{host}}}", "{{{host}}"),
            ("{{ é }}", "{{ é }}"),
        ];
        for (text, written) in cases {
            match interpolate(text, vars) {
                Err(InterpolateError::Malformed { text: t, range }) => {
                    assert_eq!(t, written, "{text:?}");
                    assert_eq!(&text[range], written);
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        assert_eq!(
            interpolate("{{demo port}}", vars).unwrap_err().to_string(),
            "`{{demo port}}` is not a placeholder: write `{{name}}`, with a name of letters, digits, `_`, `.` and `-`"
        );
    }

    #[test]
    fn lists_placeholders_and_checks_them_all() {
        let text = "{{a}} {{ b.c }} {{bad name}} {{d}}";
        let found: Vec<_> = placeholders(text).collect();
        assert_eq!(
            found,
            vec![
                ("a".to_string(), 0..5),
                ("b.c".to_string(), 6..15),
                ("d".to_string(), 29..34)
            ]
        );
        let errors = check(text, |name| name != "d");
        assert_eq!(errors.len(), 2);
        assert!(
            matches!(&errors[0], InterpolateError::Malformed { text, .. } if text == "{{bad name}}")
        );
        assert!(matches!(&errors[1], InterpolateError::Unknown { name, .. } if name == "d"));
    }
}
