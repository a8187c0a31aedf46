//! Aggregate expectations: counts, bytes, timing statistics, reconnections, id order and
//! captures, checked against what a stream (or the whole test) measured.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::ast::*;
use crate::diff::{self, DiffLine, Tag};
use crate::duration::{format_duration, format_measured};
use crate::interp::ids::{self, IdBreak, IdTracker, SeenId};
use crate::interp::stats::StreamStats;
use crate::outcome::Failure;
use crate::pattern::{Mismatch, match_json, render_value_short};
use crate::render::{quote, render_json_pattern, render_regex};
use crate::source::Span;

/// Checks a measure of a stream (or of the whole test) against its bound.
pub fn check_stats(stats: &StreamStats, aggregate: &Aggregate) -> Result<(), Failure> {
    let number = |what: &str, cond: &Spanned<NumCond>, value: u64| -> Result<(), Failure> {
        if cond.value.holds(value as f64) {
            Ok(())
        } else {
            Err(Failure::assertion(
                format!(
                    "expected {what} {}, got {value}",
                    crate::render::render_num_cond(&cond.value)
                ),
                cond.span,
                format!("{what} was {value}"),
            ))
        }
    };
    let timing = |what: &str, cond: &Spanned<DurationCond>, value: Duration| {
        if cond.value.holds(value) {
            Ok(())
        } else {
            Err(Failure::assertion(
                format!(
                    "expected {what} {}, measured {}",
                    describe_duration_cond(&cond.value),
                    format_measured(value)
                ),
                cond.span,
                format!("{what} was {}", format_measured(value)),
            ))
        }
    };
    match &aggregate.kind {
        AggregateKind::Count(cond) => number("count", cond, stats.items),
        AggregateKind::Bytes(cond) => number("bytes", cond, stats.bytes),
        AggregateKind::Ttfb(cond) => match stats.ttfb {
            Some(ttfb) => timing("ttfb", cond, ttfb),
            // Never 0: a call cancelled before the server answered has nothing to measure.
            None => Err(Failure::assertion(
                format!(
                    "expected ttfb {}, but no response headers came, so there is no ttfb to measure",
                    describe_duration_cond(&cond.value)
                ),
                cond.span,
                "no response headers",
            )),
        },
        AggregateKind::Duration(cond) => timing(
            "duration",
            cond,
            stats.duration.or(stats.ttfb).unwrap_or_default(),
        ),
        AggregateKind::Gaps(bounds) => {
            for (stat, cond) in bounds {
                let Some(value) = stats.gap(stat.value) else {
                    return Err(Failure::assertion(
                        format!(
                            "there are no gaps to measure: {} arrived",
                            crate::report::plural(stats.items as usize, "item")
                        ),
                        stat.span,
                        "needs at least two items",
                    ));
                };
                timing(&format!("gap {}", stat.value.keyword()), cond, value)?;
            }
            Ok(())
        }
        AggregateKind::FirstItem(cond) => match stats.first_item {
            Some(first) => timing("first item", cond, first),
            None => Err(Failure::assertion(
                "no item arrived, so there is no first item to time",
                cond.span,
                "no item",
            )),
        },
        AggregateKind::Connections(cond) => {
            number("connections", cond, u64::from(stats.connections))
        }
        AggregateKind::Retry(cond) => match stats.retry {
            Some(retry) => number("retry", cond, retry),
            None => Err(Failure::assertion(
                "the server sent no valid `retry` field",
                cond.span,
                "no retry",
            )),
        },
        AggregateKind::ReconnectDelay(cond) => {
            if stats.reconnect_delays.is_empty() {
                return Err(Failure::assertion(
                    "no reconnection happened, so there is no delay to measure",
                    cond.span,
                    "no reconnection",
                ));
            }
            let count = stats.reconnect_delays.len();
            for (index, delay) in stats.reconnect_delays.iter().enumerate() {
                timing("reconnect delay", cond, *delay).map_err(|failure| {
                    failure.note(format!("reconnection {} of {count}", index + 1))
                })?;
            }
            Ok(())
        }
        AggregateKind::Ids(order) => check_ids(&stats.ids, order),
        AggregateKind::Capture { .. } | AggregateKind::Distinct(_) => Ok(()),
    }
}

/// `expect NAME joined|count|first|last …` on a capture's values; `check` has its variables
/// bound already.
pub fn check_capture(
    values: &[Value],
    name: &Ident,
    function: &Spanned<CaptureFn>,
    check: &ValueCheck,
    span: Span,
) -> Result<(), Failure> {
    let value = match function.value {
        CaptureFn::Joined => Value::String(
            values
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        CaptureFn::Count => Value::from(values.len()),
        CaptureFn::First | CaptureFn::Last => {
            let picked = if function.value == CaptureFn::First {
                values.first()
            } else {
                values.last()
            };
            match picked {
                Some(value) => value.clone(),
                None => {
                    return Err(Failure::assertion(
                        format!("`{}` captured nothing", name.value),
                        name.span,
                        "no item set this capture",
                    ));
                }
            }
        }
    };
    let subject = format!("{} {}", name.value, function.value.keyword());
    match check_value(check, &value) {
        Ok(()) => Ok(()),
        Err(mismatch) => Err(Failure::assertion(
            format!("`{subject}` does not match"),
            span,
            mismatch.comparison(),
        )),
    }
}

/// `expect NAME distinct`: no value of the capture comes twice; the first that does is named,
/// with where both are in the list.
pub fn check_distinct(values: &[Value], name: &Ident, span: Span) -> Result<(), Failure> {
    let mut first_seen: HashMap<String, usize> = HashMap::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        if let Some(first) = first_seen.insert(distinct_key(value), index) {
            return Err(Failure::assertion(
                format!(
                    "`{}` has the value {} twice: values {} and {} of {}",
                    name.value,
                    render_value_short(value),
                    first + 1,
                    index + 1,
                    values.len()
                ),
                span,
                "expected every value once",
            ));
        }
    }
    Ok(())
}

/// A value as text for telling values apart, with numbers compared as JSON patterns compare
/// them: `1` and `1.0` are one value.
fn distinct_key(value: &Value) -> String {
    match value {
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(n), _, _) => n.to_string(),
            (_, Some(n), _) => n.to_string(),
            (_, _, Some(n)) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
                (n as i64).to_string()
            }
            _ => number.to_string(),
        },
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(distinct_key).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let mut members: Vec<String> = map
                .iter()
                .map(|(key, member)| format!("{}:{}", quote(key), distinct_key(member)))
                .collect();
            members.sort();
            format!("{{{}}}", members.join(","))
        }
        other => other.to_string(),
    }
}

/// `expect ids increasing|contiguous`: the first id out of order, with a diff around it.
pub fn check_ids(ids: &IdTracker, order: &Spanned<IdOrder>) -> Result<(), Failure> {
    let span = order.span;
    if ids.seen == 0 {
        return Err(Failure::assertion(
            "no event had an id",
            span,
            "no ids to order",
        ));
    }
    let line = |seen: &SeenId, tag: Tag| DiffLine {
        tag,
        text: format!("id: {}", quote(&seen.id)),
        at: Some(seen.at),
    };
    let diff = |lines: Vec<DiffLine>| diff::Diff {
        omitted_before: 0,
        lines,
        cut_short: false,
    };
    if let Some(IdBreak { previous, id }) = &ids.first_repeat {
        let what = if id.id == previous.id {
            format!("id {} arrived twice", id.id)
        } else {
            format!("id {} arrived after id {}", id.id, previous.id)
        };
        return Err(
            Failure::assertion(what, span, "ids must go up").with_diff(diff(vec![
                line(previous, Tag::Context),
                line(id, Tag::Added),
            ])),
        );
    }
    if order.value == IdOrder::Contiguous
        && let Some(IdBreak { previous, id }) = &ids.first_gap
    {
        let Some((first, last)) = ids::missing_between(&previous.id, &id.id) else {
            // The ids differ in more than their last number: no count leads from one to the
            // other (`1796411252:7`, then `1796411253:0`).
            return Err(Failure::assertion(
                format!("id {} does not follow id {}", id.id, previous.id),
                span,
                "ids must go up one at a time",
            )
            .note("`ids contiguous` needs each id to differ from the one before only in its last number, by one; `ids increasing` only needs each id above the one before")
            .with_diff(diff(vec![line(previous, Tag::Context), line(id, Tag::Added)])));
        };
        let missing = if first == last {
            format!("id {first} is missing")
        } else {
            format!("ids {first} to {last} are missing")
        };
        return Err(Failure::assertion(
            format!("ids jump from {} to {}: {missing}", previous.id, id.id),
            span,
            "ids must go up one at a time",
        )
        .with_diff(diff(vec![
            line(previous, Tag::Context),
            DiffLine {
                tag: Tag::Removed,
                text: format!("id: {}", quote(&first)),
                at: None,
            },
            line(id, Tag::Added),
        ])));
    }
    Ok(())
}

/// `== pattern`, `!= pattern`, `~ /re/`, `contains "x"` or a number condition on a value.
pub fn check_value(check: &ValueCheck, value: &Value) -> Result<(), Mismatch> {
    let found = render_value_short(value);
    match &check.kind {
        ValueCheckKind::Matches(pattern) => match_json(pattern, value, &mut Vec::new())
            // Deeper inside the value, the whole pattern says what was expected of it.
            .map_err(|m| {
                if m.at.is_empty() {
                    m
                } else {
                    Mismatch::new(render_json_pattern(pattern), m.found)
                }
            }),
        ValueCheckKind::NotMatches(pattern) => {
            if match_json(pattern, value, &mut Vec::new()).is_ok() {
                Err(Mismatch::new(
                    format!("not {}", render_json_pattern(pattern)),
                    found,
                ))
            } else {
                Ok(())
            }
        }
        ValueCheckKind::Regex(regex) => match value {
            Value::String(text) if regex.regex.is_match(text) => Ok(()),
            _ => Err(Mismatch::new(
                format!("a string matching {}", render_regex(regex)),
                found,
            )),
        },
        ValueCheckKind::Contains(template) => match value {
            Value::String(text) if text.contains(template.text.as_str()) => Ok(()),
            _ => Err(Mismatch::new(
                format!("a string containing {}", quote(&template.text)),
                found,
            )),
        },
        ValueCheckKind::Number(cond) => match value.as_f64() {
            Some(n) if cond.holds(n) => Ok(()),
            _ => Err(Mismatch::new(
                format!("a number {}", crate::render::render_num_cond(cond)),
                found,
            )),
        },
    }
}

pub fn describe_duration_cond(cond: &DurationCond) -> String {
    match cond {
        DurationCond::Compare(op, bound) => format!("{} {}", op.symbol(), format_duration(*bound)),
        DurationCond::Range(lo, hi) => {
            format!("in {}..{}", format_duration(*lo), format_duration(*hi))
        }
    }
}
