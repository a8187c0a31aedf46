//! An observed item written in the shape of an expected line, for `--update`: the parts of the
//! line's pattern that fit the item stay as written (a `number` matcher is not replaced by
//! today's number, a capture stays), and only the parts that do not fit become observed values,
//! as `update::observed` writes them (a matcher for a timestamp or a random id). Where the
//! shapes are too far apart to say which part is which, there is no shaped line and the item is
//! written out whole.

use serde_json::Value;

use super::observed::{Selection, Writer};
use crate::ast::{
    DataMatcher, Ident, ItemPattern, ItemPatternKind, JsonPattern, JsonPatternKind, PathAssert,
    PathCheck, TextMatcher,
};
use crate::pattern::json::member_of;
use crate::pattern::{ItemView, match_json_shaped, match_text};
use crate::render::{TextPlace, ValueWriter};
use crate::source::Span;
use crate::transport::grpc::shape::Shape;
use crate::transport::item::Item;

/// `pattern` as written in `text` (the file), with the parts that do not fit `item` replaced by
/// what the item holds there, as `writer` writes it (a matcher for a timestamp); `None` when the
/// item is not the kind of thing the pattern is.
pub fn shaped(text: &str, pattern: &ItemPattern, item: &Item, writer: &Writer) -> Option<String> {
    let mut edits = Edits {
        edits: Vec::new(),
        writer: *writer,
    };
    let view = ItemView::new(item);
    match (&pattern.kind, item) {
        (ItemPatternKind::Sse(sse), Item::Sse(event)) => {
            if let Some(id) = &sse.id {
                edits.text(id, TextPlace::SseId, &event.id);
            }
            if let Some(event_type) = &sse.event {
                edits.text(event_type, TextPlace::SseEvent, event.event_type());
            }
            if let Some(DataMatcher::Text(matcher)) = &sse.data {
                edits.text(matcher, TextPlace::SseData, &event.data);
            }
            if matches!(sse.data, Some(DataMatcher::Json(_))) || !sse.paths.is_empty() {
                let root = view.json().ok()?;
                let selection = writer.select(root, None);
                if let Some(DataMatcher::Json(json)) = &sse.data {
                    edits.json(json, root, None, &selection);
                }
                for assertion in &sse.paths {
                    edits.path(assertion, root, None, &selection)?;
                }
            }
            if let Some(retry) = &sse.retry {
                let ms = event.retry()?;
                if !retry.value.holds(ms as f64) {
                    edits.replace(retry.span, ms.to_string());
                }
            }
        }
        (ItemPatternKind::Json(json), _) => {
            let root = view.json().ok()?;
            let selection = writer.select(root, view.shape());
            if let Some(pattern) = &json.value {
                edits.json(pattern, root, view.shape(), &selection);
            }
            for assertion in &json.paths {
                edits.path(assertion, root, view.shape(), &selection)?;
            }
        }
        (ItemPatternKind::Text(pattern), Item::Line(_) | Item::Chunk(_)) => {
            let bytes: &[u8] = match item {
                Item::Line(line) => line.as_bytes(),
                Item::Chunk(chunk) => chunk,
                _ => return None,
            };
            if let Some(matcher) = &pattern.text {
                edits.text(matcher, TextPlace::Text, std::str::from_utf8(bytes).ok()?);
            }
            // A line matched as JSON keeps that shape when it is still JSON.
            if pattern.json.is_some() || !pattern.paths.is_empty() {
                let root = view.json().ok()?;
                let selection = writer.select(root, view.shape());
                if let Some(json) = &pattern.json {
                    edits.json(json, root, view.shape(), &selection);
                }
                for assertion in &pattern.paths {
                    edits.path(assertion, root, view.shape(), &selection)?;
                }
            }
            if let Some(size) = &pattern.size
                && !size.value.holds(bytes.len() as f64)
            {
                edits.replace(size.span, bytes.len().to_string());
            }
        }
        _ => return None,
    }
    Some(edits.apply(text, pattern.span))
}

/// Replacements inside one pattern's text, none overlapping another.
struct Edits<'r> {
    edits: Vec<(Span, String)>,
    writer: Writer<'r>,
}

impl Edits<'_> {
    fn replace(&mut self, span: Span, text: String) {
        self.edits.push((span, text));
    }

    /// A text matcher that does not fit gives way to the text, keeping its capture.
    fn text(&mut self, matcher: &TextMatcher, place: TextPlace, actual: &str) {
        if match_text(matcher, actual, &mut Vec::new()).is_err() {
            let text = self.writer.text(place, actual);
            self.replace(matcher.span, with_capture(text, &matcher.capture));
        }
    }

    /// A JSON pattern that does not fit: an object or array of the same shape is shaped member
    /// by member, anything else gives way to the value (`actual`, a value in the selection's
    /// root; with its shape on a gRPC reply, so that what matches it there is kept).
    fn json(
        &mut self,
        pattern: &JsonPattern,
        actual: &Value,
        shape: Option<&Shape>,
        selection: &Selection,
    ) {
        if match_json_shaped(pattern, actual, shape, &mut Vec::new()).is_ok() {
            return;
        }
        match (&pattern.kind, actual) {
            (JsonPatternKind::Object { members, exact }, Value::Object(map))
                if members
                    .iter()
                    .all(|(key, _)| member_of(map, &key.value, shape).is_some())
                    && (!exact || map.len() == members.len()) =>
            {
                for (key, member) in members {
                    if let Some((json_key, value)) = member_of(map, &key.value, shape) {
                        let member_shape = shape.and_then(|shape| shape.member(json_key));
                        self.json(member, value, member_shape.as_ref(), selection);
                    }
                }
            }
            (JsonPatternKind::Array { items, open }, Value::Array(values))
                if values.len() == items.len() || (*open && values.len() > items.len()) =>
            {
                let item_shape = shape.and_then(Shape::item);
                for (item, value) in items.iter().zip(values) {
                    self.json(item, value, item_shape.as_ref(), selection);
                }
            }
            (JsonPatternKind::Object { exact: true, .. }, Value::Object(_)) => {
                let text = format!("exact {}", selection.value(actual));
                self.replace(pattern.span, with_capture(text, &pattern.capture));
            }
            _ => {
                let text = selection.value(actual);
                self.replace(pattern.span, with_capture(text, &pattern.capture));
            }
        }
    }

    /// A JSONPath assertion: `== pattern` is shaped like any JSON pattern, and a regex,
    /// `contains` or comparison that does not fit becomes `== value`. A guard (`!=`, `not
    /// exists`) or a path that selects nothing has no shape.
    fn path(
        &mut self,
        assertion: &PathAssert,
        root: &Value,
        shape: Option<&Shape>,
        selection: &Selection,
    ) -> Option<()> {
        let found = crate::pattern::path::select_refs(&assertion.query, root, shape);
        // One value is shaped in place, in the root, where redactions know it; several are
        // checked as an array of copies.
        let many;
        let (selected, selected_shape): (Option<&Value>, Option<Shape>) = match found.as_slice() {
            [] => (None, None),
            [(one, shape)] => (Some(*one), shape.clone()),
            several => {
                let (value, shape) = crate::pattern::path::gather(several)?;
                many = value;
                (Some(&many), shape)
            }
        };
        match (&assertion.check, selected) {
            (PathCheck::Matches(pattern), Some(value)) => {
                self.json(pattern, value, selected_shape.as_ref(), selection);
                Some(())
            }
            _ if crate::pattern::path::check_shaped(assertion, root, shape, &mut Vec::new())
                .is_ok() =>
            {
                Some(())
            }
            (
                PathCheck::Regex(_) | PathCheck::Contains(_) | PathCheck::Compare(..),
                Some(value),
            ) => {
                let text = format!("{} == {}", assertion.path.value, selection.value(value));
                self.replace(assertion.span, text);
                Some(())
            }
            _ => None,
        }
    }

    fn apply(mut self, text: &str, whole: Span) -> String {
        self.edits.sort_by_key(|(span, _)| span.start);
        let mut out = String::new();
        let mut at = whole.start;
        for (span, replacement) in self.edits {
            out.push_str(&text[at..span.start]);
            out.push_str(&replacement);
            at = span.end;
        }
        out.push_str(&text[at..whole.end]);
        out
    }
}

fn with_capture(text: String, capture: &Option<Ident>) -> String {
    match capture {
        Some(name) => format!("{text} -> {}", name.value),
        None => text,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::ast::{EntryKind, Expectation, StepKind};
    use crate::source::SourceFile;
    use crate::transport::item::SseEvent;

    /// The first item line of the first block of a spec with `stream` blocks, shaped to `item`.
    fn shape(kind: &str, line: &str, item: Item) -> Option<String> {
        let text =
            format!("test \"t\" {{\n  GET http://x/\n  expect {kind} {{\n    {line}\n  }}\n}}\n");
        let file = SourceFile::new("a.stream", &text);
        let spec = crate::syntax::parse(&file).expect("the spec parses");
        let block = spec.tests[0]
            .steps
            .iter()
            .find_map(|step| match &step.kind {
                StepKind::Expect(Expectation::Stream(block)) => Some(block),
                _ => None,
            })
            .expect("a stream block");
        let EntryKind::Item(item_line) = &block.entries[0].kind else {
            panic!("an item line");
        };
        let redactions = crate::update::redactions::Redactions::default();
        let writer = Writer::at(
            &redactions,
            crate::update::volatile::Now::at(1_780_272_000.0),
        );
        shaped(&text, &item_line.pattern, &item, &writer)
    }

    fn sse(id: &str, data: &str) -> Item {
        Item::Sse(SseEvent {
            data: data.to_string(),
            id: id.into(),
            rare: None,
            invalid_utf8: false,
            has_id: !id.is_empty(),
        })
    }

    #[test]
    fn only_the_members_that_do_not_fit_change() {
        let shaped = shape(
            "sse",
            r#"id: /\d+/ -> n  data: json { "count": 7,  "at": integer, "tags": ["a", _] }"#,
            sse("2", r#"{"count":2,"at":17,"tags":["b","c"],"extra":true}"#),
        );
        assert_eq!(
            shaped.as_deref(),
            Some(r#"id: /\d+/ -> n  data: json { "count": 2,  "at": integer, "tags": ["b", _] }"#)
        );
    }

    #[test]
    fn a_different_shape_gives_way_to_the_value_and_keeps_the_capture() {
        let shaped = shape(
            "ndjson",
            r#"{ "a": { "b": 1 } -> x, "n": [1, 2] }"#,
            Item::Json(
                Box::new(serde_json::json!({ "a": { "c": 1 }, "n": [1, 2, 3] })),
                None,
            ),
        );
        assert_eq!(
            shaped.as_deref(),
            Some(r#"{ "a": { "c": 1 } -> x, "n": [1, 2, 3] }"#)
        );
    }

    #[test]
    fn text_lines_and_sizes_take_the_observed_text() {
        let shaped = shape("lines", r#"/^a/  size 3"#, Item::Line("bcde".into()));
        assert_eq!(shaped.as_deref(), Some(r#""bcde"  size 4"#));
    }

    #[test]
    fn a_path_assertion_becomes_the_value_and_a_guard_has_no_shape() {
        let item = Item::Json(Box::new(serde_json::json!({ "a": { "b": 5 } })), None);
        let shaped = shape("ndjson", r#"$.a.b == 4"#, item.clone());
        assert_eq!(shaped.as_deref(), Some("$.a.b == 5"));
        let shaped = shape("ndjson", r#"$.a.b > 6  $.a exists"#, item.clone());
        assert_eq!(shaped.as_deref(), Some("$.a.b == 5  $.a exists"));
        assert_eq!(shape("ndjson", r#"$.a.b != 5"#, item.clone()), None);
        assert_eq!(shape("ndjson", r#"$.a.c == 5"#, item), None);
    }

    #[test]
    fn a_volatile_value_that_does_not_fit_gives_way_to_its_matcher() {
        let shaped = shape(
            "sse",
            r#"id: "1"  data: json { "n": 1, "at": 1700000000000 }"#,
            sse("2", r#"{"n":2,"at":1780272000123}"#),
        );
        assert_eq!(
            shaped.as_deref(),
            Some(r#"id: "2"  data: json { "n": 2, "at": integer }"#)
        );
    }

    #[test]
    fn data_that_is_not_json_has_no_shape() {
        assert_eq!(
            shape("sse", r#"data: json { "a": 1 }"#, sse("", "[DONE]")),
            None
        );
    }
}
