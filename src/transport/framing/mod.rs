//! Incremental framers: turn bytes, as they arrive in arbitrary pieces, into items.
//!
//! Each framer follows one shape (as mini-redis does): `push` appends bytes, `next_item` returns
//! the next complete item or `None` when more bytes are needed, and `finish` is called once the
//! connection has closed. An incomplete frame is never an error until `finish`.

pub mod lines;
pub mod ndjson;
pub mod sse;

use std::fmt;

/// The default largest item (an SSE event, a line, a whole body) streamspec will hold in memory.
pub const DEFAULT_MAX_ITEM_SIZE: usize = 16 * 1024 * 1024;

/// A size in the largest binary unit that holds it exactly: `16 MiB`, `64 KiB`, `1000 bytes`.
pub fn format_size(bytes: usize) -> String {
    for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// Why bytes could not be turned into an item. Each says what the server did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A line, event or body grew past the maximum item size.
    TooLarge { limit: usize },
    /// A line that should be text was not valid UTF-8; `line` is 1-based within the stream.
    InvalidUtf8 { line: u64 },
    /// An NDJSON line that is not one JSON value.
    InvalidJson {
        line: u64,
        error: String,
        text: String,
    },
    /// A stream read in the background got more than this while no block held it.
    BufferFull { items: usize, bytes: u64 },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { limit } => write!(
                f,
                "an item is larger than the maximum item size of {} (raise it with --max-item-size)",
                format_size(*limit)
            ),
            FrameError::InvalidUtf8 { line } => {
                write!(f, "line {line} of the body is not valid UTF-8")
            }
            FrameError::InvalidJson { line, error, text } => {
                write!(f, "line {line} is not valid JSON ({error}): {text}")
            }
            FrameError::BufferFull { items, bytes } => write!(
                f,
                "more than {items} items or {} arrived while no block held the stream",
                format_size(*bytes as usize)
            ),
        }
    }
}

/// The common interface of the incremental decoders.
pub trait Framer {
    type Item;

    /// Appends bytes just read from the connection.
    fn push(&mut self, bytes: &[u8]);

    /// The next complete item, or `Ok(None)` when more bytes are needed.
    fn next_item(&mut self) -> Result<Option<Self::Item>, FrameError>;

    /// Called once after the connection closed: a last item if the format allows an
    /// unterminated one, and how many bytes of an incomplete item were discarded. Call it once
    /// `next_item` has returned `Ok(None)`: complete items still unread are not returned here.
    fn finish(&mut self) -> Result<Finished<Self::Item>, FrameError>;
}

/// What was left when the input ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished<T> {
    pub last: Option<T>,
    /// Bytes of an incomplete item that could not be delivered (an SSE event without its blank line).
    pub discarded_bytes: usize,
}
