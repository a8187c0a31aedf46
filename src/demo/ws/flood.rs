//! The fast producers: `GET /ws/flood` (the benchmark's source, written in batches) and
//! `GET /ws/slow` (padded messages, each send awaited, reporting how long backpressure held it).

use std::time::{Duration, Instant};

use axum::extract::{Query, Request};
use axum::response::Response;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::ticker::{bad, numbered};
use super::upgrade::{self, Handshake, Socket};
use crate::demo::params::{BadRequest, Params, QueryPairs};

/// The most messages `/ws/flood` sends.
const MAX_FLOOD: u64 = 100_000_000;

/// How many messages `/ws/flood` hands tungstenite before each flush.
const BATCH: u64 = 1024;

/// The most messages and the largest message of `/ws/slow`.
const MAX_SLOW: u64 = 1_000_000;
const MAX_SIZE: u64 = 1024 * 1024;

/// `GET /ws/flood?count=1000000`: `{"n":i}` for i from 1 to `count`, then close 1000.
pub async fn flood(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let params = Params::new(query, &["count"]).map_err(bad)?;
    let count = params
        .u64_at_most("count", 1_000_000, MAX_FLOOD)
        .map_err(bad)?;
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept("flood", None, move |mut socket: Socket| async move {
            let mut n = 1;
            while n <= count {
                let end = count.min(n + BATCH - 1);
                for i in n..=end {
                    if socket.feed(numbered(i)).await.is_err() {
                        return;
                    }
                }
                if socket.flush().await.is_err() {
                    return;
                }
                n = end + 1;
            }
            upgrade::close(socket, Some(upgrade::close_frame(1000, ""))).await;
        }),
    )
}

/// `GET /ws/slow?count=100&size=1000`: `{"seq":i,"pad":"xx…"}` of about `size` bytes for i from
/// 1 to `count`, each send awaited to the socket, then `{"done":true,"blocked_ms":X}` and close
/// 1000.
pub async fn slow(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    let params = Params::new(query, &["count", "size"]).map_err(bad)?;
    let count = params.u64_at_most("count", 100, MAX_SLOW).map_err(bad)?;
    let size = params.u64_at_most("size", 1000, MAX_SIZE).map_err(bad)?;
    if size == 0 {
        return Err(bad(BadRequest(
            "bad query parameter `size`: must be more than 0".to_owned(),
        )));
    }
    let handshake = Handshake::check(request)?;
    Ok(
        handshake.accept("slow", None, move |mut socket: Socket| async move {
            let mut blocked = Duration::ZERO;
            for seq in 1..=count {
                let message = padded(seq, size as usize);
                let start = Instant::now();
                // `send` flushes: it returns once the socket took the whole message.
                if socket.send(message).await.is_err() {
                    return;
                }
                blocked += start.elapsed();
            }
            let done = format!("{{\"done\":true,\"blocked_ms\":{}}}", blocked.as_millis());
            if socket.send(Message::text(done)).await.is_err() {
                return;
            }
            upgrade::close(socket, Some(upgrade::close_frame(1000, ""))).await;
        }),
    )
}

/// `{"seq":seq,"pad":"xx…"}`, padded to `size` bytes when the rest is shorter.
fn padded(seq: u64, size: usize) -> Message {
    let head = format!("{{\"seq\":{seq},\"pad\":\"");
    let pad = size.saturating_sub(head.len() + 2);
    let mut text = String::with_capacity(head.len() + pad + 2);
    text.push_str(&head);
    text.extend(std::iter::repeat_n('x', pad));
    text.push_str("\"}");
    Message::text(text)
}
