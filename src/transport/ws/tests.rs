//! The WebSocket transport over TLS (`wss://`), against a real TLS server on loopback: with
//! `insecure` the handshake and a message go through; without, the unknown certificate fails
//! the connection and the failure says how to skip verification.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use super::*;

const CERT: &[u8] = include_bytes!("../grpc/testdata/cert.pem");
const KEY: &[u8] = include_bytes!("../grpc/testdata/key.pem");

/// A `wss://` echo server on a free loopback port, serving connections until dropped.
async fn echo_over_tls() -> (String, tokio::task::JoinHandle<()>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<_, _>>()
        .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_slice(KEY).expect("the test key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server TLS config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut socket) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_text() && socket.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("wss://127.0.0.1:{port}/echo"), task)
}

fn target(url: &str, insecure: bool) -> WsTarget {
    WsTarget {
        url: reqwest::Url::parse(url).expect("a URL"),
        headers: Vec::new(),
        protocols: Vec::new(),
        insecure,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn wss_with_insecure_sends_and_receives() {
    let (url, server) = echo_over_tls().await;
    let (handshake, mut connection) = connect(&target(&url, true), 1 << 20, soon())
        .await
        .expect("the TLS handshake and the upgrade");
    assert_eq!(handshake.status.as_u16(), 101);
    connection
        .send(Outgoing::Text("over TLS".to_string()), soon())
        .await
        .expect("sent");
    match connection.next(soon()).await {
        Read::Message(WsMessage::Text(text), _) => assert_eq!(text, "over TLS"),
        other => panic!("expected the echo, got {other:?}"),
    }
    server.abort();
}

#[tokio::test]
async fn wss_without_insecure_refuses_an_unknown_certificate() {
    let (url, server) = echo_over_tls().await;
    let error = match connect(&target(&url, false), 1 << 20, soon()).await {
        Ok(_) => panic!("a self-signed certificate was accepted"),
        Err(error) => error.to_string(),
    };
    assert!(error.starts_with("the TLS handshake failed: "), "{error}");
    assert!(
        error.ends_with("; to skip verification, mark the request `insecure`"),
        "{error}"
    );
    server.abort();
}
