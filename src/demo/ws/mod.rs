//! The demo's WebSocket endpoints under `/ws/` and their misbehaving twins under `/bad/ws/`.
//! Each does its own handshake (`upgrade`), so that it chooses its subprotocol, refuses with any
//! status and body, and can break the framing on purpose.

mod bad;
mod chat;
mod echo;
mod flood;
mod fragments;
mod graphql;
mod graphql_query;
mod jsonrpc;
#[cfg(test)]
mod tests;
mod ticker;
mod upgrade;

use axum::Router;
use axum::routing::get;

use super::AppState;

pub use chat::Rooms;
// For the listing's test, which checks the limits it states.
#[cfg(test)]
pub use chat::Limits as ChatLimits;
#[cfg(test)]
pub use upgrade::{IDLE, MAX_MESSAGE};

/// The `/ws/` and `/bad/ws/` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws/echo", get(echo::echo))
        .route("/ws/private", get(echo::private))
        .route("/ws/ticker", get(ticker::ticker))
        .route("/ws/close", get(ticker::close))
        .route("/ws/chat/{room}", get(chat::chat))
        .route("/ws/slow", get(flood::slow))
        .route("/ws/flood", get(flood::flood))
        .route("/ws/graphql", get(graphql::graphql))
        .route("/ws/jsonrpc", get(jsonrpc::jsonrpc))
        .route("/ws/fragments", get(fragments::fragments))
        .route("/bad/ws/invalid-utf8", get(bad::invalid_utf8))
        .route("/bad/ws/oversized", get(bad::oversized))
        .route("/bad/ws/cut", get(bad::cut))
        .route("/bad/ws/reserved-opcode", get(bad::reserved_opcode))
        .route("/bad/ws/bad-close-code", get(bad::bad_close_code))
        .route("/bad/ws/fragmented-ping", get(bad::fragmented_ping))
        .route("/bad/ws/no-accept", get(bad::no_accept))
        .route("/bad/ws/wrong-accept", get(bad::wrong_accept))
        .route("/bad/ws/silent-handshake", get(bad::silent_handshake))
        .route("/bad/ws/silent", get(bad::silent))
}
