//! The gRPC client against in-process servers on 127.0.0.1:0: a small `stock.StockService`
//! (one method of each kind, a failing one, a flood), with reflection v1, v1alpha or none, with
//! TLS, plus servers that speak the wrong thing (HTTP/1, raw HTTP/2 with broken frames).
//! Every wait is bounded; nothing sleeps to synchronise.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{Stream, stream};
use prost_reflect::{DescriptorPool, MethodDescriptor};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Code, Request, Response, Status};

use super::*;

mod pb {
    tonic::include_proto!("stock");
}

use pb::stock_service_server::{StockService, StockServiceServer};

const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stock_descriptor.bin"));
const CERT: &str = include_str!("testdata/cert.pem");
const KEY: &str = include_str!("testdata/key.pem");

/// A deadline no test should reach: a wait that gets there has hung.
fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

type Replies<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Tells the test when a response stream is dropped, and whether it had run to its end.
struct DropSignal {
    sender: mpsc::UnboundedSender<bool>,
    finished: bool,
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.sender.send(self.finished);
    }
}

struct TestStock {
    dropped: mpsc::UnboundedSender<bool>,
}

#[tonic::async_trait]
impl StockService for TestStock {
    async fn get_quote(
        &self,
        request: Request<pb::QuoteRequest>,
    ) -> Result<Response<pb::Quote>, Status> {
        let echo = request.metadata().get("x-echo").cloned();
        let echo_bin = request.metadata().get_bin("x-trace-bin").cloned();
        let symbol = request.into_inner().symbol;
        if symbol.is_empty() {
            return Err(Status::invalid_argument("symbol must not be empty"));
        }
        let mut response = Response::new(pb::Quote {
            symbol,
            price: 101.5,
            timestamp: 1_700_000_000_000,
        });
        if let Some(echo) = echo {
            response.metadata_mut().insert("x-echo", echo);
        }
        if let Some(echo) = echo_bin {
            response.metadata_mut().insert_bin("x-trace-bin", echo);
        }
        Ok(response)
    }

    type StreamPricesStream = Replies<pb::PriceUpdate>;

    async fn stream_prices(
        &self,
        request: Request<pb::PriceRequest>,
    ) -> Result<Response<Self::StreamPricesStream>, Status> {
        let request = request.into_inner();
        let symbols = request.symbols;
        let ticks = if request.ticks == 0 { 5 } else { request.ticks };
        let interval = Duration::from_millis(u64::from(request.interval_ms));
        let total = ticks as usize * symbols.len();
        let guard = DropSignal {
            sender: self.dropped.clone(),
            finished: false,
        };
        let updates = stream::unfold((0usize, guard), move |(n, mut guard)| {
            let symbols = symbols.clone();
            async move {
                if n >= total {
                    guard.finished = true;
                    drop(guard);
                    return None;
                }
                if n > 0 && n % symbols.len() == 0 && !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                let tick = (n / symbols.len()) as u32;
                let update = pb::PriceUpdate {
                    symbol: symbols[n % symbols.len()].clone(),
                    tick,
                    price: 100.0 + f64::from(tick),
                    timestamp: 1_700_000_000_000 + i64::from(tick),
                };
                Some((Ok(update), (n + 1, guard)))
            }
        });
        Ok(Response::new(Box::pin(updates)))
    }

    async fn send_orders(
        &self,
        request: Request<tonic::Streaming<pb::Order>>,
    ) -> Result<Response<pb::OrderSummary>, Status> {
        let mut orders = request.into_inner();
        let mut summary = pb::OrderSummary::default();
        while let Some(order) = orders.message().await? {
            summary.orders += 1;
            summary.total_quantity += i64::from(order.quantity);
            summary.total_value += f64::from(order.quantity) * order.price;
            if !summary.symbols.contains(&order.symbol) {
                summary.symbols.push(order.symbol);
            }
        }
        Ok(Response::new(summary))
    }

    type TradeChatStream = Replies<pb::ChatMessage>;

    async fn trade_chat(
        &self,
        request: Request<tonic::Streaming<pb::ChatMessage>>,
    ) -> Result<Response<Self::TradeChatStream>, Status> {
        let mut incoming = request.into_inner();
        // No headers before the first message: a client that waits for them first hangs.
        let first = incoming.message().await?;
        let replies = stream::unfold((first, incoming), |(pending, mut incoming)| async move {
            let message = match pending {
                Some(message) => message,
                None => incoming.message().await.ok().flatten()?,
            };
            let reply = pb::ChatMessage {
                user: "desk".to_string(),
                message: format!("ack: {}", message.message),
                timestamp: message.timestamp + 1,
            };
            Some((Ok(reply), (None, incoming)))
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn fail_with(
        &self,
        request: Request<pb::FailRequest>,
    ) -> Result<Response<pb::Quote>, Status> {
        let request = request.into_inner();
        let code = code_from_name(&request.code).unwrap_or(Code::Unknown);
        let mut status = Status::new(code, request.message);
        status
            .metadata_mut()
            .insert("x-reason", "asked-for".parse().expect("ascii"));
        Err(status)
    }

    type FloodStream = Replies<pb::PriceUpdate>;

    async fn flood(
        &self,
        request: Request<pb::FloodRequest>,
    ) -> Result<Response<Self::FloodStream>, Status> {
        let count = request.into_inner().count;
        let updates = stream::iter((0..count).map(|i| {
            Ok(pb::PriceUpdate {
                symbol: "ACME".to_string(),
                tick: i,
                price: 100.0 + f64::from(i % 100) * 0.25,
                timestamp: 1_700_000_000_000 + i64::from(i),
            })
        }));
        Ok(Response::new(Box::pin(updates)))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Reflection {
    V1,
    V1Alpha,
    None,
}

struct TestServer {
    address: SocketAddr,
    /// Calls the server received (every method, reflection included).
    calls: Arc<AtomicUsize>,
    /// One message per response stream dropped: whether it had finished.
    dropped: mpsc::UnboundedReceiver<bool>,
}

impl TestServer {
    fn target(&self) -> GrpcTarget {
        GrpcTarget {
            url: format!("http://{}", self.address),
            insecure: false,
            authority: None,
        }
    }

    async fn channel(&self) -> GrpcChannel {
        connect(&self.target(), soon()).await.expect("connects")
    }
}

async fn serve(reflection: Reflection) -> TestServer {
    serve_with(reflection, None).await
}

async fn serve_with(reflection: Reflection, tls: Option<ServerTlsConfig>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("has an address");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let (dropped_sender, dropped) = mpsc::unbounded_channel();
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).expect("TLS config");
    }
    let mut router = builder
        .layer(tonic::service::InterceptorLayer::new(
            move |request: Request<()>| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(request)
            },
        ))
        .add_service(StockServiceServer::new(TestStock {
            dropped: dropped_sender,
        }));
    let reflection_builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTORS);
    match reflection {
        Reflection::V1 => {
            router = router.add_service(reflection_builder.build_v1().expect("reflection v1"));
        }
        Reflection::V1Alpha => {
            router = router.add_service(
                reflection_builder
                    .build_v1alpha()
                    .expect("reflection v1alpha"),
            );
        }
        Reflection::None => {}
    }
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    TestServer {
        address,
        calls,
        dropped,
    }
}

fn stock_proto() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto/stock.proto")
}

fn compiled_pool() -> DescriptorPool {
    schema::compile_protos(&[stock_proto()], &[]).expect("stock.proto compiles")
}

fn method(name: &str) -> MethodDescriptor {
    resolve_method(&compiled_pool(), name).expect("method exists")
}

fn message(method: &MethodDescriptor, value: Value) -> prost_reflect::DynamicMessage {
    request_from_json(&method.input(), &value).expect("request fits")
}

/// Reads messages until the end; every read bounded.
async fn read_all(call: &mut Call) -> (Vec<Value>, CallStatus) {
    let mut messages = Vec::new();
    loop {
        match call.next(soon()).await.expect("no transport error") {
            Next::Message { json, .. } => messages.push(json),
            Next::End { status, .. } => return (messages, status),
            Next::TimedOut => panic!("the call hung"),
        }
    }
}

// ---- schema ----

#[tokio::test]
async fn reflection_v1_gives_the_whole_schema() {
    let server = serve(Reflection::V1).await;
    let channel = server.channel().await;
    assert_eq!(
        list_services(&channel, soon()).await.expect("lists"),
        ["stock.StockService"]
    );
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("fetches");
    let method = resolve_method(&pool, "stock.StockService/TradeChat").expect("found");
    assert_eq!(MethodKind::of(&method), MethodKind::Bidi);
    assert_eq!(method.input().full_name(), "stock.ChatMessage");
}

#[tokio::test]
async fn reflection_falls_back_to_v1alpha() {
    let server = serve(Reflection::V1Alpha).await;
    let channel = server.channel().await;
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("fetches");
    assert!(pool.get_service_by_name("stock.StockService").is_some());
}

#[tokio::test]
async fn a_server_without_reflection_is_told_plainly() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let error = schema::fetch_schema(&channel, soon())
        .await
        .expect_err("fails");
    assert!(matches!(error, GrpcError::NoReflection { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the server at http://{} does not offer reflection (neither `grpc.reflection.v1` nor `v1alpha`): give its schema as `.proto` files or as a descriptor set (`protoc --include_imports --descriptor_set_out=…`)",
            server.address
        )
    );
}

#[tokio::test]
async fn the_cache_fetches_a_schema_once_for_concurrent_tests() {
    let server = serve(Reflection::V1).await;
    let channel = server.channel().await;
    let cache = SchemaCache::new();
    let gets: Vec<_> = (0..8)
        .map(|_| {
            let (cache, channel) = (cache.clone(), channel.clone());
            tokio::spawn(async move {
                cache
                    .get(&SchemaSource::Reflection, &channel, soon())
                    .await
                    .map(|pool| pool.services().len())
            })
        })
        .collect();
    for get in gets {
        assert_eq!(get.await.expect("task").expect("schema"), 1);
    }
    assert_eq!(
        server.calls.load(Ordering::SeqCst),
        1,
        "one reflection stream"
    );
    // Files are keyed by their paths, whichever server asks.
    let files = SchemaSource::Files {
        protos: vec![stock_proto()],
        import_paths: vec![],
    };
    let pool = cache.get(&files, &channel, soon()).await.expect("compiles");
    assert!(pool.get_message_by_name("stock.Order").is_some());
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn proto_files_compile_with_or_without_import_paths() {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    let pool = schema::compile_protos(&[stock_proto()], &[proto_dir]).expect("compiles");
    assert!(pool.get_service_by_name("stock.StockService").is_some());
    assert!(
        compiled_pool()
            .get_service_by_name("stock.StockService")
            .is_some()
    );
}

#[test]
fn a_proto_that_does_not_compile_says_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.proto");
    std::fs::write(
        &path,
        "syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing field = 1;\n}\n",
    )
    .expect("writes");
    let error = schema::compile_protos(std::slice::from_ref(&path), &[]).expect_err("fails");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("could not compile `{}`: ", path.display())),
        "{text}"
    );
    assert!(text.contains("broken.proto:4:3: "), "{text}");
    assert!(text.contains("Missing"), "{text}");

    let error = schema::compile_protos(&[dir.path().join("absent.proto")], &[]).expect_err("fails");
    assert!(error.to_string().contains("absent.proto"), "{error}");
}

#[test]
fn descriptor_set_files_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stock.pb");
    std::fs::write(&path, DESCRIPTORS).expect("writes");
    let pool = schema::read_descriptor_set(&path).expect("reads");
    assert!(resolve_method(&pool, "stock.StockService/Flood").is_ok());

    std::fs::write(&path, b"not a descriptor set").expect("writes");
    let error = schema::read_descriptor_set(&path).expect_err("fails");
    assert!(
        error.to_string().starts_with(&format!(
            "`{}` is not a usable descriptor set",
            path.display()
        )),
        "{error}"
    );
    let error = schema::read_descriptor_set(&dir.path().join("absent.pb")).expect_err("fails");
    assert!(
        error
            .to_string()
            .starts_with("could not read the descriptor set"),
        "{error}"
    );
}

/// Two files, one importing the other and a well-known type, compiled into `dir`.
fn write_rich_protos(dir: &std::path::Path) -> PathBuf {
    std::fs::write(
        dir.join("parts.proto"),
        "syntax = \"proto3\";\npackage parts;\nenum Colour { RED = 0; GREEN = 1; }\nmessage Part { string label = 1; Colour colour = 2; }\n",
    )
    .expect("writes");
    let rich = dir.join("rich.proto");
    std::fs::write(
        &rich,
        r#"syntax = "proto3";
package rich;
import "google/protobuf/timestamp.proto";
import "parts.proto";
service Rich { rpc Echo(Everything) returns (Everything); }
message Everything {
  map<string, int64> counts = 1;
  map<int32, parts.Part> parts_by_id = 2;
  bytes blob = 3;
  repeated parts.Colour colours = 4;
  parts.Part part = 5;
  optional string note = 6;
  oneof choice { string name = 7; uint64 id = 8; }
  google.protobuf.Timestamp at = 9;
  float ratio = 10;
  double big = 11;
  uint64 max = 12;
  sint32 negative = 13;
  repeated bool flags = 14;
}
"#,
    )
    .expect("writes");
    rich
}

#[tokio::test]
async fn reflection_fetches_imports_and_falls_back_to_builtin_well_known_types() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rich = write_rich_protos(dir.path());
    let mut compiler = protox::Compiler::new([dir.path()]).expect("compiler");
    compiler.include_imports(true);
    compiler.open_files([&rich]).expect("compiles");
    let mut set = compiler.file_descriptor_set();
    // The server cannot give timestamp.proto: the client takes prost-reflect's own.
    set.file
        .retain(|file| file.name() != "google/protobuf/timestamp.proto");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let reflection = tonic_reflection::server::Builder::configure()
        .register_file_descriptor_set(set)
        .build_v1()
        .expect("reflection");
    tokio::spawn(
        Server::builder()
            .add_service(reflection)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("connects");
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("fetches");
    let method = resolve_method(&pool, "rich.Rich/Echo").expect("found");
    assert_eq!(method.input().full_name(), "rich.Everything");
    assert!(pool.get_message_by_name("parts.Part").is_some());
    assert!(
        pool.get_message_by_name("google.protobuf.Timestamp")
            .is_some()
    );
    let error = request_from_json(&method.input(), &json!({"at": "yesterday"}))
        .expect_err("not a timestamp");
    assert!(error.to_string().starts_with("field `at`: "), "{error}");
}

#[test]
fn the_field_walk_writes_the_same_json_as_serde() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rich = write_rich_protos(dir.path());
    let pool = schema::compile_protos(&[rich], &[]).expect("compiles");
    let everything = pool
        .get_message_by_name("rich.Everything")
        .expect("Everything");
    let full = json!({
        "counts": {"a": 1, "b": "-9007199254740993"},
        "partsById": {"7": {"label": "x", "colour": "GREEN"}, "-1": {}},
        "blob": "aGVsbG8=",
        "colours": ["RED", "GREEN", 7],
        "part": {"label": "p"},
        "note": "",
        "id": "18446744073709551615",
        "at": "2024-01-01T00:00:00.5Z",
        "ratio": "NaN",
        "big": "-Infinity",
        "max": "18446744073709551615",
        "negative": -5,
        "flags": [true, false],
    });
    for value in [
        full,
        json!({}),
        json!({"name": "n", "blob": "YQ==", "ratio": 0.1, "big": 1e300}),
        json!({"blob": "YWI=", "ratio": "Infinity"}),
    ] {
        let message = request_from_json(&everything, &value).expect("fits");
        let walked = message_to_json(&message).expect("writes");
        let serde = json::message_to_json_serde(&message).expect("writes");
        assert_eq!(walked, serde, "for {value}");
    }
    let message = request_from_json(&everything, &json!({"blob": "aGVsbG8="})).expect("fits");
    assert_eq!(
        message_to_json(&message).expect("writes")["blob"],
        "aGVsbG8="
    );
}

// ---- methods ----

#[test]
fn unknown_services_and_methods_get_a_did_you_mean() {
    let pool = compiled_pool();
    let error = resolve_method(&pool, "stock.StockServce/GetQuote").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `stock.StockServce`; did you mean `stock.StockService`?"
    );
    let error = resolve_method(&pool, "StockService/GetQuote").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `StockService`; did you mean `stock.StockService`?"
    );
    let error = resolve_method(&pool, "weather.Forecasts/Get").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown service `weather.Forecasts`; the schema has `stock.StockService`"
    );
    let error = resolve_method(&pool, "stock.StockService/GetQuot").expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "no method `GetQuot` in `stock.StockService`; did you mean `GetQuote`? (its methods: `GetQuote`, `StreamPrices`, `SendOrders`, `TradeChat`, `FailWith`, `Flood`)"
    );
    let error = resolve_method(&pool, "GetQuote").expect_err("bad");
    assert_eq!(
        error.to_string(),
        "`GetQuote` is not a gRPC method: expected `package.Service/Method`"
    );
    assert!(resolve_method(&pool, "/stock.StockService/GetQuote").is_ok());
    assert!(resolve_method(&pool, "stock.StockService.GetQuote").is_ok());
}

#[test]
fn method_kinds() {
    let pool = compiled_pool();
    let kind = |name: &str| MethodKind::of(&resolve_method(&pool, name).expect("exists"));
    assert_eq!(kind("stock.StockService/GetQuote"), MethodKind::Unary);
    assert_eq!(
        kind("stock.StockService/StreamPrices"),
        MethodKind::ServerStreaming
    );
    assert_eq!(
        kind("stock.StockService/SendOrders"),
        MethodKind::ClientStreaming
    );
    assert_eq!(kind("stock.StockService/TradeChat"), MethodKind::Bidi);
    assert!(MethodKind::Bidi.client_streams() && MethodKind::Bidi.server_streams());
}

// ---- JSON ----

#[test]
fn request_json_errors_name_the_field() {
    let pool = compiled_pool();
    let order = pool.get_message_by_name("stock.Order").expect("Order");
    let prices = pool
        .get_message_by_name("stock.PriceRequest")
        .expect("PriceRequest");
    let error = |message: &prost_reflect::MessageDescriptor, value: Value| {
        request_from_json(message, &value)
            .expect_err("fails")
            .to_string()
    };
    assert_eq!(
        error(&order, json!({"quantity": "ten"})),
        "field `quantity`: expected an integer, found \"ten\""
    );
    assert_eq!(
        error(&order, json!({"quantiy": 3})),
        "no field `quantiy` in `stock.Order`; did you mean `quantity`?"
    );
    assert_eq!(
        error(&order, json!({"colour": 3})),
        "no field `colour` in `stock.Order` (its fields: `symbol`, `quantity`, `price`, `side`)"
    );
    assert_eq!(
        error(&order, json!({"side": "SEL"})),
        "field `side`: no value `SEL` in enum `stock.Side`; did you mean `SELL`?"
    );
    assert_eq!(
        error(&order, json!({"quantity": 3_000_000_000u64})),
        "field `quantity`: 3000000000 is out of range for int32"
    );
    assert_eq!(
        error(&order, json!({"price": true})),
        "field `price`: expected a number, found true"
    );
    assert_eq!(
        error(&order, json!([1, 2])),
        "expected an object (a `stock.Order`), found an array"
    );
    assert_eq!(
        error(&prices, json!({"symbols": "ACME"})),
        "field `symbols`: expected an array, found \"ACME\""
    );
    assert_eq!(
        error(&prices, json!({"symbols": ["ACME", 7]})),
        "field `symbols[1]`: expected a string, found 7"
    );
    // Both spellings of a name, numbers as strings, enums by number, null as the default.
    for fits in [
        json!({"interval_ms": 5, "intervalMs": 5}),
        json!({"ticks": "3", "symbols": null}),
    ] {
        request_from_json(&prices, &fits).expect("fits");
    }
    request_from_json(&order, &json!({"side": 1, "quantity": 2.0})).expect("fits");
}

#[test]
fn replies_are_written_with_defaults_and_64_bit_integers_as_strings() {
    let pool = compiled_pool();
    let update = pool
        .get_message_by_name("stock.PriceUpdate")
        .expect("PriceUpdate");
    let empty = prost_reflect::DynamicMessage::new(update.clone());
    assert_eq!(
        message_to_json(&empty).expect("writes"),
        json!({"symbol": "", "tick": 0, "price": 0.0, "timestamp": "0"})
    );
    let summary = pool
        .get_message_by_name("stock.OrderSummary")
        .expect("OrderSummary");
    let value = json!({"orders": 2, "totalQuantity": "9007199254740993", "symbols": ["A"]});
    let message = request_from_json(&summary, &value).expect("fits");
    assert_eq!(
        message_to_json(&message).expect("writes"),
        json!({"orders": 2, "totalQuantity": "9007199254740993", "totalValue": 0.0, "symbols": ["A"]})
    );
}

// ---- calls ----

#[tokio::test]
async fn unary_call_with_metadata() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/GetQuote");
    let mut call = start(
        &channel,
        &method,
        vec![
            ("x-echo".to_string(), "hello".to_string()),
            ("x-trace-bin".to_string(), "AQI=".to_string()),
        ],
        None,
        usize::MAX,
    )
    .expect("starts");
    call.send(message(&method, json!({"symbol": "ACME"})), soon())
        .await
        .expect("sends");
    call.close();
    let head = call.head(soon()).await.expect("head");
    assert_eq!(
        head.get("x-echo").and_then(|v| v.to_str().ok()),
        Some("hello")
    );
    let binary = head.get_bin("x-trace-bin").and_then(|v| v.to_bytes().ok());
    assert_eq!(binary.as_deref(), Some(&[1u8, 2][..]));
    let (messages, status) = read_all(&mut call).await;
    assert_eq!(
        messages,
        [json!({"symbol": "ACME", "price": 101.5, "timestamp": "1700000000000"})]
    );
    assert!(status.is_ok() && !status.local, "{status}");
    assert!(status.trailers.get("grpc-status").is_none());
    // Asking again gives the same end.
    assert!(matches!(call.next(soon()).await, Ok(Next::End { .. })));
}

#[tokio::test]
async fn server_streaming_call() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/StreamPrices");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    call.send(
        message(&method, json!({"symbols": ["A", "B"], "ticks": 3})),
        soon(),
    )
    .await
    .expect("sends");
    call.close();
    let (messages, status) = read_all(&mut call).await;
    let order: Vec<(String, u64)> = messages
        .iter()
        .map(|m| {
            (
                m["symbol"].as_str().unwrap_or("").to_string(),
                m["tick"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(
        order,
        [("A", 0), ("B", 0), ("A", 1), ("B", 1), ("A", 2), ("B", 2)]
            .map(|(s, t)| (s.to_string(), t))
    );
    assert_eq!(
        messages[0],
        json!({"symbol": "A", "tick": 0, "price": 100.0, "timestamp": "1700000000000"})
    );
    assert_eq!(status.code, Code::Ok);
}

#[tokio::test]
async fn client_streaming_call() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/SendOrders");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    for order in [
        json!({"symbol": "A", "quantity": 2, "price": 10.0}),
        json!({"symbol": "B", "quantity": 3, "price": 1.5, "side": "SELL"}),
        json!({"symbol": "A", "quantity": 1, "price": 4.0}),
    ] {
        call.send(message(&method, order), soon())
            .await
            .expect("sends");
    }
    call.close();
    let (messages, status) = read_all(&mut call).await;
    assert_eq!(
        messages,
        [json!({"orders": 3, "totalQuantity": "6", "totalValue": 28.5, "symbols": ["A", "B"]})]
    );
    assert!(status.is_ok());
    let error = call
        .send(message(&method, json!({})), soon())
        .await
        .expect_err("ended");
    assert_eq!(
        error.to_string(),
        "cannot send: the call has already ended (OK)"
    );
}

#[tokio::test]
async fn bidi_call_does_not_wait_for_the_head_to_send() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/TradeChat");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    for (text, reply) in [("hi", "ack: hi"), ("buy", "ack: buy")] {
        call.send(
            message(
                &method,
                json!({"user": "me", "message": text, "timestamp": 5}),
            ),
            soon(),
        )
        .await
        .expect("sends");
        match call.next(soon()).await.expect("reads") {
            Next::Message { json, .. } => {
                assert_eq!(
                    json,
                    json!({"user": "desk", "message": reply, "timestamp": "6"})
                );
            }
            other => panic!("expected a reply, got {other:?}"),
        }
    }
    call.close();
    let error = call
        .send(message(&method, json!({})), soon())
        .await
        .expect_err("closed");
    assert_eq!(
        error.to_string(),
        "cannot send: the request stream was already closed"
    );
    let (messages, status) = read_all(&mut call).await;
    assert!(
        messages.is_empty() && status.is_ok(),
        "{messages:?} {status}"
    );
    let other_type = request_from_json(
        &compiled_pool()
            .get_message_by_name("stock.Order")
            .expect("Order"),
        &json!({}),
    )
    .expect("fits");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    let error = call.send(other_type, soon()).await.expect_err("wrong type");
    assert_eq!(
        error.to_string(),
        "the method takes `stock.ChatMessage` messages, not `stock.Order`"
    );
}

#[tokio::test]
async fn error_statuses_come_with_message_and_trailers() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/FailWith");
    for (code, expected) in [
        ("INVALID_ARGUMENT", Code::InvalidArgument),
        ("NOT_FOUND", Code::NotFound),
        ("UNAVAILABLE", Code::Unavailable),
    ] {
        let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
        call.send(
            message(
                &method,
                json!({"code": code, "message": "no such symbol: ÄCME"}),
            ),
            soon(),
        )
        .await
        .expect("sends");
        call.close();
        // Trailers-only: the head is empty, the status comes from `next`.
        assert!(call.head(soon()).await.expect("head").is_empty());
        let (messages, status) = read_all(&mut call).await;
        assert!(messages.is_empty());
        assert_eq!(status.code, expected);
        assert_eq!(status.code_name(), code);
        assert_eq!(status.message, "no such symbol: ÄCME");
        assert_eq!(status.to_string(), format!("{code}: no such symbol: ÄCME"));
        assert_eq!(
            status
                .trailers
                .get("x-reason")
                .and_then(|v| v.to_str().ok()),
            Some("asked-for")
        );
        assert!(!status.local);
    }
    // A status after messages were read: the unary method's own validation.
    let get_quote =
        resolve_method(&compiled_pool(), "stock.StockService/GetQuote").expect("GetQuote");
    let mut call = start(&channel, &get_quote, vec![], None, usize::MAX).expect("starts");
    call.send(message(&get_quote, json!({})), soon())
        .await
        .expect("sends");
    call.close();
    let (_, status) = read_all(&mut call).await;
    assert_eq!(
        status.to_string(),
        "INVALID_ARGUMENT: symbol must not be empty"
    );
}

#[tokio::test]
async fn cancel_resets_the_stream_on_the_server() {
    let mut server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/StreamPrices");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    call.send(
        message(
            &method,
            json!({"symbols": ["A"], "ticks": 1000, "intervalMs": 60000}),
        ),
        soon(),
    )
    .await
    .expect("sends");
    call.close();
    assert!(matches!(call.next(soon()).await, Ok(Next::Message { .. })));
    // Nothing more for a minute: a short wait times out and the call goes on.
    let short = Instant::now() + Duration::from_millis(50);
    assert!(matches!(call.next(short).await, Ok(Next::TimedOut)));
    call.cancel();
    match call.next(soon()).await.expect("ended") {
        Next::End { status, .. } => {
            assert_eq!(status.code, Code::Cancelled);
            assert!(status.local);
        }
        other => panic!("expected the end, got {other:?}"),
    }
    let finished = tokio::time::timeout(Duration::from_secs(10), server.dropped.recv())
        .await
        .expect("the server saw the cancel in time");
    assert_eq!(finished, Some(false), "the stream was cut, not finished");

    // Dropping a call cancels it too.
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    call.send(
        message(
            &method,
            json!({"symbols": ["A"], "ticks": 1000, "intervalMs": 60000}),
        ),
        soon(),
    )
    .await
    .expect("sends");
    call.close();
    assert!(matches!(call.next(soon()).await, Ok(Next::Message { .. })));
    drop(call);
    let finished = tokio::time::timeout(Duration::from_secs(10), server.dropped.recv())
        .await
        .expect("the server saw the drop in time");
    assert_eq!(finished, Some(false));
}

#[tokio::test]
async fn the_call_deadline_is_sent_and_kept() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let method = method("stock.StockService/StreamPrices");
    let mut call = start(
        &channel,
        &method,
        vec![],
        Some(Duration::from_millis(200)),
        usize::MAX,
    )
    .expect("starts");
    call.send(
        message(
            &method,
            json!({"symbols": ["A"], "ticks": 10, "intervalMs": 60000}),
        ),
        soon(),
    )
    .await
    .expect("sends");
    call.close();
    let started = Instant::now();
    let (messages, status) = read_all(&mut call).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(status.code, Code::DeadlineExceeded, "{status}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

// ---- connections ----

#[tokio::test]
async fn a_refused_connection_names_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let error = connect(&target, soon()).await.err().expect("refused");
    assert_eq!(
        error.to_string(),
        format!("could not connect to {address}: Connection refused")
    );
}

#[tokio::test]
async fn connecting_is_bounded_by_the_deadline() {
    // Accepted by the kernel, never answered: the TLS handshake waits for ever.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let target = GrpcTarget {
        url: format!("https://{address}"),
        insecure: true,
        authority: None,
    };
    let deadline = Instant::now() + Duration::from_millis(200);
    let error = connect(&target, deadline).await.err().expect("times out");
    let text = error.to_string();
    assert!(
        text.starts_with("deadline exceeded after 2")
            && text.ends_with(&format!("ms waiting for the connection to {address}")),
        "{text}"
    );
    drop(listener);
}

/// Calls GetQuote on the server at `address` and returns its first answer.
async fn first_answer(address: SocketAddr) -> Result<Next, GrpcError> {
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("connects");
    let method = method("stock.StockService/GetQuote");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    // The request may or may not get out before the connection fails.
    let _ = call
        .send(message(&method, json!({"symbol": "A"})), soon())
        .await;
    call.close();
    call.next(soon()).await
}

fn failure(answer: Result<Next, GrpcError>) -> String {
    match answer {
        Err(error) => error.to_string(),
        Ok(next) => panic!("expected an error, got {next:?}"),
    }
}

#[tokio::test]
async fn an_http1_server_is_recognised() {
    // What an HTTP/1-only server says to the HTTP/2 preface. (axum is no use here: it detects
    // the preface and speaks HTTP/2, see the next test.)
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = vec![0u8; 65536];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                // A lingering close, as nginx does: read what else comes until the client
                // goes, so that it gets the answer rather than a reset.
                let _ = socket.shutdown().await;
                let _ = tokio::time::timeout(Duration::from_secs(10), async {
                    while socket.read(&mut request).await.is_ok_and(|read| read > 0) {}
                })
                .await;
            });
        }
    });
    assert_eq!(
        failure(first_answer(address).await),
        format!(
            "the server at {address} speaks HTTP/1, not gRPC (HTTP/2): it answered `HTTP/1.1 400 Bad Request`"
        )
    );
}

#[tokio::test]
async fn an_http2_server_without_grpc_is_recognised() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(
        failure(first_answer(address).await),
        format!(
            "the server at {address} does not speak gRPC: it answered without a content-type (grpc-status header missing, mapped from HTTP status code 404)"
        )
    );
}

/// An HTTP/2 server that answers every request with gRPC headers and then `body` as is.
async fn raw_h2_server(body: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((_, mut respond))) = connection.accept().await {
                    let response = tonic::codegen::http::Response::builder()
                        .status(200)
                        .header("content-type", "application/grpc")
                        .body(())
                        .expect("a response");
                    if let Ok(mut send) = respond.send_response(response, false) {
                        let _ = send.send_data(bytes::Bytes::from_static(body), true);
                    }
                }
            });
        }
    });
    address
}

#[tokio::test]
async fn malformed_frames_are_reported_as_such() {
    // A 5-byte message announced, 2 bytes sent, then the end.
    let address = raw_h2_server(&[0, 0, 0, 0, 5, 0x0a, 0x01]).await;
    assert_eq!(
        failure(first_answer(address).await),
        "a malformed gRPC frame: Unexpected EOF decoding stream."
    );
    // A compression flag that does not exist.
    let address = raw_h2_server(&[7, 0, 0, 0, 0]).await;
    let error = failure(first_answer(address).await);
    assert!(
        error.starts_with("a malformed gRPC frame: protocol error: received message with invalid compression flag: 7"),
        "{error}"
    );
    // A whole frame whose bytes are not a `stock.Quote`.
    let address = raw_h2_server(&[0, 0, 0, 0, 2, 0x0a, 0x05]).await;
    let error = failure(first_answer(address).await);
    assert!(
        error.starts_with("a malformed gRPC frame: the message is not a valid `stock.Quote`: "),
        "{error}"
    );
}

#[tokio::test]
async fn tls_with_and_without_verification() {
    let tls = ServerTlsConfig::new().identity(Identity::from_pem(CERT, KEY));
    let server = serve_with(Reflection::V1, Some(tls)).await;
    let address = server.address;
    let mut target = GrpcTarget {
        url: format!("https://{address}"),
        insecure: true,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("insecure connects");
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("reflection over TLS");
    assert!(pool.get_service_by_name("stock.StockService").is_some());

    // The same certificate, verified: it is self-signed.
    target.insecure = false;
    let error = connect(&target, soon()).await.err().expect("not trusted");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "the TLS handshake with {address} failed: the server's certificate was not accepted: it is not signed by an authority this machine trusts (self-signed?); to skip verification, mark the target insecure"
        )),
        "{text}"
    );

    // Plain HTTP/2 to the TLS server.
    target.url = format!("http://{address}");
    let channel = connect(&target, soon()).await.expect("TCP connects");
    let error = list_services(&channel, soon()).await.expect_err("fails");
    // The TLS server may answer with an alert or hang up at once.
    assert!(
        matches!(
            error,
            GrpcError::SpeaksTls { .. } | GrpcError::Silent { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("`https://`"), "{error}");
}

#[tokio::test]
async fn tls_to_a_plain_server_is_told_plainly() {
    let server = serve(Reflection::V1).await;
    let target = GrpcTarget {
        url: format!("https://{}", server.address),
        insecure: true,
        authority: None,
    };
    let error = connect(&target, soon()).await.err().expect("fails");
    assert!(
        matches!(error, GrpcError::NotTls { .. } | GrpcError::Tls { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("should the URL be `http://`?"),
        "{error}"
    );
}

// ---- throughput ----

/// `cargo test --release --lib grpc::tests::throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand in release"]
async fn throughput() {
    const COUNT: u32 = 1_000_000;
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let flood = method("stock.StockService/Flood");

    let far = Instant::now() + Duration::from_secs(600);
    let started = Instant::now();
    let mut call = start(&channel, &flood, vec![], None, usize::MAX).expect("starts");
    call.send(message(&flood, json!({"count": COUNT})), far)
        .await
        .expect("sends");
    call.close();
    let mut received = 0u32;
    loop {
        match call.next(far).await.expect("reads") {
            Next::Message { json, .. } => {
                received += 1;
                std::hint::black_box(json);
            }
            Next::End { status, .. } => {
                assert!(status.is_ok());
                break;
            }
            Next::TimedOut => panic!("timed out"),
        }
    }
    let dynamic = started.elapsed();
    assert_eq!(received, COUNT);

    let plain = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    let started = Instant::now();
    let mut grpc = tonic::client::Grpc::new(plain);
    grpc.ready().await.expect("ready");
    let response = grpc
        .server_streaming(
            Request::new(pb::FloodRequest { count: COUNT }),
            tonic::codegen::http::uri::PathAndQuery::from_static("/stock.StockService/Flood"),
            tonic_prost::ProstCodec::<pb::FloodRequest, pb::PriceUpdate>::default(),
        )
        .await
        .expect("answers");
    let mut updates = response.into_inner();
    let mut received = 0u32;
    while let Some(update) = updates.message().await.expect("reads") {
        received += 1;
        std::hint::black_box(update);
    }
    let generated = started.elapsed();
    assert_eq!(received, COUNT);

    // The JSON step alone, both ways, on one decoded update.
    let update = prost::Message::encode_to_vec(&pb::PriceUpdate {
        symbol: "ACME".to_string(),
        tick: 7,
        price: 101.25,
        timestamp: 1_700_000_000_007,
    });
    let output = flood.output();
    let convert = |to_json: fn(&prost_reflect::DynamicMessage) -> Result<Value, GrpcError>| {
        let started = Instant::now();
        for _ in 0..COUNT {
            let message = prost_reflect::DynamicMessage::decode(output.clone(), update.as_slice())
                .expect("decodes");
            std::hint::black_box(to_json(&message).expect("writes"));
        }
        started.elapsed()
    };
    let walked = convert(message_to_json);
    let serde = convert(json::message_to_json_serde);

    let rate = |elapsed: Duration| f64::from(COUNT) / elapsed.as_secs_f64();
    println!(
        "decode + JSON alone: field walk {:.0} msg/s, serde {:.0} msg/s",
        rate(walked),
        rate(serde)
    );
    println!(
        "Call::next → JSON: {:.0} msg/s ({:?}); generated prost: {:.0} msg/s ({:?}); ratio {:.2}",
        rate(dynamic),
        dynamic,
        rate(generated),
        generated,
        rate(dynamic) / rate(generated)
    );
}
