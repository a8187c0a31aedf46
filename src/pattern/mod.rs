//! Matching one observed item against one item pattern; returns the captures it made or a
//! mismatch that says where inside the item the difference is.

pub mod difference;
pub mod json;
pub mod json_text;
pub mod number;
pub mod path;
pub mod socket;
pub mod text;

use std::cell::OnceCell;
use std::fmt;

use serde_json::Value;

use crate::ast::{
    DataMatcher, ItemPattern, ItemPatternKind, JsonPattern, NumCond, TextMatcherKind,
};
use crate::transport::grpc::shape::Shape;
use crate::transport::item::Item;
use crate::transport::ws::WsMessage;

pub use json::{match_json, match_json_shaped, render_value_short};
pub use text::match_text;

/// Values captured by `-> name` while matching one item.
pub type Captures = Vec<(String, Value)>;

/// Why an item did not match: where in the item, what was expected and what was there.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where in the item, such as `data $.choices[0].delta.content`, or empty for the whole item.
    pub at: String,
    /// What is said before the two values, such as where two long texts differ; or empty.
    pub lead: String,
    pub expected: String,
    pub found: String,
}

/// An expected value described longer than this (a long string, a pattern written with a long
/// variable) is cut where a report shows it, as found values are.
const EXPECTED_LIMIT: usize = 200;

impl Mismatch {
    pub fn new(expected: impl Into<String>, found: impl Into<String>) -> Self {
        let expected = expected.into();
        let expected = if crate::excerpt::has_excerpts(&expected) {
            expected
        } else {
            crate::excerpt::excerpt(&expected, EXPECTED_LIMIT)
        };
        Mismatch {
            at: String::new(),
            lead: String::new(),
            expected,
            found: found.into(),
        }
    }

    /// Says something before the two values.
    pub fn with_lead(mut self, lead: impl Into<String>) -> Self {
        self.lead = lead.into();
        self
    }

    /// The lead and the two values, without where in the item: `expected 4, found 3`.
    pub fn comparison(&self) -> String {
        let values = format!("expected {}, found {}", self.expected, self.found);
        if self.lead.is_empty() {
            values
        } else {
            format!("{}: {values}", self.lead)
        }
    }

    /// Prefixes the location, as the mismatch bubbles out of a nested value.
    pub fn within(mut self, segment: &str) -> Self {
        self.at = if self.at.is_empty() {
            segment.to_string()
        } else if self.at.starts_with('[') || self.at.starts_with('.') {
            format!("{segment}{}", self.at)
        } else {
            format!("{segment} {}", self.at)
        };
        self
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.at.is_empty() {
            write!(f, "at `{}`: ", self.at)?;
        }
        f.write_str(&self.comparison())
    }
}

/// An item being matched, with its JSON parsed at most once however many patterns look at it.
pub struct ItemView<'a> {
    pub item: &'a Item,
    json: OnceCell<Result<Value, String>>,
}

impl<'a> ItemView<'a> {
    pub fn new(item: &'a Item) -> Self {
        ItemView {
            item,
            json: OnceCell::new(),
        }
    }

    /// What the item's type says about its JSON: a gRPC reply's shape, else nothing.
    pub fn shape(&self) -> Option<&Shape> {
        match self.item {
            Item::Json(_, shape) => shape.as_ref(),
            _ => None,
        }
    }

    /// Matches the item's JSON against `pattern` straight from its text, when the pattern is
    /// one that can be (see [`json_text`]) and the text has not been parsed yet: most items are
    /// matched once, by a pattern that looks at a few keys, and building the whole tree for it
    /// would cost more than the match. `false` means "match [`ItemView::json`]".
    fn matched_from_text(&self, pattern: &JsonPattern, captures: &mut Captures) -> bool {
        if self.json.get().is_some() {
            return false;
        }
        let text = match self.item {
            Item::Sse(event) => &event.data,
            Item::Line(line) | Item::Ws(WsMessage::Text(line)) => line,
            _ => return false,
        };
        json_text::matched_from_text(pattern, text, captures)
    }

    /// The item as JSON: an SSE event's data parsed, or the JSON item itself.
    pub fn json(&self) -> Result<&Value, &str> {
        match self.item {
            Item::Json(value, _) => Ok(value),
            _ => self
                .json
                .get_or_init(|| match self.item {
                    Item::Sse(event) => serde_json::from_str(&event.data)
                        .map_err(|e| format!("data that is not JSON ({e})")),
                    Item::Line(line) | Item::Ws(WsMessage::Text(line)) => {
                        serde_json::from_str(line)
                            .map_err(|e| format!("text that is not JSON ({e})"))
                    }
                    Item::Ws(WsMessage::Binary(_)) => {
                        Err("a binary message, which is not JSON".to_string())
                    }
                    Item::Ws(WsMessage::Ping(_) | WsMessage::Pong(_)) => {
                        Err("a control frame, which is not JSON".to_string())
                    }
                    Item::Chunk(_) | Item::Json(..) => {
                        Err("a chunk, which is not JSON".to_string())
                    }
                })
                .as_ref()
                .map_err(String::as_str),
        }
    }
}

/// Matches an item against a pattern; on success, appends the captures to `captures`.
pub fn match_item(
    pattern: &ItemPattern,
    view: &ItemView<'_>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let start = captures.len();
    let result = match_item_inner(pattern, view, captures);
    if result.is_err() {
        captures.truncate(start);
    }
    result
}

fn match_item_inner(
    pattern: &ItemPattern,
    view: &ItemView<'_>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    match (&pattern.kind, view.item) {
        (ItemPatternKind::Sse(sse), Item::Sse(event)) => {
            if let Some(id) = &sse.id {
                match_text(id, &event.id, captures).map_err(|m| m.within("id"))?;
            }
            if let Some(event_type) = &sse.event {
                match_text(event_type, event.event_type(), captures)
                    .map_err(|m| m.within("event"))?;
            }
            match &sse.data {
                Some(DataMatcher::Text(text)) => {
                    match_text(text, &event.data, captures).map_err(|m| m.within("data"))?
                }
                // Path assertions need the tree anyway: then it is built once, here.
                Some(DataMatcher::Json(json))
                    if sse.paths.is_empty() && view.matched_from_text(json, captures) => {}
                Some(DataMatcher::Json(json)) => {
                    let value = view
                        .json()
                        .map_err(|e| Mismatch::new("JSON data", e).within("data"))?;
                    match_json(json, value, captures).map_err(|m| m.within("data"))?
                }
                None => {}
            }
            if let Some(retry) = &sse.retry {
                match event.retry() {
                    Some(ms) if retry.value.holds(ms as f64) => {}
                    Some(ms) => {
                        return Err(Mismatch::new(describe_num(&retry.value), ms.to_string())
                            .within("retry"));
                    }
                    None => {
                        return Err(Mismatch::new(describe_num(&retry.value), "no retry field")
                            .within("retry"));
                    }
                }
            }
            for assertion in &sse.paths {
                let value = view
                    .json()
                    .map_err(|e| Mismatch::new("JSON data", e).within("data"))?;
                path::check(assertion, value, captures).map_err(|m| m.within("data"))?;
            }
            Ok(())
        }
        (ItemPatternKind::Json(json), _) => {
            let value = view.json().map_err(|e| Mismatch::new("JSON", e))?;
            if let Some(pattern) = &json.value {
                match_json_shaped(pattern, value, view.shape(), captures)?;
            }
            for assertion in &json.paths {
                path::check_shaped(assertion, value, view.shape(), captures)?;
            }
            Ok(())
        }
        (ItemPatternKind::Text(text), item) => {
            let (bytes, as_text): (&[u8], Option<&str>) = match item {
                Item::Line(line) => (line.as_bytes(), Some(line)),
                Item::Chunk(chunk) => (chunk, std::str::from_utf8(chunk).ok()),
                Item::Sse(event) => (event.data.as_bytes(), Some(&event.data)),
                Item::Json(..) | Item::Ws(_) => (&[], None),
            };
            match_text_item(text, bytes, as_text, view, captures)
        }
        (ItemPatternKind::Socket(socket), Item::Ws(message)) => {
            socket::match_message(socket, message, view, captures)
        }
        (ItemPatternKind::Socket(_), _) => {
            Err(Mismatch::new("a WebSocket message", "another kind of item"))
        }
        (ItemPatternKind::Sse(_), _) => Err(Mismatch::new("an SSE event", "another kind of item")),
    }
}

/// A `lines`, `chunks` or `expect text` pattern (and a WebSocket data message's) against an
/// item's bytes, and its text when they are UTF-8.
pub(crate) fn match_text_item(
    text: &crate::ast::TextItemPattern,
    bytes: &[u8],
    as_text: Option<&str>,
    view: &ItemView<'_>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    match (&text.text, as_text) {
        (Some(matcher), Some(as_text)) => match_text(matcher, as_text, captures)?,
        // `_` matches any bytes; a capture of them keeps them as (lossy) text.
        (Some(matcher), None) if matches!(matcher.kind, TextMatcherKind::Any) => {
            match_text(matcher, &String::from_utf8_lossy(bytes), captures)?
        }
        (Some(_), None) => {
            return Err(Mismatch::new("text", "bytes that are not valid UTF-8"));
        }
        (None, _) => {}
    }
    // A line of JSON: `json <pattern>` and JSONPath assertions on it.
    if let Some(json) = &text.json
        && !(text.paths.is_empty() && view.matched_from_text(json, captures))
    {
        let value = view.json().map_err(|e| Mismatch::new("JSON", e))?;
        match_json(json, value, captures)?;
    }
    for assertion in &text.paths {
        let value = view.json().map_err(|e| Mismatch::new("JSON", e))?;
        path::check(assertion, value, captures)?;
    }
    if let Some(size) = &text.size
        && !size.value.holds(bytes.len() as f64)
    {
        return Err(
            Mismatch::new(describe_num(&size.value), format!("{} bytes", bytes.len()))
                .within("size"),
        );
    }
    Ok(())
}

/// `500`, `< 10`, `3..7` as the user wrote it.
pub fn describe_num(cond: &NumCond) -> String {
    match *cond {
        NumCond::Compare(crate::ast::CmpOp::Eq, n) => format_number(n),
        NumCond::Range(None, None) => "_".to_string(),
        NumCond::Compare(op, n) => format!("{} {}", op.symbol(), format_number(n)),
        NumCond::Range(lo, hi) => format!(
            "{}..{}",
            lo.map(format_number).unwrap_or_default(),
            hi.map(format_number).unwrap_or_default()
        ),
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else if n != 0.0 && (n.abs() < 1e-5 || n.abs() >= 1e21) {
        // In exponent form, as JSON writers (and the items in a diff) show such numbers: Rust's
        // `{}` writes every digit (`0.000…1`, 45 places).
        serde_json::Number::from_f64(n).map_or_else(|| format!("{n}"), |n| n.to_string())
    } else {
        format!("{n}")
    }
}
