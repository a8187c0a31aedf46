//! What of a long JSON item a diff shows: the parts the block's patterns look at. An LLM's
//! stream chunk is a 200–260-character line of which a spec checks `choices[0].delta`; shown
//! whole, every line of the diff is the same id, model and fingerprint, and the difference is
//! lost among them. Members no pattern of the block names are shown as `…`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ast::{
    DataMatcher, Entry, EntryKind, ItemPattern, ItemPatternKind, JsonPattern, JsonPatternKind,
    PathAssert,
};
use crate::render::{TextPlace, ValueWriter, quote, render_item, render_item_with, render_value};
use crate::transport::item::Item;

/// Items rendered at most this long (a line of a terminal, beside the diff's gutter) are
/// shown whole.
const LONG_ITEM: usize = 120;

/// The parts of a JSON value that patterns look at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Focus {
    /// The whole value is looked at (a leaf of a pattern, `exact { … }`, a type).
    whole: bool,
    /// Members of an object, by key.
    members: BTreeMap<String, Focus>,
    /// The items of an array (any index).
    items: Option<Box<Focus>>,
}

impl Focus {
    /// Nothing is known of what matters: items are shown whole.
    pub fn none() -> Focus {
        Focus {
            whole: true,
            ..Focus::default()
        }
    }

    /// What the patterns of a block look at: its items, repetitions, groups (and their keys),
    /// `ignore`, `all` and `until` patterns, at any depth.
    pub fn of_block(entries: &[Entry]) -> Focus {
        let mut focus = Focus::default();
        focus.add_entries(entries);
        if focus.is_empty() {
            Focus::none()
        } else {
            focus
        }
    }

    /// What one item pattern looks at (a whole body's).
    pub fn of_item(pattern: &ItemPattern) -> Focus {
        let mut focus = Focus::default();
        focus.add_item(pattern);
        if focus.is_empty() {
            Focus::none()
        } else {
            focus
        }
    }

    /// An item as the diff shows it: whole when short or when nothing of it is looked at, else
    /// with the members no pattern names elided.
    pub fn render(&self, item: &Item) -> String {
        let whole = render_item(item);
        if self.whole || whole.chars().count() <= LONG_ITEM {
            return whole;
        }
        render_item_with(item, &Focused(self))
    }

    fn is_empty(&self) -> bool {
        !self.whole && self.members.is_empty() && self.items.is_none()
    }

    fn add_entries(&mut self, entries: &[Entry]) {
        for entry in entries {
            match &entry.kind {
                EntryKind::Item(line) => self.add_item(&line.pattern),
                EntryKind::Repeat { body, .. } => self.add_entries(body),
                EntryKind::Until { stop, body } => {
                    self.add_item(stop);
                    self.add_entries(body);
                }
                EntryKind::AnyOrder(lines) => {
                    for line in lines {
                        self.add_item(&line.pattern);
                    }
                }
                EntryKind::Ignore(pattern) | EntryKind::All(pattern) => self.add_item(pattern),
                EntryKind::Split(groups) => {
                    for group in groups {
                        self.add_path(&group.key.value);
                        self.add_entries(&group.body);
                    }
                }
                EntryKind::Skip
                | EntryKind::End
                | EntryKind::Dropped
                | EntryKind::FirstWithin(_)
                | EntryKind::Control(_) => {}
            }
        }
    }

    fn add_item(&mut self, pattern: &ItemPattern) {
        let (json, paths): (Option<&JsonPattern>, &[PathAssert]) = match &pattern.kind {
            ItemPatternKind::Sse(sse) => match &sse.data {
                Some(DataMatcher::Json(json)) => (Some(json), &sse.paths),
                _ => (None, &sse.paths),
            },
            ItemPatternKind::Json(json) => (json.value.as_ref(), &json.paths),
            ItemPatternKind::Socket(crate::ast::SocketPattern::Data(text)) => {
                (text.json.as_ref(), &text.paths)
            }
            ItemPatternKind::Text(_) | ItemPatternKind::Socket(_) => (None, &[]),
        };
        if let Some(json) = json {
            self.add_json(json);
        }
        for path in paths {
            self.add_path(&path.path.value);
        }
    }

    fn add_json(&mut self, pattern: &JsonPattern) {
        match &pattern.kind {
            JsonPatternKind::Object {
                members,
                exact: false,
            } if !members.is_empty() => {
                for (key, member) in members {
                    self.members
                        .entry(key.value.clone())
                        .or_default()
                        .add_json(member);
                }
            }
            JsonPatternKind::Array { items, .. } if !items.is_empty() => {
                let focus = self.items.get_or_insert_with(Box::default);
                for item in items {
                    focus.add_json(item);
                }
            }
            _ => self.whole = true,
        }
    }

    /// A JSONPath (or a top-level field name, as `where` takes): `$.choices[0].delta.content`,
    /// `$['a b'][*]`. Where it cannot be followed (`..`, a filter), the value there is whole.
    fn add_path(&mut self, path: &str) {
        let Some(mut rest) = path.strip_prefix('$') else {
            self.members.entry(path.to_string()).or_default().whole = true;
            return;
        };
        let mut focus = self;
        loop {
            if rest.is_empty() {
                focus.whole = true;
                return;
            }
            if let Some(after) = rest.strip_prefix('.')
                && !after.starts_with('.')
            {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                rest = &after[end..];
                focus = if name == "*" {
                    // Every member: the value is looked at whole.
                    focus.whole = true;
                    return;
                } else {
                    focus.members.entry(name.to_string()).or_default()
                };
            } else if let Some(after) = rest.strip_prefix('[')
                && let Some(close) = after.find(']')
            {
                let inside = after[..close].trim();
                rest = &after[close + 1..];
                let quoted = inside
                    .strip_prefix('\'')
                    .and_then(|i| i.strip_suffix('\''))
                    .or_else(|| inside.strip_prefix('"').and_then(|i| i.strip_suffix('"')));
                focus = match quoted {
                    Some(name) => focus.members.entry(name.to_string()).or_default(),
                    None if inside == "*" || inside.parse::<usize>().is_ok() => {
                        focus.items.get_or_insert_with(Box::default)
                    }
                    None => {
                        focus.whole = true;
                        return;
                    }
                };
            } else {
                focus.whole = true;
                return;
            }
        }
    }

    /// Writes `value` with what is not looked at as `…`; `None` when nothing of it is.
    fn write(&self, value: &Value, out: &mut String) -> bool {
        if self.whole {
            out.push_str(&render_value(value));
            return true;
        }
        match value {
            Value::Object(map) if !self.members.is_empty() => {
                let mut shown = Vec::new();
                let mut elided = false;
                for (key, member) in map {
                    let mut text = String::new();
                    match self.members.get(key) {
                        Some(focus) if focus.write(member, &mut text) => {
                            shown.push(format!("{}: {text}", quote(key)));
                            elided = false;
                        }
                        _ if !elided => {
                            shown.push("…".to_string());
                            elided = true;
                        }
                        _ => {}
                    }
                }
                if shown.iter().all(|part| part == "…") {
                    return false;
                }
                out.push_str(&format!("{{ {} }}", shown.join(", ")));
                true
            }
            Value::Array(items) if self.items.is_some() => {
                let focus = self.items.as_deref().unwrap_or(&WHOLE);
                let parts: Vec<String> = items
                    .iter()
                    .map(|item| {
                        let mut text = String::new();
                        if focus.write(item, &mut text) {
                            text
                        } else {
                            "{ … }".to_string()
                        }
                    })
                    .collect();
                out.push_str(&format!("[{}]", parts.join(", ")));
                true
            }
            // A value of another shape than the patterns expect: that is what matters.
            other => {
                out.push_str(&render_value(other));
                true
            }
        }
    }
}

static WHOLE: Focus = Focus {
    whole: true,
    members: BTreeMap::new(),
    items: None,
};

/// Writes the JSON of an item through a [`Focus`]; texts as they are.
struct Focused<'f>(&'f Focus);

impl ValueWriter for Focused<'_> {
    fn json(&self, value: &Value) -> String {
        let mut out = String::new();
        if self.0.write(value, &mut out) {
            out
        } else {
            render_value(value)
        }
    }

    fn text(&self, _: TextPlace, text: &str) -> String {
        quote(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Expectation, StepKind};
    use crate::source::SourceFile;
    use crate::transport::item::SseEvent;

    fn block(body: &str) -> Vec<Entry> {
        let text = format!("test \"t\" {{\n  GET http://x/\n  expect sse {{\n{body}\n  }}\n}}\n");
        let file = SourceFile::new("a.stream", text.as_str());
        let spec = crate::syntax::parse(&file).unwrap_or_else(|e| panic!("{e:?}"));
        spec.tests[0]
            .steps
            .iter()
            .find_map(|step| match &step.kind {
                StepKind::Expect(Expectation::Stream(block)) => Some(block.entries.clone()),
                _ => None,
            })
            .expect("a block")
    }

    fn event(data: &str) -> Item {
        Item::Sse(SseEvent {
            data: data.to_string(),
            id: "".into(),
            rare: None,
            invalid_utf8: false,
            has_id: false,
        })
    }

    const CHUNK: &str = r#"{"id":"chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e","object":"chat.completion.chunk","created":1718034000,"model":"gpt-4o-mini","system_fingerprint":"fp_8b761cb050","choices":[{"index":0,"delta":{"content":" can"},"logprobs":null,"finish_reason":null}]}"#;

    #[test]
    fn a_long_item_shows_what_the_patterns_look_at() {
        let focus = Focus::of_block(&block(
            r#"data: json { "choices": [{ "delta": { "content": "Hi" } }] }
               $.choices[0].finish_reason == "stop""#,
        ));
        assert_eq!(
            focus.render(&event(CHUNK)),
            r#"data: json { …, "choices": [{ …, "delta": { "content": " can" }, …, "finish_reason": null }] }"#
        );
    }

    #[test]
    fn where_keys_ignores_and_paths_count_and_short_items_stay_whole() {
        let focus = Focus::of_block(&block(
            r#"ignore data: json { "model": string }
               where $['choices'][*].index == 0 { data: _ }"#,
        ));
        assert_eq!(
            focus.render(&event(CHUNK)),
            r#"data: json { …, "model": "gpt-4o-mini", …, "choices": [{ "index": 0, … }] }"#
        );
        assert_eq!(
            focus.render(&event(r#"{"id":"x","choices":[]}"#)),
            r#"data: json { "id": "x", "choices": [] }"#
        );
    }

    #[test]
    fn an_item_with_nothing_looked_at_is_whole() {
        let focus = Focus::of_block(&block(r#"data: json { "other": 1 }"#));
        assert_eq!(focus.render(&event(CHUNK)), render_item(&event(CHUNK)));
        let focus = Focus::of_block(&block("data: _"));
        assert_eq!(focus, Focus::none());
        let focus = Focus::of_block(&block(r#"$..content == "x""#));
        assert_eq!(focus.render(&event(CHUNK)), render_item(&event(CHUNK)));
    }
}
