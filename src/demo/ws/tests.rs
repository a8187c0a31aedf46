//! End-to-end tests of the WebSocket endpoints: each serves the demo router on `127.0.0.1:0`
//! in-process and connects with tokio-tungstenite, or with raw TCP where the server's exact
//! bytes (the misbehaving endpoints) or its refusals are the point.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::chat::{Limits, Rooms};
use crate::demo::{AppState, router_with};

type Client = WebSocketStream<TcpStream>;

/// No test waits longer than this for anything.
const LIMIT: Duration = Duration::from_secs(5);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn start_with(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router_with(state)).await });
    addr
}

async fn start() -> SocketAddr {
    start_with(AppState::default()).await
}

async fn connect(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (Client, Response) {
    let tcp = within("the TCP connection", TcpStream::connect(addr))
        .await
        .unwrap();
    connect_on(tcp, addr, path, headers).await
}

async fn connect_on(
    tcp: TcpStream,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (Client, Response) {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    for (name, value) in headers {
        let name = axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    within(path, tokio_tungstenite::client_async(request, tcp))
        .await
        .unwrap_or_else(|e| panic!("connecting to {path}: {e}"))
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The next message, whatever it is.
async fn next(client: &mut Client) -> Message {
    within("the next message", client.next())
        .await
        .expect("a message, not the end")
        .expect("a message, not an error")
}

/// The next text message as JSON, skipping pings and pongs.
async fn next_json(client: &mut Client) -> Value {
    loop {
        match next(client).await {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads up to the server's close frame and returns it.
async fn closed(client: &mut Client) -> Option<CloseFrame> {
    loop {
        match next(client).await {
            Message::Close(frame) => return frame,
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected the close, got {other:?}"),
        }
    }
}

/// Reads up to the server's close frame, skipping the messages before it, and returns it.
async fn closed_skipping_messages(client: &mut Client) -> Option<CloseFrame> {
    within("the close", async {
        loop {
            match client.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected the close, got {other:?}"),
            }
        }
    })
    .await
}

fn close(code: u16, reason: &str) -> Option<CloseFrame> {
    Some(CloseFrame {
        code: CloseCode::from(code),
        reason: Utf8Bytes::from(reason.to_owned()),
    })
}

async fn send_json(client: &mut Client, value: Value) {
    within("a send", client.send(Message::text(value.to_string())))
        .await
        .unwrap();
}

/// The key of RFC 6455's example, and the accept value it must get.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Sends a GET with `headers` on raw TCP; the response head and the bytes read after it.
async fn raw_get(addr: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>, TcpStream) {
    let mut tcp = within("the TCP connection", TcpStream::connect(addr))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(read[..end + 4].to_vec()).unwrap();
            return (head, read[end + 4..].to_vec(), tcp);
        }
        let n = within("the response head", tcp.read(&mut buf))
            .await
            .unwrap();
        assert!(
            n > 0,
            "the connection ended before the response head: {read:?}"
        );
        read.extend_from_slice(&buf[..n]);
    }
}

fn upgrade_headers(extra: &str) -> String {
    format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: {KEY}\r\n{extra}"
    )
}

/// Everything the server sends after the response head, until it closes the connection.
async fn rest_until_end(mut rest: Vec<u8>, tcp: &mut TcpStream) -> Vec<u8> {
    within("the end of the connection", tcp.read_to_end(&mut rest))
        .await
        .unwrap();
    rest
}

/// A plain response's body (the request asked for `Connection: close`).
async fn raw_response(addr: SocketAddr, path: &str, headers: &str) -> (String, String) {
    let (head, rest, mut tcp) =
        raw_get(addr, path, &format!("{headers}Connection: close\r\n")).await;
    let body = rest_until_end(rest, &mut tcp).await;
    (head, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn echo_answers_each_message_with_its_type_and_the_close_with_its_code() {
    let addr = start().await;
    let (mut client, response) = connect(
        addr,
        "/ws/echo",
        &[("sec-websocket-protocol", "chat, echo.v2, echo.v1")],
    )
    .await;
    assert_eq!(header(&response, "sec-websocket-protocol"), Some("echo.v2"));
    assert_eq!(header(&response, "x-demo-service"), Some("ws-echo"));
    client.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut client).await, Message::text("hello"));
    client.send(Message::binary(vec![0, 1, 255])).await.unwrap();
    assert_eq!(next(&mut client).await, Message::binary(vec![0, 1, 255]));
    client.send(Message::Ping("p".into())).await.unwrap();
    assert_eq!(next(&mut client).await, Message::Pong("p".into()));
    client.close(close(4001, "bye")).await.unwrap();
    assert_eq!(next(&mut client).await, Message::Close(close(4001, "bye")));

    let (_, response) = connect(addr, "/ws/echo", &[]).await;
    assert_eq!(header(&response, "sec-websocket-protocol"), None);
}

#[tokio::test]
async fn a_request_that_is_no_upgrade_is_refused_saying_why() {
    let addr = start().await;
    let (head, body) = raw_response(addr, "/ws/echo", "").await;
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
    assert!(body.starts_with("`/ws/echo` is a WebSocket endpoint: connect with a WebSocket client (ws://host/ws/echo)"), "{body}");
    let headers = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n";
    let (head, body) = raw_response(addr, "/ws/echo", headers).await;
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert_eq!(
        body,
        "bad WebSocket handshake: the header `Connection: upgrade` is missing\n"
    );
    let headers = "Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 8\r\n";
    let (_, body) = raw_response(addr, "/ws/echo", headers).await;
    assert_eq!(
        body,
        "bad WebSocket handshake: unsupported `Sec-WebSocket-Version: 8`; the demo speaks 13\n"
    );
    let headers = "Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: short\r\n";
    let (_, body) = raw_response(addr, "/ws/echo", headers).await;
    assert_eq!(
        body,
        "bad WebSocket handshake: `Sec-WebSocket-Key` must be 16 bytes in base64\n"
    );
    let (head, body) = raw_response(addr, "/ws/ticker?cout=5", &upgrade_headers("")).await;
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert_eq!(
        body,
        "unknown query parameter `cout`; known parameters: count, interval, ping\n"
    );
}

#[tokio::test]
async fn private_wants_the_token() {
    let addr = start().await;
    let (head, body) = raw_response(addr, "/ws/private", &upgrade_headers("")).await;
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    assert!(
        head.contains("content-type: application/json\r\n"),
        "{head}"
    );
    assert_eq!(body, r#"{"error":"missing or wrong token"}"#);
    let wrong = upgrade_headers("Authorization: Bearer nope\r\n");
    let (head, _) = raw_response(addr, "/ws/private", &wrong).await;
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    let (mut client, response) =
        connect(addr, "/ws/private", &[("authorization", "Bearer demo")]).await;
    assert_eq!(header(&response, "x-demo-service"), Some("ws-private"));
    client.send(Message::text("secret")).await.unwrap();
    assert_eq!(next(&mut client).await, Message::text("secret"));
}

#[tokio::test]
async fn ticker_sends_count_messages_each_after_its_ping_then_closes_done() {
    let addr = start().await;
    let (mut client, _) = connect(addr, "/ws/ticker?count=3&interval=1ms&ping=1", &[]).await;
    for n in 1..=3 {
        assert_eq!(
            next(&mut client).await,
            Message::Ping(format!("tick {n}").into())
        );
        assert_eq!(
            next(&mut client).await,
            Message::text(format!("{{\"n\":{n}}}"))
        );
    }
    assert_eq!(next(&mut client).await, Message::Close(close(1000, "done")));
    let (mut client, _) = connect(addr, "/ws/ticker", &[]).await;
    for n in 1..=5 {
        assert_eq!(next_json(&mut client).await, json!({"n": n}));
    }
    assert_eq!(closed(&mut client).await, close(1000, "done"));
}

#[tokio::test]
async fn close_sends_the_close_frame_asked_for() {
    let addr = start().await;
    let (mut client, _) = connect(addr, "/ws/close?code=4000&reason=bye&after=2", &[]).await;
    assert_eq!(next_json(&mut client).await, json!({"n": 1}));
    assert_eq!(next_json(&mut client).await, json!({"n": 2}));
    assert_eq!(closed(&mut client).await, close(4000, "bye"));
    let (mut client, _) = connect(addr, "/ws/close?code=none", &[]).await;
    assert_eq!(closed(&mut client).await, None);
    // The server drops TCP once the client answered.
    assert!(within("the end", client.next()).await.is_none());
}

#[tokio::test]
async fn slow_sends_padded_messages_then_how_long_it_was_held_back() {
    let addr = start().await;
    let (mut client, _) = connect(addr, "/ws/slow?count=3&size=100", &[]).await;
    for seq in 1..=3 {
        let Message::Text(text) = next(&mut client).await else {
            panic!("expected a text message");
        };
        assert_eq!(text.len(), 100);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["seq"], seq);
    }
    let done = next_json(&mut client).await;
    assert_eq!(done["done"], true);
    assert!(done["blocked_ms"].is_u64(), "{done}");
    assert_eq!(closed(&mut client).await, close(1000, ""));
}

#[tokio::test]
async fn flood_sends_every_number_in_order_then_closes() {
    let addr = start().await;
    let (mut client, _) = connect(addr, "/ws/flood?count=3000", &[]).await;
    for n in 1..=3000 {
        assert_eq!(
            next(&mut client).await,
            Message::text(format!("{{\"n\":{n}}}"))
        );
    }
    assert_eq!(closed(&mut client).await, close(1000, ""));
}

fn chat_state(limits: Limits) -> AppState {
    AppState {
        chat_rooms: Arc::new(Rooms::new(limits)),
        ..AppState::default()
    }
}

#[tokio::test]
async fn chat_broadcasts_every_event_in_one_order_and_resumes_with_the_token() {
    let addr = start().await;
    let (mut alice, response) = connect(addr, "/ws/chat/lobby?user=alice", &[]).await;
    assert_eq!(header(&response, "x-demo-service"), Some("ws-chat"));
    let welcome = next_json(&mut alice).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["seq"], 0);
    assert_eq!(
        next_json(&mut alice).await,
        json!({"type": "join", "user": "alice", "seq": 1})
    );
    let (mut bob, _) = connect(addr, "/ws/chat/lobby?user=bob", &[]).await;
    let welcome = next_json(&mut bob).await;
    let token = welcome["token"].as_str().unwrap().to_owned();
    assert_eq!(
        welcome,
        json!({"type": "welcome", "user": "bob", "token": token, "seq": 1})
    );
    let join = json!({"type": "join", "user": "bob", "seq": 2});
    assert_eq!(next_json(&mut bob).await, join);
    assert_eq!(next_json(&mut alice).await, join);
    send_json(&mut bob, json!({"text": "hi"})).await;
    let said = json!({"type": "message", "user": "bob", "text": "hi", "seq": 3});
    assert_eq!(next_json(&mut bob).await, said);
    assert_eq!(next_json(&mut alice).await, said);
    bob.send(Message::text("hi")).await.unwrap();
    let error = next_json(&mut bob).await;
    assert_eq!(error["type"], "error", "{error}");
    send_json(&mut bob, json!({"text": 5})).await;
    assert_eq!(
        next_json(&mut bob).await,
        json!({"type": "error", "message": "expected a JSON object with a string `text`"})
    );
    bob.close(None).await.unwrap();
    assert_eq!(
        next_json(&mut alice).await,
        json!({"type": "leave", "user": "bob", "seq": 4})
    );

    let path = format!("/ws/chat/lobby?user=bob&token={token}&after=2");
    let (mut bob, _) = connect(addr, &path, &[]).await;
    assert_eq!(
        next_json(&mut bob).await,
        json!({"type": "welcome", "user": "bob", "token": token, "seq": 4})
    );
    assert_eq!(next_json(&mut bob).await, said);
    assert_eq!(next_json(&mut bob).await["seq"], 4);
    let join = json!({"type": "join", "user": "bob", "seq": 5});
    assert_eq!(next_json(&mut bob).await, join);
    assert_eq!(next_json(&mut alice).await, join);

    let (head, body) = raw_response(
        addr,
        &format!("/ws/chat/lobby?user=alice&token={token}&after=2"),
        &upgrade_headers(""),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert_eq!(body, "unknown resume token\n");
}

#[tokio::test]
async fn chat_closes_a_resume_from_before_the_kept_events() {
    let limits = Limits {
        events: 2,
        ..Limits::default()
    };
    let addr = start_with(chat_state(limits)).await;
    let (mut alice, _) = connect(addr, "/ws/chat/small?user=alice", &[]).await;
    let token = next_json(&mut alice).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        send_json(&mut alice, json!({"text": "x"})).await;
    }
    // join 1, messages 2 to 4: the room keeps 3 and 4.
    for seq in 1..=4 {
        assert_eq!(next_json(&mut alice).await["seq"], seq);
    }
    let (mut late, _) = connect(
        addr,
        &format!("/ws/chat/small?user=alice&token={token}&after=1"),
        &[],
    )
    .await;
    assert_eq!(closed(&mut late).await, close(4410, "too far behind"));
    let (mut fine, _) = connect(
        addr,
        &format!("/ws/chat/small?user=alice&token={token}&after=2"),
        &[],
    )
    .await;
    assert_eq!(next_json(&mut fine).await["type"], "welcome");
    assert_eq!(next_json(&mut fine).await["seq"], 3);
}

#[tokio::test]
async fn chat_closes_a_member_too_slow_to_take_its_events() {
    let limits = Limits {
        queue: 4,
        ..Limits::default()
    };
    let addr = start_with(chat_state(limits)).await;
    // A reader that takes nothing, with a small window so that the server's sends block soon.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = within("the TCP connection", socket.connect(addr))
        .await
        .unwrap();
    let (mut slow, _) = connect_on(tcp, addr, "/ws/chat/busy?user=slow", &[]).await;
    let (talker, _) = connect(addr, "/ws/chat/busy?user=talker", &[]).await;
    let (mut sink, mut stream) = talker.split();
    let text = "y".repeat(1000);
    let writer = tokio::spawn(async move {
        // Bounded: the slow member is closed long before.
        for _ in 0..100_000 {
            let message = Message::text(json!({"text": text}).to_string());
            if sink.send(message).await.is_err() {
                return;
            }
        }
    });
    within("the slow member's leave", async {
        loop {
            let message = stream.next().await.unwrap().unwrap();
            let value: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
            if value["type"] == "leave" {
                assert_eq!(value["user"], "slow");
                return;
            }
        }
    })
    .await;
    writer.abort();
    assert_eq!(
        closed_skipping_messages(&mut slow).await,
        close(1008, "too slow")
    );
}

async fn graphql(addr: SocketAddr) -> Client {
    let protocol = [("sec-websocket-protocol", "graphql-transport-ws")];
    let (client, response) = connect(addr, "/ws/graphql", &protocol).await;
    assert_eq!(
        header(&response, "sec-websocket-protocol"),
        Some("graphql-transport-ws")
    );
    client
}

async fn graphql_acknowledged(addr: SocketAddr) -> Client {
    let mut client = graphql(addr).await;
    send_json(&mut client, json!({"type": "connection_init"})).await;
    assert_eq!(
        next_json(&mut client).await,
        json!({"type": "connection_ack"})
    );
    client
}

#[tokio::test]
async fn graphql_runs_subscriptions_side_by_side() {
    let addr = start().await;
    let mut client = graphql_acknowledged(addr).await;
    send_json(&mut client, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut client).await, json!({"type": "pong"}));
    let countdown = "subscription Count($n: Int!) { countdown(from: $n) }";
    send_json(
        &mut client,
        json!({"id": "a", "type": "subscribe", "payload": {"query": countdown, "variables": {"n": 2}}}),
    )
    .await;
    send_json(
        &mut client,
        json!({"id": "b", "type": "subscribe", "payload": {"query": "query { hello }"}}),
    )
    .await;
    send_json(
        &mut client,
        json!({"id": "c", "type": "subscribe", "payload": {"query": "{ bye }"}}),
    )
    .await;
    let mut by_id: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    let mut finished = 0;
    while finished < 3 {
        let mut message = next_json(&mut client).await;
        let id = message["id"].as_str().unwrap().to_owned();
        if message["type"] != "next" {
            finished += 1;
        }
        message.as_object_mut().unwrap().remove("id");
        by_id.entry(id).or_default().push(message);
    }
    let next = |payload: Value| json!({"type": "next", "payload": payload});
    let complete = json!({"type": "complete"});
    assert_eq!(
        by_id["a"],
        [
            next(json!({"data": {"countdown": 2}})),
            next(json!({"data": {"countdown": 1}})),
            next(json!({"data": {"countdown": 0}})),
            complete.clone(),
        ]
    );
    assert_eq!(
        by_id["b"],
        [next(json!({"data": {"hello": "world"}})), complete]
    );
    assert_eq!(
        by_id["c"],
        [
            json!({"type": "error", "payload": [{"message": "Cannot query field \"bye\" on type \"Query\"."}]})
        ]
    );

    // A client's `complete` ends a subscription: its id is free again at once.
    let long = json!({"id": "x", "type": "subscribe", "payload": {"query": "subscription { countdown(from: 1000) }"}});
    send_json(&mut client, long.clone()).await;
    send_json(&mut client, json!({"id": "x", "type": "complete"})).await;
    send_json(&mut client, long.clone()).await;
    assert_eq!(next_json(&mut client).await["type"], "next");
    send_json(&mut client, long).await;
    assert_eq!(
        closed_skipping_messages(&mut client).await,
        close(4409, "Subscriber for x already exists")
    );
}

#[tokio::test]
async fn graphql_closes_with_the_protocol_codes() {
    let addr = start().await;
    let (mut client, response) = connect(addr, "/ws/graphql", &[]).await;
    assert_eq!(header(&response, "sec-websocket-protocol"), None);
    assert_eq!(
        closed(&mut client).await,
        close(4406, "Subprotocol not acceptable")
    );

    let mut client = graphql(addr).await;
    let hello = json!({"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}});
    send_json(&mut client, hello).await;
    assert_eq!(closed(&mut client).await, close(4401, "Unauthorized"));

    let mut client = graphql_acknowledged(addr).await;
    send_json(&mut client, json!({"type": "connection_init"})).await;
    assert_eq!(
        closed(&mut client).await,
        close(4429, "Too many initialisation requests")
    );

    let mut client = graphql_acknowledged(addr).await;
    send_json(&mut client, json!({"type": "subscribe", "payload": {}})).await;
    assert_eq!(
        closed(&mut client).await,
        close(4400, "Invalid message received: no non-empty string `id`")
    );

    let mut client = graphql(addr).await;
    client.send(Message::text("{")).await.unwrap();
    let frame = closed(&mut client).await.unwrap();
    assert_eq!(u16::from(frame.code), 4400);
    assert!(
        frame
            .reason
            .starts_with("Invalid message received: not JSON"),
        "{frame}"
    );

    let mut client = graphql(addr).await;
    assert_eq!(
        closed(&mut client).await,
        close(4408, "Connection initialisation timeout")
    );
}

#[tokio::test]
async fn jsonrpc_serves_requests_concurrently() {
    let addr = start().await;
    let (mut client, _) = connect(addr, "/ws/jsonrpc", &[]).await;
    let request = |id: u64, method: &str, params: Value| json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
    send_json(&mut client, request(1, "sleep", json!({"ms": 300}))).await;
    send_json(&mut client, request(2, "add", json!([2, 3]))).await;
    assert_eq!(
        next_json(&mut client).await,
        json!({"jsonrpc": "2.0", "result": 5, "id": 2})
    );
    assert_eq!(
        next_json(&mut client).await,
        json!({"jsonrpc": "2.0", "result": "slept 300", "id": 1})
    );
    send_json(&mut client, request(3, "nope", json!([]))).await;
    assert_eq!(
        next_json(&mut client).await,
        json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": 3})
    );
    client.send(Message::text("{")).await.unwrap();
    assert_eq!(
        next_json(&mut client).await,
        json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null})
    );
    send_json(&mut client, json!(7)).await;
    assert_eq!(
        next_json(&mut client).await,
        json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null})
    );
    let notification = json!({"jsonrpc": "2.0", "method": "add", "params": [1, 1]});
    send_json(
        &mut client,
        json!([
            request(4, "echo", json!({"a": 1})),
            notification,
            request(5, "add", json!([1, 0.5]))
        ]),
    )
    .await;
    assert_eq!(
        next_json(&mut client).await,
        json!([
            {"jsonrpc": "2.0", "result": {"a": 1}, "id": 4},
            {"jsonrpc": "2.0", "result": 1.5, "id": 5},
        ])
    );
    send_json(&mut client, request(6, "subscribe", json!({"count": 2}))).await;
    assert_eq!(
        next_json(&mut client).await,
        json!({"jsonrpc": "2.0", "result": "sub-1", "id": 6})
    );
    for n in 1..=2 {
        assert_eq!(
            next_json(&mut client).await,
            json!({"jsonrpc": "2.0", "method": "tick", "params": {"subscription": "sub-1", "n": n}})
        );
    }
}

/// A final unmasked text frame of `payload` (shorter than 126 bytes).
fn text_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x81, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn bad_endpoints_send_the_bytes_they_promise() {
    let addr = start().await;
    let cases: [(&str, &[u8]); 5] = [
        ("/bad/ws/invalid-utf8", &[0x81, 3, 0xFF, 0xFE, 0x41]),
        ("/bad/ws/reserved-opcode", &[0x83, 0]),
        ("/bad/ws/bad-close-code", &[0x88, 2, 0x03, 0xED]),
        (
            "/bad/ws/fragmented-ping",
            &[0x09, 4, b'p', b'i', b'n', b'g'],
        ),
        ("/bad/ws/cut?after=2", &text_frame(br#"{"n":2}"#)),
    ];
    for (path, then) in cases {
        let (head, rest, mut tcp) = raw_get(addr, path, &upgrade_headers("")).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{path}: {head}");
        assert!(
            head.contains(&format!("sec-websocket-accept: {ACCEPT}\r\n")),
            "{head}"
        );
        let mut expected = text_frame(br#"{"n":1}"#);
        expected.extend_from_slice(then);
        // The client's end of the connection, so that the server stops waiting for its close.
        tcp.shutdown().await.unwrap();
        let sent = rest_until_end(rest, &mut tcp).await;
        assert_eq!(sent, expected, "{path}");
    }
}

#[tokio::test]
async fn oversized_announces_its_size_and_streams_zeros() {
    let addr = start().await;
    let (_, rest, mut tcp) =
        raw_get(addr, "/bad/ws/oversized?size=70000", &upgrade_headers("")).await;
    let mut expected = text_frame(br#"{"n":1}"#);
    expected.extend_from_slice(&[0x82, 127]);
    expected.extend_from_slice(&70000u64.to_be_bytes());
    let mut sent = rest;
    while sent.len() < expected.len() + 70000 {
        let mut buf = [0u8; 65536];
        let n = within("the zeros", tcp.read(&mut buf)).await.unwrap();
        assert!(n > 0, "ended after {} bytes", sent.len());
        sent.extend_from_slice(&buf[..n]);
    }
    assert_eq!(sent[..expected.len()], expected[..]);
    assert!(sent[expected.len()..].iter().all(|&b| b == 0));
}

#[tokio::test]
async fn wrong_handshakes_and_silence() {
    let addr = start().await;
    let (head, _, _) = raw_get(addr, "/bad/ws/no-accept", &upgrade_headers("")).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(!head.contains("sec-websocket-accept"), "{head}");
    let (head, _, _) = raw_get(addr, "/bad/ws/wrong-accept", &upgrade_headers("")).await;
    assert!(head.contains("sec-websocket-accept: "), "{head}");
    assert!(!head.contains(ACCEPT), "{head}");
    assert!(
        head.contains("x-demo-service: ws-wrong-accept\r\n"),
        "{head}"
    );

    // Silence cannot be awaited; a short look shows no answer has come yet.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /bad/ws/silent-handshake HTTP/1.1\r\nHost: {addr}\r\n{}\r\n",
        upgrade_headers("")
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await;
    assert!(read.is_err(), "the silent handshake answered: {read:?}");

    let (mut client, _) = connect(addr, "/bad/ws/silent", &[]).await;
    client
        .send(Message::Ping("still there?".into()))
        .await
        .unwrap();
    assert_eq!(
        next(&mut client).await,
        Message::Pong("still there?".into())
    );
}

#[tokio::test]
async fn the_endpoint_list_shows_the_websocket_endpoints() {
    let addr = start().await;
    let (head, body) = raw_response(addr, "/nope", "").await;
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    for path in [
        "/ws/echo",
        "/ws/chat/{room}",
        "/ws/graphql",
        "/ws/jsonrpc",
        "/bad/ws/cut",
    ] {
        assert!(
            body.contains(&format!("GET  {path}")),
            "{path} is not listed:\n{body}"
        );
    }
}
