//! JSONPath assertions on an item: `$.choices[0].delta.content == "Hello"`. On a gRPC reply a
//! path may name a field by its `.proto` name, and what it selects keeps its shape (a 64-bit
//! integer written as a string compares as a number).

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use serde_json::Value;

use super::json::{match_json_shaped, render_value_short};
use super::number::{Exact, format_json_number};
use super::{Captures, Mismatch};
use crate::ast::{PathAssert, PathCheck};
use crate::render::{quote, render_json_pattern, render_regex};
use crate::transport::grpc::shape::Shape;

/// Runs the query; a query selecting one value checks that value, several check them as an array.
pub fn check(
    assertion: &PathAssert,
    root: &Value,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    check_shaped(assertion, root, None, captures)
}

/// [`check`] on a value whose type is known (a gRPC reply, see [`Shape`]).
pub fn check_shaped(
    assertion: &PathAssert,
    root: &Value,
    shape: Option<&Shape>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let at = |m: Mismatch| m.within(&assertion.path.value);
    let selected = select(&assertion.query, root, shape);
    let number = selected.as_ref().and_then(|(value, shape)| match value {
        Value::Number(number) => Some(Exact::of(number)),
        Value::String(text) if shape.as_ref().is_some_and(Shape::is_integer_string) => {
            Exact::of_integer_text(text)
        }
        _ => None,
    });
    match (&assertion.check, selected) {
        (PathCheck::Absent, None) => Ok(()),
        (PathCheck::Absent, Some((value, _))) => {
            Err(at(Mismatch::new("nothing", render_value_short(&value))))
        }
        // Nothing at the path is not equal to anything.
        (PathCheck::NotMatches(_), None) => Ok(()),
        (check, None) => Err(at(Mismatch::new(describe(check), "nothing at this path"))),
        (PathCheck::Exists, Some(_)) => Ok(()),
        (PathCheck::Matches(pattern), Some((value, shape))) => {
            match_json_shaped(pattern, &value, shape.as_ref(), captures).map_err(at)
        }
        (PathCheck::NotMatches(pattern), Some((value, shape))) => {
            let mut scratch = Vec::new();
            if match_json_shaped(pattern, &value, shape.as_ref(), &mut scratch).is_ok() {
                Err(at(Mismatch::new(
                    format!("not {}", render_json_pattern(pattern)),
                    render_value_short(&value),
                )))
            } else {
                Ok(())
            }
        }
        (PathCheck::Regex(regex), Some((Value::String(text), _)))
            if regex.regex.is_match(&text) =>
        {
            Ok(())
        }
        (PathCheck::Contains(needle), Some((Value::String(text), _)))
            if text.contains(needle.text.as_str()) =>
        {
            Ok(())
        }
        (PathCheck::Compare(op, bound), Some(_))
            if number.is_some_and(|n| op.holds(n, Exact::of(bound))) =>
        {
            Ok(())
        }
        (check, Some((value, _))) => Err(at(Mismatch::new(
            describe(check),
            render_value_short(&value),
        ))),
    }
}

/// What a query selects: nothing, one value, or several as an array; each with its shape when
/// the root's is known.
pub fn select(
    query: &JpQuery,
    root: &Value,
    shape: Option<&Shape>,
) -> Option<(Value, Option<Shape>)> {
    gather(&select_refs(query, root, shape))
}

/// Selected values as a query's check sees them: nothing, one value, or several as an array
/// (with a shape when they all have the same).
pub fn gather(found: &[(&Value, Option<Shape>)]) -> Option<(Value, Option<Shape>)> {
    match found {
        [] => None,
        [(one, shape)] => Some(((*one).clone(), shape.clone())),
        many => {
            let first = many[0].1.as_ref();
            let same = many.iter().all(|(_, shape)| shape.as_ref() == first);
            let shape = first.filter(|_| same).and_then(Shape::list_of);
            Some((
                Value::Array(many.iter().map(|(value, _)| (*value).clone()).collect()),
                shape,
            ))
        }
    }
}

/// The values a query selects, in order, each with its shape. On a gRPC reply, a query that
/// selects nothing is tried again with the `.proto` field names it holds written as the JSON
/// has them (`$.original_request` as `$.originalRequest`).
pub fn select_refs<'v>(
    query: &JpQuery,
    root: &'v Value,
    shape: Option<&Shape>,
) -> Vec<(&'v Value, Option<Shape>)> {
    let run = |query: &JpQuery| -> Vec<&'v Value> {
        jsonpath_rust::query::js_path_process(query, root)
            .map(|refs| refs.into_iter().map(|r| r.val()).collect())
            .unwrap_or_default()
    };
    let mut found = run(query);
    let Some(shape) = shape else {
        return found.into_iter().map(|value| (value, None)).collect();
    };
    if found.is_empty()
        && let Some(renamed) = with_json_names(query, shape)
    {
        found = run(&renamed);
    }
    found
        .into_iter()
        .map(|value| (value, shape_at(root, shape, value)))
        .collect()
}

/// `query` with each field named by its `.proto` name renamed as the JSON has it, as far as
/// the shape can follow the query (names, indexes and wildcards of arrays); `None` when it
/// names none.
fn with_json_names(query: &JpQuery, shape: &Shape) -> Option<JpQuery> {
    let mut renamed = query.clone();
    let mut changed = false;
    let mut place = Some(shape.clone());
    for segment in &mut renamed.segments {
        let Some(here) = place.take() else {
            break;
        };
        place = match segment {
            Segment::Selector(Selector::Name(name)) => {
                if let Some(json_key) = here.json_key(name) {
                    *name = json_key;
                    changed = true;
                }
                here.member(name)
            }
            Segment::Selector(
                Selector::Index(_) | Selector::Slice(..) | Selector::Wildcard | Selector::Filter(_),
            ) => here.item(),
            // Several names or a descendant segment: the places part ways.
            Segment::Selectors(_) | Segment::Descendant(_) => None,
        };
    }
    changed.then_some(renamed)
}

/// The shape of `target`, a value inside `root` (found by address: a query's results are
/// references into the value it ran on).
fn shape_at(root: &Value, shape: &Shape, target: &Value) -> Option<Shape> {
    if std::ptr::eq(root, target) {
        return Some(shape.clone());
    }
    match root {
        Value::Object(map) => map.iter().find_map(|(key, value)| {
            let inner = shape.member(key)?;
            shape_at(value, &inner, target)
        }),
        Value::Array(items) => {
            let inner = shape.item()?;
            items
                .iter()
                .find_map(|value| shape_at(value, &inner, target))
        }
        _ => None,
    }
}

fn describe(check: &PathCheck) -> String {
    match check {
        PathCheck::Matches(pattern) => render_json_pattern(pattern),
        PathCheck::NotMatches(pattern) => format!("not {}", render_json_pattern(pattern)),
        PathCheck::Regex(regex) => format!("a string matching {}", render_regex(regex)),
        PathCheck::Contains(needle) => format!("a string containing {}", quote(&needle.text)),
        PathCheck::Compare(op, bound) => {
            format!("a number {} {}", op.symbol(), format_json_number(bound))
        }
        PathCheck::Exists => "a value".to_string(),
        PathCheck::Absent => "nothing".to_string(),
    }
}
