//! Lowering JSON patterns: JSON with matchers, captures and `exact` objects inside.

use pest::iterators::Pair;

use super::{Lowerer, any_pattern, inner, span};
use crate::ast::*;
use crate::syntax::grammar::Rule;

impl Lowerer {
    pub(super) fn json_pattern(&mut self, pair: Pair<'_, Rule>) -> JsonPattern {
        let span = span(&pair);
        let mut parts = inner(pair);
        let Some(primary) = parts.next() else {
            return any_pattern(span);
        };
        let capture = parts
            .next()
            .and_then(|c| c.into_inner().next())
            .map(|c| self.ident(c));
        let kind = self.json_primary(primary);
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
                Ok(number) => JsonPatternKind::Number(number),
                Err(_) => {
                    self.error(span, "invalid number", "not a JSON number");
                    JsonPatternKind::Any
                }
            },
            Rule::string => JsonPatternKind::String(self.template(pair)),
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
            Rule::num_range_value => match self.num_range(pair) {
                NumCond::Range(lo, hi) => JsonPatternKind::Range(lo, hi),
                NumCond::Compare(op, n) => JsonPatternKind::Compare(op, n),
            },
            Rule::comparison => {
                let mut parts = inner(pair);
                match (parts.next(), parts.next()) {
                    (Some(op), Some(number)) => {
                        let op = self.cmp_op(op);
                        JsonPatternKind::Compare(op, self.number_f64(number))
                    }
                    _ => JsonPatternKind::Any,
                }
            }
            Rule::regex => JsonPatternKind::Regex(self.regex(pair)),
            Rule::type_matcher => JsonPatternKind::Type(match pair.as_str() {
                "string" => JsonType::String,
                "number" => JsonType::Number,
                "integer" => JsonType::Integer,
                "bool" => JsonType::Bool,
                "object" => JsonType::Object,
                _ => JsonType::Array,
            }),
            _ => JsonPatternKind::Any,
        }
    }
}
