//! `GET /ws/fragments`: messages sent in fragments, as RFC 6455 allows: a text message in three
//! frames with a ping between two of them, and a binary message in two; a client reassembles
//! them into one message each.

use axum::extract::{Query, Request};
use axum::response::Response;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::bad::{frame, message_then};
use crate::demo::params::QueryPairs;

/// `{"n":1}`, then `hello, fragmented world` in three text frames (a ping `between` after the
/// first), the bytes 01 02 03 04 in two binary frames, and a close 1000 `done`.
// A refusal is a response, as axum's handlers return it: its size is axum's.
#[allow(clippy::result_large_err)]
pub async fn fragments(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let mut bytes = frame(OpCode::Data(Data::Text), false, b"hello, ");
    bytes.extend(frame(OpCode::Control(Control::Ping), true, b"between"));
    bytes.extend(frame(OpCode::Data(Data::Continue), false, b"fragmented "));
    bytes.extend(frame(OpCode::Data(Data::Continue), true, b"world"));
    bytes.extend(frame(OpCode::Data(Data::Binary), false, &[1, 2]));
    bytes.extend(frame(OpCode::Data(Data::Continue), true, &[3, 4]));
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"done");
    bytes.extend(frame(OpCode::Control(Control::Close), true, &close));
    message_then("fragments", query, request, bytes)
}
