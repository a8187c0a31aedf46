//! End-to-end tests of the demo service: each serves the router on `127.0.0.1:0` in-process and
//! reads it with reqwest chunk by chunk, so chunk boundaries and abrupt ends are visible.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

/// No test waits longer than this for anything.
const LIMIT: Duration = Duration::from_secs(5);

async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Serves a fresh router (with its own `/stats`) and returns its base URL.
async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(super::serve(listener));
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    // reqwest's rustls build has no default crypto provider and refuses to build a client
    // without one, even for plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn get(url: String, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client().get(&url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    within(&url, request.send()).await.unwrap()
}

/// Every body chunk as read, and whether the body ended cleanly.
async fn read_all(mut response: reqwest::Response) -> (Vec<Bytes>, Result<(), reqwest::Error>) {
    let mut chunks = Vec::new();
    loop {
        match within("the next chunk", response.chunk()).await {
            Ok(Some(chunk)) => chunks.push(chunk),
            Ok(None) => return (chunks, Ok(())),
            Err(e) => return (chunks, Err(e)),
        }
    }
}

/// The body as text, asserting that it ended cleanly.
async fn text(response: reqwest::Response) -> String {
    let (chunks, end) = read_all(response).await;
    end.expect("a clean end");
    String::from_utf8(chunks.concat()).unwrap()
}

fn bytes(pieces: &[&'static str]) -> Vec<Bytes> {
    pieces
        .iter()
        .map(|p| Bytes::from_static(p.as_bytes()))
        .collect()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn assert_sse_headers(response: &reqwest::Response) {
    assert_eq!(response.status(), 200);
    assert_eq!(header(response, "content-type"), "text/event-stream");
    assert_eq!(header(response, "cache-control"), "no-cache");
}

/// The `id:` values in an SSE body, in order.
fn ids(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn health() {
    let base = start().await;
    let response = get(format!("{base}/health"), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "ok");
}
