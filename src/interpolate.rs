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
/// `}}` on the same line before any other `{{`; else through the single `}` that closes a name
/// (`{{base}`); else right after the `{{`.
fn malformed_end(text: &str, start: usize) -> usize {
    let after = start + 2;
    let rest = &text[after..];
    let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
    let line = &line[..line.find("{{").unwrap_or(line.len())];
    if let Some(close) = line.find("}}") {
        return after + close + 2;
    }
    match line.find('}') {
        Some(close) if is_name(line[..close].trim_matches([' ', '\t'])) => after + close + 1,
        _ => after,
    }
}

/// Whether `text` is a variable name: `[A-Za-z_][A-Za-z0-9_.-]*`.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The placeholder that `written` (a malformed one, or a look-alike) was meant to be, when the
/// name in it can be told: `{{base}` and `{{{base}}` were meant as `{{base}}`.
pub fn meant_placeholder(written: &str) -> Option<String> {
    let name = written
        .trim_start_matches(['$', '{'])
        .trim_end_matches('}')
        .trim_matches([' ', '\t']);
    is_name(name).then(|| format!("{{{{{name}}}}}"))
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

/// Text that was meant as a placeholder but is not one: a variable written as another language
/// writes it (`{base}`, `${base}`, `$base`), or a placeholder with a `}` too many (`{{base}}}`).
/// It reaches the server as it is, so the request fails far from the mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookAlike {
    /// What was written.
    pub text: String,
    /// Where it is within the string.
    pub range: Range<usize>,
    /// A placeholder followed by a `}` too many, rather than another language's syntax.
    pub extra_brace: bool,
}

/// Where look-alikes are looked for: such text is not always a mistake (a body or a header may
/// carry `{name}` for the server's own templates, a query `$filter`), so how sure a finding is
/// depends on where the text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A URL, or a part of one: braces are not URL characters, so `{name}`, `${name}` and a `}`
    /// right after a placeholder are always mistakes, and so is a URL that starts with `$name`;
    /// elsewhere in it, `$name` is one when `name` is a variable.
    Url,
    /// A value such as a header's: any of the forms is a mistake when its name is a variable.
    Value,
}

/// The look-alikes in `text`, in order, outside its placeholders. `is_variable` says which names
/// are set where the text is used.
pub fn look_alikes(
    text: &str,
    context: Context,
    is_variable: impl Fn(&str) -> bool,
) -> Vec<LookAlike> {
    let in_url = context == Context::Url;
    let mut found = Vec::new();
    for segment in segments(text) {
        match segment {
            Segment::Literal(range) => {
                let mut index = range.start;
                while index < range.end {
                    let look_alike = other_syntax_at(&text[..range.end], index, &is_variable)
                        .filter(|(end, name)| {
                            let braced = text[index..*end].ends_with('}');
                            let at_start = index == 0;
                            is_variable(name) || (in_url && (braced || at_start))
                        });
                    match look_alike {
                        Some((end, _)) => {
                            found.push(LookAlike {
                                text: text[index..end].to_string(),
                                range: index..end,
                                extra_brace: false,
                            });
                            index = end;
                        }
                        None => {
                            index += text[index..].chars().next().map_or(1, char::len_utf8);
                        }
                    }
                }
            }
            Segment::Placeholder { whole, .. } if in_url && text[whole.end..].starts_with('}') => {
                found.push(LookAlike {
                    text: text[whole.start..whole.end + 1].to_string(),
                    range: whole.start..whole.end + 1,
                    extra_brace: true,
                });
            }
            Segment::Placeholder { .. } | Segment::Malformed(_) => {}
        }
    }
    found
}

/// A variable in another language's syntax at `index`: `${name}`, `{name}` or `$name`, with
/// the end of what was written and the name.
fn other_syntax_at<'t>(
    text: &'t str,
    index: usize,
    is_variable: &impl Fn(&str) -> bool,
) -> Option<(usize, &'t str)> {
    let rest = &text[index..];
    let name_len = |text: &str| {
        text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .unwrap_or(text.len())
    };
    let braced = |open: usize| {
        let inside = &rest[open..];
        let close = inside.find('}')?;
        let name = inside[..close].trim_matches([' ', '\t']);
        is_name(name).then_some((index + open + close + 1, name))
    };
    if rest.starts_with("${") {
        braced(2)
    } else if rest.starts_with('{') {
        braced(1)
    } else if let Some(after) = rest.strip_prefix('$') {
        // Unbraced, the name may run into the text after it (`$base.json`): the longest variable
        // it starts with, else the whole run of name characters.
        let run = &after[..name_len(after)];
        let name = run
            .char_indices()
            .filter(|(_, c)| matches!(c, '.' | '-'))
            .map(|(at, _)| &run[..at])
            .rev()
            .find(|prefix| is_variable(prefix))
            .filter(|_| !is_variable(run))
            .unwrap_or(run)
            .trim_end_matches(['.', '-']);
        is_name(name).then_some((index + 1 + name.len(), name))
    } else {
        None
    }
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
            ("a {{base} b", "{{base}"),
            ("a {{base b", "{{"),
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
    fn says_which_placeholder_a_malformed_one_was_meant_to_be() {
        for (written, meant) in [
            ("{{base}", Some("{{base}}")),
            ("{{{base}}", Some("{{base}}")),
            ("{{ base }", Some("{{base}}")),
            ("${user.id}", Some("{{user.id}}")),
            ("$base", Some("{{base}}")),
            ("{{demo port}}", None),
            ("{{", None),
        ] {
            assert_eq!(meant_placeholder(written).as_deref(), meant, "{written:?}");
        }
    }

    #[test]
    fn finds_variables_in_other_syntaxes_where_they_are_mistakes() {
        let known = |name: &str| name == "base" || name == "user";
        let found = |text: &str, context| -> Vec<String> {
            look_alikes(text, context, known)
                .into_iter()
                .map(|look_alike| look_alike.text)
                .collect()
        };
        // In a URL: braces always, a leading `$name` always, another `$name` of a variable.
        assert_eq!(found("{base}/events", Context::Url), ["{base}"]);
        assert_eq!(found("${ host }/events", Context::Url), ["${ host }"]);
        assert_eq!(found("$host/events", Context::Url), ["$host"]);
        assert_eq!(
            found(
                "{{base}}/u/{id}?a=$user&$filter=x&b=$base.json",
                Context::Url
            ),
            ["{id}", "$user", "$base"]
        );
        assert_eq!(found("{{base}}}/events", Context::Url), ["{{base}}}"]);
        assert_eq!(
            found("{{base}}/{{user}}", Context::Url),
            Vec::<String>::new()
        );
        // In a value, only the names of variables: JSON and other templates are left alone.
        assert_eq!(
            found(
                r#"Bearer $user {id} {"a":{{base}}} ${base}"#,
                Context::Value
            ),
            ["$user", "${base}"]
        );
        let with_range = look_alikes("x {base}", Context::Value, known);
        assert_eq!(with_range[0].range, 2..8);
        assert!(!with_range[0].extra_brace);
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
