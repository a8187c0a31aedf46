//! `GET /ws/echo` and `GET /ws/private`: every text and binary message echoed back unchanged,
//! with subprotocol `echo.v1` or `echo.v2` when the client asks for one, and the client's close
//! answered with the same code and reason. `/ws/private` first wants `authorization: Bearer demo`.

use axum::extract::{Query, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::upgrade::{self, Handshake, Socket};
use crate::demo::params::{Params, QueryPairs};

/// The subprotocols the echo endpoints speak (they behave the same under each).
const PROTOCOLS: [&str; 2] = ["echo.v1", "echo.v2"];

/// The token `/ws/private` wants, as `authorization: Bearer demo`.
const TOKEN: &str = "demo";

/// `GET /ws/echo`.
pub async fn echo(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(IntoResponse::into_response)?;
    let handshake = Handshake::check(request)?;
    let protocol = handshake.pick(&PROTOCOLS);
    Ok(handshake.accept("echo", protocol, serve))
}

/// `GET /ws/private`: as `/ws/echo`, for a client with the token; `401` with a JSON error
/// otherwise (before the handshake is looked at, as an authenticating proxy would).
pub async fn private(Query(query): QueryPairs, request: Request) -> Result<Response, Response> {
    Params::new(query, &[]).map_err(IntoResponse::into_response)?;
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token.trim() == TOKEN);
    if !authorized {
        return Err((
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"missing or wrong token"}"#,
        )
            .into_response());
    }
    let handshake = Handshake::check(request)?;
    let protocol = handshake.pick(&PROTOCOLS);
    Ok(handshake.accept("private", protocol, serve))
}

async fn serve(mut socket: Socket) {
    loop {
        let message = match upgrade::next_message(&mut socket).await {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(()) => return upgrade::close(socket, Some(upgrade::idle_close())).await,
        };
        match message {
            Message::Text(_) | Message::Binary(_) => {
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            // tungstenite queued the same code and reason as the reply.
            Message::Close(_) => return upgrade::finish(socket).await,
            // Pings are answered by tungstenite; pongs need nothing.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}
