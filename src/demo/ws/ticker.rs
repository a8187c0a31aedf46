//! `GET /ws/ticker` (`{"n":i}` messages at an interval, optionally each after a ping, then close
//! 1000 `done`) and `GET /ws/close` (a few messages, then the close frame asked for).

use std::time::Duration;

use axum::extract::{Query, Request};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::upgrade::{self, Handshake, Heard, Socket};
use crate::demo::params::{BadRequest, Params, QueryPairs};

/// The most messages either endpoint sends (`/ws/flood` is for more).
pub const MAX_COUNT: u64 = 1_000_000;

/// The `n`th message: `{"n":n}`.
pub fn numbered(n: u64) -> Message {
    Message::text(format!("{{\"n\":{n}}}"))
}

/// `GET /ws/ticker?count=5&interval=10ms&ping=0`.
pub async fn ticker(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let params = Params::new(query, &["count", "interval", "ping"]).map_err(bad)?;
    let count = params.u64_at_most("count", 5, MAX_COUNT).map_err(bad)?;
    let interval = params
        .duration("interval", Duration::from_millis(10))
        .map_err(bad)?;
    let ping = params.flag("ping").map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept("ticker", None, move |mut socket: Socket| async move {
            let mut due = Instant::now();
            for n in 1..=count {
                match upgrade::wait_listening(&mut socket, due).await {
                    Heard::Time => {}
                    Heard::Closed => return upgrade::finish(socket).await,
                    Heard::Gone => return,
                }
                if ping
                    && socket
                        .send(Message::Ping(format!("tick {n}").into()))
                        .await
                        .is_err()
                {
                    return;
                }
                if socket.send(numbered(n)).await.is_err() {
                    return;
                }
                due += interval;
            }
            upgrade::close(socket, Some(upgrade::close_frame(1000, "done"))).await;
        }),
    )
}

/// `GET /ws/close?code=4000&reason=bye&after=0`: `after` messages, then a close frame with
/// `code` (1000 to 4999) and `reason`, or with no payload at all for `code=none`.
pub async fn close(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let params = Params::new(query, &["code", "reason", "after"]).map_err(bad)?;
    let after = params.u64_at_most("after", 0, MAX_COUNT).map_err(bad)?;
    let reason = params.str("reason", "bye").to_owned();
    let code = match params.str("code", "4000") {
        "none" => None,
        code => match code.parse::<u16>() {
            Ok(code @ 1000..=4999) => Some(code),
            _ => {
                return Err(bad(BadRequest(format!(
                    "bad query parameter `code`: expected `none` or a close code from 1000 to \
                     4999, got `{code}`"
                ))));
            }
        },
    };
    if code.is_none() && params.has("reason") {
        return Err(bad(BadRequest(
            "bad query parameter `reason`: a close frame with no payload (`code=none`) has no \
             reason"
                .to_owned(),
        )));
    }
    if reason.len() > 123 {
        return Err(bad(BadRequest(format!(
            "bad query parameter `reason`: at most 123 bytes fit in a close frame, got {}",
            reason.len()
        ))));
    }
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept("close", None, move |mut socket: Socket| async move {
            for n in 1..=after {
                if socket.send(numbered(n)).await.is_err() {
                    return;
                }
            }
            let frame = code.map(|code| upgrade::close_frame(code, &reason));
            upgrade::close(socket, frame).await;
        }),
    )
}

/// A bad query parameter as the plain-text `400` every demo endpoint answers.
pub fn bad(error: BadRequest) -> Response {
    error.into_response()
}
