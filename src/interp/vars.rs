//! Variables and captures during a test, and resolving `{{name}}` in templates and patterns
//! once per step, so matching never looks a variable up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::ast::*;
use crate::interpolate::{InterpolateError, interpolate};
use crate::outcome::Failure;
use crate::source::Span;

/// The most values one capture keeps: captures live in memory, so an unbounded repetition must
/// not grow them without limit.
pub const MAX_CAPTURED_VALUES: usize = 100_000;

/// Variables every spec has without setting them: `{{run_id}}`, a UUID for the whole run,
/// `{{test_id}}`, a new UUID for each test each time it runs (`--repeat` too), and the
/// [`Identity`] of the run: `{{vu}}` and `{{iteration}}`. They let a spec against a stateful
/// server name its channels and queues afresh on every run, and a load run's users tell
/// themselves apart.
pub const BUILTIN_VARS: [&str; 4] = ["run_id", "test_id", "vu", "iteration"];

/// Who runs a test: in a load run, virtual user `vu` (from 1) in the run's `iteration`-th
/// iteration (from 1, counted across every user and instance); in `streamspec run`, user 1, and
/// the iteration is the run of the test under `--repeat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub vu: u64,
    pub iteration: u64,
}

/// A new random (version 4) UUID, in its usual lowercase hyphenated form.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Debug, Clone)]
enum VarValue {
    /// From `--var`, the environment, the config or `let`: text, read as JSON where a JSON
    /// value is expected (`{ "n": {{n}} }` with n = 5 is the number 5).
    Text(String),
    /// From a capture: the value as it was in the item.
    Json(Value),
}

#[derive(Clone)]
pub struct Scope {
    /// The numbers of the `repeat` iterations and branch instances the step is in (`as i`):
    /// the strongest source, as they are the innermost.
    locals: HashMap<String, Value>,
    /// Variables given to the run, strongest first already merged.
    run: Arc<HashMap<String, String>>,
    /// `let` lines of the file.
    lets: HashMap<String, String>,
    /// `run_id` and `test_id` ([`BUILTIN_VARS`]): the weakest source, so a variable of the same
    /// name set any other way is used instead.
    builtins: HashMap<String, String>,
    captures: HashMap<String, Vec<Value>>,
    /// The spec file's directory, which the files it names are relative to.
    dir: PathBuf,
}

impl Scope {
    /// The variables of one run of one test: `run_id` is the run's, and `test_id` is new.
    pub fn new(
        run: Arc<HashMap<String, String>>,
        run_id: &str,
        spec: &Spec,
        identity: Identity,
    ) -> Scope {
        let builtins = HashMap::from([
            ("run_id".to_string(), run_id.to_string()),
            ("test_id".to_string(), new_uuid()),
            ("vu".to_string(), identity.vu.to_string()),
            ("iteration".to_string(), identity.iteration.to_string()),
        ]);
        // A `let` may use the run's variables and the `let`s above it.
        let mut lets: HashMap<String, String> = HashMap::new();
        for binding in &spec.lets {
            let text = &binding.value.value;
            let value = interpolate(text, |name| {
                run.get(name)
                    .or_else(|| lets.get(name))
                    .or_else(|| builtins.get(name))
                    .cloned()
            })
            .unwrap_or_else(|_| text.clone());
            lets.insert(binding.name.value.clone(), value);
        }
        Scope {
            locals: HashMap::new(),
            run,
            lets,
            builtins,
            captures: HashMap::new(),
            dir: spec.file.dir().to_path_buf(),
        }
    }

    fn lookup(&self, name: &str) -> Option<VarValue> {
        if let Some(value) = self.locals.get(name) {
            return Some(VarValue::Json(value.clone()));
        }
        if let Some(value) = self.captures.get(name).and_then(|values| values.last()) {
            return Some(VarValue::Json(value.clone()));
        }
        self.run
            .get(name)
            .or_else(|| self.lets.get(name))
            .or_else(|| self.builtins.get(name))
            .map(|text| VarValue::Text(text.clone()))
    }

    fn lookup_text(&self, name: &str) -> Option<String> {
        self.lookup(name).map(|value| match value {
            VarValue::Text(text) => text,
            VarValue::Json(Value::String(text)) => text,
            VarValue::Json(other) => other.to_string(),
        })
    }

    /// `as i`: the number of the iteration or branch instance, for the steps inside.
    pub fn set_local(&mut self, name: &str, value: Value) {
        self.locals.insert(name.to_string(), value);
    }

    /// How many values each capture holds now, to tell later which a branch added.
    pub fn capture_lengths(&self) -> HashMap<String, usize> {
        self.captures
            .iter()
            .map(|(name, values)| (name.clone(), values.len()))
            .collect()
    }

    /// The values captured since `before` (from [`Scope::capture_lengths`]), by name.
    pub fn captured_since(&self, before: &HashMap<String, usize>) -> Vec<(String, Vec<Value>)> {
        let mut added: Vec<(String, Vec<Value>)> = self
            .captures
            .iter()
            .filter_map(|(name, values)| {
                let from = before.get(name).copied().unwrap_or(0);
                (values.len() > from).then(|| (name.clone(), values[from..].to_vec()))
            })
            .collect();
        added.sort_by(|a, b| a.0.cmp(&b.0));
        added
    }

    /// Adds values to a capture, as a branch's captures join the test's (`branch.name`).
    pub fn extend_capture(&mut self, name: String, values: Vec<Value>) {
        let kept = self.captures.entry(name).or_default();
        let room = MAX_CAPTURED_VALUES.saturating_sub(kept.len());
        kept.extend(values.into_iter().take(room));
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

    /// A JSON value from a pattern that holds only literals and variables (a request body).
    pub fn json_value(&self, pattern: &JsonPattern) -> Result<Value, Failure> {
        let mut pattern = pattern.clone();
        Binder::strict(self).json(&mut pattern)?;
        Ok(to_value(&pattern))
    }

    /// A file a spec names: the path written (variables resolved), relative to the spec file.
    pub fn path(&self, template: &Template) -> Result<PathBuf, Failure> {
        Ok(self.dir.join(self.resolve(template)?))
    }

    /// A gRPC request message as JSON: the spec's, with its variables resolved, or a file's.
    pub fn message_value(&self, message: &Message) -> Result<Value, Failure> {
        match message {
            Message::Json(pattern) | Message::JsonText(pattern) => self.json_value(pattern),
            Message::File(path) => {
                let relative = self.resolve(path)?;
                crate::payload::read_message(&self.dir.join(relative))
                    .map_err(|reason| Failure::error(reason, path.span, "this message file"))
            }
            // WebSocket-only messages: the checker keeps them off gRPC calls.
            Message::Binary(_) | Message::Ping(_) => Ok(Value::Null),
        }
    }

    /// Resolves the variables of a block's patterns before matching starts. A variable not set
    /// yet may be a capture the block itself makes before the line that uses it: such patterns
    /// are marked `late` and bound when they are matched (`bind_late`).
    pub fn instantiate_entries(&self, entries: &mut [Entry]) -> Result<(), Failure> {
        for entry in entries {
            match &mut entry.kind {
                EntryKind::Item(line) => self.instantiate_lenient(&mut line.pattern)?,
                EntryKind::Repeat { body, .. } => self.instantiate_entries(body)?,
                EntryKind::Until { stop, body } => {
                    self.instantiate_lenient(stop)?;
                    self.instantiate_entries(body)?;
                }
                EntryKind::AnyOrder(lines) => {
                    for line in lines {
                        self.instantiate_pattern(&mut line.pattern)?;
                    }
                }
                EntryKind::Ignore(pattern) | EntryKind::All(pattern) => {
                    self.instantiate_pattern(pattern)?
                }
                EntryKind::Split(groups) => {
                    for group in groups {
                        Binder::strict(self).json(&mut group.value)?;
                        self.instantiate_entries(&mut group.body)?;
                    }
                }
                EntryKind::Control(Control::Send(Message::Json(pattern))) => {
                    Binder::strict(self).json(pattern)?
                }
                EntryKind::Control(Control::Send(Message::File(path))) => {
                    Binder::strict(self).template(path)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn instantiate_lenient(&self, pattern: &mut ItemPattern) -> Result<(), Failure> {
        let mut binder = Binder {
            scope: self,
            lenient: true,
            left_unbound: false,
        };
        binder.pattern(pattern)?;
        pattern.late = binder.left_unbound;
        Ok(())
    }

    /// Resolves every variable of a pattern; one that is not set is an error.
    pub fn instantiate_pattern(&self, pattern: &mut ItemPattern) -> Result<(), Failure> {
        Binder::strict(self).pattern(pattern)
    }

    /// A `late` pattern with its variables bound now, as it is about to be matched.
    pub fn bind_late(&self, pattern: &ItemPattern) -> Result<ItemPattern, Failure> {
        let mut bound = pattern.clone();
        bound.late = false;
        self.instantiate_pattern(&mut bound)?;
        Ok(bound)
    }

    pub fn instantiate_text(&self, matcher: &mut TextMatcher) -> Result<(), Failure> {
        Binder::strict(self).text(matcher)
    }

    pub fn instantiate_value_check(&self, check: &mut ValueCheck) -> Result<(), Failure> {
        let mut binder = Binder::strict(self);
        match &mut check.kind {
            ValueCheckKind::Matches(json) | ValueCheckKind::NotMatches(json) => binder.json(json),
            ValueCheckKind::Contains(template) => binder.template(template),
            _ => Ok(()),
        }
    }
}

impl crate::interp::matcher::Bind for Scope {
    fn bind(&self, pattern: &ItemPattern) -> Result<ItemPattern, String> {
        self.bind_late(pattern).map_err(|failure| failure.message)
    }
}

/// Resolves the variables in patterns, in place. A lenient binder leaves what it cannot
/// resolve yet, and notes that it did.
struct Binder<'s> {
    scope: &'s Scope,
    lenient: bool,
    left_unbound: bool,
}

impl<'s> Binder<'s> {
    fn strict(scope: &'s Scope) -> Self {
        Binder {
            scope,
            lenient: false,
            left_unbound: false,
        }
    }

    fn template(&mut self, template: &mut Template) -> Result<(), Failure> {
        if template.has_placeholders() {
            match self.scope.resolve(template) {
                Ok(text) => template.text = text,
                Err(_) if self.lenient => self.left_unbound = true,
                Err(failure) => return Err(failure),
            }
        }
        Ok(())
    }

    fn pattern(&mut self, pattern: &mut ItemPattern) -> Result<(), Failure> {
        match &mut pattern.kind {
            ItemPatternKind::Sse(sse) => {
                for matcher in [&mut sse.id, &mut sse.event].into_iter().flatten() {
                    self.text(matcher)?;
                }
                match &mut sse.data {
                    Some(DataMatcher::Text(matcher)) => self.text(matcher)?,
                    Some(DataMatcher::Json(json)) => self.json(json)?,
                    None => {}
                }
                self.paths(&mut sse.paths)?;
            }
            ItemPatternKind::Json(json) => {
                if let Some(value) = &mut json.value {
                    self.json(value)?;
                }
                self.paths(&mut json.paths)?;
            }
            ItemPatternKind::Text(text)
            | ItemPatternKind::Socket(SocketPattern::Data(text) | SocketPattern::Text(text)) => {
                if let Some(matcher) = &mut text.text {
                    self.text(matcher)?;
                }
                if let Some(json) = &mut text.json {
                    self.json(json)?;
                }
                self.paths(&mut text.paths)?;
            }
            ItemPatternKind::Socket(SocketPattern::Control {
                payload: Some(payload),
                ..
            }) => self.text(payload)?,
            ItemPatternKind::Socket(_) => {}
        }
        Ok(())
    }

    fn text(&mut self, matcher: &mut TextMatcher) -> Result<(), Failure> {
        match &mut matcher.kind {
            TextMatcherKind::Exact(template) | TextMatcherKind::Contains(template) => {
                self.template(template)
            }
            _ => Ok(()),
        }
    }

    fn paths(&mut self, paths: &mut [PathAssert]) -> Result<(), Failure> {
        for path in paths {
            match &mut path.check {
                PathCheck::Matches(json) | PathCheck::NotMatches(json) => self.json(json)?,
                PathCheck::Contains(template) => self.template(template)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn json(&mut self, pattern: &mut JsonPattern) -> Result<(), Failure> {
        match &mut pattern.kind {
            JsonPatternKind::String(template) => self.template(template)?,
            JsonPatternKind::Repeated { text, times } => {
                self.template(text)?;
                // A lenient binder may have left the text unbound: it is checked once bound.
                if !(self.lenient && text.has_placeholders())
                    && let Some(reason) =
                        crate::payload::repeated_too_large(text.text.len(), times.value)
                {
                    return Err(Failure::error(
                        reason,
                        times.span,
                        "repeated this many times",
                    ));
                }
            }
            JsonPatternKind::Var(name) => {
                let value = match self.scope.lookup(&name.value) {
                    Some(VarValue::Json(value)) => value,
                    Some(VarValue::Text(text)) => {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    }
                    None if self.lenient => {
                        self.left_unbound = true;
                        return Ok(());
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
                    self.json(member)?;
                }
            }
            JsonPatternKind::Array { items, .. } => {
                for item in items {
                    self.json(item)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A literal pattern as the JSON value it spells.
fn to_value(pattern: &JsonPattern) -> Value {
    match &pattern.kind {
        JsonPatternKind::Null => Value::Null,
        JsonPatternKind::Bool(b) => Value::Bool(*b),
        JsonPatternKind::Number(n) => Value::Number(n.clone()),
        JsonPatternKind::String(template) => Value::String(template.text.clone()),
        // Bound already: within the limit (`Binder::json`).
        JsonPatternKind::Repeated { text, times } => {
            Value::String(crate::payload::repeat(&text.text, times.value).unwrap_or_default())
        }
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
