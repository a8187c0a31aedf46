//! Servers the specs run against, all in this process on 127.0.0.1 and a port the system
//! chooses: the bundled demo router, a small router with canned responses for behaviours the
//! demo lacks, and raw TCP servers that do not speak HTTP properly.
//!
//! They run on one background tokio runtime for the whole test binary. Each listener is bound
//! (synchronously) before its URL is handed out, so a spec can never connect too early.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-servers")
            .enable_all()
            .build()
            .expect("a tokio runtime for the test servers")
    })
}

/// Binds 127.0.0.1:0 now, so the port accepts connections before anyone knows it.
pub fn bind() -> (tokio::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let address = listener.local_addr().expect("the listener's address");
    let _entered = runtime().enter();
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    (listener, format!("http://{address}"))
}

/// Serves `router` in the background until the test binary exits; returns its base URL.
pub fn serve(router: Router) -> String {
    let (listener, url) = bind();
    runtime().spawn(async move {
        // As the demo does: no Nagle delay on small events.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, router.into_make_service()).await;
    });
    url
}

/// The bundled demo service (`streamspec::demo::router()`), started once.
pub fn demo() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| serve(streamspec::demo::router()))
}

/// The canned responses of [`canned_router`], started once.
pub fn canned() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| serve(canned_router()))
}

/// A URL on a loopback port where nothing listens: bound, then released.
pub fn refused() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("the listener's address");
    drop(listener);
    format!("http://{address}")
}

/// A raw TCP server that reads each request's head and then closes the connection without a
/// word of answer. Started once.
pub fn hang_up() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        raw(|mut socket| async move {
            read_request_head(&mut socket).await;
        })
    })
}

/// A raw TCP server that answers every request with these bytes, then closes the connection.
/// A reply that several requests of a run get says `connection: close`, as such a server must:
/// without it the client may send the next request on the connection as it closes.
pub fn raw_reply(reply: &'static [u8]) -> String {
    raw(move |mut socket| async move {
        read_request_head(&mut socket).await;
        let _ = socket.write_all(reply).await;
        let _ = socket.shutdown().await;
        // Wait for the client to close its side, so that closing ours cannot reset it.
        let mut rest = [0u8; 1024];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while let Ok(Ok(read)) = tokio::time::timeout_at(deadline, socket.read(&mut rest)).await {
            if read == 0 {
                break;
            }
        }
    })
}

/// What [`sse_once_then`] does with every connection after the first.
#[derive(Debug, Clone, Copy)]
pub enum Afterwards {
    /// Reads the request head and closes the connection without a word.
    HangUp,
    /// Reads the request head and never answers, until the client closes the connection.
    Silent,
}

/// A raw TCP server that answers its first connection with one SSE event (`id: 1`,
/// `data: first`) and a clean close, and every later one as `afterwards` says: a stream that
/// cannot be reconnected to. A new server (and port) for each call.
pub fn sse_once_then(afterwards: Afterwards) -> String {
    let connections = Arc::new(AtomicU32::new(0));
    raw(move |mut socket| {
        let connections = Arc::clone(&connections);
        async move {
            read_request_head(&mut socket).await;
            let first = connections.fetch_add(1, Ordering::SeqCst) == 0;
            if first {
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                          connection: close\r\n\r\nid: 1\ndata: first\n\n",
                    )
                    .await;
                let _ = socket.shutdown().await;
            } else if let Afterwards::HangUp = afterwards {
                return;
            }
            // Wait for the client to close its side, so that closing ours cannot reset it.
            let mut rest = [0u8; 1024];
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while let Ok(Ok(read)) = tokio::time::timeout_at(deadline, socket.read(&mut rest)).await
            {
                if read == 0 {
                    break;
                }
            }
        }
    })
}

fn raw<F, Fut>(handle: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (listener, url) = bind();
    runtime().spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(handle(socket));
        }
    });
    url
}

/// Reads until the blank line that ends a request head (or 10 s, or the client closing).
pub async fn read_request_head(socket: &mut tokio::net::TcpStream) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, socket.read(&mut buffer)).await {
            Ok(Ok(read)) if read > 0 => head.extend_from_slice(&buffer[..read]),
            _ => return,
        }
    }
}

/// A streamed response: each piece is its own body frame.
fn streamed(content_type: &'static str, pieces: &'static [&'static [u8]]) -> Response {
    let frames = stream::iter(
        pieces
            .iter()
            .map(|piece| Ok::<_, Infallible>(Bytes::from_static(piece))),
    );
    let mut response = Response::new(Body::from_stream(frames));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Canned responses for behaviours the demo lacks.
fn canned_router() -> Router {
    Router::new()
        // Every SSE field rule at once: a comment, CRLF and LF line endings, `retry`, a
        // two-line `data`, an `id` that persists, then one reset by a bare `id`.
        .route(
            "/sse/fields",
            get(|| async {
                streamed(
                    "text/event-stream; charset=utf-8",
                    &[
                        b": a comment\r\nretry: 1500\r\nid: 7\r\nevent: greeting\r\n",
                        b"data: hello\r\ndata: world\r\n\r\n",
                        b"data: {\"n\":2}\n\n",
                        b"id\nevent: bye\ndata: done\n\n",
                    ],
                )
            }),
        )
        // Events with heartbeats between them: `ping` events with empty data and comments.
        .route(
            "/sse/heartbeat",
            get(|| async {
                streamed(
                    "text/event-stream",
                    &[
                        b"data: {\"n\":1}\n\n",
                        b"event: ping\ndata:\n\n",
                        b": keep-alive\n\n",
                        b"data: {\"n\":2}\n\n",
                        b"event: ping\ndata:\n\n",
                        b"data: {\"n\":3}\n\n",
                    ],
                )
            }),
        )
        // One event, then a clean close in the middle of the next (no blank line after it).
        .route(
            "/sse/cut",
            get(|| async { streamed("text/event-stream", &[b"data: 1\n\n", b"data: 2\n"]) }),
        )
        // An NDJSON stream whose second line is not JSON.
        .route(
            "/ndjson/not-json",
            get(|| async {
                streamed(
                    "application/x-ndjson",
                    &[b"{\"n\":1}\n", b"{\"n\":2,oops}\n", b"{\"n\":3}\n"],
                )
            }),
        )
        // Lines with CRLF, a blank line, and a last line without a line ending.
        .route(
            "/lines/crlf",
            get(|| async { streamed("text/plain", &[b"one\r\ntwo\r\n", b"\r\nthree"]) }),
        )
        // A 503 with a short plain-text body.
        .route(
            "/status/503",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream overloaded\nretry later\n",
                )
            }),
        )
        // A header with two values.
        .route(
            "/headers",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain")],
                    AppendHeaders([(header::VARY, "Accept"), (header::VARY, "Origin")]),
                    "ok\n",
                )
                    .into_response()
            }),
        )
        .route("/echo/sse", get(echo_sse))
        .route("/sse/then-503", get(then_503))
        .route("/sse/then-json", get(then_json))
        .route("/requests", get(requests))
        .route("/sync/fragile-broken", get(fragile_broken))
        // A header whose value names what to ask for next.
        .route(
            "/session",
            get(|| async { ([("x-session", "s42")], "ok\n").into_response() }),
        )
}

/// `GET /echo/sse?events=1&close=end|drop&prefix=&reset=0`: `events` SSE events that say what
/// the request carried, numbered on from its `Last-Event-ID` (from 1 without one), then a clean
/// end (`close=end`) or a dropped connection (`close=drop`). Each event is `id: <prefix>n` and
/// `data: {"n":n,"last_event_id":…,"token":…,"query":"…"}`: the `Last-Event-ID` and `X-Token`
/// headers (`null` when absent) and the raw query string. With `reset=1`, a last event resets the
/// id with a bare `id` line: `data: reset`.
async fn echo_sse(
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let header_text = |name: &str| {
        headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let last_event_id = header_text("last-event-id");
    let token = header_text("x-token");
    let query = raw_query.unwrap_or_default();
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let events: u64 = param("events").parse().unwrap_or(1);
    let prefix = param("prefix");
    let first = last_event_id
        .as_deref()
        .and_then(|id| id.strip_prefix(prefix))
        .and_then(|id| id.parse::<u64>().ok())
        .map_or(1, |id| id + 1);
    let mut frames: Vec<Result<Bytes, std::io::Error>> = (first..first + events)
        .map(|n| {
            let data = serde_json::json!({
                "n": n,
                "last_event_id": last_event_id,
                "token": token,
                "query": query,
            });
            Ok(Bytes::from(format!("id: {prefix}{n}\ndata: {data}\n\n")))
        })
        .collect();
    if param("reset") == "1" {
        frames.push(Ok(Bytes::from_static(b"id\ndata: reset\n\n")));
    }
    let frames = stream::iter(frames);
    let body = if param("close") == "drop" {
        Body::from_stream(frames.chain(stream::once(async {
            // A moment for the events to reach the client before the connection is cut.
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err(std::io::Error::other(
                "the test server drops the connection",
            ))
        })))
    } else {
        Body::from_stream(frames)
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// Requests per `key` to the counted routes, for `/requests`.
fn request_counts() -> &'static Mutex<HashMap<String, u64>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();
    COUNTS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn count_request(params: &HashMap<String, String>) {
    let key = params.get("key").cloned().unwrap_or_default();
    let mut counts = request_counts()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *counts.entry(key).or_insert(0) += 1;
}

/// `GET /sse/then-503?key=K`: without `Last-Event-ID`, one SSE event (`id: 1`, `data: first`)
/// and a clean end; with it, `503` and a short text: a stream that cannot be resumed. Each
/// request is counted under `key` (see `/requests`).
async fn then_503(headers: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    count_request(&params);
    if headers.contains_key("last-event-id") {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance\n").into_response();
    }
    streamed("text/event-stream", &[b"id: 1\ndata: first\n\n"])
}

/// `GET /sse/then-json`: without `Last-Event-ID`, one SSE event (`id: 1`, `data: first`) and a
/// clean end; with it, a JSON body: a reconnection answered with the wrong content type.
async fn then_json(headers: HeaderMap) -> Response {
    if headers.contains_key("last-event-id") {
        return axum::Json(serde_json::json!({ "error": "gone" })).into_response();
    }
    streamed("text/event-stream", &[b"id: 1\ndata: first\n\n"])
}

/// `GET /sync/fragile-broken?client=NAME`: answers `200 broken` once the demo's
/// `/bad/fragile/health?client=NAME` answers 503, polling it for at most 10 s (then `504`). The
/// demo notices a client's abort on its own connection task, at a time no client can order a
/// next request after; a spec that requests this first checks the health afterwards, not before.
async fn fragile_broken(Query(params): Query<HashMap<String, String>>) -> Response {
    let client = params.get("client").cloned().unwrap_or_default();
    let path = format!("/bad/fragile/health?client={client}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if status_of(demo(), &path).await == Some(503) {
            return (StatusCode::OK, "broken\n").into_response();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (StatusCode::GATEWAY_TIMEOUT, "the demo never broke\n").into_response()
}

/// The status of `GET {base}{path}`, in one HTTP/1.1 exchange on a new connection.
async fn status_of(base: &str, path: &str) -> Option<u16> {
    let address = base.strip_prefix("http://")?;
    let mut socket = tokio::net::TcpStream::connect(address).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut response))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// `GET /requests?key=K`: `{"count":n}`, how many requests the counted routes got for `key`.
async fn requests(Query(params): Query<HashMap<String, String>>) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    let count = request_counts()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
        .copied()
        .unwrap_or(0);
    axum::Json(serde_json::json!({ "count": count })).into_response()
}

/// The demo's gRPC service (`stock.StockService` with reflection), started once.
pub fn grpc_demo() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let (listener, url) = bind();
        runtime().spawn(streamspec::demo::grpc::serve_grpc(listener));
        url
    })
}

/// An HTTP/2 server that answers every gRPC call, reflection included, `UNIMPLEMENTED`: a
/// gRPC server without reflection that has none of the methods asked for. Started once.
pub fn grpc_unimplemented() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        serve(Router::new().fallback(|| async {
            (
                [
                    (header::CONTENT_TYPE, "application/grpc"),
                    (HeaderName::from_static("grpc-status"), "12"),
                    (HeaderName::from_static("grpc-message"), "no such method"),
                ],
                "",
            )
        }))
    })
}

/// An HTTP/2 server that answers every gRPC call with a length-prefixed frame that says 5
/// bytes and holds 2, then ends the stream. Started once.
pub fn grpc_truncated_frame() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        serve(Router::new().fallback(|| async {
            (
                [(header::CONTENT_TYPE, "application/grpc")],
                Bytes::from_static(&[0, 0, 0, 0, 5, 0x0a, 0x01]),
            )
        }))
    })
}
