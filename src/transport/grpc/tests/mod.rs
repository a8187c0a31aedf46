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

mod calls;
mod connections;
mod deadlines;
mod json_mapping;
mod methods;
mod pruning;
mod schemas;
mod throughput;

use crate::demo::grpc::pb;

use pb::stock_service_server::{StockService, StockServiceServer};

const DESCRIPTORS: &[u8] = pb::FILE_DESCRIPTOR_SET;
const CERT: &str = include_str!("../testdata/cert.pem");
const KEY: &str = include_str!("../testdata/key.pem");

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

/// The schema a call loads through reflection from the server behind `channel`, for `service`.
async fn reflected(channel: &GrpcChannel, service: &str) -> Result<Arc<Schema>, GrpcError> {
    let source = SchemaSource::Reflection;
    load_schema(&source, channel, soon(), service, usize::MAX)
        .await
        .map(Arc::new)
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
