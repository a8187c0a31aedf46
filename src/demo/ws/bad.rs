//! The misbehaving WebSocket endpoints under `/bad/ws/`: each breaks RFC 6455 in one known way —
//! invalid UTF-8, an oversized message, a cut connection, a reserved opcode, a forbidden close
//! code, a fragmented ping, a wrong or missing accept key, silence — so that a client's handling
//! of each can be tested. Their frames are written as raw bytes on the upgraded connection
//! (headers from tungstenite's `FrameHeader`; a server does not mask).

use std::time::Duration;

use axum::extract::{Query, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::ticker::bad;
use super::upgrade::{self, AcceptHeader, Handshake, RawSocket, Socket};
use crate::demo::params::{Params, QueryPairs};

/// How long `silent` and `silent-handshake` hold a connection before dropping it.
const SILENCE: Duration = Duration::from_secs(60);

/// The default size `oversized` announces: one byte past the 64 MiB most clients accept.
const OVERSIZED: u64 = 64 * 1024 * 1024 + 1;

/// The largest size `oversized` may announce (and then stream, if the client takes it all).
const MAX_OVERSIZED: u64 = 1 << 36;

/// The zeros `oversized` streams its payload from, a piece at a time.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// One frame: `opcode`, FIN as `fin`, unmasked, with `payload`.
pub(super) fn frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut bytes = header(opcode, fin, payload.len() as u64);
    bytes.extend_from_slice(payload);
    bytes
}

/// A frame header announcing `length` payload bytes.
fn header(opcode: OpCode, fin: bool, length: u64) -> Vec<u8> {
    let header = FrameHeader {
        is_final: fin,
        opcode,
        ..FrameHeader::default()
    };
    let mut bytes = Vec::with_capacity(14);
    // Writing to a Vec cannot fail.
    let _ = header.format(length, &mut bytes);
    bytes
}

/// A final text frame holding `{"n":n}`.
fn numbered(n: u64) -> Vec<u8> {
    frame(
        OpCode::Data(Data::Text),
        true,
        format!("{{\"n\":{n}}}").as_bytes(),
    )
}

/// Reads and drops what the client sends (its close frame, say) until it goes away, at most
/// [`upgrade::CLOSE_WAIT`], then drops the connection.
async fn linger(mut io: RawSocket) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(upgrade::CLOSE_WAIT, async {
        while let Ok(1..) = io.read(&mut buf).await {}
    })
    .await;
}

/// Answers `101` for `name` (a `Handshake` failure as usual) and writes `bytes` after `{"n":1}`.
// A refusal is a response, as axum's handlers return it: its size is axum's.
#[allow(clippy::result_large_err)]
pub(super) fn message_then(
    name: &'static str,
    query: Vec<(String, String)>,
    request: Request,
    bytes: Vec<u8>,
) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept_raw(name, None, AcceptHeader::Right, |mut io| async move {
            let mut out = numbered(1);
            out.extend_from_slice(&bytes);
            if io.write_all(&out).await.is_ok() && io.flush().await.is_ok() {
                linger(io).await;
            }
        }),
    )
}

/// `GET /bad/ws/invalid-utf8`: `{"n":1}`, then a text frame of the bytes FF FE 41.
pub async fn invalid_utf8(
    Query(query): QueryPairs,
    request: Request,
) -> Result<Response, Response> {
    let bytes = frame(OpCode::Data(Data::Text), true, &[0xFF, 0xFE, 0x41]);
    message_then("invalid-utf8", query, request, bytes)
}

/// `GET /bad/ws/reserved-opcode`: `{"n":1}`, then an empty frame with the reserved opcode 0x3.
pub async fn reserved_opcode(
    Query(query): QueryPairs,
    request: Request,
) -> Result<Response, Response> {
    let bytes = frame(OpCode::Data(Data::Reserved(3)), true, &[]);
    message_then("reserved-opcode", query, request, bytes)
}

/// `GET /bad/ws/bad-close-code`: `{"n":1}`, then a close frame with code 1005, which is only
/// for reporting "no code" and may never be sent.
pub async fn bad_close_code(
    Query(query): QueryPairs,
    request: Request,
) -> Result<Response, Response> {
    let bytes = frame(
        OpCode::Control(Control::Close),
        true,
        &1005u16.to_be_bytes(),
    );
    message_then("bad-close-code", query, request, bytes)
}

/// `GET /bad/ws/fragmented-ping`: `{"n":1}`, then a ping frame with FIN=0 (control frames may
/// not be fragmented).
pub async fn fragmented_ping(
    Query(query): QueryPairs,
    request: Request,
) -> Result<Response, Response> {
    let bytes = frame(OpCode::Control(Control::Ping), false, b"ping");
    message_then("fragmented-ping", query, request, bytes)
}

/// `GET /bad/ws/oversized?size=67108865`: `{"n":1}`, then a binary frame announcing `size`
/// bytes, its zeros streamed a piece at a time until all are sent or the client goes away.
pub async fn oversized(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let params = Params::new(query, &["size"]).map_err(bad)?;
    let size = params
        .u64_at_most("size", OVERSIZED, MAX_OVERSIZED)
        .map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(handshake.accept_raw(
        "oversized",
        None,
        AcceptHeader::Right,
        move |mut io| async move {
            let mut head = numbered(1);
            head.extend_from_slice(&header(OpCode::Data(Data::Binary), true, size));
            if io.write_all(&head).await.is_err() {
                return;
            }
            let mut left = size;
            while left > 0 {
                let piece = left.min(ZEROS.len() as u64) as usize;
                if io.write_all(&ZEROS[..piece]).await.is_err() {
                    return;
                }
                left -= piece as u64;
            }
            if io.flush().await.is_ok() {
                linger(io).await;
            }
        },
    ))
}

/// `GET /bad/ws/cut?after=3`: `{"n":i}` for i from 1 to `after`, then the TCP connection
/// dropped with no close frame.
pub async fn cut(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let params = Params::new(query, &["after"]).map_err(bad)?;
    let after = params
        .u64_at_most("after", 3, super::ticker::MAX_COUNT)
        .map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept_raw("cut", None, AcceptHeader::Right, move |mut io| async move {
            for n in 1..=after {
                if io.write_all(&numbered(n)).await.is_err() {
                    return;
                }
            }
            let _ = io.flush().await;
            let _ = io.shutdown().await;
        }),
    )
}

/// `GET /bad/ws/no-accept`: `101` with no `Sec-WebSocket-Accept`.
pub async fn no_accept(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    wrong_handshake("no-accept", AcceptHeader::Missing, query, request)
}

/// `GET /bad/ws/wrong-accept`: `101` with a `Sec-WebSocket-Accept` for another key.
pub async fn wrong_accept(
    Query(query): QueryPairs,
    request: Request,
) -> Result<Response, Response> {
    wrong_handshake("wrong-accept", AcceptHeader::Wrong, query, request)
}

#[allow(clippy::result_large_err)]
fn wrong_handshake(
    name: &'static str,
    accept: AcceptHeader,
    query: Vec<(String, String)>,
    request: Request,
) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(handshake.accept_raw(name, None, accept, linger))
}

/// `GET /bad/ws/silent-handshake`: never answers; after a minute, drops the connection.
pub async fn silent_handshake() -> Response {
    tokio::time::sleep(SILENCE).await;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONNECTION, "close")],
        "the demo held this handshake for 60s, as /bad/ws/silent-handshake does\n",
    )
        .into_response()
}

/// `GET /bad/ws/silent`: upgrades, then sends nothing (pings are answered) for a minute, then
/// drops the connection with no close frame.
pub async fn silent(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept("silent", None, |mut socket: Socket| async move {
            // Reading answers pings; a client's close is answered too, as tungstenite does.
            let _ = tokio::time::timeout(SILENCE, async {
                while let Some(Ok(_)) = socket.next().await {}
            })
            .await;
        }),
    )
}
