//! Matching text (an SSE field, a line, a chunk) against a text matcher.

use serde_json::Value;

use super::difference::text_mismatch;
use super::{Captures, Mismatch};
use crate::ast::{TextMatcher, TextMatcherKind};
use crate::render::{quote, render_regex};

/// Matches text; a capture takes the whole text, or a regex's first group when it has one.
pub fn match_text(
    matcher: &TextMatcher,
    text: &str,
    captures: &mut Captures,
) -> Result<(), Mismatch> {
    let captured: Option<&str> = match &matcher.kind {
        TextMatcherKind::Any => Some(text),
        TextMatcherKind::Exact(expected) => (expected.text == text).then_some(text),
        TextMatcherKind::Contains(needle) => text.contains(needle.text.as_str()).then_some(text),
        TextMatcherKind::Regex(regex) => regex.capture(text),
    };
    match captured {
        Some(value) => {
            if let Some(name) = &matcher.capture {
                captures.push((name.value.clone(), Value::String(value.to_string())));
            }
            Ok(())
        }
        None => Err(match &matcher.kind {
            TextMatcherKind::Exact(expected) => text_mismatch("texts", &expected.text, text),
            _ => Mismatch::new(describe(matcher), quote_short(text)),
        }),
    }
}

fn describe(matcher: &TextMatcher) -> String {
    match &matcher.kind {
        TextMatcherKind::Any => "anything".to_string(),
        TextMatcherKind::Exact(expected) => quote(&expected.text),
        TextMatcherKind::Contains(needle) => format!("text containing {}", quote(&needle.text)),
        TextMatcherKind::Regex(regex) => format!("text matching {}", render_regex(regex)),
    }
}

/// Quoted, and cut to 80 characters where a report shows it (after masking secrets).
fn quote_short(text: &str) -> String {
    crate::excerpt::excerpt(&quote(text), 80)
}
