//! What ends the reading of a stream with an error rather than an item: an item over the
//! maximum item size, bytes that are not a stream of the block's kind, an SSE event with invalid
//! UTF-8. The block's own reading and `--update`'s reading on (see `stream`) fail the same way.

use crate::ast::{Spanned, StreamKind};
use crate::outcome::Failure;
use crate::render::render_item;
use crate::source::Span;
use crate::transport::framing::{FrameError, format_size};
use crate::transport::item::Item;

/// The failure for a stream that cannot be read on at item `position`: an item over the size
/// limit, or bytes that are not a stream of `kind`.
pub fn unreadable(error: FrameError, position: u64, kind: &Spanned<StreamKind>) -> Failure {
    let label = format!("reading this `{}` stream", kind.value.keyword());
    match error {
        FrameError::TooLarge { limit } => too_large(position, limit, kind.span, label),
        error @ FrameError::BufferFull { .. } => Failure::error(
            format!("the stream was read in the background and {error}"),
            kind.span,
            label,
        )
        .help_note(
            "hold the stream with a block sooner, or read it to its end in the block that opens it",
        ),
        error => Failure::error(
            format!("the server sent a malformed stream: {error}"),
            kind.span,
            label,
        ),
    }
}

/// The failure for item `position`, over the maximum item size `limit`.
pub fn too_large(position: u64, limit: usize, span: Span, label: impl Into<String>) -> Failure {
    Failure::error(
        format!(
            "item {position} is larger than the maximum item size of {}",
            format_size(limit)
        ),
        span,
        label,
    )
    .help_note(
        "streamspec holds one item in memory at a time; raise the limit with --max-item-size",
    )
}

/// The failure for an item read whole that is no item a test can take (an SSE event with
/// invalid UTF-8), at `position`.
pub fn unusable(item: &Item, position: u64, kind: &Spanned<StreamKind>) -> Option<Failure> {
    match item {
        Item::Sse(event) if event.invalid_utf8 => Some(
            Failure::error(
                format!("the server sent invalid UTF-8 in event {position}"),
                kind.span,
                "in this stream",
            )
            .note(format!(
                "a browser would show it with U+FFFD: {}",
                render_item(item)
            )),
        ),
        _ => None,
    }
}
