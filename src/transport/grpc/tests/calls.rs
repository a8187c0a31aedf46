//! Calls of every kind against the test server: metadata, statuses, cancel, deadline.

use super::*;

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
    call.cancel(soon()).await;
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
