//! gRPC servers written on raw HTTP/2 (the `h2` crate), for what a real gRPC server never does
//! or never tells: replies cut short, answers that never come, and a log of the frames a call
//! puts on the wire (HEADERS, DATA, END_STREAM, RST_STREAM) so that a test can check what the
//! server saw. Each runs on the shared test runtime (see `servers`), on a port of its own.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use axum::http::{HeaderMap, Request, Response};
use bytes::{BufMut, Bytes, BytesMut};
use h2::RecvStream;
use h2::server::SendResponse;

use crate::servers;

/// How long a server waits for a client before it gives up on it: far longer than any test
/// takes, so that a broken client fails the test rather than hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Serves every HTTP/2 request with `handle`, each in a task of its own; returns the URL.
fn raw_h2<F, Fut>(handle: F) -> String
where
    F: Fn(Request<RecvStream>, SendResponse<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listener, url) = servers::bind();
    servers::runtime().spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = connection.accept().await {
                    tokio::spawn(handle.clone()(request, respond));
                }
            });
        }
    });
    url
}

/// One gRPC frame: the 5-byte header (not compressed, the length) and the message.
pub fn grpc_frame(message: &[u8]) -> BytesMut {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).expect("a small message"));
    frame.put_slice(message);
    frame
}

/// Response headers of a gRPC answer.
fn grpc_head() -> Response<()> {
    Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .body(())
        .expect("a valid response head")
}

fn status_trailers(code: &str) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", code.parse().expect("a header value"));
    trailers
}

/// Reads a request body to its end (or until the client gives up on it), releasing its flow
/// control as it goes.
async fn read_to_end(body: &mut RecvStream) {
    let _ = tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
        }
    })
    .await;
}

/// Answers every call with a whole `stock.Quote` for ACME, then a frame whose header announces
/// 100 bytes of which 10 come, then `grpc-status: 0`.
pub fn cut_frame_then_ok() -> String {
    raw_h2(|request, mut respond| async move {
        read_to_end(&mut request.into_body()).await;
        let Ok(mut send) = respond.send_response(grpc_head(), false) else {
            return;
        };
        // `stock.Quote { symbol: "ACME" }`: field 1, length 4.
        let mut body = grpc_frame(&[0x0a, 4, b'A', b'C', b'M', b'E']);
        body.put_slice(&[0, 0, 0, 0, 100]);
        body.put_slice(&[0; 10]);
        let _ = send.send_data(body.freeze(), false);
        let _ = send.send_trailers(status_trailers("0"));
    })
}

/// What a [`frame_log`] server saw of each call, in order: `HEADERS /path`, `DATA` (once for a
/// run of data frames), `END_STREAM`, `RST_STREAM(REASON)`, and how its own side ended.
pub struct FrameLog {
    events: mpsc::Receiver<String>,
}

impl FrameLog {
    /// The events of the first call, up to the one that ends it on the wire (a reset, the
    /// server's answer, or the connection closing); fails the test if that takes too long.
    pub fn first_call(&self) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.events.recv_timeout(PATIENCE) {
                Ok(event) => {
                    let last = event.starts_with("RST_STREAM")
                        || event.starts_with("answered")
                        || event.starts_with("connection");
                    seen.push(event);
                    if last {
                        return seen;
                    }
                }
                Err(_) => panic!("the call did not end on the wire; the server saw {seen:?}"),
            }
        }
    }
}

/// A server that logs what each call puts on the wire. It answers with its response headers
/// once the first request message has come (so that a spec can wait for them), and when the
/// request stream ends it completes the call: `grpc-status: 0`.
pub fn frame_log() -> (String, FrameLog) {
    let (sender, events) = mpsc::channel();
    let url = raw_h2(move |request, mut respond| {
        let log = sender.clone();
        async move {
            let log = |event: String| {
                let _ = log.send(event);
            };
            log(format!("HEADERS {}", request.uri().path()));
            let mut body = request.into_body();
            let mut answering = None;
            let mut in_data = false;
            let ended = loop {
                let next = tokio::time::timeout(PATIENCE, body.data()).await;
                match next {
                    Err(_) => break "connection idle too long".to_string(),
                    Ok(Some(Ok(chunk))) => {
                        let _ = body.flow_control().release_capacity(chunk.len());
                        if !in_data {
                            log("DATA".to_string());
                            in_data = true;
                        }
                        if answering.is_none() {
                            answering = respond.send_response(grpc_head(), false).ok();
                        }
                    }
                    Ok(None) => {
                        log("END_STREAM".to_string());
                        let mut send = match answering.take() {
                            Some(send) => send,
                            None => match respond.send_response(grpc_head(), false) {
                                Ok(send) => send,
                                Err(error) => break format!("connection: {error}"),
                            },
                        };
                        break match send.send_trailers(status_trailers("0")) {
                            Ok(()) => "answered OK".to_string(),
                            Err(error) => format!("connection: {error}"),
                        };
                    }
                    Ok(Some(Err(error))) => match error.reason() {
                        Some(reason) if error.is_reset() => {
                            break format!("RST_STREAM({reason:?})");
                        }
                        _ => break format!("connection: {error}"),
                    },
                }
            };
            log(ended);
        }
    });
    (url, FrameLog { events })
}
