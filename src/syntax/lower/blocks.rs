//! Lowering item blocks: their entries (repetitions, `any order`, `until`, `where` groups,
//! declarations) and the timing of item lines.

use std::sync::Arc;

use pest::iterators::Pair;

use super::{Lowerer, PatternContext, inner, span};
use crate::ast::*;
use crate::source::Span;
use crate::syntax::grammar::Rule;

impl Lowerer {
    pub(super) fn block(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> Vec<Entry> {
        let mut entries: Vec<Entry> = Vec::new();
        for entry in inner(pair) {
            let Some(entry) = self.entry(entry, context) else {
                continue;
            };
            // Consecutive `where` groups split the same items between them: one entry.
            if let (EntryKind::Split(groups), Some(last)) = (&entry.kind, entries.last_mut())
                && let EntryKind::Split(previous) = &mut last.kind
            {
                previous.extend(groups.iter().cloned());
                last.span = last.span.to(entry.span);
                continue;
            }
            entries.push(entry);
        }
        entries
    }

    pub(super) fn entry(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> Option<Entry> {
        let span = span(&pair);
        let part = inner(pair).next()?;
        let kind = match part.as_rule() {
            Rule::first_within => EntryKind::FirstWithin(self.duration(inner(part).next()?).value),
            Rule::ignore_decl => EntryKind::Ignore(self.item_pattern(inner(part).next()?, context)),
            Rule::skip => EntryKind::Skip,
            Rule::end_entry => EntryKind::End,
            Rule::dropped_entry => EntryKind::Dropped,
            Rule::any_order => {
                let block = inner(part).next()?;
                let mut items = Vec::new();
                for entry in self.block(block, context) {
                    match entry.kind {
                        EntryKind::Item(line) => items.push(line),
                        _ => self.error(
                            entry.span,
                            "only item patterns can go in `any order`",
                            "not an item pattern",
                        ),
                    }
                }
                EntryKind::AnyOrder(items)
            }
            Rule::repeat => {
                let mut parts = inner(part);
                let quantifier = self.quantifier(parts.next()?);
                let body = self.block(parts.next()?, context);
                if body.is_empty() {
                    self.error(span, "empty repetition", "put the items to repeat inside");
                }
                EntryKind::Repeat { quantifier, body }
            }
            Rule::until_loop => {
                let mut parts = inner(part);
                let stop = self.item_pattern(parts.next()?, context);
                let body = self.block(parts.next()?, context);
                EntryKind::Until { stop, body }
            }
            Rule::control_step => EntryKind::Control(self.control(part)?),
            Rule::item_line => EntryKind::Item(self.item_line(part, context)),
            Rule::where_group => {
                let mut parts = inner(part);
                let key_pair = parts.next().and_then(|k| k.into_inner().next())?;
                let key_span = self::span(&key_pair);
                let key = key_pair.as_str().to_string();
                let path = if key_pair.as_rule() == Rule::json_path {
                    key.clone()
                } else {
                    format!("$.{key}")
                };
                let query = Arc::new(self.json_query(&path, key_span));
                let value = self.json_pattern(parts.find(|p| p.as_rule() != Rule::op_eq)?);
                let body = self.block(parts.next()?, context);
                let head_end = value.span.end;
                EntryKind::Split(vec![WhereGroup {
                    key: Spanned::new(key, key_span),
                    query,
                    value,
                    body,
                    span: Span::new(span.start, head_end),
                }])
            }
            Rule::all_decl => EntryKind::All(self.item_pattern(inner(part).next()?, context)),
            _ => return None,
        };
        Some(Entry { kind, span })
    }

    pub(super) fn quantifier(&mut self, pair: Pair<'_, Rule>) -> Quantifier {
        let span = span(&pair);
        let quantifier = match pair.as_str() {
            "*" => Quantifier { min: 0, max: None },
            "+" => Quantifier { min: 1, max: None },
            _ => {
                // `3`, or `2..5` and `1..` (a count_range of one or two integers). A bound that
                // does not fit is reported; the repetition then stands as `+`, checked no further.
                let Some(bound) = pair.into_inner().next() else {
                    return Quantifier { min: 1, max: None };
                };
                let is_range = bound.as_rule() == Rule::count_range;
                let bounds: Vec<Pair<'_, Rule>> = if is_range {
                    bound.into_inner().collect()
                } else {
                    vec![bound]
                };
                let values: Vec<Option<u64>> = bounds
                    .into_iter()
                    .map(|bound| self.integer(bound))
                    .collect();
                match (values.as_slice(), is_range) {
                    ([Some(n)], false) => Quantifier {
                        min: *n,
                        max: Some(*n),
                    },
                    ([Some(min)], true) => Quantifier {
                        min: *min,
                        max: None,
                    },
                    ([Some(min), Some(max)], _) => Quantifier {
                        min: *min,
                        max: Some(*max),
                    },
                    _ => return Quantifier { min: 1, max: None },
                }
            }
        };
        if quantifier.max.is_some_and(|max| max < quantifier.min) {
            self.error(
                span,
                "empty range",
                "the lower bound is above the upper one",
            );
        }
        if quantifier.max == Some(0) {
            self.error(span, "a repetition of zero times", "expects nothing");
        }
        quantifier
    }

    pub(super) fn item_line(&mut self, pair: Pair<'_, Rule>, context: PatternContext) -> ItemLine {
        let span = span(&pair);
        let mut parts = inner(pair);
        let pattern = match parts.next() {
            Some(p) => self.item_pattern(p, context),
            None => ItemPattern {
                kind: ItemPatternKind::Text(TextItemPattern::default()),
                span,
                late: false,
            },
        };
        let mut line = ItemLine {
            pattern,
            within: None,
            after: None,
            span,
        };
        for timing in parts {
            let Some(keyword) = timing.clone().into_inner().next() else {
                continue;
            };
            let Some(duration) = inner(timing).next() else {
                continue;
            };
            let duration = self.duration(duration);
            let slot = if keyword.as_rule() == Rule::kw_within {
                &mut line.within
            } else {
                &mut line.after
            };
            if slot.is_some() {
                let word = keyword.as_str().to_string();
                self.error(
                    duration.span,
                    format!("`{word}` is given twice for this item"),
                    "remove one",
                );
            }
            *slot = Some(duration);
        }
        line
    }
}
