//! Redactions (`[update] redact` in streamspec.toml): the matcher `--update` writes in place of
//! the value observed at a place no heuristic knows to be volatile — a JSONPath into JSON items
//! and bodies (`"$.seq" = "integer"`), or an SSE field (`"id:" = '/^\d+$/'`). A redaction is
//! written only where its matcher fits what was observed, so a recording still passes.

use std::sync::Arc;

use jsonpath_rust::parser::model::JpQuery;
use serde_json::Value;

use crate::ast::{JsonPattern, JsonPatternKind, JsonType, RegexLit, TextMatcher, TextMatcherKind};
use crate::pattern::path::select_refs;
use crate::pattern::{match_json_shaped, match_text};
use crate::render::{TextPlace, render_json_pattern, render_text_matcher};
use crate::source::Span;
use crate::transport::grpc::shape::Shape;

/// The type names a JSON redaction may use.
const JSON_TYPES: [JsonType; 7] = [
    JsonType::String,
    JsonType::Number,
    JsonType::Integer,
    JsonType::Bool,
    JsonType::Object,
    JsonType::Array,
    JsonType::Bytes,
];

/// The redactions of one config, in file order (the first that selects a value wins).
#[derive(Debug, Clone, Default)]
pub struct Redactions {
    rules: Vec<Redaction>,
}

/// One rule: where, and the matcher written there.
#[derive(Debug, Clone)]
pub struct Redaction {
    place: Place,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Place {
    /// Every value the JSONPath selects in a JSON item, SSE data, body or gRPC message.
    Json(Arc<JpQuery>),
    /// An SSE field: `id:`, `event:`, or `data:` that is not JSON.
    Sse(TextPlace),
}

#[derive(Debug, Clone)]
enum Matcher {
    Json(JsonPattern),
    Text(TextMatcher),
}

/// Which half of a rule is wrong, for the config's error to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Selector,
    Matcher,
}

impl Redactions {
    pub fn new(rules: Vec<Redaction>) -> Redactions {
        Redactions { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The matcher for each value under `root` that a rule selects and whose matcher fits it,
    /// keyed by the value's address in `root` (the first rule wins).
    pub fn select<'v>(&self, root: &'v Value, shape: Option<&Shape>) -> Vec<(&'v Value, String)> {
        let mut chosen: Vec<(&'v Value, String)> = Vec::new();
        for rule in &self.rules {
            let (Place::Json(query), Matcher::Json(pattern)) = (&rule.place, &rule.matcher) else {
                continue;
            };
            for (value, value_shape) in select_refs(query, root, shape) {
                let taken = chosen.iter().any(|(v, _)| std::ptr::eq(*v, value));
                if !taken
                    && match_json_shaped(pattern, value, value_shape.as_ref(), &mut Vec::new())
                        .is_ok()
                {
                    chosen.push((value, render_json_pattern(pattern)));
                }
            }
        }
        chosen
    }

    /// The matcher for an SSE field's text, when a rule names the field and its matcher fits.
    pub fn text(&self, place: TextPlace, text: &str) -> Option<String> {
        self.rules
            .iter()
            .find_map(|rule| match (&rule.place, &rule.matcher) {
                (Place::Sse(field), Matcher::Text(matcher))
                    if *field == place && match_text(matcher, text, &mut Vec::new()).is_ok() =>
                {
                    Some(render_text_matcher(matcher))
                }
                _ => None,
            })
    }
}

impl Redaction {
    /// A rule as written in the config: `selector` is the key (a JSONPath, or `id:`, `event:`,
    /// `data:`), `matcher` the value (a type name or `_` for JSON, or a `/regex/`).
    pub fn parse(selector: &str, matcher: &str) -> Result<Redaction, (RuleError, String)> {
        let place = match selector {
            "id:" => Place::Sse(TextPlace::SseId),
            "event:" => Place::Sse(TextPlace::SseEvent),
            "data:" => Place::Sse(TextPlace::SseData),
            path if path.starts_with('$') => match jsonpath_rust::parser::parse_json_path(path) {
                Ok(query) => Place::Json(Arc::new(query)),
                Err(error) => {
                    let detail = error.to_string();
                    let first = detail.lines().next().unwrap_or_default().to_string();
                    return Err((RuleError::Selector, format!("invalid JSONPath: {first}")));
                }
            },
            _ => {
                return Err((
                    RuleError::Selector,
                    format!(
                        "`{selector}` is not a place to redact: write a JSONPath (`$.id`) or an SSE field (`id:`, `event:`, `data:`)"
                    ),
                ));
            }
        };
        let regex = parse_regex(matcher).map_err(|message| (RuleError::Matcher, message))?;
        let span = Span::new(0, 0);
        let matcher = match (&place, regex) {
            (Place::Json(_), regex) => {
                let kind = match regex {
                    Some(regex) => JsonPatternKind::Regex(regex),
                    None if matcher == "_" => JsonPatternKind::Any,
                    None => match JSON_TYPES.iter().find(|kind| kind.keyword() == matcher) {
                        Some(&kind) => JsonPatternKind::Type { kind, len: None },
                        None => {
                            return Err((
                                RuleError::Matcher,
                                format!(
                                    "`{matcher}` is not a matcher for a JSON value: write a type (`string`, `number`, `integer`, `bool`, `object`, `array`, `bytes`), `_` or a `/regex/`"
                                ),
                            ));
                        }
                    },
                };
                Matcher::Json(JsonPattern {
                    kind,
                    capture: None,
                    span,
                })
            }
            (Place::Sse(_), regex) => {
                let kind = match regex {
                    Some(regex) => TextMatcherKind::Regex(regex),
                    None if matcher == "_" => TextMatcherKind::Any,
                    None => {
                        return Err((
                            RuleError::Matcher,
                            format!(
                                "`{matcher}` is not a matcher for an SSE field: write `_` or a `/regex/`"
                            ),
                        ));
                    }
                };
                Matcher::Text(TextMatcher {
                    kind,
                    capture: None,
                    span,
                })
            }
        };
        Ok(Redaction { place, matcher })
    }
}

/// `/source/flags` as a spec writes a regex (`\/` for a slash; flags `i`, `m`, `s`, `x`);
/// `Ok(None)` for text that does not start with a slash.
fn parse_regex(text: &str) -> Result<Option<RegexLit>, String> {
    let Some(rest) = text.strip_prefix('/') else {
        return Ok(None);
    };
    let malformed = || {
        format!(
            "`{text}` is not a regex: write `/regex/`, then any of the flags `i`, `m`, `s`, `x`"
        )
    };
    let close = rest.rfind('/').ok_or_else(malformed)?;
    let (body, flags) = (&rest[..close], &rest[close + 1..]);
    let escaped_slash_only = body.replace("\\/", "").find('/').is_none();
    if body.is_empty()
        || !escaped_slash_only
        || body.contains(['\n', '\r'])
        || !flags.chars().all(|c| matches!(c, 'i' | 'm' | 's' | 'x'))
    {
        return Err(malformed());
    }
    let source = body.replace("\\/", "/");
    let regex = regex::RegexBuilder::new(&source)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .ignore_whitespace(flags.contains('x'))
        .build()
        .map_err(|error| {
            let detail = error.to_string();
            let last = detail.lines().last().unwrap_or_default().trim();
            let last = last.strip_prefix("error: ").unwrap_or(last);
            format!("invalid regular expression: {last}")
        })?;
    Ok(Some(RegexLit {
        source,
        flags: flags.to_string(),
        regex,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pairs: &[(&str, &str)]) -> Redactions {
        Redactions::new(
            pairs
                .iter()
                .map(|(selector, matcher)| Redaction::parse(selector, matcher).expect("a rule"))
                .collect(),
        )
    }

    #[test]
    fn json_rules_select_the_values_their_matcher_fits() {
        let redactions = rules(&[
            ("$.seq", "integer"),
            ("$.items[*].tag", r"/^t\d+$/"),
            ("$.name", "integer"),
        ]);
        let root = serde_json::json!({
            "seq": 7, "items": [{ "tag": "t1" }, { "tag": "x" }], "name": "a"
        });
        let chosen: Vec<(String, String)> = redactions
            .select(&root, None)
            .into_iter()
            .map(|(value, matcher)| (value.to_string(), matcher))
            .collect();
        assert_eq!(
            chosen,
            [
                ("7".to_string(), "integer".to_string()),
                ("\"t1\"".to_string(), r"/^t\d+$/".to_string()),
            ]
        );
    }

    #[test]
    fn sse_rules_take_text_matchers() {
        let redactions = rules(&[("id:", r"/^\d+$/"), ("event:", "_")]);
        assert_eq!(
            redactions.text(TextPlace::SseId, "42").as_deref(),
            Some(r"/^\d+$/")
        );
        assert_eq!(redactions.text(TextPlace::SseId, "x"), None);
        assert_eq!(
            redactions.text(TextPlace::SseEvent, "tick").as_deref(),
            Some("_")
        );
        assert_eq!(redactions.text(TextPlace::SseData, "tick"), None);
    }

    #[test]
    fn bad_rules_say_which_half_is_wrong() {
        let error = |selector: &str, matcher: &str| {
            Redaction::parse(selector, matcher).expect_err("an error")
        };
        assert_eq!(error("id", "_").0, RuleError::Selector);
        assert_eq!(error("$.a[", "_").0, RuleError::Selector);
        assert_eq!(
            error("$.a", "strin"),
            (
                RuleError::Matcher,
                "`strin` is not a matcher for a JSON value: write a type (`string`, `number`, `integer`, `bool`, `object`, `array`, `bytes`), `_` or a `/regex/`".to_string()
            )
        );
        assert_eq!(
            error("id:", "integer").1,
            "`integer` is not a matcher for an SSE field: write `_` or a `/regex/`"
        );
        assert_eq!(
            error("$.a", "/(/").1,
            "invalid regular expression: unclosed group"
        );
        assert_eq!(
            error("$.a", "/a/g").1,
            "`/a/g` is not a regex: write `/regex/`, then any of the flags `i`, `m`, `s`, `x`"
        );
        assert!(Redaction::parse("$.a", r"/a\/b/i").is_ok());
    }
}
