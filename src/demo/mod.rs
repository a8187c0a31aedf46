//! The bundled demo service (`streamspec demo`): an endpoint for each scenario in scenarios.md,
//! plus misbehaving ones under `/bad/`, so that `specs/` runs out of the box. `ENDPOINTS` lists
//! them all, as the "no such endpoint" answer shows.
//!
//! Stream control has failing twins too: `/sse/resume` and `/sse/ticker` resume with a duplicate
//! (`repeat=1`) or a gap (`skip=1`) on request, and `/bad/fragile/` is a chat service that breaks
//! once a client aborts one of its streams (its `/bad/fragile/health` then answers 503).
//!
//! Several streams in one test (scenarios 19–22) have state that outlives a connection: pub/sub
//! channels (`channels`), chat generations that a client can leave and resume (`chat_streams`)
//! and counters for races (`counters`), each bounded as its module says.
//!
//! The gRPC half of the demo (scenarios 14–18) is in `grpc`, served on a listener of its own.
//!
//! Every streaming endpoint builds its body as a lazy stream (see `body`), so memory stays flat
//! however many events are asked for, and chunk boundaries are the ones the endpoint chose.

mod body;
mod channels;
mod chat;
mod chat_streams;
mod chunked;
mod clients;
mod counters;
mod echo;
mod fragile;
pub mod grpc;
mod listen;
mod misbehave;
mod params;
mod schedule;
mod sse;
mod stats;
#[cfg(test)]
mod tests;
mod ws;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::task::JoinSet;

pub use listen::bind;

/// State shared by the handlers of one router.
#[derive(Clone, Default)]
struct AppState {
    stats: Arc<stats::Stats>,
    /// When each `client` of `/sse/retry` last connected (see `sse::retry`).
    retry_clients: Arc<clients::Clients>,
    /// The `client`s of `/bad/fragile/` that aborted a stream (see `fragile`).
    broken_clients: Arc<clients::Clients>,
    /// The pub/sub channels under `/channels/`.
    channels: Arc<channels::Channels>,
    /// The resumable generations under `/chat/streams/`.
    generations: Arc<chat_streams::Generations>,
    /// The counters under `/counters/`.
    counters: Arc<counters::Counters>,
    /// The chat rooms under `/ws/chat/`.
    chat_rooms: Arc<ws::Rooms>,
}

/// Every route, for the router and for the "no such endpoint" answer.
const ENDPOINTS: &str = "\
GET  /health
GET  /stats?cancelled_above=N&timeout=5s
GET  /sse/ticker?count=5&interval=100ms&repeat=0&skip=0&id_prefix=
GET  /sse/resume?drop_after=3&last=6&repeat=0&skip=0
GET  /sse/retry?retry=500&count=2&client=default
GET  /sse/long?count=1000&size=1024
GET  /sse/flood?count=1000000&size=0
GET  /sse/empty
GET  /chunked/array?interval=50ms
GET  /ndjson/events?interval=20ms
GET  /slow/ttfb?ttfb=300ms&chunks=3&interval=100ms
POST /v1/chat/completions
POST /echo
POST /channels/{name}/publish
GET  /channels/{name}/subscribe?after=K&count=N
GET  /channels/{name}
GET  /chat/streams/{id}?tokens=20&pace=50ms&after=K
GET  /chat/streams/{id}/state
POST /counters/{name}/increment?unsafe=0
GET  /counters/{name}
GET  /bad/invalid-utf8?format=sse|ndjson|lines
GET  /bad/endless?format=sse&interval=50ms
GET  /bad/stall?after=2
GET  /bad/huge-line?size=104857600&format=sse|ndjson|lines
GET  /bad/wrong-content-type
GET  /bad/silent
GET  /bad/reset
POST /bad/fragile/v1/chat/completions?client=default
GET  /bad/fragile/health?client=default
GET  /ws/echo           echoes text and binary; subprotocols echo.v1, echo.v2
GET  /ws/private        /ws/echo for `authorization: Bearer demo` (else 401)
GET  /ws/ticker?count=5&interval=10ms&ping=0   {\"n\":1}..{\"n\":count}, then close 1000 done
GET  /ws/close?code=4000&reason=bye&after=0    `after` of {\"n\":i}, then that close (code=none)
GET  /ws/chat/{room}?user=NAME&token=T&after=SEQ   chat room, resumable with the welcome's token
GET  /ws/slow?count=100&size=1000    padded messages at the reader's pace, then blocked_ms
GET  /ws/flood?count=1000000         {\"n\":i} as fast as possible, then close 1000
GET  /ws/graphql        graphql-transport-ws: query { hello }, subscription { countdown(from: N) }
GET  /ws/jsonrpc        JSON-RPC 2.0: add, echo, sleep {\"ms\"}, subscribe {\"count\"}; batches
GET  /ws/fragments      {\"n\":1}, a text and a binary message in fragments, then close 1000 done
GET  /bad/ws/invalid-utf8 | reserved-opcode | bad-close-code | fragmented-ping   {\"n\":1}, then that
GET  /bad/ws/oversized?size=67108865   {\"n\":1}, then a binary frame of `size` zeros
GET  /bad/ws/cut?after=3               `after` messages, then TCP dropped with no close
GET  /bad/ws/no-accept | wrong-accept  101 with no or a wrong Sec-WebSocket-Accept
GET  /bad/ws/silent-handshake | silent never answers the upgrade | upgrades, then silence (60s)

`after=K` resumes as `Last-Event-ID: K` does. Limits of /channels/, /chat/streams/ and
/counters/ (past a count: 503):
  names and ids: 1 to 128 of A-Z a-z 0-9 . _ -
  channels: 10000, each keeping its last 1000 messages of at most 64 KiB (larger: 413),
    256 MiB in all; a subscriber that falls behind the kept messages gets `event: gap` and
    goes on; a channel with no subscriber and no publish for 10m is dropped
  chat streams: 10000 generations of at most 10000 tokens, at most 10s apart; a finished
    generation is kept for 10m
  counters: 10000; one not incremented for 10m is dropped
WebSocket (a plain GET gets 426): messages of at most 1 MiB; an interactive endpoint closes
  1001 after 5m with nothing from the client; chat: 1000 rooms (the least recently active
  dropped), each keeping its last 1000 events; texts of at most 1024 bytes; a member with
  1000 events waiting is closed 1008 `too slow`
";

/// The router with every endpoint (tests serve it in-process on 127.0.0.1:0).
pub fn router() -> Router {
    router_with(AppState::default())
}

/// The router on `state` (tests give it smaller limits).
fn router_with(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/stats", get(stats::handler))
        .route("/sse/ticker", get(sse::ticker))
        .route("/sse/resume", get(sse::resume))
        .route("/sse/retry", get(sse::retry))
        .route("/sse/long", get(sse::long))
        .route("/sse/flood", get(sse::flood))
        .route("/sse/empty", get(sse::empty))
        .route("/chunked/array", get(chunked::array))
        .route("/ndjson/events", get(chunked::ndjson))
        .route("/slow/ttfb", get(chunked::slow_ttfb))
        .route("/v1/chat/completions", post(chat::completions))
        .route(
            "/echo",
            post(echo::echo).layer(DefaultBodyLimit::max(echo::MAX_ECHO)),
        )
        .route(
            "/channels/{name}/publish",
            post(channels::publish).layer(DefaultBodyLimit::max(channels::MAX_MESSAGE)),
        )
        .route("/channels/{name}/subscribe", get(channels::subscribe))
        .route("/channels/{name}", get(channels::state))
        .route("/chat/streams/{id}", get(chat_streams::stream))
        .route("/chat/streams/{id}/state", get(chat_streams::state))
        .route("/counters/{name}/increment", post(counters::increment))
        .route("/counters/{name}", get(counters::get))
        .route("/bad/invalid-utf8", get(misbehave::invalid_utf8))
        .route("/bad/endless", get(misbehave::endless))
        .route("/bad/stall", get(misbehave::stall))
        .route("/bad/huge-line", get(misbehave::huge_line))
        .route(
            "/bad/wrong-content-type",
            get(misbehave::wrong_content_type),
        )
        .route("/bad/silent", get(misbehave::silent))
        .route("/bad/reset", get(misbehave::reset))
        .route(
            "/bad/fragile/v1/chat/completions",
            post(fragile::completions),
        )
        .route("/bad/fragile/health", get(fragile::health))
        .merge(ws::routes())
        .fallback(|uri: Uri| async move {
            (
                StatusCode::NOT_FOUND,
                format!(
                    "no endpoint `{}`; the demo serves:\n{ENDPOINTS}",
                    uri.path()
                ),
            )
        })
        .with_state(state)
}

/// Serves until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    // Without TCP_NODELAY, Nagle's algorithm can hold a small event back until the previous
    // one is acknowledged, which shows up as jitter in the measured gaps.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // `into_make_service`: each connection shares the router (an `Arc`). Served as a bare
    // `Router`, axum rebuilds it for every connection (`with_state(())` on a shared router copies
    // every route and the path tree) and the connection keeps its copy: 10,000 SSE users of
    // benches/load.sh took the demo to 430 MB (180 MB without) and 15% more CPU.
    let serving = axum::serve(listener, router().into_make_service()).into_future();
    // The accept loop is a task of its own, on a worker thread: a connection it spawns then
    // starts on the same worker, next, and accepting needs no other thread woken. Awaited by
    // whoever called (`streamspec demo` polls it on the runtime's main thread), each readiness
    // of the listener woke that thread, and every new connection waited in the shared queue
    // behind the streams already running (10,000 SSE users: the demo took 9% more CPU). In a
    // `JoinSet`, so that dropping this future stops the accept loop, as before.
    let mut accept_loop = JoinSet::new();
    accept_loop.spawn(serving);
    match accept_loop.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(error)) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Some(Err(error)) => Err(std::io::Error::other(error)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod listing {
    use super::*;
    use crate::duration::format_duration;

    /// The limits the listing states are the ones in force.
    #[test]
    fn the_listing_states_the_limits_in_force() {
        let channels = channels::Limits::default();
        let generations = chat_streams::Limits::default();
        let counters = counters::Limits::default();
        let rooms = ws::ChatLimits::default();
        let stated = [
            format!(
                "messages of at most {} MiB",
                ws::MAX_MESSAGE / (1024 * 1024)
            ),
            format!(
                "closes\n  1001 after {} with nothing",
                format_duration(ws::IDLE)
            ),
            format!(
                "chat: {} rooms (the least recently active\n  dropped), each keeping its last {} \
                 events; texts of at most {} bytes; a member with\n  {} events waiting",
                rooms.rooms, rooms.events, rooms.text, rooms.queue
            ),
            format!("names and ids: 1 to {} of", params::MAX_NAME),
            format!(
                "channels: {}, each keeping its last {} messages of at most {} KiB",
                channels.channels,
                channels.messages,
                channels::MAX_MESSAGE / 1024
            ),
            format!(
                "    {} MiB in all;",
                channels.buffered_bytes / (1024 * 1024)
            ),
            format!(
                "no subscriber and no publish for {} is dropped",
                format_duration(channels.idle)
            ),
            format!(
                "chat streams: {} generations of at most {} tokens, at most {} apart",
                generations.generations,
                generations.tokens,
                format_duration(generations.pace)
            ),
            format!(
                "    generation is kept for {}\n",
                format_duration(generations.keep)
            ),
            format!(
                "counters: {}; one not incremented for {} is dropped",
                counters.counters,
                format_duration(counters.idle)
            ),
        ];
        for text in stated {
            assert!(ENDPOINTS.contains(&text), "{text:?} is not in the listing");
        }
    }
}
