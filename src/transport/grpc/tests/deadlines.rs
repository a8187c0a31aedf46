//! Call deadlines against servers that answer late, never, or reset the call at its deadline:
//! the call ends `DEADLINE_EXCEEDED` every time, whatever the transport says meanwhile (tonic's
//! own timer for `grpc-timeout` races ours and fails the call with "Timeout expired").

use super::*;

/// A channel to the server at `address`.
async fn channel_to(address: SocketAddr) -> GrpcChannel {
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    connect(&target, soon()).await.expect("connects")
}

/// The `grpc-timeout` of a request, as the gRPC spec writes it (`100m`, `50000u`).
fn grpc_timeout(request: &tonic::codegen::http::Request<h2::RecvStream>) -> Option<Duration> {
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

/// An HTTP/2 server that takes every call and never answers it; it tells the test how each
/// call's stream was reset.
async fn silent_h2_server() -> (SocketAddr, mpsc::UnboundedReceiver<h2::Reason>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let (resets, reset) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let resets = resets.clone();
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((_, mut respond))) = connection.accept().await {
                    let resets = resets.clone();
                    tokio::spawn(async move {
                        let reset = std::future::poll_fn(|cx| respond.poll_reset(cx));
                        if let Ok(Ok(reason)) =
                            tokio::time::timeout(Duration::from_secs(10), reset).await
                        {
                            let _ = resets.send(reason);
                        }
                    });
                }
            });
        }
    });
    (address, reset)
}

/// An HTTP/2 server that answers each request message with an empty reply and resets the call
/// with CANCEL once its `grpc-timeout` has passed, as a server keeping the deadline may; it
/// tells the test when it has.
async fn resetting_h2_server() -> (SocketAddr, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let (resets, reset) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let resets = resets.clone();
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(socket).await else {
                    return;
                };
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    let resets = resets.clone();
                    tokio::spawn(async move {
                        let timeout = grpc_timeout(&request).unwrap_or(Duration::from_secs(10));
                        let mut body = request.into_body();
                        let head = tonic::codegen::http::Response::builder()
                            .status(200)
                            .header("content-type", "application/grpc")
                            .body(())
                            .expect("a response");
                        let Ok(mut send) = respond.send_response(head, false) else {
                            return;
                        };
                        let replies = async {
                            while let Some(Ok(chunk)) = body.data().await {
                                let _ = body.flow_control().release_capacity(chunk.len());
                                let _ = send.send_data(bytes::Bytes::from_static(&[0; 5]), false);
                            }
                        };
                        let _ = tokio::time::timeout(timeout, replies).await;
                        send.send_reset(h2::Reason::CANCEL);
                        let _ = resets.send(());
                    });
                }
            });
        }
    });
    (address, reset)
}

fn deadline_exceeded(next: Result<Next, GrpcError>, timeout: &str) {
    match next {
        Ok(Next::End { status, .. }) => {
            assert_eq!(status.code, Code::DeadlineExceeded, "{status}");
            assert!(status.local);
            assert_eq!(
                status.message,
                format!("deadline exceeded after {timeout} (the call's grpc-timeout)")
            );
        }
        other => panic!("expected DEADLINE_EXCEEDED, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deadline_before_the_response_headers_is_exceeded_also_after_tonics_own_timeout() {
    let (address, mut resets) = silent_h2_server().await;
    let channel = channel_to(address).await;
    let method = method("stock.StockService/GetQuote");
    let mut call = start(
        &channel,
        &method,
        vec![],
        Some(Duration::from_millis(50)),
        usize::MAX,
    )
    .expect("starts");
    call.send(message(&method, json!({"symbol": "A"})), soon())
        .await
        .expect("sends");
    call.close();
    // tonic's own timer for grpc-timeout has dropped the call (the server saw the reset), so
    // its "Timeout expired" is the answer waiting to be read.
    let reason = tokio::time::timeout(Duration::from_secs(10), resets.recv())
        .await
        .expect("the server saw the reset in time");
    assert_eq!(reason, Some(h2::Reason::CANCEL));
    deadline_exceeded(call.next(soon()).await, "50ms");
}

// Two threads, as the command line runs: the race between the timers is real there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1ms_deadline_on_a_server_that_accepts_and_never_answers() {
    // Accepts connections and reads them, never writes a byte.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buffer = [0u8; 4096];
                let read = async { while socket.read(&mut buffer).await.is_ok_and(|n| n > 0) {} };
                let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
            });
        }
    });
    let method = method("stock.StockService/GetQuote");
    // Ours and tonic's timers fire within the same millisecond: many calls make sure.
    for _ in 0..20 {
        let channel = channel_to(address).await;
        let mut call = start(
            &channel,
            &method,
            vec![],
            Some(Duration::from_millis(1)),
            usize::MAX,
        )
        .expect("starts");
        let _ = call
            .send(message(&method, json!({"symbol": "A"})), soon())
            .await;
        call.close();
        deadline_exceeded(call.next(soon()).await, "1ms");
    }
}

#[tokio::test]
async fn a_client_stream_left_open_past_its_deadline_is_exceeded_when_the_server_resets_it() {
    let (address, mut resets) = resetting_h2_server().await;
    let channel = channel_to(address).await;
    let method = method("stock.StockService/TradeChat");
    let mut call = start(
        &channel,
        &method,
        vec![],
        Some(Duration::from_millis(100)),
        usize::MAX,
    )
    .expect("starts");
    call.send(message(&method, json!({"message": "hi"})), soon())
        .await
        .expect("sends");
    assert!(matches!(call.next(soon()).await, Ok(Next::Message { .. })));
    // The request stream stays open; the server resets the call at its grpc-timeout.
    tokio::time::timeout(Duration::from_secs(10), resets.recv())
        .await
        .expect("the server reset the call in time");
    // The client's connection has read the reset (on this one thread, h2 has also taken it in
    // by the time the wait ends), so the broken stream is what the call has to read.
    assert!(channel.peer.wire.settled(0, soon()).await);
    deadline_exceeded(call.next(soon()).await, "100ms");
}
