//! Canonical rendering of patterns and observed items in spec syntax, one item per line. The
//! diff, the failure messages, `streamspec fmt` and the update writer (`update::observed`, which
//! writes some values as matchers) all render here, so an observed item reads exactly like the
//! spec line that would match it.

pub mod statements;

use std::fmt::Write as _;

use serde_json::Value;

use crate::ast::*;
use crate::pattern::number::format_json_number;
use crate::pattern::{describe_num, format_number};
use crate::transport::grpc::shape::Shape;
use crate::transport::item::Item;

/// A JSON string literal: `"a \"b\""`.
pub fn quote(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// Alternatives in a sentence: `200`, `200 or 404`, `200, 404 or 500`.
pub fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub fn render_regex(regex: &RegexLit) -> String {
    format!("/{}/{}", regex.source.replace('/', "\\/"), regex.flags)
}

/// A JSON value in spec style: `{ "a": 1, "b": [1, 2] }`.
pub fn render_value(value: &Value) -> String {
    render_value_with(value, &|_| None)
}

/// A JSON value in spec style, with the values (at any depth) for which `replace` gives a text
/// written as that text instead: a matcher in place of a timestamp, for `--update`.
pub fn render_value_with(value: &Value, replace: &dyn Fn(&Value) -> Option<String>) -> String {
    let mut out = String::new();
    write_value(&mut out, value, replace);
    out
}

fn write_value(out: &mut String, value: &Value, replace: &dyn Fn(&Value) -> Option<String>) {
    if let Some(text) = replace(value) {
        out.push_str(&text);
        return;
    }
    match value {
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            out.push_str("{ ");
            for (index, (key, member)) in map.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote(key));
                out.push_str(": ");
                write_value(out, member, replace);
            }
            out.push_str(" }");
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, replace);
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

pub fn render_json_pattern(pattern: &JsonPattern) -> String {
    let mut out = String::new();
    write_json_pattern(&mut out, pattern);
    out
}

fn write_json_pattern(out: &mut String, pattern: &JsonPattern) {
    match &pattern.kind {
        JsonPatternKind::Null => out.push_str("null"),
        JsonPatternKind::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        JsonPatternKind::Number(n) => {
            let _ = write!(out, "{n}");
        }
        JsonPatternKind::String(template) => out.push_str(&quote(&template.text)),
        JsonPatternKind::Repeated { text, times } => {
            let _ = write!(out, "{} * {}", quote(&text.text), times.value);
        }
        JsonPatternKind::Object { members, exact } => {
            if *exact {
                out.push_str("exact ");
            }
            if members.is_empty() {
                out.push_str("{}");
            } else {
                out.push_str("{ ");
                for (index, (key, member)) in members.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&quote(&key.value));
                    out.push_str(": ");
                    write_json_pattern(out, member);
                }
                out.push_str(" }");
            }
        }
        JsonPatternKind::Array { items, open } => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_json_pattern(out, item);
            }
            if *open {
                out.push_str(if items.is_empty() { "..." } else { ", ..." });
            }
            out.push(']');
        }
        JsonPatternKind::Type { kind, len } => {
            out.push_str(kind.keyword());
            if let Some(len) = len {
                let _ = write!(out, " len {}", render_size(&len.value));
            }
        }
        JsonPatternKind::Any => out.push('_'),
        JsonPatternKind::Regex(regex) => out.push_str(&render_regex(regex)),
        JsonPatternKind::Range(lo, hi) => {
            let _ = write!(
                out,
                "{}..{}",
                lo.as_ref().map(format_json_number).unwrap_or_default(),
                hi.as_ref().map(format_json_number).unwrap_or_default()
            );
        }
        JsonPatternKind::Compare(op, n) => {
            let _ = write!(out, "{} {}", op.symbol(), format_json_number(n));
        }
        JsonPatternKind::Var(name) => {
            let _ = write!(out, "{{{{{}}}}}", name.value);
        }
        JsonPatternKind::Literal(value) => write_value(out, value, &|_| None),
    }
    if let Some(capture) = &pattern.capture {
        let _ = write!(out, " -> {}", capture.value);
    }
}

pub fn render_text_matcher(matcher: &TextMatcher) -> String {
    let mut out = match &matcher.kind {
        TextMatcherKind::Exact(template) => quote(&template.text),
        TextMatcherKind::Regex(regex) => render_regex(regex),
        TextMatcherKind::Contains(template) => format!("contains {}", quote(&template.text)),
        TextMatcherKind::Any => "_".to_string(),
    };
    if let Some(capture) = &matcher.capture {
        let _ = write!(out, " -> {}", capture.value);
    }
    out
}

fn render_path_assert(assertion: &PathAssert) -> (usize, String) {
    let check = match &assertion.check {
        PathCheck::Matches(pattern) => format!("== {}", render_json_pattern(pattern)),
        PathCheck::NotMatches(pattern) => format!("!= {}", render_json_pattern(pattern)),
        PathCheck::Regex(regex) => format!("~ {}", render_regex(regex)),
        PathCheck::Contains(template) => format!("contains {}", quote(&template.text)),
        PathCheck::Compare(op, n) => format!("{} {}", op.symbol(), format_json_number(n)),
        PathCheck::Exists => "exists".to_string(),
        PathCheck::Absent => "not exists".to_string(),
    };
    (
        assertion.span.start,
        format!("{} {check}", assertion.path.value),
    )
}

pub fn render_num_cond(cond: &NumCond) -> String {
    match cond {
        NumCond::Compare(op, n) => format!("{} {}", op.symbol(), format_number(*n)),
        NumCond::Range(..) => describe_num(cond),
    }
}

/// A size bound as `size` takes it: `5`, `1..2`, `< 10`.
fn render_size(cond: &NumCond) -> String {
    match cond {
        NumCond::Compare(CmpOp::Eq, n) => format_number(*n),
        other => render_num_cond(other),
    }
}

/// An item pattern on one line, in canonical spec syntax. Its parts (SSE fields, JSONPath
/// assertions, `size`, …) come in the order the spec wrote them; a pattern that was not written
/// (all spans empty) has them in the order id, event, data, retry, then the rest.
pub fn render_item_pattern(pattern: &ItemPattern) -> String {
    let mut parts: Vec<(usize, String)> = Vec::new();
    match &pattern.kind {
        ItemPatternKind::Sse(sse) => {
            if let Some(id) = &sse.id {
                parts.push((id.span.start, format!("id: {}", render_text_matcher(id))));
            }
            if let Some(event) = &sse.event {
                let text = format!("event: {}", render_text_matcher(event));
                parts.push((event.span.start, text));
            }
            match &sse.data {
                Some(DataMatcher::Text(text)) => parts.push((
                    text.span.start,
                    format!("data: {}", render_text_matcher(text)),
                )),
                Some(DataMatcher::Json(json)) => parts.push((
                    json.span.start,
                    format!("data: json {}", render_json_pattern(json)),
                )),
                None => {}
            }
            if let Some(retry) = &sse.retry {
                let text = format!("retry: {}", describe_num(&retry.value));
                parts.push((retry.span.start, text));
            }
            parts.extend(sse.paths.iter().map(render_path_assert));
        }
        ItemPatternKind::Json(json) => {
            if let Some(value) = &json.value {
                parts.push((value.span.start, render_json_pattern(value)));
            }
            parts.extend(json.paths.iter().map(render_path_assert));
        }
        ItemPatternKind::Text(text) => {
            if let Some(matcher) = &text.text {
                parts.push((matcher.span.start, render_text_matcher(matcher)));
            }
            if let Some(json) = &text.json {
                parts.push((
                    json.span.start,
                    format!("json {}", render_json_pattern(json)),
                ));
            }
            parts.extend(text.paths.iter().map(render_path_assert));
            if let Some(size) = &text.size {
                let text = format!("size {}", render_size(&size.value));
                parts.push((size.span.start, text));
            }
        }
        ItemPatternKind::Socket(socket) => match socket {
            SocketPattern::Data(text) => {
                if let Some(matcher) = &text.text {
                    parts.push((matcher.span.start, render_text_matcher(matcher)));
                }
                // Bare, as a WebSocket's JSON messages are written, when it reads back as JSON: an
                // object or an array. A bare string, regex or `_` would be the message's text.
                if let Some(json) = &text.json {
                    let text = match json.kind {
                        JsonPatternKind::Object { .. } | JsonPatternKind::Array { .. } => {
                            render_json_pattern(json)
                        }
                        _ => format!("json {}", render_json_pattern(json)),
                    };
                    parts.push((json.span.start, text));
                }
                parts.extend(text.paths.iter().map(render_path_assert));
                if let Some(size) = &text.size {
                    let text = format!("size {}", render_size(&size.value));
                    parts.push((size.span.start, text));
                }
            }
            SocketPattern::Text(text) => {
                let mut line = "text".to_string();
                if let Some(matcher) = &text.text {
                    line.push(' ');
                    line.push_str(&render_text_matcher(matcher));
                }
                if let Some(size) = &text.size {
                    line.push_str(&format!("  size {}", render_size(&size.value)));
                }
                parts.push((pattern.span.start, line));
            }
            SocketPattern::Binary { content, size } => {
                let mut text = "binary".to_string();
                if let Some(content) = content {
                    text.push_str(&if content.base64 {
                        use base64::Engine;
                        let encoded =
                            base64::engine::general_purpose::STANDARD.encode(&content.bytes);
                        format!(" base64 {}", quote(&encoded))
                    } else {
                        format!(
                            " hex {}",
                            quote(&crate::pattern::socket::hex(&content.bytes))
                        )
                    });
                }
                if let Some(size) = size {
                    text.push_str(&format!("  size {}", render_size(&size.value)));
                }
                parts.push((pattern.span.start, text));
            }
            SocketPattern::Control { pong, payload } => {
                let mut text = if *pong { "pong" } else { "ping" }.to_string();
                if let Some(payload) = payload {
                    text.push(' ');
                    text.push_str(&render_text_matcher(payload));
                }
                parts.push((pattern.span.start, text));
            }
        },
    }
    join_in_written_order(parts)
}

/// Parts of a line, two spaces apart, sorted by where they were written (a stable sort, so
/// parts that were not written keep the order they were given in).
fn join_in_written_order(mut parts: Vec<(usize, String)>) -> String {
    parts.sort_by_key(|(start, _)| *start);
    let parts: Vec<String> = parts.into_iter().map(|(_, text)| text).collect();
    parts.join("  ")
}

/// An expected item line with its timing bounds (in the order written).
pub fn render_item_line(line: &ItemLine) -> String {
    let mut parts = vec![(line.pattern.span.start, render_item_pattern(&line.pattern))];
    if let Some(within) = &line.within {
        let text = format!("within {}", crate::duration::format_duration(within.value));
        parts.push((within.span.start, text));
    }
    if let Some(after) = &line.after {
        let text = format!("after {}", crate::duration::format_duration(after.value));
        parts.push((after.span.start, text));
    }
    join_in_written_order(parts)
}

/// The head of a `where` group: `where symbol == "AAPL"`.
pub fn render_where(group: &WhereGroup) -> String {
    format!(
        "where {} == {}",
        group.key.value,
        render_json_pattern(&group.value)
    )
}

/// Where a text of an observed item is, for a [`ValueWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextPlace {
    SseId,
    SseEvent,
    /// SSE data that is not JSON.
    SseData,
    /// A line, or a chunk that is UTF-8 text.
    Text,
}

/// How the values of an observed item are written: each as it is ([`render_item`]), or some as
/// matchers (what `--update` writes, see `update::observed`).
pub trait ValueWriter {
    /// A whole JSON value (an NDJSON item, a body, SSE data that is JSON), in spec style.
    fn json(&self, value: &Value) -> String;
    /// A gRPC reply, whose shape says which of its strings are 64-bit integers; as any JSON
    /// value unless the writer chooses matchers by what fits (see `update::observed`).
    fn reply(&self, value: &Value, _shape: &Shape) -> String {
        self.json(value)
    }
    /// A whole text, as a text matcher: a quoted string, `/regex/` or `_`.
    fn text(&self, place: TextPlace, text: &str) -> String;
}

/// Every value exactly as observed.
struct AsObserved;

impl ValueWriter for AsObserved {
    fn json(&self, value: &Value) -> String {
        render_value(value)
    }

    fn text(&self, _: TextPlace, text: &str) -> String {
        quote(text)
    }
}

/// An observed item as the spec line that would match it exactly.
pub fn render_item(item: &Item) -> String {
    render_item_with(item, &AsObserved)
}

/// An observed item as a spec line that matches it, with its values written by `writer`.
pub fn render_item_with(item: &Item, writer: &dyn ValueWriter) -> String {
    match item {
        Item::Sse(event) => {
            let mut parts: Vec<String> = Vec::new();
            if !event.id.is_empty() {
                parts.push(format!("id: {}", writer.text(TextPlace::SseId, &event.id)));
            }
            if let Some(event_type) = event.event() {
                let text = writer.text(TextPlace::SseEvent, event_type);
                parts.push(format!("event: {text}"));
            }
            parts.push(render_sse_data(&event.data, writer));
            if let Some(retry) = event.retry() {
                parts.push(format!("retry: {retry}"));
            }
            parts.join("  ")
        }
        Item::Json(value, Some(shape)) => writer.reply(value, shape),
        Item::Json(value, None) => writer.json(value),
        Item::Line(line) => writer.text(TextPlace::Text, line),
        Item::Chunk(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => writer.text(TextPlace::Text, text),
            Err(_) => format!("size {}  # not UTF-8: {}", bytes.len(), hex_preview(bytes)),
        },
        Item::Ws(message) => render_ws_message(message, writer),
    }
}

/// A WebSocket message: JSON text as a JSON pattern (as the messages of JSON protocols read
/// best), other text as a string, binary as its hex (or its size, when long).
fn render_ws_message(
    message: &crate::transport::ws::WsMessage,
    writer: &dyn ValueWriter,
) -> String {
    use crate::transport::ws::WsMessage;
    /// Binary messages longer than this are written by their size.
    const HEX_BYTES: usize = 64;
    match message {
        WsMessage::Text(text) => {
            let looks_like_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
            if looks_like_json && let Ok(value) = serde_json::from_str::<Value>(text) {
                return writer.json(&value);
            }
            writer.text(TextPlace::Text, text)
        }
        WsMessage::Binary(bytes) if bytes.len() <= HEX_BYTES => {
            format!("binary hex {}", quote(&crate::pattern::socket::hex(bytes)))
        }
        WsMessage::Binary(bytes) => {
            format!("binary size {}  # {}", bytes.len(), hex_preview(bytes))
        }
        WsMessage::Ping(payload) | WsMessage::Pong(payload) => {
            let kind = if matches!(message, WsMessage::Ping(_)) {
                "ping"
            } else {
                "pong"
            };
            if payload.is_empty() {
                kind.to_string()
            } else {
                format!("{kind} {}", quote(&String::from_utf8_lossy(payload)))
            }
        }
    }
}

/// `data: json { … }` when the data is a JSON object or array, else the data as a string.
fn render_sse_data(data: &str, writer: &dyn ValueWriter) -> String {
    let looks_like_json = matches!(data.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if looks_like_json && let Ok(value) = serde_json::from_str::<Value>(data) {
        return format!("data: json {}", writer.json(&value));
    }
    format!("data: {}", writer.text(TextPlace::SseData, data))
}

fn hex_preview(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (index, byte) in bytes.iter().take(16).enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{byte:02x}");
    }
    if bytes.len() > 16 {
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::transport::item::{SseEvent, SseRare};

    #[test]
    fn renders_sse_events_as_spec_lines() {
        let event = SseEvent {
            data: r#"{"count":1,"name":"a"}"#.to_string(),
            id: "1".into(),
            rare: None,
            invalid_utf8: false,
            has_id: true,
        };
        assert_eq!(
            render_item(&Item::Sse(event)),
            r#"id: "1"  data: json { "count": 1, "name": "a" }"#
        );
        let done = SseEvent {
            data: "[DONE]".to_string(),
            id: "".into(),
            rare: SseRare::boxed(Some("done".into()), Some(500)),
            invalid_utf8: false,
            has_id: false,
        };
        assert_eq!(
            render_item(&Item::Sse(done)),
            r#"event: "done"  data: "[DONE]"  retry: 500"#
        );
    }
}
