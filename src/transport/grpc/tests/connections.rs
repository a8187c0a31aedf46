//! Connecting: refused, timed out, HTTP/1, HTTP/2 without gRPC, malformed frames, TLS.

use super::*;

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
    raw_h2_server_ending(body, None).await
}

/// As [`raw_h2_server`], the body followed by trailers with this `grpc-status` when given.
async fn raw_h2_server_ending(body: &'static [u8], status: Option<&'static str>) -> SocketAddr {
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
                    let Ok(mut send) = respond.send_response(response, false) else {
                        continue;
                    };
                    let _ = send.send_data(bytes::Bytes::from_static(body), status.is_none());
                    if let Some(status) = status {
                        let mut trailers = tonic::codegen::http::HeaderMap::new();
                        trailers.insert("grpc-status", status.parse().expect("a header value"));
                        let _ = send.send_trailers(trailers);
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
        "the replies ended inside a gRPC frame: its header announced 5 bytes and 2 came (3 missing)"
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
async fn a_frame_cut_short_before_an_ok_status_is_a_broken_stream() {
    // 100 bytes announced, 10 sent, then `grpc-status: 0`: not a clean end with no messages.
    const CUT: &[u8] = &[0, 0, 0, 0, 100, 0x0a, 8, b'A', b'C', b'M', b'E', 0, 0, 0, 0];
    let address = raw_h2_server_ending(CUT, Some("0")).await;
    assert_eq!(
        failure(first_answer(address).await),
        "the replies ended inside a gRPC frame: its header announced 100 bytes and 10 came (90 missing)"
    );
    // A whole message, then 3 of the 5 bytes of the next frame's header.
    const HEADER_CUT: &[u8] = &[0, 0, 0, 0, 6, 0x0a, 4, b'A', b'C', b'M', b'E', 0, 0, 0];
    let address = raw_h2_server_ending(HEADER_CUT, Some("0")).await;
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("connects");
    let method = method("stock.StockService/StreamPrices");
    let mut call = start(&channel, &method, vec![], None, usize::MAX).expect("starts");
    call.send(message(&method, json!({})), soon())
        .await
        .expect("sends");
    call.close();
    match call.next(soon()).await {
        Ok(Next::Message { json, .. }) => assert_eq!(json["symbol"], "ACME"),
        other => panic!("expected the whole message first, got {other:?}"),
    }
    assert_eq!(
        failure(call.next(soon()).await),
        "the replies ended inside a gRPC frame header: 3 of its 5 bytes came (2 missing)"
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
    let schema = reflected(&channel, "stock.StockService")
        .await
        .expect("reflection over TLS");
    assert_eq!(schema.services(), ["stock.StockService"]);

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
