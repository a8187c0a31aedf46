//! End-to-end tests of the gRPC demo: each serves a fresh `grpc_router()` (with its own call
//! counter) on `127.0.0.1:0` in-process and calls it with tonic's generated client over h2c.

use std::future::Future;
use std::time::{Duration, Instant};

use prost::Message;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};

use super::market::{MAX_PRICE, MIN_PRICE, unix_millis};
use super::pb::stock_service_client::StockServiceClient;
use super::pb::{
    ChatMessage, FailRequest, FloodRequest, Order, OrderSummary, PriceRequest, PriceUpdate,
    QuoteRequest,
};

/// No test waits longer than this for anything.
const LIMIT: Duration = Duration::from_secs(5);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Serves a fresh router and returns a channel to it.
async fn start() -> Channel {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(super::serve_grpc(listener));
    within(
        "the connection",
        Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect(),
    )
    .await
    .expect("connect to the demo")
}

async fn client() -> StockServiceClient<Channel> {
    StockServiceClient::new(start().await)
}

fn text<'a>(metadata: &'a MetadataMap, key: &str) -> Option<&'a str> {
    metadata.get(key).map(|value| value.to_str().unwrap())
}

fn assert_status(status: &Status, code: Code, message: &str) {
    assert_eq!(
        (status.code(), status.message()),
        (code, message),
        "{status:?}"
    );
}

fn assert_recent(timestamp: i64) {
    let now = unix_millis();
    assert!(
        (now - 60_000..=now).contains(&timestamp),
        "timestamp {timestamp} is not within the last minute of {now}"
    );
}

/// Every message of a server stream, then its trailers.
async fn drain<T>(mut stream: Streaming<T>) -> (Vec<T>, MetadataMap) {
    let mut messages = Vec::new();
    while let Some(message) = within("the next message", stream.message())
        .await
        .expect("a message, not an error")
    {
        messages.push(message);
    }
    let trailers = within("the trailers", stream.trailers())
        .await
        .expect("trailers, not an error")
        .expect("trailers");
    (messages, trailers)
}

fn quote(symbol: &str) -> QuoteRequest {
    QuoteRequest {
        symbol: symbol.to_string(),
    }
}

#[tokio::test]
async fn get_quote_answers_a_known_symbol_with_metadata_and_the_call_count() {
    let mut client = client().await;
    for call in 1..=3 {
        let response = within("the quote", client.get_quote(quote("AAPL")))
            .await
            .expect("a quote");
        assert_eq!(text(response.metadata(), "x-demo-service"), Some("stock"));
        // tonic merges a unary call's trailers into its response metadata.
        assert_eq!(
            text(response.metadata(), "x-demo-calls"),
            Some(call.to_string().as_str())
        );
        let quote = response.into_inner();
        assert_eq!(quote.symbol, "AAPL");
        assert!((MIN_PRICE..=MAX_PRICE).contains(&quote.price));
        assert_recent(quote.timestamp);
    }
    let again = within("the quote", client.get_quote(quote("AAPL")))
        .await
        .expect("a quote")
        .into_inner();
    assert_eq!(
        again.price,
        within("the quote", client.get_quote(quote("AAPL")))
            .await
            .expect("a quote")
            .into_inner()
            .price,
        "quotes are deterministic"
    );
}

#[tokio::test]
async fn get_quote_rejects_unknown_and_empty_symbols() {
    let mut client = client().await;
    let status = within("the answer", client.get_quote(quote("XYZ")))
        .await
        .expect_err("NOT_FOUND");
    assert_status(&status, Code::NotFound, "unknown symbol \"XYZ\"");
    assert_eq!(text(status.metadata(), "x-demo-service"), Some("stock"));
    assert_eq!(text(status.metadata(), "x-demo-calls"), None);

    let status = within("the answer", client.get_quote(quote("")))
        .await
        .expect_err("INVALID_ARGUMENT");
    assert_status(&status, Code::InvalidArgument, "symbol is empty");

    // Failed calls count too.
    let response = within("the quote", client.get_quote(quote("GOOG")))
        .await
        .expect("a quote");
    assert_eq!(text(response.metadata(), "x-demo-calls"), Some("3"));
}

#[tokio::test]
async fn stream_prices_sends_rounds_of_updates_100ms_apart_by_default() {
    let mut client = client().await;
    let started = Instant::now();
    let response = within("the stream", client.stream_prices(PriceRequest::default()))
        .await
        .expect("a stream");
    assert_eq!(text(response.metadata(), "x-demo-service"), Some("stock"));
    let (updates, trailers) = drain(response.into_inner()).await;
    let elapsed = started.elapsed();
    assert_eq!(text(&trailers, "x-demo-calls"), Some("1"));

    let seen: Vec<(&str, u32)> = updates
        .iter()
        .map(|update| (update.symbol.as_str(), update.tick))
        .collect();
    let expected: Vec<(&str, u32)> = (1..=5)
        .flat_map(|tick| [("AAPL", tick), ("GOOG", tick)])
        .collect();
    assert_eq!(seen, expected);
    for update in &updates {
        assert!(
            (MIN_PRICE..=MAX_PRICE).contains(&update.price),
            "{update:?}"
        );
        assert_recent(update.timestamp);
    }
    // Four gaps of 100 ms between five rounds (timers never fire early).
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
}

#[tokio::test]
async fn stream_prices_takes_symbols_ticks_and_interval_and_is_deterministic() {
    let mut client = client().await;
    let request = PriceRequest {
        symbols: vec!["MSFT".into(), "TSLA".into(), "NVDA".into()],
        ticks: 20,
        interval_ms: 1,
    };
    let mut runs: Vec<Vec<PriceUpdate>> = Vec::new();
    for _ in 0..2 {
        let response = within("the stream", client.stream_prices(request.clone()))
            .await
            .expect("a stream");
        runs.push(drain(response.into_inner()).await.0);
    }
    assert_eq!(runs[0].len(), 60);
    let prices = |run: &[PriceUpdate]| -> Vec<(String, u32, f64)> {
        run.iter()
            .map(|u| (u.symbol.clone(), u.tick, u.price))
            .collect()
    };
    assert_eq!(prices(&runs[0]), prices(&runs[1]));
    for symbol in ["MSFT", "TSLA", "NVDA"] {
        let ticks: Vec<u32> = runs[0]
            .iter()
            .filter(|u| u.symbol == symbol)
            .map(|u| u.tick)
            .collect();
        assert_eq!(ticks, (1..=20).collect::<Vec<_>>(), "{symbol}");
    }
}

#[tokio::test]
async fn stream_prices_rejects_an_unknown_symbol_before_any_update() {
    let mut client = client().await;
    let request = PriceRequest {
        symbols: vec!["AAPL".into(), "XYZ".into()],
        ..PriceRequest::default()
    };
    let status = within("the answer", client.stream_prices(request))
        .await
        .expect_err("INVALID_ARGUMENT");
    assert_status(&status, Code::InvalidArgument, "unknown symbol \"XYZ\"");

    let request = PriceRequest {
        symbols: vec!["AAPL".into(), String::new()],
        ..PriceRequest::default()
    };
    let status = within("the answer", client.stream_prices(request))
        .await
        .expect_err("INVALID_ARGUMENT");
    assert_status(&status, Code::InvalidArgument, "symbols[1] is empty");
}

#[tokio::test]
async fn a_client_that_cancels_a_stream_leaves_the_server_healthy() {
    let channel = start().await;
    let mut same = StockServiceClient::new(channel.clone());
    for _ in 0..3 {
        let request = PriceRequest {
            ticks: 1000,
            interval_ms: 10,
            ..PriceRequest::default()
        };
        let mut stream = within("the stream", same.stream_prices(request))
            .await
            .expect("a stream")
            .into_inner();
        for _ in 0..2 {
            within("an update", stream.message())
                .await
                .expect("an update")
                .expect("not the end");
        }
        // Cancels the call: tonic resets the HTTP/2 stream.
        drop(stream);
    }
    // The same connection and a new one both still get whole streams.
    let mut fresh = client().await;
    for client in [&mut same, &mut fresh] {
        let request = PriceRequest {
            ticks: 3,
            interval_ms: 1,
            ..PriceRequest::default()
        };
        let response = within("the stream", client.stream_prices(request))
            .await
            .expect("a stream");
        let (updates, trailers) = drain(response.into_inner()).await;
        assert_eq!(updates.len(), 6);
        assert!(text(&trailers, "x-demo-calls").is_some());
    }
}

fn order(symbol: &str, quantity: i32, price: f64) -> Order {
    Order {
        symbol: symbol.to_string(),
        quantity,
        price,
        side: 0,
    }
}

#[tokio::test]
async fn send_orders_sums_up_the_stream() {
    let mut client = client().await;
    let orders = vec![
        order("AAPL", 10, 105.25),
        order("GOOG", 5, 112.5),
        order("AAPL", 1, 100.0),
    ];
    let response = within(
        "the summary",
        client.send_orders(futures_util::stream::iter(orders)),
    )
    .await
    .expect("a summary");
    assert_eq!(text(response.metadata(), "x-demo-service"), Some("stock"));
    assert_eq!(text(response.metadata(), "x-demo-calls"), Some("1"));
    assert_eq!(
        response.into_inner(),
        OrderSummary {
            orders: 3,
            total_quantity: 16,
            total_value: 1052.5 + 562.5 + 100.0,
            symbols: vec!["AAPL".into(), "GOOG".into()],
        }
    );

    let response = within(
        "the summary",
        client.send_orders(futures_util::stream::iter(Vec::new())),
    )
    .await
    .expect("a summary");
    assert_eq!(response.into_inner(), OrderSummary::default());
}

#[tokio::test]
async fn send_orders_rejects_a_quantity_that_is_not_positive() {
    let mut client = client().await;
    let orders = vec![order("AAPL", 10, 105.25), order("GOOG", -2, 112.5)];
    let status = within(
        "the answer",
        client.send_orders(futures_util::stream::iter(orders)),
    )
    .await
    .expect_err("INVALID_ARGUMENT");
    assert_status(
        &status,
        Code::InvalidArgument,
        "order 1 (GOOG) has quantity -2: quantities must be positive",
    );
}

fn chat(message: &str) -> ChatMessage {
    ChatMessage {
        user: "trader".into(),
        message: message.into(),
        timestamp: unix_millis(),
    }
}

#[tokio::test]
async fn trade_chat_acknowledges_each_message_as_it_arrives() {
    let mut client = client().await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<ChatMessage>(4);
    let outgoing = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|message| (message, receiver))
    });
    sender.send(chat("buy 10 AAPL")).await.unwrap();
    let response = within("the chat", client.trade_chat(outgoing))
        .await
        .expect("a chat");
    assert_eq!(text(response.metadata(), "x-demo-service"), Some("stock"));
    let mut replies = response.into_inner();
    // Each reply comes while the client still holds its side open: the second message is sent
    // only once the first one's reply has arrived.
    for (index, message) in ["buy 10 AAPL", "sell 5 GOOG"].into_iter().enumerate() {
        if index > 0 {
            sender.send(chat(message)).await.unwrap();
        }
        let reply = within("a reply", replies.message())
            .await
            .expect("a reply")
            .expect("not the end");
        assert_eq!(reply.user, "desk");
        assert_eq!(reply.message, format!("ack: {message}"));
        assert_recent(reply.timestamp);
    }
    // Half-closes: the server ends the call with OK.
    drop(sender);
    let (rest, trailers) = drain(replies).await;
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(text(&trailers, "x-demo-calls"), Some("1"));
}

#[tokio::test]
async fn fail_with_fails_as_asked_with_a_reason_trailer() {
    let mut client = client().await;
    for (code, expected) in [
        ("INVALID_ARGUMENT", Code::InvalidArgument),
        ("NOT_FOUND", Code::NotFound),
        ("PERMISSION_DENIED", Code::PermissionDenied),
        ("UNAVAILABLE", Code::Unavailable),
    ] {
        let request = FailRequest {
            code: code.into(),
            message: format!("no luck with {code}"),
        };
        let status = within("the failure", client.fail_with(request))
            .await
            .expect_err("a failure");
        assert_status(&status, expected, &format!("no luck with {code}"));
        assert_eq!(text(status.metadata(), "x-demo-reason"), Some("requested"));
        assert_eq!(text(status.metadata(), "x-demo-service"), Some("stock"));
    }
    let request = FailRequest {
        code: "TEAPOT".into(),
        message: "x".into(),
    };
    let status = within("the failure", client.fail_with(request))
        .await
        .expect_err("a failure");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("unknown status code \"TEAPOT\""),
        "{status:?}"
    );
    assert_eq!(text(status.metadata(), "x-demo-reason"), None);
}

#[tokio::test]
async fn flood_sends_count_updates_in_order() {
    let mut client = client().await;
    let response = within("the flood", client.flood(FloodRequest { count: 20_000 }))
        .await
        .expect("a flood");
    let (updates, trailers) = drain(response.into_inner()).await;
    assert_eq!(updates.len(), 20_000);
    assert!(
        updates
            .iter()
            .enumerate()
            .all(|(i, u)| u.tick as usize == i + 1
                && u.symbol == "AAPL"
                && (MIN_PRICE..=MAX_PRICE).contains(&u.price))
    );
    assert_eq!(text(&trailers, "x-demo-calls"), Some("1"));
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented() {
    let channel = start().await;
    let mut grpc = tonic::client::Grpc::new(channel);
    within("the channel", grpc.ready()).await.unwrap();
    let answer: Result<tonic::Response<QuoteRequest>, Status> = within(
        "the answer",
        grpc.unary(
            Request::new(quote("AAPL")),
            tonic::codegen::http::uri::PathAndQuery::from_static("/stock.StockService/Nope"),
            tonic_prost::ProstCodec::default(),
        ),
    )
    .await;
    let status = answer.expect_err("UNIMPLEMENTED");
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(text(status.metadata(), "x-demo-service"), Some("stock"));
}

/// What both reflection versions answer, in one shape.
#[derive(Debug)]
struct Reflected {
    services: Vec<String>,
    /// The file that defines `stock.StockService` and its dependencies, decoded.
    files: Vec<prost_reflect::prost_types::FileDescriptorProto>,
}

async fn reflect_v1(channel: Channel) -> Reflected {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

    let request = |message| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    };
    let requests = vec![
        request(MessageRequest::ListServices(String::new())),
        request(MessageRequest::FileContainingSymbol(
            "stock.StockService".into(),
        )),
    ];
    let mut client = ServerReflectionClient::new(channel);
    let response = within(
        "reflection v1",
        client.server_reflection_info(futures_util::stream::iter(requests)),
    )
    .await
    .expect("a reflection stream");
    let (answers, _): (Vec<ServerReflectionResponse>, _) = drain(response.into_inner()).await;
    let mut reflected = Reflected {
        services: Vec::new(),
        files: Vec::new(),
    };
    for answer in answers {
        match answer.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                reflected.services = list.service.into_iter().map(|s| s.name).collect();
            }
            Some(MessageResponse::FileDescriptorResponse(files)) => {
                reflected.files = decode_files(&files.file_descriptor_proto);
            }
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }
    reflected
}

async fn reflect_v1alpha(channel: Channel) -> Reflected {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::{ServerReflectionRequest, ServerReflectionResponse};

    let request = |message| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    };
    let requests = vec![
        request(MessageRequest::ListServices(String::new())),
        request(MessageRequest::FileContainingSymbol(
            "stock.StockService".into(),
        )),
    ];
    let mut client = ServerReflectionClient::new(channel);
    let response = within(
        "reflection v1alpha",
        client.server_reflection_info(futures_util::stream::iter(requests)),
    )
    .await
    .expect("a reflection stream");
    let (answers, _): (Vec<ServerReflectionResponse>, _) = drain(response.into_inner()).await;
    let mut reflected = Reflected {
        services: Vec::new(),
        files: Vec::new(),
    };
    for answer in answers {
        match answer.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                reflected.services = list.service.into_iter().map(|s| s.name).collect();
            }
            Some(MessageResponse::FileDescriptorResponse(files)) => {
                reflected.files = decode_files(&files.file_descriptor_proto);
            }
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }
    reflected
}

fn decode_files(encoded: &[Vec<u8>]) -> Vec<prost_reflect::prost_types::FileDescriptorProto> {
    encoded
        .iter()
        .map(|bytes| {
            prost_reflect::prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .expect("a FileDescriptorProto")
        })
        .collect()
}

fn assert_reflects_the_stock_service(version: &str, mut reflected: Reflected) {
    reflected.services.sort();
    assert_eq!(
        reflected.services,
        [
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "stock.StockService",
        ],
        "{version}"
    );
    let file = reflected
        .files
        .iter()
        .find(|file| file.name() == "stock.proto")
        .unwrap_or_else(|| panic!("{version}: no stock.proto in {reflected:?}"));
    assert_eq!(file.package(), "stock");
    let service = file
        .service
        .iter()
        .find(|service| service.name() == "StockService")
        .expect("StockService in stock.proto");
    let methods: Vec<(&str, bool, bool)> = service
        .method
        .iter()
        .map(|m| (m.name(), m.client_streaming(), m.server_streaming()))
        .collect();
    assert_eq!(
        methods,
        [
            ("GetQuote", false, false),
            ("StreamPrices", false, true),
            ("SendOrders", true, false),
            ("TradeChat", true, true),
            ("FailWith", false, false),
            ("Flood", false, true),
        ],
        "{version}"
    );
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_and_describe_the_stock_service() {
    let channel = start().await;
    assert_reflects_the_stock_service("v1", reflect_v1(channel.clone()).await);
    assert_reflects_the_stock_service("v1alpha", reflect_v1alpha(channel).await);
}

/// The server side of the client's throughput benchmark, with two clients: tonic's generated
/// one (decoding every `PriceUpdate`) and one that only frames the messages (decoding them as
/// `()`), which shows what the server alone can send. Run it in release:
/// `cargo test --release --lib demo::grpc::tests::flood_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run it in release"]
async fn flood_throughput() {
    const COUNT: u32 = 2_000_000;
    let channel = start().await;
    let rate = |what: &str, count: u64, started: Instant| {
        let elapsed = started.elapsed();
        eprintln!(
            "Flood {what}: {count} messages in {elapsed:.2?}: {:.0} messages/s",
            count as f64 / elapsed.as_secs_f64()
        );
    };
    let benchmark = async {
        let mut client = StockServiceClient::new(channel.clone());
        let started = Instant::now();
        let mut stream = client
            .flood(FloodRequest { count: COUNT })
            .await
            .expect("a flood")
            .into_inner();
        let mut count = 0u64;
        while stream.message().await.expect("an update").is_some() {
            count += 1;
        }
        rate("(decoded)", count, started);
        assert_eq!(count, u64::from(COUNT));

        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.expect("a ready channel");
        let started = Instant::now();
        let mut stream = grpc
            .server_streaming(
                Request::new(FloodRequest { count: COUNT }),
                tonic::codegen::http::uri::PathAndQuery::from_static("/stock.StockService/Flood"),
                tonic_prost::ProstCodec::<FloodRequest, ()>::default(),
            )
            .await
            .expect("a flood")
            .into_inner();
        let mut count = 0u64;
        while stream.message().await.expect("an update").is_some() {
            count += 1;
        }
        rate("(framed only)", count, started);
        assert_eq!(count, u64::from(COUNT));
    };
    tokio::time::timeout(Duration::from_secs(120), benchmark)
        .await
        .expect("the benchmark took over 2 minutes");
}
