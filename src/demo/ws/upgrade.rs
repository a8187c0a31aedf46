//! The WebSocket handshake of every `/ws/` endpoint, done by hand (RFC 6455 §4.2): the request's
//! headers checked, the subprotocol chosen by the endpoint, the `101` answered with the
//! `x-demo-service` header, and the upgraded connection handed over either as a tungstenite
//! stream or, for the misbehaving endpoints, as raw bytes. Also the close and idle rules the
//! endpoints share.

use std::future::Future;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// The upgraded connection, as the misbehaving endpoints write to it.
pub type RawSocket = TokioIo<Upgraded>;

/// The upgraded connection, speaking WebSocket.
pub type Socket = WebSocketStream<RawSocket>;

/// The largest message (and frame) an endpoint reads: a demo needs no more, and a client
/// cannot make it hold more.
pub const MAX_MESSAGE: usize = 1024 * 1024;

/// How long an interactive endpoint waits for the client's next message before it closes with
/// 1001 `idle for 5m`, so that a forgotten connection does not live forever.
pub const IDLE: Duration = Duration::from_secs(300);

/// How long an endpoint that closed waits for the client's close reply before it drops TCP.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// A close reason is at most 123 bytes (a control frame's payload is at most 125).
const MAX_REASON: usize = 123;

/// The `Sec-WebSocket-Version` the demo speaks.
const VERSION: &str = "13";

fn config() -> WebSocketConfig {
    // A small read buffer: the demo serves many connections that each read little.
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

/// A request that asked for a WebSocket upgrade correctly, not yet answered.
pub struct Handshake {
    key: String,
    protocols: Vec<String>,
    on_upgrade: OnUpgrade,
}

/// What the `101` says in `Sec-WebSocket-Accept`: the right value, none, or a wrong one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptHeader {
    Right,
    Missing,
    Wrong,
}

impl Handshake {
    /// Checks that `request` asks for a WebSocket upgrade: `400` naming what is wrong, or `426`
    /// saying how to connect when it is a plain GET with no sign of an upgrade.
    #[allow(clippy::result_large_err)]
    pub fn check(mut request: Request) -> Result<Handshake, Response> {
        let headers = request.headers();
        let upgrade = has_token(headers, header::UPGRADE, "websocket");
        let connection = has_token(headers, header::CONNECTION, "upgrade");
        if !headers.contains_key(header::UPGRADE)
            && !connection
            && !headers.contains_key(header::SEC_WEBSOCKET_KEY)
        {
            return Err(plain_get(request.uri().path()));
        }
        if !upgrade {
            return Err(bad_handshake("the header `Upgrade: websocket` is missing"));
        }
        if !connection {
            return Err(bad_handshake("the header `Connection: upgrade` is missing"));
        }
        match headers.get(header::SEC_WEBSOCKET_VERSION) {
            Some(v) if v == VERSION => {}
            Some(v) => {
                return Err(bad_handshake(&format!(
                    "unsupported `Sec-WebSocket-Version: {}`; the demo speaks 13",
                    v.to_str().unwrap_or("?")
                )));
            }
            None => {
                return Err(bad_handshake(
                    "the header `Sec-WebSocket-Version: 13` is missing",
                ));
            }
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return Err(bad_handshake("the header `Sec-WebSocket-Key` is missing"));
        };
        let key = key.to_str().unwrap_or("").trim().to_owned();
        let decoded = base64::engine::general_purpose::STANDARD.decode(&key);
        if decoded.map_or(true, |bytes| bytes.len() != 16) {
            return Err(bad_handshake(
                "`Sec-WebSocket-Key` must be 16 bytes in base64",
            ));
        }
        let protocols = headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        let on_upgrade = hyper::upgrade::on(&mut request);
        Ok(Handshake {
            key,
            protocols,
            on_upgrade,
        })
    }

    /// The first subprotocol the client listed that is in `supported`.
    pub fn pick(&self, supported: &[&'static str]) -> Option<&'static str> {
        self.protocols
            .iter()
            .find_map(|p| supported.iter().copied().find(|s| s == p))
    }

    /// Answers `101` (as service `ws-<name>`, with `protocol` if any) and serves the connection
    /// with `serve` once hyper hands it over.
    pub fn accept<F, Fut>(self, name: &str, protocol: Option<&str>, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.accept_raw(name, protocol, AcceptHeader::Right, |io| async move {
            serve(WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await).await
        })
    }

    /// As [`Handshake::accept`], handing over the raw bytes of the connection, with the
    /// `Sec-WebSocket-Accept` header right, missing or wrong.
    pub fn accept_raw<F, Fut>(
        self,
        name: &str,
        protocol: Option<&str>,
        accept: AcceptHeader,
        serve: F,
    ) -> Response
    where
        F: FnOnce(RawSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            // An error here is a client that went away before the upgrade: nothing to serve.
            if let Ok(upgraded) = on_upgrade.await {
                serve(TokioIo::new(upgraded)).await;
            }
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        let accept_key = match accept {
            AcceptHeader::Right => Some(derive_accept_key(self.key.as_bytes())),
            AcceptHeader::Missing => None,
            // The accept key of another key: well-formed, and wrong.
            AcceptHeader::Wrong => Some(derive_accept_key(b"not the client's key")),
        };
        if let Some(accept_key) = accept_key.and_then(|k| HeaderValue::from_str(&k).ok()) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept_key);
        }
        if let Some(protocol) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        if let Ok(service) = HeaderValue::from_str(&format!("ws-{name}")) {
            headers.insert("x-demo-service", service);
        }
        response
    }
}

/// Whether a comma-separated header holds `token`, in any case.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn bad_handshake(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::SEC_WEBSOCKET_VERSION, VERSION),
        ],
        format!("bad WebSocket handshake: {why}\n"),
    )
        .into_response()
}

fn plain_get(path: &str) -> Response {
    (
        StatusCode::UPGRADE_REQUIRED,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::UPGRADE, "websocket"),
            (header::CONNECTION, "upgrade"),
            (header::SEC_WEBSOCKET_VERSION, VERSION),
        ],
        format!(
            "`{path}` is a WebSocket endpoint: connect with a WebSocket client (ws://host{path}), \
             which sends `Upgrade: websocket`, `Connection: upgrade`, `Sec-WebSocket-Version: 13` \
             and a `Sec-WebSocket-Key`\n"
        ),
    )
        .into_response()
}

/// A close frame with `code` and `reason`, the reason cut to what a close frame can carry.
pub fn close_frame(code: u16, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from(reason[..end].to_owned()),
    }
}

/// Sends `close` (a close frame with no payload when `None`), then waits (at most
/// [`CLOSE_WAIT`]) for the client's close reply, reading and dropping whatever comes before it,
/// and ends the connection.
pub async fn close(mut socket: Socket, close: Option<CloseFrame>) {
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        if socket.send(Message::Close(close)).await.is_err() {
            return;
        }
        // tungstenite answers nothing more once it sent a close; this only reads the reply.
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// Finishes a connection the client closed: tungstenite queued the reply (the same code and
/// reason); this sends it and waits, as [`close`] does, for the end.
pub async fn finish(mut socket: Socket) {
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

/// The client's next message, `None` when the connection ended or failed; after [`IDLE`] with
/// nothing, `Err(())` (the caller closes with [`idle_close`]).
pub async fn next_message(socket: &mut Socket) -> Result<Option<Message>, ()> {
    match tokio::time::timeout(IDLE, socket.next()).await {
        Ok(Some(Ok(message))) => Ok(Some(message)),
        Ok(Some(Err(_)) | None) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The close frame of a connection idle for [`IDLE`].
pub fn idle_close() -> CloseFrame {
    close_frame(1001, "idle for 5m")
}

/// What the client did while an endpoint waited to send its next message.
pub enum Heard {
    /// The wait is over; nothing ended.
    Time,
    /// The client sent a close frame (tungstenite queued the reply: see [`finish`]).
    Closed,
    /// The connection failed or ended.
    Gone,
}

/// Waits until `deadline`, reading the client's messages meanwhile (so that its pings are
/// answered and its close is heard), dropping the data ones.
pub async fn wait_listening(socket: &mut Socket, deadline: tokio::time::Instant) -> Heard {
    let sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            biased;
            () = &mut sleep => return Heard::Time,
            message = socket.next() => match message {
                Some(Ok(Message::Close(_))) => return Heard::Closed,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Heard::Gone,
            },
        }
    }
}
