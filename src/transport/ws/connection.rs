//! One WebSocket connection: TCP (and TLS for `wss://`), the handshake, then messages read and
//! sent through tungstenite, each read one stamped with the time its last frame arrived.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message};

use super::close_code::CloseCodeWatch;
use super::handshake::{Handshake, handshake};
use super::{Close, WsError, WsMessage, WsTarget};
use crate::transport::tls::{Alpn, client_config};

/// Bytes read from the socket at a time. Allocated for the connection's life, so it is kept
/// small (tungstenite's default is 128 KiB): thousands of connections stay cheap, and a
/// flood of small messages still takes hundreds per read.
const READ_BUFFER: usize = 8 * 1024;

/// The connection under the WebSocket: plain TCP or TLS.
pub enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Io::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Io::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Io::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Io::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

/// The connection once it speaks WebSocket: what is read is watched for close codes (see
/// `close_code`).
pub struct Watched {
    io: Io,
    watch: CloseCodeWatch,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.watch.watch(&buf.filled()[before..]);
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What reading the connection gave.
#[derive(Debug)]
pub enum Read {
    Message(WsMessage, Instant),
    /// The server's close frame (or the reply to ours): the closing handshake.
    Closed(Close, Instant),
    /// The connection ended without a close frame, or broke the protocol; the text says how.
    Dropped(String, Instant),
    /// A message over the size limit.
    TooLarge {
        limit: usize,
    },
    TimedOut,
}

/// An open WebSocket connection.
pub struct Connection {
    socket: WebSocketStream<Watched>,
    /// Set once the connection has ended; reads after it say so again.
    ended: bool,
}

/// Connects to `target` and does the handshake; messages over `max_message` bytes are refused
/// as they arrive (tungstenite stops at the frame header).
pub async fn connect(
    target: &WsTarget,
    max_message: usize,
    deadline: Instant,
) -> Result<(Handshake, Connection), WsError> {
    let url = &target.url;
    let host = url
        .host_str()
        .ok_or_else(|| WsError::Connect("the URL has no host".to_string()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tls = matches!(url.scheme(), "wss" | "https");
    let port = url.port().unwrap_or(if tls { 443 } else { 80 });
    let connecting = Instant::now();
    let tcp =
        match tokio::time::timeout_at(deadline.into(), TcpStream::connect((host.as_str(), port)))
            .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(error)) => {
                return Err(WsError::Connect(format!(
                    "could not connect to {host}:{port}: {}",
                    crate::transport::http::describe_error(&error)
                )));
            }
            Err(_) => return Err(WsError::TimedOut("the connection to be made")),
        };
    let connect = connecting.elapsed();
    // Small messages go out at once, as browsers' do.
    let _ = tcp.set_nodelay(true);
    let mut io = if tls {
        let config = client_config(target.insecure, Alpn::Http1).map_err(WsError::Tls)?;
        let name = ServerName::try_from(host.clone()).map_err(|error| {
            WsError::Tls(format!("{host:?} is not a name TLS can check: {error}"))
        })?;
        let connector = tokio_rustls::TlsConnector::from(config);
        match tokio::time::timeout_at(deadline.into(), connector.connect(name, tcp)).await {
            Ok(Ok(stream)) => Io::Tls(Box::new(stream)),
            Ok(Err(error)) => {
                let mut reason = format!(
                    "the TLS handshake failed: {}",
                    crate::transport::tls::readable_error(&error.to_string())
                );
                if !target.insecure && error.to_string().contains("certificate") {
                    reason.push_str("; to skip verification, mark the request `insecure`");
                }
                return Err(WsError::Tls(reason));
            }
            Err(_) => return Err(WsError::TimedOut("the TLS handshake")),
        }
    } else {
        Io::Plain(tcp)
    };
    let (handshake, rest) = handshake(&mut io, target, deadline, connect).await?;
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = READ_BUFFER;
    config.max_message_size = Some(max_message);
    config.max_frame_size = Some(max_message);
    // The first frames may have come with the handshake's answer.
    let mut watch = CloseCodeWatch::default();
    watch.watch(&rest);
    let watched = Watched { io, watch };
    let socket =
        WebSocketStream::from_partially_read(watched, rest.to_vec(), Role::Client, Some(config))
            .await;
    Ok((
        handshake,
        Connection {
            socket,
            ended: false,
        },
    ))
}

impl Connection {
    /// The next message, control frame or ending. Cancel-safe: a message is taken whole or not
    /// at all. Pings are answered by tungstenite as they are read.
    pub async fn next(&mut self, deadline: Instant) -> Read {
        if self.ended {
            return Read::Dropped(
                "the connection had already ended".to_string(),
                Instant::now(),
            );
        }
        let next = match tokio::time::timeout_at(deadline.into(), self.socket.next()).await {
            Ok(next) => next,
            Err(_) => return Read::TimedOut,
        };
        let at = Instant::now();
        let read = match next {
            Some(Ok(Message::Text(text))) => Read::Message(WsMessage::Text(text.to_string()), at),
            Some(Ok(Message::Binary(bytes))) => Read::Message(WsMessage::Binary(bytes), at),
            Some(Ok(Message::Ping(bytes))) => Read::Message(WsMessage::Ping(bytes), at),
            Some(Ok(Message::Pong(bytes))) => Read::Message(WsMessage::Pong(bytes), at),
            Some(Ok(Message::Close(frame))) => {
                // tungstenite queued the reply; it goes out with the next flush.
                let _ = self.socket.flush().await;
                let close = frame.map_or(Close::NO_CODE, |frame| Close {
                    code: u16::from(frame.code),
                    reason: frame.reason.to_string(),
                });
                // A code that may not be sent comes up as tungstenite's own 1002.
                match self.socket.get_ref().watch.last() {
                    Some(Some(sent)) if sent != close.code => Read::Dropped(
                        format!(
                            "the server broke the protocol: a close frame with the code {sent}, which may not be sent"
                        ),
                        at,
                    ),
                    _ => Read::Closed(close, at),
                }
            }
            Some(Ok(Message::Frame(_))) => Read::Dropped("an unexpected raw frame".to_string(), at),
            Some(Err(Error::Capacity(
                tokio_tungstenite::tungstenite::error::CapacityError::MessageTooLong {
                    max_size,
                    ..
                },
            ))) => Read::TooLarge { limit: max_size },
            Some(Err(error)) => Read::Dropped(describe(&error), at),
            None => Read::Dropped(
                "the connection closed without a close frame".to_string(),
                at,
            ),
        };
        if !matches!(read, Read::Message(..) | Read::TimedOut) {
            self.ended = true;
        }
        read
    }

    /// Sends one message (and flushes it), bounded by `deadline`.
    pub async fn send(&mut self, message: Outgoing, deadline: Instant) -> Result<(), String> {
        let message = match message {
            Outgoing::Text(text) => Message::text(text),
            Outgoing::Binary(bytes) => Message::Binary(bytes),
            Outgoing::Ping(bytes) => Message::Ping(bytes),
            Outgoing::Close(close) => Message::Close(close.map(|close| CloseFrame {
                code: CloseCode::from(close.code),
                reason: close.reason.into(),
            })),
        };
        match tokio::time::timeout_at(deadline.into(), self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(describe(&error)),
            Err(_) => Err("the server did not take the message before the test's timeout".into()),
        }
    }

    /// `abort`: cuts the TCP connection, with no close frame.
    pub fn abort(self) {
        drop(self);
    }
}

/// A message a spec sends.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Text(String),
    Binary(Bytes),
    Ping(Bytes),
    /// A close frame; `None` for one with no code.
    Close(Option<Close>),
}

/// What the server did, in the words a failure uses.
fn describe(error: &Error) -> String {
    use tokio_tungstenite::tungstenite::error::ProtocolError as P;
    match error {
        Error::Utf8(_) => "the server sent a text message that is not valid UTF-8".to_string(),
        Error::Protocol(P::ResetWithoutClosingHandshake) => {
            "the connection closed without a close frame".to_string()
        }
        Error::Protocol(P::FragmentedControlFrame) => {
            "the server broke the protocol: a fragmented control frame".to_string()
        }
        Error::Protocol(P::UnknownDataFrameType(opcode)) => {
            format!("the server broke the protocol: a frame with the reserved opcode {opcode:#x}")
        }
        Error::Protocol(P::UnknownControlFrameType(opcode)) => {
            format!(
                "the server broke the protocol: a control frame with the reserved opcode {opcode:#x}"
            )
        }
        Error::Protocol(P::InvalidOpcode(opcode)) => {
            format!("the server broke the protocol: a frame with the reserved opcode {opcode:#x}")
        }
        Error::Protocol(P::MaskedFrameFromServer) => {
            "the server broke the protocol: it masked a frame".to_string()
        }
        Error::Protocol(P::NonZeroReservedBits) => {
            "the server broke the protocol: a frame with reserved bits set".to_string()
        }
        Error::Protocol(P::ControlFrameTooBig) => {
            "the server broke the protocol: a control frame over 125 bytes".to_string()
        }
        Error::Protocol(P::InvalidCloseSequence) => {
            "the server broke the protocol: a close frame that is not valid".to_string()
        }
        Error::Protocol(P::ReceivedAfterClosing) => {
            "the server broke the protocol: it sent after its close frame".to_string()
        }
        Error::Protocol(other) => format!("the server broke the protocol: {other}"),
        Error::Io(io) => crate::transport::http::describe_error(io),
        other => other.to_string(),
    }
}
