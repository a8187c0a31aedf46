//! Variables and captures during a test, and resolving `{{name}}` in templates and patterns
//! once per step, so matching never looks a variable up.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::ast::*;
use crate::interpolate::{InterpolateError, interpolate};
use crate::outcome::Failure;
use crate::source::Span;

/// The most values one capture keeps: captures live in memory, so an unbounded repetition must
/// not grow them without limit.
pub const MAX_CAPTURED_VALUES: usize = 100_000;

#[derive(Debug, Clone)]
enum VarValue {
    /// From `--var`, the environment, the config or `let`: text, read as JSON where a JSON
    /// value is expected (`{ "n": {{n}} }` with n = 5 is the number 5).
    Text(String),
    /// From a capture: the value as it was in the item.
    Json(Value),
}

pub struct Scope {
    /// Variables given to the run, strongest first already merged.
    run: Arc<HashMap<String, String>>,
    /// `let` lines of the file: the weakest source.
    lets: HashMap<String, String>,
    captures: HashMap<String, Vec<Value>>,
}

impl Scope {
    pub fn new(run: Arc<HashMap<String, String>>, spec: &Spec) -> Scope {
        // A `let` may use the run's variables and the `let`s above it.
        let mut lets: HashMap<String, String> = HashMap::new();
        for binding in &spec.lets {
            let text = &binding.value.value;
            let value = interpolate(text, |name| {
                run.get(name).or_else(|| lets.get(name)).cloned()
            })
            .unwrap_or_else(|_| text.clone());
            lets.insert(binding.name.value.clone(), value);
        }
        Scope {
            run,
            lets,
            captures: HashMap::new(),
        }
    }

    fn lookup(&self, name: &str) -> Option<VarValue> {
        if let Some(value) = self.captures.get(name).and_then(|values| values.last()) {
            return Some(VarValue::Json(value.clone()));
        }
        self.run
            .get(name)
            .or_else(|| self.lets.get(name))
            .map(|text| VarValue::Text(text.clone()))
    }

    fn lookup_text(&self, name: &str) -> Option<String> {
        self.lookup(name).map(|value| match value {
            VarValue::Text(text) => text,
            VarValue::Json(Value::String(text)) => text,
            VarValue::Json(other) => other.to_string(),
        })
    }

    pub fn captured(&self, name: &str) -> Option<&[Value]> {
        self.captures.get(name).map(Vec::as_slice)
    }

    /// Keeps captured values; fails when one capture outgrows its bound.
    pub fn commit(
        &mut self,
        captures: &mut Vec<(String, Value)>,
        span: Span,
    ) -> Result<(), Failure> {
        for (name, value) in captures.drain(..) {
            let values = self.captures.entry(name.clone()).or_default();
            if values.len() >= MAX_CAPTURED_VALUES {
                return Err(Failure::error(
                    format!("capture `{name}` holds more than {MAX_CAPTURED_VALUES} values"),
                    span,
                    "captured here",
                )
                .note("captures are kept in memory; capture fewer items, or count them with `expect count`"));
            }
            values.push(value);
        }
        Ok(())
    }

    /// Resolves the placeholders of a template.
    pub fn resolve(&self, template: &Template) -> Result<String, Failure> {
        if !template.has_placeholders() {
            return Ok(template.text.clone());
        }
        interpolate(&template.text, |name| self.lookup_text(name)).map_err(|error| {
            let message = match &error {
                InterpolateError::Unknown { name, .. } => format!("variable `{name}` is not set"),
                other => other.to_string(),
            };
            let range = error.range();
            let span = Span::new(
                template.text_offset + range.start,
                template.text_offset + range.end,
            );
            Failure::error(message, span, "used here")
        })
    }

    fn resolve_in_place(&self, template: &mut Template) -> Result<(), Failure> {
        if template.has_placeholders() {
            template.text = self.resolve(template)?;
        }
        Ok(())
    }

    /// A JSON value from a pattern that holds only literals and variables (a request body).
    pub fn json_value(&self, pattern: &JsonPattern) -> Result<Value, Failure> {
        let mut pattern = pattern.clone();
        self.instantiate_json(&mut pattern)?;
        Ok(to_value(&pattern))
    }

    /// Resolves every template and variable in a block's entries, before matching starts.
    pub fn instantiate_entries(&self, entries: &mut [Entry]) -> Result<(), Failure> {
        for entry in entries {
            match &mut entry.kind {
                EntryKind::Item(line) => self.instantiate_pattern(&mut line.pattern)?,
                EntryKind::Repeat { body, .. } => self.instantiate_entries(body)?,
                EntryKind::Until { stop, body } => {
                    self.instantiate_pattern(stop)?;
                    self.instantiate_entries(body)?;
                }
                EntryKind::AnyOrder(lines) => {
                    for line in lines {
                        self.instantiate_pattern(&mut line.pattern)?;
                    }
                }
                EntryKind::Ignore(pattern) => self.instantiate_pattern(pattern)?,
                EntryKind::Control(Control::Send(pattern)) => self.instantiate_json(pattern)?,
                _ => {}
            }
        }
        Ok(())
    }

    pub fn instantiate_pattern(&self, pattern: &mut ItemPattern) -> Result<(), Failure> {
        match &mut pattern.kind {
            ItemPatternKind::Sse(sse) => {
                for matcher in [&mut sse.id, &mut sse.event].into_iter().flatten() {
                    self.instantiate_text(matcher)?;
                }
                match &mut sse.data {
                    Some(DataMatcher::Text(matcher)) => self.instantiate_text(matcher)?,
                    Some(DataMatcher::Json(json)) => self.instantiate_json(json)?,
                    None => {}
                }
                self.instantiate_paths(&mut sse.paths)?;
            }
            ItemPatternKind::Json(json) => {
                if let Some(value) = &mut json.value {
                    self.instantiate_json(value)?;
                }
                self.instantiate_paths(&mut json.paths)?;
            }
            ItemPatternKind::Text(text) => {
                if let Some(matcher) = &mut text.text {
                    self.instantiate_text(matcher)?;
                }
            }
        }
        Ok(())
    }

    fn instantiate_text(&self, matcher: &mut TextMatcher) -> Result<(), Failure> {
        match &mut matcher.kind {
            TextMatcherKind::Exact(template) | TextMatcherKind::Contains(template) => {
                self.resolve_in_place(template)
            }
            _ => Ok(()),
        }
    }

    fn instantiate_paths(&self, paths: &mut [PathAssert]) -> Result<(), Failure> {
        for path in paths {
            match &mut path.check {
                PathCheck::Matches(json) | PathCheck::NotMatches(json) => {
                    self.instantiate_json(json)?
                }
                PathCheck::Contains(template) => self.resolve_in_place(template)?,
                _ => {}
            }
        }
        Ok(())
    }

    pub fn instantiate_json(&self, pattern: &mut JsonPattern) -> Result<(), Failure> {
        match &mut pattern.kind {
            JsonPatternKind::String(template) => self.resolve_in_place(template)?,
            JsonPatternKind::Var(name) => {
                let value = match self.lookup(&name.value) {
                    Some(VarValue::Json(value)) => value,
                    Some(VarValue::Text(text)) => {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    }
                    None => {
                        return Err(Failure::error(
                            format!("variable `{}` is not set", name.value),
                            name.span,
                            "used here",
                        ));
                    }
                };
                pattern.kind = JsonPatternKind::Literal(value);
            }
            JsonPatternKind::Object { members, .. } => {
                for (_, member) in members {
                    self.instantiate_json(member)?;
                }
            }
            JsonPatternKind::Array { items, .. } => {
                for item in items {
                    self.instantiate_json(item)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub fn instantiate_value_check(&self, check: &mut ValueCheck) -> Result<(), Failure> {
        match &mut check.kind {
            ValueCheckKind::Matches(json) | ValueCheckKind::NotMatches(json) => {
                self.instantiate_json(json)
            }
            ValueCheckKind::Contains(template) => self.resolve_in_place(template),
            _ => Ok(()),
        }
    }
}

/// A literal pattern as the JSON value it spells.
fn to_value(pattern: &JsonPattern) -> Value {
    match &pattern.kind {
        JsonPatternKind::Null => Value::Null,
        JsonPatternKind::Bool(b) => Value::Bool(*b),
        JsonPatternKind::Number(n) => Value::Number(n.clone()),
        JsonPatternKind::String(template) => Value::String(template.text.clone()),
        JsonPatternKind::Literal(value) => value.clone(),
        JsonPatternKind::Object { members, .. } => Value::Object(
            members
                .iter()
                .map(|(key, member)| (key.value.clone(), to_value(member)))
                .collect(),
        ),
        JsonPatternKind::Array { items, .. } => Value::Array(items.iter().map(to_value).collect()),
        // The checker only lets literals into request bodies.
        _ => Value::Null,
    }
}
