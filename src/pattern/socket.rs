//! Matching a WebSocket message: a data message as text or JSON (as a line is), a binary
//! message by its bytes and size, a ping or pong by its payload.

use crate::ast::{SocketPattern, TextMatcherKind};
use crate::pattern::{Captures, ItemView, Mismatch, describe_num, match_text_item};
use crate::transport::ws::WsMessage;

pub fn match_message(
    pattern: &SocketPattern,
    message: &WsMessage,
    view: &ItemView<'_>,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    match (pattern, message) {
        (SocketPattern::Data(text) | SocketPattern::Text(text), WsMessage::Text(body)) => {
            match_text_item(text, body.as_bytes(), Some(body), view, captures)
        }
        // Only `_` and `size` say nothing of text: they take a binary message too.
        (SocketPattern::Data(text), WsMessage::Binary(bytes))
            if text.json.is_none()
                && text.paths.is_empty()
                && text
                    .text
                    .as_ref()
                    .is_none_or(|matcher| matches!(matcher.kind, TextMatcherKind::Any)) =>
        {
            match_text_item(text, bytes, None, view, captures)
        }
        (SocketPattern::Data(_) | SocketPattern::Text(_), WsMessage::Binary(bytes)) => {
            Err(Mismatch::new(
                "a text message",
                match bytes.len() {
                    1 => "a binary message of 1 byte".to_string(),
                    n => format!("a binary message of {n} bytes"),
                },
            ))
        }
        (SocketPattern::Binary { content, size }, WsMessage::Binary(bytes)) => {
            if let Some(content) = content
                && content.bytes != *bytes
            {
                return Err(Mismatch::new(
                    format!("hex {}", hex(&content.bytes)),
                    format!("hex {}", hex(bytes)),
                ));
            }
            if let Some(size) = size
                && !size.value.holds(bytes.len() as f64)
            {
                return Err(Mismatch::new(
                    describe_num(&size.value),
                    format!("{} bytes", bytes.len()),
                )
                .within("size"));
            }
            Ok(())
        }
        (SocketPattern::Binary { .. }, WsMessage::Text(_)) => {
            Err(Mismatch::new("a binary message", "a text message"))
        }
        (
            SocketPattern::Control { pong, payload },
            WsMessage::Ping(bytes) | WsMessage::Pong(bytes),
        ) if *pong == matches!(message, WsMessage::Pong(_)) => match payload {
            Some(payload) => {
                crate::pattern::match_text(payload, &String::from_utf8_lossy(bytes), captures)
                    .map_err(|m| m.within(if *pong { "pong" } else { "ping" }))
            }
            None => Ok(()),
        },
        (_, other) => Err(Mismatch::new(expected_kind(pattern), describe_kind(other))),
    }
}

fn expected_kind(pattern: &SocketPattern) -> &'static str {
    match pattern {
        SocketPattern::Data(_) => "a data message",
        SocketPattern::Text(_) => "a text message",
        SocketPattern::Binary { .. } => "a binary message",
        SocketPattern::Control { pong: true, .. } => "a pong",
        SocketPattern::Control { pong: false, .. } => "a ping",
    }
}

fn describe_kind(message: &WsMessage) -> &'static str {
    match message {
        WsMessage::Text(_) => "a text message",
        WsMessage::Binary(_) => "a binary message",
        WsMessage::Ping(_) => "a ping",
        WsMessage::Pong(_) => "a pong",
    }
}

/// Bytes as hex, two digits each, in one run (as a spec writes them).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
