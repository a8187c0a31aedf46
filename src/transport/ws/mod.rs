//! WebSocket (`ws://`, `wss://`): the handshake, then messages as items. tungstenite reads and
//! writes the frames (it passes the Autobahn suite); the handshake is ours (see `handshake`).

mod close_code;
pub mod connection;
pub mod handshake;
#[cfg(test)]
mod tests;

use std::fmt;

use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};
pub use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use connection::{Connection, Outgoing, Read, connect};
pub use handshake::Handshake;

/// Where a WebSocket is and how to open it.
#[derive(Debug, Clone)]
pub struct WsTarget {
    /// `ws://`, `wss://` (or `http://`, `https://`, read as those, as browsers do).
    pub url: reqwest::Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Subprotocols asked for, in order (`Sec-WebSocket-Protocol`).
    pub protocols: Vec<String>,
    /// Skip TLS certificate verification.
    pub insecure: bool,
}

/// A message received (data, or a control frame a spec may expect).
#[derive(Debug, Clone, PartialEq)]
pub enum WsMessage {
    /// Copied out of tungstenite's read buffer: a message that shared it (its `Utf8Bytes`) would
    /// keep the buffer from being reused while the block holds the message, and reads would
    /// shrink to a message or so each (a flood read three times slower, measured).
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
}

impl WsMessage {
    /// The payload's size in bytes.
    pub fn len(&self) -> usize {
        match self {
            WsMessage::Text(text) => text.len(),
            WsMessage::Binary(bytes) | WsMessage::Ping(bytes) | WsMessage::Pong(bytes) => {
                bytes.len()
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a data message (text or binary), not a control frame.
    pub fn is_data(&self) -> bool {
        matches!(self, WsMessage::Text(_) | WsMessage::Binary(_))
    }
}

/// A close frame: its code (1005 when it had none) and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    /// A close frame with no payload, which RFC 6455 reports as 1005.
    pub const NO_CODE: Close = Close {
        code: 1005,
        reason: String::new(),
    };

    /// A normal closure: 1000, or a frame without a code.
    pub fn is_normal(&self) -> bool {
        matches!(self.code, 1000 | 1005)
    }
}

impl fmt::Display for Close {
    /// `close 1000 "done"`, `close 1005` (no code).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "close {}", self.code)?;
        if !self.reason.is_empty() {
            write!(f, " {}", crate::render::quote(&self.reason))?;
        }
        Ok(())
    }
}

/// Why a WebSocket could not be opened.
#[derive(Debug, Clone)]
pub enum WsError {
    /// The TCP connection could not be made, or broke during the handshake.
    Connect(String),
    Tls(String),
    /// The deadline came while waiting for this.
    TimedOut(&'static str),
    /// The server answered the upgrade with something other than 101.
    Refused {
        /// The refusal's head, timed as a handshake's is. Boxed: errors stay small.
        head: Box<Handshake>,
        /// The start of the answer's body.
        body: Vec<u8>,
    },
    /// A 101 that does not complete a WebSocket handshake.
    BadHandshake(String),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Connect(reason) | WsError::Tls(reason) | WsError::BadHandshake(reason) => {
                f.write_str(reason)
            }
            WsError::TimedOut(what) => write!(f, "timed out waiting for {what}"),
            WsError::Refused { head, .. } => write!(
                f,
                "the server answered the WebSocket handshake with {}, not 101 Switching Protocols",
                crate::transport::http::describe_status(head.status)
            ),
        }
    }
}

/// The valid codes of a close frame on the wire (RFC 6455 §7.4): 1000–1003, 1007–1014 and
/// 3000–4999. 1005, 1006 and 1015 stand for "no code", "no close frame" and "TLS failed" and
/// may not be sent.
pub fn close_code_is_valid(code: u64) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
