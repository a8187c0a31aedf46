//! An observed value as `--update` writes it into a spec: the matcher a redaction in
//! streamspec.toml names for its place, else a matcher for a value that changes on every run
//! (see `volatile`), else the value itself. Every value an update writes goes through here, in
//! a recorded block, a rewritten line and a body alike.

use serde_json::Value;

use super::redactions::Redactions;
use super::volatile::{self, Now};
use crate::render::{TextPlace, ValueWriter, quote, render_item_with, render_value_with};
use crate::transport::grpc::shape::Shape;
use crate::transport::item::Item;

/// Writes observed values for one update.
#[derive(Clone, Copy)]
pub struct Writer<'r> {
    redactions: &'r Redactions,
    now: Now,
}

impl<'r> Writer<'r> {
    /// A writer whose "now" is the system clock's.
    pub fn new(redactions: &'r Redactions) -> Writer<'r> {
        Writer::at(redactions, Now::current())
    }

    pub fn at(redactions: &'r Redactions, now: Now) -> Writer<'r> {
        Writer { redactions, now }
    }

    /// An observed item as a spec line that matches it, and the items like it.
    pub fn item(&self, item: &Item) -> String {
        render_item_with(item, self)
    }

    /// The values under the JSON `root` as they are written: `root` and every value in it must
    /// be written through the selection, as redactions know them by their place in `root`.
    /// A gRPC reply's `shape` lets a redaction's matcher fit its 64-bit integers (`integer` for
    /// `"1700000000000"`), as the matcher will when the spec runs.
    pub fn select<'v>(&self, root: &'v Value, shape: Option<&Shape>) -> Selection<'r, 'v> {
        Selection {
            writer: *self,
            chosen: self.redactions.select(root, shape),
        }
    }
}

impl ValueWriter for Writer<'_> {
    fn json(&self, value: &Value) -> String {
        self.select(value, None).value(value)
    }

    fn reply(&self, value: &Value, shape: &Shape) -> String {
        self.select(value, Some(shape)).value(value)
    }

    fn text(&self, place: TextPlace, text: &str) -> String {
        if let Some(matcher) = self.redactions.text(place, text) {
            return matcher;
        }
        match volatile::text_regex(text, self.now) {
            Some(regex) => format!("/{regex}/"),
            None => quote(text),
        }
    }
}

/// The redactions of one JSON root, chosen once, for writing the values in it.
pub struct Selection<'r, 'v> {
    writer: Writer<'r>,
    chosen: Vec<(&'v Value, String)>,
}

impl Selection<'_, '_> {
    /// `value` (the root or a value in it) in spec style, with matchers where they belong.
    pub fn value(&self, value: &Value) -> String {
        render_value_with(value, &|node| self.matcher(node))
    }

    /// The matcher written for `node` in place of its value, if any.
    fn matcher(&self, node: &Value) -> Option<String> {
        if let Some((_, matcher)) = self.chosen.iter().find(|(v, _)| std::ptr::eq(*v, node)) {
            return Some(matcher.clone());
        }
        match node {
            Value::Number(number) => {
                volatile::number_matcher(number, self.writer.now).map(str::to_string)
            }
            Value::String(text) => {
                volatile::text_regex(text, self.writer.now).map(|regex| format!("/{regex}/"))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::transport::item::{SseEvent, SseRare};
    use crate::update::redactions::Redaction;

    /// 2026-06-01T00:00:00Z.
    const NOW: f64 = 1_780_272_000.0;

    #[test]
    fn redactions_come_first_then_volatile_values_then_the_rest_as_observed() {
        let redactions = Redactions::new(vec![
            Redaction::parse("$.seq", "integer").expect("a rule"),
            Redaction::parse("id:", "_").expect("a rule"),
        ]);
        let writer = Writer::at(&redactions, Now::at(NOW));
        let event = Item::Sse(SseEvent {
            data:
                r#"{"seq":3,"at":1780272000123,"id":"chatcmpl-9pX8VJZ3kUO4Q2vI4LX6","n":[1,"x"]}"#
                    .to_string(),
            id: "17".into(),
            rare: SseRare::boxed(Some("tick".into()), None),
            invalid_utf8: false,
            has_id: true,
        });
        assert_eq!(
            writer.item(&event),
            r#"id: _  event: "tick"  data: json { "seq": integer, "at": integer, "id": /^chatcmpl-[A-Za-z0-9]+$/, "n": [1, "x"] }"#
        );
        assert_eq!(
            writer.item(&Item::Line("2026-06-01T10:00:00Z".into())),
            r"/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/"
        );
        assert_eq!(writer.item(&Item::Line("ok".into())), r#""ok""#);
    }
}
