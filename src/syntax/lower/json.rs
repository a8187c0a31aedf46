//! Lowering JSON patterns: JSON with matchers, captures and `exact` objects inside.

use pest::iterators::Pair;

use super::{Lowerer, any_pattern, first_line, inner, span};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::pattern::number::Exact;
use crate::syntax::grammar::Rule;

impl Lowerer {
    pub(super) fn json_pattern(&mut self, pair: Pair<'_, Rule>) -> JsonPattern {
        let span = span(&pair);
        let mut parts = inner(pair);
        let Some(primary) = parts.next() else {
            return any_pattern(span);
        };
        let mut parts = parts.peekable();
        let length = parts.next_if(|p| p.as_rule() == Rule::length);
        let capture = parts
            .next()
            .and_then(|c| c.into_inner().next())
            .map(|c| self.ident(c));
        let primary_text = primary.as_str().to_string();
        let mut kind = self.json_primary(primary);
        if let Some(length) = length {
            self.attach_length(&mut kind, &primary_text, length);
        }
        JsonPattern {
            kind,
            capture,
            span,
        }
    }

    pub(super) fn json_primary(&mut self, pair: Pair<'_, Rule>) -> JsonPatternKind {
        let span = span(&pair);
        match pair.as_rule() {
            Rule::null => JsonPatternKind::Null,
            Rule::boolean => JsonPatternKind::Bool(pair.as_str() == "true"),
            Rule::number => match serde_json::from_str::<serde_json::Number>(pair.as_str()) {
                // A whole number beyond 64 bits would be compared as a rounded `f64`.
                Ok(number)
                    if !number.is_i64()
                        && !number.is_u64()
                        && pair
                            .as_str()
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b == b'-') =>
                {
                    self.error(
                        span,
                        "number too large",
                        format!(
                            "whole numbers are compared exactly from {} to {}",
                            i64::MIN,
                            u64::MAX
                        ),
                    );
                    JsonPatternKind::Any
                }
                Ok(number) => JsonPatternKind::Number(number),
                Err(_) => {
                    self.error(span, "invalid number", "not a JSON number");
                    JsonPatternKind::Any
                }
            },
            Rule::string => JsonPatternKind::String(self.template(pair)),
            Rule::repeated => match self.repeated(pair) {
                Some((text, times)) => JsonPatternKind::Repeated { text, times },
                None => JsonPatternKind::Any,
            },
            Rule::var_ref => match pair.into_inner().next() {
                Some(name) => JsonPatternKind::Var(self.ident(name)),
                None => JsonPatternKind::Any,
            },
            Rule::exact_object => match inner(pair).next() {
                Some(object) => match self.json_primary(object) {
                    JsonPatternKind::Object { members, .. } => JsonPatternKind::Object {
                        members,
                        exact: true,
                    },
                    other => other,
                },
                None => JsonPatternKind::Any,
            },
            Rule::object => {
                let mut members: Vec<(Spanned<String>, JsonPattern)> = Vec::new();
                for member in inner(pair) {
                    let mut parts = inner(member);
                    let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let (key, key_span) = self.string(key);
                    if members.iter().any(|(existing, _)| existing.value == key) {
                        self.error(
                            key_span,
                            format!("key `{key}` appears twice in this object"),
                            "duplicate key",
                        );
                    }
                    let value = self.json_pattern(value);
                    members.push((Spanned::new(key, key_span), value));
                }
                JsonPatternKind::Object {
                    members,
                    exact: false,
                }
            }
            Rule::array => {
                let mut items = Vec::new();
                let mut open = false;
                for item in inner(pair) {
                    if item.as_rule() == Rule::open_tail {
                        open = true;
                    } else if open {
                        self.error(
                            span,
                            "`...` must be the last item of an array",
                            "items after `...`",
                        );
                    } else {
                        items.push(self.json_pattern(item));
                    }
                }
                JsonPatternKind::Array { items, open }
            }
            Rule::num_range_value => {
                let open_below = pair.as_str().starts_with("..");
                let bounds: Vec<serde_json::Number> = pair
                    .into_inner()
                    .map(|number| self.json_bound(number))
                    .collect();
                let (lo, hi) = if open_below {
                    (None, bounds.first().cloned())
                } else {
                    (bounds.first().cloned(), bounds.get(1).cloned())
                };
                if let (Some(low), Some(high)) = (&lo, &hi)
                    && Exact::of(low) > Exact::of(high)
                {
                    self.error(
                        span,
                        "empty range",
                        "the lower bound is above the upper one",
                    );
                }
                JsonPatternKind::Range(lo, hi)
            }
            Rule::comparison => {
                let mut parts = inner(pair);
                match (parts.next(), parts.next()) {
                    (Some(op), Some(number)) => {
                        let op = self.cmp_op(op);
                        JsonPatternKind::Compare(op, self.json_bound(number))
                    }
                    _ => JsonPatternKind::Any,
                }
            }
            Rule::regex => JsonPatternKind::Regex(self.regex(pair)),
            Rule::type_matcher => JsonPatternKind::Type {
                kind: match pair.as_str() {
                    "string" => JsonType::String,
                    "number" => JsonType::Number,
                    "integer" => JsonType::Integer,
                    "bool" => JsonType::Bool,
                    "object" => JsonType::Object,
                    "bytes" => JsonType::Bytes,
                    _ => JsonType::Array,
                },
                len: None,
            },
            _ => JsonPatternKind::Any,
        }
    }

    /// `"A" * 1000`: the string and the count, checked against the limit when the string holds
    /// no variables (otherwise when the test runs).
    pub(super) fn repeated(&mut self, pair: Pair<'_, Rule>) -> Option<(Template, Spanned<u64>)> {
        let span = span(&pair);
        let mut parts = inner(pair);
        let text = self.template(parts.next()?);
        let count = parts.next()?;
        let count_span = self::span(&count);
        let times = Spanned::new(self.integer(count)?, count_span);
        if !text.has_placeholders()
            && let Some(reason) = crate::payload::repeated_too_large(text.text.len(), times.value)
        {
            self.error(span, "this string is too large to build", reason);
        }
        Some((text, times))
    }

    /// `len …` after a value: it belongs to a type that has a length (`string len 3..10`);
    /// after anything else it is reported, with what to write instead.
    fn attach_length(&mut self, kind: &mut JsonPatternKind, written: &str, pair: Pair<'_, Rule>) {
        let span = span(&pair);
        let Some(cond) = inner(pair).next().and_then(|cond| self.size_cond(cond)) else {
            return;
        };
        if let JsonPatternKind::Type {
            kind: json_type,
            len,
        } = kind
            && json_type.length_unit().is_some()
        {
            *len = Some(cond);
            return;
        }
        let (label, help) = match kind {
            JsonPatternKind::Type { kind: json_type, .. } => (
                format!("{} has no length", article(json_type.keyword())),
                "`len` counts the characters of a `string`, the items of an `array`, the keys of an `object` and the bytes of `bytes` (base64)".to_string(),
            ),
            JsonPatternKind::String(_) | JsonPatternKind::Regex(_) => (
                "`len` goes after a type".to_string(),
                format!(
                    "this value is matched as written; for any string of that length, write `string {}`",
                    &self.file.text[span.start..span.end]
                ),
            ),
            JsonPatternKind::Array { .. } => (
                "`len` goes after a type".to_string(),
                format!(
                    "an array pattern fixes its items; for any array of that length, write `array {}`",
                    &self.file.text[span.start..span.end]
                ),
            ),
            JsonPatternKind::Object { .. } => (
                "`len` goes after a type".to_string(),
                format!(
                    "for an object with that many keys, write `object {}`",
                    &self.file.text[span.start..span.end]
                ),
            ),
            _ => (
                "`len` goes after a type".to_string(),
                format!(
                    "write `string {0}`, `array {0}`, `object {0}` or `bytes {0}`",
                    &self.file.text[span.start..span.end]
                ),
            ),
        };
        self.diagnostics.push(
            Diagnostic::error(format!("`len` cannot follow `{}`", first_line(written)))
                .at(&self.file, span, label)
                .help(help),
        );
    }
}

/// `a number`, `an integer`.
fn article(word: &str) -> String {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {word}")
    } else {
        format!("a {word}")
    }
}
