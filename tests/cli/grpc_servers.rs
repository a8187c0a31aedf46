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

/// Answers every call with response headers carrying `entries` metadata entries
/// `x-m0: vvvvvvvvvv` to `x-m{entries - 1}` (about 47 bytes each as HTTP/2 counts a header list),
/// then one empty reply, then trailers with `grpc-status: 0` and as many entries `x-t0` to
/// `x-t{entries - 1}`.
pub fn large_response_head(entries: usize) -> String {
    raw_h2(move |request, mut respond| async move {
        read_to_end(&mut request.into_body()).await;
        let with_entries = |headers: &mut HeaderMap, prefix: &str| {
            for n in 0..entries {
                let name = axum::http::HeaderName::try_from(format!("{prefix}{n}"))
                    .expect("a header name");
                headers.insert(name, "vvvvvvvvvv".parse().expect("a header value"));
            }
        };
        let mut head = grpc_head();
        with_entries(head.headers_mut(), "x-m");
        let Ok(mut send) = respond.send_response(head, false) else {
            return;
        };
        let _ = send.send_data(grpc_frame(&[]).freeze(), false);
        let mut trailers = status_trailers("0");
        with_entries(&mut trailers, "x-t");
        let _ = send.send_trailers(trailers);
    })
}

/// How a [`status_fields`] server sends its status.
#[derive(Clone, Copy)]
pub enum StatusIn {
    /// In trailers, after the response headers and one empty reply.
    Trailers,
    /// In the response headers, which end the stream (a trailers-only answer).
    HeadersOnly,
}

/// Answers every call with a status made of `fields` (names and raw values, sent as they are,
/// however malformed), in trailers or alone in the response headers.
pub fn status_fields(fields: Vec<(&'static str, Vec<u8>)>, status_in: StatusIn) -> String {
    raw_h2(move |request, mut respond| {
        let fields = fields.clone();
        async move {
            read_to_end(&mut request.into_body()).await;
            let mut status = HeaderMap::new();
            for (name, value) in fields {
                status.append(
                    name,
                    axum::http::HeaderValue::from_bytes(&value).expect("a header value h2 sends"),
                );
            }
            match status_in {
                StatusIn::Trailers => {
                    let Ok(mut send) = respond.send_response(grpc_head(), false) else {
                        return;
                    };
                    let _ = send.send_data(grpc_frame(&[]).freeze(), false);
                    let _ = send.send_trailers(status);
                }
                StatusIn::HeadersOnly => {
                    let mut head = grpc_head();
                    head.headers_mut().extend(status);
                    let _ = respond.send_response(head, true);
                }
            }
        }
    })
}

/// `floats.proto` of [`floats`]: a sensor whose readings are `float`s.
pub const FLOATS_PROTO: &str = "syntax = \"proto3\";
package floats;
service Sensor { rpc Read(Empty) returns (Reading); }
message Empty {}
message Reading { float celsius = 1; repeated float history = 2; }
";

/// Answers every call with a `floats.Reading` of 0.1 °C, and a history of 0.3 and 1.5, as
/// `float`s (f32).
pub fn floats() -> String {
    raw_h2(|request, mut respond| async move {
        read_to_end(&mut request.into_body()).await;
        let mut reading = vec![0x0d]; // field 1, 32-bit
        reading.extend(0.1f32.to_le_bytes());
        reading.extend([0x12, 8]); // field 2, packed, 8 bytes
        reading.extend(0.3f32.to_le_bytes());
        reading.extend(1.5f32.to_le_bytes());
        let Ok(mut send) = respond.send_response(grpc_head(), false) else {
            return;
        };
        let _ = send.send_data(grpc_frame(&reading).freeze(), false);
        let _ = send.send_trailers(status_trailers("0"));
    })
}

/// `anys.proto` of [`any_reply`]: an envelope whose payload is an `Any`, and a type that only an
/// `Any` holds.
pub const ANYS_PROTO: &str = "syntax = \"proto3\";
package anys;
import \"google/protobuf/any.proto\";
service Anys { rpc Open(Detail) returns (Envelope); }
message Envelope { google.protobuf.Any payload = 1; }
message Detail { string note = 1; }
message Inner { string where = 1; }
message Elsewhere { Inner inner = 1; }
";

/// Answers every call with an `anys.Envelope` whose payload is an `anys.Elsewhere` (a type the
/// method does not reach but through the `Any`) whose inner `where` is `here`.
pub fn any_reply() -> String {
    const TYPE_URL: &[u8] = b"type.googleapis.com/anys.Elsewhere";
    raw_h2(|request, mut respond| async move {
        read_to_end(&mut request.into_body()).await;
        let inner = [&[0x0a, 4][..], b"here"].concat(); // Inner { where: "here" }
        let elsewhere = [&[0x0a, inner.len() as u8][..], &inner].concat();
        let any = [
            &[0x0a, TYPE_URL.len() as u8][..],
            TYPE_URL,
            &[0x12, elsewhere.len() as u8],
            &elsewhere,
        ]
        .concat();
        let envelope = [&[0x0a, any.len() as u8][..], &any].concat();
        let Ok(mut send) = respond.send_response(grpc_head(), false) else {
            return;
        };
        let _ = send.send_data(grpc_frame(&envelope).freeze(), false);
        let _ = send.send_trailers(status_trailers("0"));
    })
}

/// `ledger.proto` of [`ledger`]: an account whose numbers are 64-bit integers of every kind
/// (which the proto3 JSON mapping writes as strings), beside a string of digits, and a field
/// whose `.proto` name (`original_request`) is not its JSON name (`originalRequest`).
pub const LEDGER_PROTO: &str = "syntax = \"proto3\";
package ledger;
import \"google/protobuf/wrappers.proto\";
service Ledger { rpc Balance(Empty) returns (Account); }
message Empty {}
message Account {
  int64 balance = 1;
  uint64 serial = 2;
  string code = 3;
  repeated sint64 moves = 4;
  Entry original_request = 5;
  map<string, sfixed64> limits = 6;
  google.protobuf.Int64Value overdraft = 7;
}
message Entry { fixed64 amount = 1; int32 count = 2; }
";

/// Answers every call with one `ledger.Account`: balance -42, serial 2^53 + 1, code "42",
/// moves [-1, 2], original request { amount: 2^64 - 1, count: 3 }, limits { daily: -5 },
/// overdraft -100.
pub fn ledger() -> String {
    use prost::encoding::{self, WireType};
    fn nested(tag: u32, message: &[u8], buf: &mut Vec<u8>) {
        encoding::encode_key(tag, WireType::LengthDelimited, buf);
        encoding::encode_varint(message.len() as u64, buf);
        buf.extend_from_slice(message);
    }
    let mut account = Vec::new();
    encoding::int64::encode(1, &-42, &mut account);
    encoding::uint64::encode(2, &9_007_199_254_740_993, &mut account);
    encoding::string::encode(3, &"42".to_string(), &mut account);
    encoding::sint64::encode_packed(4, &[-1, 2], &mut account);
    let mut entry = Vec::new();
    encoding::fixed64::encode(1, &u64::MAX, &mut entry);
    encoding::int32::encode(2, &3, &mut entry);
    nested(5, &entry, &mut account);
    let mut limit = Vec::new();
    encoding::string::encode(1, &"daily".to_string(), &mut limit);
    encoding::sfixed64::encode(2, &-5, &mut limit);
    nested(6, &limit, &mut account);
    let mut overdraft = Vec::new();
    encoding::int64::encode(1, &-100, &mut overdraft);
    nested(7, &overdraft, &mut account);
    let reply = Bytes::from(account);
    raw_h2(move |request, mut respond| {
        let reply = reply.clone();
        async move {
            read_to_end(&mut request.into_body()).await;
            let Ok(mut send) = respond.send_response(grpc_head(), false) else {
                return;
            };
            let _ = send.send_data(grpc_frame(&reply).freeze(), false);
            let _ = send.send_trailers(status_trailers("0"));
        }
    })
}

/// A gRPC server whose one service is reflection (v1), whose reflection data is broken: it
/// also lists `broken.Broken`, whose file imports `missing.proto`, which it cannot give.
pub fn broken_reflection() -> String {
    use prost::Message;
    use prost_reflect::prost_types::{
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };
    let broken = FileDescriptorSet {
        file: vec![FileDescriptorProto {
            name: Some("broken.proto".to_string()),
            package: Some("broken".to_string()),
            dependency: vec!["missing.proto".to_string()],
            service: vec![ServiceDescriptorProto {
                name: Some("Broken".to_string()),
                method: vec![MethodDescriptorProto {
                    name: Some("Ping".to_string()),
                    input_type: Some(".missing.Thing".to_string()),
                    output_type: Some(".missing.Thing".to_string()),
                    ..MethodDescriptorProto::default()
                }],
                ..ServiceDescriptorProto::default()
            }],
            syntax: Some("proto3".to_string()),
            ..FileDescriptorProto::default()
        }],
    }
    .encode_to_vec();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(&broken)
        .build_v1()
        .expect("a reflection service");
    let (listener, url) = servers::bind();
    servers::runtime().spawn(
        tonic::transport::Server::builder()
            .add_service(reflection)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    url
}

/// A gRPC server whose one service is reflection (v1), describing `big.Big` as
/// [`large_descriptor_set`] does. `big.Big/Get` itself is not served: calls to it end
/// UNIMPLEMENTED.
pub fn large_reflection(size: usize) -> String {
    let set: &'static [u8] = Box::leak(large_descriptor_set(size).into_boxed_slice());
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(set)
        .build_v1()
        .expect("a reflection service");
    let (listener, url) = servers::bind();
    servers::runtime().spawn(
        tonic::transport::Server::builder()
            .add_service(reflection)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    url
}

/// A descriptor set of one file of about `size` bytes, `big.proto`: the service `big.Big` and
/// messages of twenty fields each.
pub fn large_descriptor_set(size: usize) -> Vec<u8> {
    use prost::Message;
    use prost_reflect::prost_types::field_descriptor_proto::{Label, Type};
    use prost_reflect::prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
        MethodDescriptorProto, ServiceDescriptorProto,
    };
    let message = |index: usize| DescriptorProto {
        name: Some(format!("Message{index}")),
        field: (1..=20)
            .map(|number: i32| FieldDescriptorProto {
                name: Some(format!("a_rather_long_field_name_{number}")),
                number: Some(number),
                label: Some(Label::Optional as i32),
                r#type: Some(if number % 2 == 0 {
                    Type::String
                } else {
                    Type::Int64
                } as i32),
                json_name: Some(format!("aRatherLongFieldName{number}")),
                ..FieldDescriptorProto::default()
            })
            .collect(),
        ..DescriptorProto::default()
    };
    // Each message takes about as much room as the first (and its tag and length).
    let count = size / (message(0).encoded_len() + 3) + 2;
    let file = FileDescriptorProto {
        name: Some("big.proto".to_string()),
        package: Some("big".to_string()),
        syntax: Some("proto3".to_string()),
        service: vec![ServiceDescriptorProto {
            name: Some("Big".to_string()),
            method: vec![MethodDescriptorProto {
                name: Some("Get".to_string()),
                input_type: Some(".big.Message0".to_string()),
                output_type: Some(".big.Message1".to_string()),
                ..MethodDescriptorProto::default()
            }],
            ..ServiceDescriptorProto::default()
        }],
        message_type: (0..count).map(message).collect(),
        ..FileDescriptorProto::default()
    };
    FileDescriptorSet { file: vec![file] }.encode_to_vec()
}

/// A TCP server that accepts connections and reads them, and never writes a byte.
pub fn never_answers() -> String {
    let (listener, url) = servers::bind();
    servers::runtime().spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buffer = [0u8; 4096];
                let read = async { while socket.read(&mut buffer).await.is_ok_and(|n| n > 0) {} };
                let _ = tokio::time::timeout(PATIENCE, read).await;
            });
        }
    });
    url
}

/// An HTTP/2 server that takes every call, reads its request, and never answers it.
pub fn never_answers_h2() -> String {
    raw_h2(|request, respond| async move {
        read_to_end(&mut request.into_body()).await;
        // Held, so that the stream stays open until the client gives up on it.
        let _ = tokio::time::timeout(PATIENCE, async {
            let mut respond = respond;
            std::future::poll_fn(|cx| respond.poll_reset(cx)).await
        })
        .await;
    })
}

/// An HTTP/2 server that answers each request message with an empty reply and, once the
/// call's `grpc-timeout` has passed, resets it with CANCEL (as a server keeping deadlines may).
pub fn resets_at_the_deadline() -> String {
    raw_h2(|request, mut respond| async move {
        let timeout = grpc_timeout(&request).unwrap_or(PATIENCE);
        let mut body = request.into_body();
        let Ok(mut send) = respond.send_response(grpc_head(), false) else {
            return;
        };
        let replies = async {
            while let Some(Ok(chunk)) = body.data().await {
                let _ = body.flow_control().release_capacity(chunk.len());
                let _ = send.send_data(grpc_frame(&[]).freeze(), false);
            }
        };
        let _ = tokio::time::timeout(timeout, replies).await;
        send.send_reset(h2::Reason::CANCEL);
    })
}

/// The `grpc-timeout` of a request, as the gRPC spec writes it (`100m`, `50000u`).
fn grpc_timeout(request: &Request<RecvStream>) -> Option<Duration> {
    let value = request.headers().get("grpc-timeout")?.to_str().ok()?;
    let (number, unit) = value.split_at(value.len().checked_sub(1)?);
    let number: u64 = number.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(number * 3600),
        "M" => Duration::from_secs(number * 60),
        "S" => Duration::from_secs(number),
        "m" => Duration::from_millis(number),
        "u" => Duration::from_micros(number),
        "n" => Duration::from_nanos(number),
        _ => return None,
    })
}

/// What a [`frame_log`] server saw on the wire, in order: the client's `HEADERS`, `DATA(N bytes)`
/// (once for a run of data frames with a payload, with the bytes of the run), `END_STREAM` and
/// `RST_STREAM(REASON)` frames, read from the bytes as they arrive (before h2 sees them: h2
/// never hands over a stream reset before it is accepted), then `answered OK` when the server
/// completed a call, or `connection closed`.
pub struct FrameLog {
    /// Each event with the connection it came on (in the order the server accepted them).
    events: mpsc::Receiver<(usize, String)>,
}

impl FrameLog {
    /// The events of the first connection, up to the first that ends its call (see
    /// [`FrameLog::calls`]).
    pub fn first_call(&self) -> Vec<String> {
        self.calls(1).remove(0)
    }

    /// The events of `count` connections (one call each), each up to the first that ends its
    /// call on the wire (a reset, the server's answer, or the connection closing); fails the
    /// test if that takes too long.
    pub fn calls(&self, count: usize) -> Vec<Vec<String>> {
        let mut seen: Vec<Vec<String>> = vec![Vec::new(); count];
        let mut ended = vec![false; count];
        while ended.iter().any(|ended| !ended) {
            match self.events.recv_timeout(PATIENCE) {
                Ok((connection, event)) if connection < count && !ended[connection] => {
                    ended[connection] = event.starts_with("RST_STREAM")
                        || event.starts_with("answered")
                        || event.starts_with("connection");
                    seen[connection].push(event);
                }
                Ok(_) => {}
                Err(_) => panic!("the calls did not end on the wire; the server saw {seen:?}"),
            }
        }
        seen
    }
}

/// A server that logs the frames each call puts on the wire (see [`FrameLog`]). It answers
/// with its response headers once the first request message has come (with
/// `x-first-message: received`, so that a spec can wait for them), and when the request stream
/// ends it completes the call: `grpc-status: 0`.
pub fn frame_log() -> (String, FrameLog) {
    logged_h2(complete_after_the_request)
}

/// A [`frame_log`] server that never reads a request: it answers with its response headers at
/// once and holds the call, so the client may write what the initial flow-control windows let
/// it (65,535 bytes) and no more.
pub fn frame_log_not_reading() -> (String, FrameLog) {
    logged_h2(|request, mut respond, _log| async move {
        let Ok(mut send) = respond.send_response(grpc_head(), false) else {
            return;
        };
        // Held unread until the client resets the call.
        let _body = request.into_body();
        let reset = std::future::poll_fn(|cx| send.poll_reset(cx));
        let _ = tokio::time::timeout(PATIENCE, reset).await;
    })
}

/// Serves every HTTP/2 request with `handle` (each in a task of its own), logging the frames
/// the client sends (see [`FrameLog`]).
fn logged_h2<F, Fut>(handle: F) -> (String, FrameLog)
where
    F: Fn(Request<RecvStream>, SendResponse<Bytes>, Log) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (log, events) = mpsc::channel();
    let (listener, url) = servers::bind();
    servers::runtime().spawn(async move {
        let mut connections = 0;
        while let Ok((socket, _)) = listener.accept().await {
            let log = Log {
                sender: log.clone(),
                connection: connections,
            };
            connections += 1;
            let handle = handle.clone();
            tokio::spawn(async move {
                let tap = Tap {
                    socket,
                    frames: FrameReader::default(),
                    log: log.clone(),
                };
                let Ok(mut connection) = h2::server::handshake(tap).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = connection.accept().await {
                    tokio::spawn(handle.clone()(request, respond, log.clone()));
                }
                // h2 stops reading once the client says goodbye (GOAWAY).
                log.event("connection closed");
            });
        }
    });
    (url, FrameLog { events })
}

/// Answers with headers after the first request message, and `grpc-status: 0` after the end
/// of the request stream.
async fn complete_after_the_request(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    log: Log,
) {
    let mut body = request.into_body();
    let mut answering = None;
    loop {
        match tokio::time::timeout(PATIENCE, body.data()).await {
            Ok(Some(Ok(chunk))) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                if answering.is_none() {
                    let mut head = grpc_head();
                    head.headers_mut()
                        .insert("x-first-message", "received".parse().expect("a value"));
                    answering = respond.send_response(head, false).ok();
                }
            }
            Ok(None) => {
                let send = match answering.take() {
                    Some(send) => Some(send),
                    None => respond.send_response(grpc_head(), false).ok(),
                };
                if let Some(mut send) = send
                    && send.send_trailers(status_trailers("0")).is_ok()
                {
                    log.event("answered OK");
                }
                return;
            }
            // A reset or a closed connection: the tap has logged it.
            Ok(Some(Err(_))) | Err(_) => return,
        }
    }
}

/// Where a connection's events go.
#[derive(Clone)]
struct Log {
    sender: mpsc::Sender<(usize, String)>,
    connection: usize,
}

impl Log {
    fn event(&self, event: impl Into<String>) {
        let _ = self.sender.send((self.connection, event.into()));
    }
}

/// The server's side of a connection, logging the frames the client sends.
struct Tap {
    socket: tokio::net::TcpStream,
    frames: FrameReader,
    log: Log,
}

impl tokio::io::AsyncRead for Tap {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = std::pin::Pin::new(&mut this.socket).poll_read(cx, buf);
        if let std::task::Poll::Ready(read) = &result {
            let bytes = &buf.filled()[before..];
            if read.is_err() || bytes.is_empty() {
                let log = &this.log;
                this.frames.end_data_run(|event| log.event(event));
                log.event("connection closed");
            } else {
                let log = &this.log;
                this.frames.read(bytes, |event| log.event(event));
            }
        }
        result
    }
}

impl tokio::io::AsyncWrite for Tap {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

/// The frames in the bytes a client sends (after its 24-byte preface), as log events.
#[derive(Default)]
struct FrameReader {
    preface_skipped: usize,
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come (RST_STREAM's are kept).
    payload_left: usize,
    rst_payload: Option<Vec<u8>>,
    /// The payload bytes of the run of DATA frames under way, if one is.
    data_run: Option<usize>,
}

impl FrameReader {
    const PREFACE: usize = 24;

    fn read(&mut self, mut bytes: &[u8], mut log: impl FnMut(String)) {
        while !bytes.is_empty() {
            if self.preface_skipped < Self::PREFACE {
                let skip = (Self::PREFACE - self.preface_skipped).min(bytes.len());
                self.preface_skipped += skip;
                bytes = &bytes[skip..];
            } else if self.payload_left > 0 {
                let take = self.payload_left.min(bytes.len());
                if let Some(payload) = &mut self.rst_payload {
                    payload.extend_from_slice(&bytes[..take]);
                }
                self.payload_left -= take;
                bytes = &bytes[take..];
                if self.payload_left == 0
                    && let Some(payload) = self.rst_payload.take()
                {
                    log(format!("RST_STREAM({})", error_code_name(&payload)));
                }
            } else {
                let take = (9 - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if self.header.len() == 9 {
                    let header = std::mem::take(&mut self.header);
                    let length = usize::from(header[0]) << 16
                        | usize::from(header[1]) << 8
                        | usize::from(header[2]);
                    self.payload_left = length;
                    self.frame(header[3], header[4], length, &mut log);
                }
            }
        }
    }

    /// A frame's header has been read: log what matters of it. A run of DATA frames is logged
    /// once it ends (at the next HEADERS, END_STREAM or RST_STREAM, or when the connection
    /// closes), with its bytes; frames of the connection (stream 0) do not end it.
    fn frame(&mut self, kind: u8, flags: u8, length: usize, log: &mut impl FnMut(String)) {
        let end_stream = flags & 0x1 != 0;
        match kind {
            0x0 => {
                if length > 0 {
                    *self.data_run.get_or_insert(0) += length;
                }
                if end_stream {
                    self.end_data_run(&mut *log);
                    log("END_STREAM".to_string());
                }
            }
            0x1 => {
                self.end_data_run(&mut *log);
                log("HEADERS".to_string());
                if end_stream {
                    log("END_STREAM".to_string());
                }
            }
            0x3 => {
                self.end_data_run(&mut *log);
                self.rst_payload = Some(Vec::with_capacity(4));
            }
            _ => {}
        }
    }

    /// Logs the run of DATA frames under way, if there is one.
    fn end_data_run(&mut self, mut log: impl FnMut(String)) {
        if let Some(bytes) = self.data_run.take() {
            log(format!("DATA({bytes} bytes)"));
        }
    }
}

/// An HTTP/2 error code by its name (RFC 9113 §7).
fn error_code_name(payload: &[u8]) -> String {
    let code = payload
        .try_into()
        .map(u32::from_be_bytes)
        .unwrap_or(u32::MAX);
    match code {
        0x0 => "NO_ERROR".to_string(),
        0x1 => "PROTOCOL_ERROR".to_string(),
        0x2 => "INTERNAL_ERROR".to_string(),
        0x8 => "CANCEL".to_string(),
        other => format!("error code {other:#x}"),
    }
}
