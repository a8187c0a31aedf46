//! JSONPath assertions on an item: `$.choices[0].delta.content == "Hello"`.

use serde_json::Value;

use super::json::{match_json, render_value_short};
use super::number::{Exact, format_json_number};
use super::{Captures, Mismatch};
use crate::ast::{PathAssert, PathCheck};
use crate::render::{quote, render_json_pattern, render_regex};

/// Runs the query; a query selecting one value checks that value, several check them as an array.
pub fn check(
    assertion: &PathAssert,
    root: &Value,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let at = |m: Mismatch| m.within(&assertion.path.value);
    match (&assertion.check, select(assertion, root)) {
        (PathCheck::Absent, None) => Ok(()),
        (PathCheck::Absent, Some(value)) => {
            Err(at(Mismatch::new("nothing", render_value_short(&value))))
        }
        // Nothing at the path is not equal to anything.
        (PathCheck::NotMatches(_), None) => Ok(()),
        (check, None) => Err(at(Mismatch::new(describe(check), "nothing at this path"))),
        (PathCheck::Exists, Some(_)) => Ok(()),
        (PathCheck::Matches(pattern), Some(value)) => {
            match_json(pattern, &value, captures).map_err(at)
        }
        (PathCheck::NotMatches(pattern), Some(value)) => {
            let mut scratch = Vec::new();
            if match_json(pattern, &value, &mut scratch).is_ok() {
                Err(at(Mismatch::new(
                    format!("not {}", render_json_pattern(pattern)),
                    render_value_short(&value),
                )))
            } else {
                Ok(())
            }
        }
        (PathCheck::Regex(regex), Some(Value::String(text))) if regex.regex.is_match(&text) => {
            Ok(())
        }
        (PathCheck::Contains(needle), Some(Value::String(text)))
            if text.contains(needle.text.as_str()) =>
        {
            Ok(())
        }
        (PathCheck::Compare(op, bound), Some(Value::Number(n)))
            if op.holds(Exact::of(&n), Exact::of(bound)) =>
        {
            Ok(())
        }
        (check, Some(value)) => Err(at(Mismatch::new(
            describe(check),
            render_value_short(&value),
        ))),
    }
}

/// What the assertion's query selects: nothing, one value, or several as an array.
pub fn select(assertion: &PathAssert, root: &Value) -> Option<Value> {
    let found: Vec<&Value> = jsonpath_rust::query::js_path_process(&assertion.query, root)
        .map(|refs| refs.into_iter().map(|r| r.val()).collect())
        .unwrap_or_default();
    match found.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Some(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
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
