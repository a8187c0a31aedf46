//! End-to-end tests of the demo service: each serves the router on `127.0.0.1:0` in-process and
//! reads it with reqwest chunk by chunk, so chunk boundaries and abrupt ends are visible.

mod channels;
mod chat_streams;
mod counters;
mod events;

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

/// The body of a successful SSE response that ended cleanly.
async fn sse_text<const N: usize>(url: String, headers: [(&str, &str); N]) -> String {
    let response = get(url, &headers).await;
    assert_sse_headers(&response);
    text(response).await
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

#[tokio::test]
async fn echo_answers_with_the_body_and_its_content_type() {
    let base = start().await;
    let response = post(
        format!("{base}/echo"),
        &[("content-type", "application/json")],
        r#"{"a":"AAA"}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(text(response).await, r#"{"a":"AAA"}"#);
    let response = post(format!("{base}/echo"), &[], "raw").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(text(response).await, "raw");
}

#[tokio::test]
async fn ticker_sends_numbered_events_on_schedule() {
    let base = start().await;
    let started = Instant::now();
    let response = get(format!("{base}/sse/ticker?count=3&interval=20ms"), &[]).await;
    assert_sse_headers(&response);
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(chunks.len(), 3, "one chunk per event");
    for (n, chunk) in (1..).zip(&chunks) {
        let text = std::str::from_utf8(chunk).unwrap();
        let prefix = format!("id: {n}\nevent: message\ndata: {{\"count\":{n},\"timestamp\":");
        let timestamp = text
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix("}\n\n"))
            .unwrap_or_else(|| panic!("unexpected event {text:?}"));
        assert!(timestamp.parse::<u64>().unwrap() > 1_600_000_000_000);
    }
    assert!(elapsed >= Duration::from_millis(40), "{elapsed:?}");
}

#[tokio::test]
async fn ticker_writes_composite_ids_and_resumes_after_one() {
    let base = start().await;
    let url = format!("{base}/sse/ticker?count=4&interval=0ms&id_prefix=1796411252:");
    let text = sse_text(url.clone(), [("last-event-id", "1796411252:2")]).await;
    let ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .collect();
    assert_eq!(ids, ["1796411252:3", "1796411252:4"]);
    let response = get(url, &[("last-event-id", "3")]).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn ticker_resumes_after_last_event_id() {
    let base = start().await;
    let url = format!("{base}/sse/ticker?count=4&interval=0ms");
    assert_eq!(ids(&text(get(url.clone(), &[]).await).await), [1, 2, 3, 4]);
    let resumed = text(get(url.clone(), &[("Last-Event-ID", "2")]).await).await;
    assert_eq!(ids(&resumed), [3, 4]);
    assert_eq!(
        ids(&text(get(format!("{url}&after=3"), &[]).await).await),
        [4]
    );
    assert_eq!(text(get(url, &[("Last-Event-ID", "4")]).await).await, "");
}

/// The ticker's events with each timestamp replaced by `T`, so whole bodies can be compared.
fn without_timestamps(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"timestamp\":") {
        let (head, tail) = rest.split_at(at + "\"timestamp\":".len());
        out.push_str(head);
        out.push('T');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// The ticker's event `n`, timestamp as `T`.
fn tick(n: u64) -> String {
    format!("id: {n}\nevent: message\ndata: {{\"count\":{n},\"timestamp\":T}}\n\n")
}

fn ticks(ns: &[u64]) -> String {
    ns.iter().map(|&n| tick(n)).collect()
}

#[tokio::test]
async fn ticker_repeats_or_skips_on_resume_when_asked() {
    let base = start().await;
    let url = format!("{base}/sse/ticker?count=5&interval=0ms");
    let resumed = |query: &str| {
        let body = sse_text(format!("{url}{query}"), [("Last-Event-ID", "2")]);
        async move { without_timestamps(&body.await) }
    };
    // Off by default, and `0` means off.
    assert_eq!(resumed("").await, ticks(&[3, 4, 5]));
    assert_eq!(resumed("&repeat=0&skip=0").await, ticks(&[3, 4, 5]));
    // A duplicate of event 2, which the client already has.
    assert_eq!(resumed("&repeat=1").await, ticks(&[2, 3, 4, 5]));
    // A gap where event 3 should be.
    assert_eq!(resumed("&skip=1").await, ticks(&[4, 5]));
    assert_eq!(resumed("&repeat=1&skip=1").await, ticks(&[2, 4, 5]));

    // `after=` resumes the same way.
    let after = text(get(format!("{url}&after=2&repeat=1"), &[]).await).await;
    assert_eq!(without_timestamps(&after), ticks(&[2, 3, 4, 5]));
    let after = text(get(format!("{url}&after=2&skip=1"), &[]).await).await;
    assert_eq!(without_timestamps(&after), ticks(&[4, 5]));
    // A first connection is whole whatever the flags say.
    let first = text(get(format!("{url}&repeat=1&skip=1"), &[]).await).await;
    assert_eq!(without_timestamps(&first), ticks(&[1, 2, 3, 4, 5]));
}

#[tokio::test]
async fn resume_drops_the_first_connection_and_finishes_the_second() {
    let base = start().await;
    let (chunks, end) = read_all(get(format!("{base}/sse/resume"), &[]).await).await;
    assert!(
        end.is_err(),
        "the first connection must be dropped, not ended"
    );
    assert_eq!(
        chunks.concat(),
        b"id: 1\ndata: {\"n\":1}\n\nid: 2\ndata: {\"n\":2}\n\nid: 3\ndata: {\"n\":3}\n\n"
    );

    let response = get(
        format!("{base}/sse/resume?retry=100"),
        &[("Last-Event-ID", "3")],
    )
    .await;
    assert_sse_headers(&response);
    assert_eq!(
        text(response).await,
        "retry: 100\nid: 4\ndata: {\"n\":4}\n\nid: 5\ndata: {\"n\":5}\n\nid: 6\ndata: {\"n\":6}\n\n"
    );
}

#[tokio::test]
async fn resume_repeats_or_skips_when_asked() {
    let base = start().await;
    let resumed = |query: &str, last_event_id: &'static str| {
        sse_text(
            format!("{base}/sse/resume{query}"),
            [("Last-Event-ID", last_event_id)],
        )
    };
    // Event 3 again, then the rest: a duplicate.
    assert_eq!(
        resumed("?repeat=1", "3").await,
        "id: 3\ndata: {\"n\":3}\n\nid: 4\ndata: {\"n\":4}\n\n\
         id: 5\ndata: {\"n\":5}\n\nid: 6\ndata: {\"n\":6}\n\n"
    );
    // No event 4: a gap.
    assert_eq!(
        resumed("?skip=1", "3").await,
        "id: 5\ndata: {\"n\":5}\n\nid: 6\ndata: {\"n\":6}\n\n"
    );
    assert_eq!(
        resumed("?repeat=1&skip=1&retry=100", "3").await,
        "retry: 100\nid: 3\ndata: {\"n\":3}\n\nid: 5\ndata: {\"n\":5}\n\n\
         id: 6\ndata: {\"n\":6}\n\n"
    );
    assert_eq!(
        resumed("?repeat=0&skip=0", "3").await,
        "id: 4\ndata: {\"n\":4}\n\nid: 5\ndata: {\"n\":5}\n\nid: 6\ndata: {\"n\":6}\n\n"
    );
    // Resuming at the last event: nothing new, but a repeat still repeats it.
    assert_eq!(
        resumed("?repeat=1", "6").await,
        "id: 6\ndata: {\"n\":6}\n\n"
    );
    assert_eq!(resumed("?skip=1", "6").await, "");
    // `after=` resumes the same way.
    let after = text(get(format!("{base}/sse/resume?after=4&skip=1"), &[]).await).await;
    assert_eq!(after, "id: 6\ndata: {\"n\":6}\n\n");

    // The first connection is the usual one, dropped after event 3.
    let first = get(format!("{base}/sse/resume?repeat=1&skip=1"), &[]).await;
    let (chunks, end) = read_all(first).await;
    assert!(end.is_err(), "the first connection must be dropped");
    assert_eq!(ids(&String::from_utf8(chunks.concat()).unwrap()), [1, 2, 3]);

    let bad = get(format!("{base}/sse/resume?repeat=yes"), &[]).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        text(bad).await,
        "bad query parameter `repeat`: expected 1 or 0, got `yes`\n"
    );
}

#[tokio::test]
async fn retry_reports_the_time_between_connections_then_stops() {
    let base = start().await;
    let url = format!("{base}/sse/retry?client=t1");
    let first = get(url.clone(), &[]).await;
    assert_sse_headers(&first);
    assert_eq!(
        text(first).await,
        "retry: 500\nid: 1\ndata: {\"n\":1,\"since_previous_ms\":null}\n\n"
    );
    let second = text(get(url.clone(), &[("Last-Event-ID", "1")]).await).await;
    let since = second
        .strip_prefix("retry: 500\nid: 2\ndata: {\"n\":2,\"since_previous_ms\":")
        .and_then(|rest| rest.strip_suffix("}\n\n"))
        .unwrap_or_else(|| panic!("unexpected body {second:?}"));
    assert!(since.parse::<u64>().unwrap() < 5_000);
    let last = get(url, &[("Last-Event-ID", "2")]).await;
    assert_eq!(last.status(), 204);
}

#[tokio::test]
async fn long_events_have_the_asked_size() {
    let base = start().await;
    let response = get(format!("{base}/sse/long?count=3&size=100"), &[]).await;
    assert_sse_headers(&response);
    let body = text(response).await;
    assert_eq!(ids(&body), [1, 2, 3]);
    let data: Vec<_> = body.lines().filter(|l| l.starts_with("data: ")).collect();
    assert_eq!(data.len(), 3);
    for (n, line) in (1..).zip(data) {
        assert_eq!(line.len(), 100);
        let json: Value = serde_json::from_str(&line["data: ".len()..]).unwrap();
        assert_eq!(json["seq"], n);
        assert!(json["payload"].as_str().unwrap().bytes().all(|b| b == b'x'));
    }
}

#[tokio::test]
async fn flood_sends_every_event_in_large_chunks() {
    let base = start().await;
    let response = get(format!("{base}/sse/flood?count=100000"), &[]).await;
    assert_sse_headers(&response);
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert!(
        chunks.len() < 200,
        "{} chunks: events are not batched",
        chunks.len()
    );
    let body = chunks.concat();
    assert_eq!(body.windows(2).filter(|w| w == b"\n\n").count(), 100_000);
    assert!(body.starts_with(b"id: 1\ndata: {\"seq\":1}\n\nid: 2\n"));
    assert!(body.ends_with(b"id: 100000\ndata: {\"seq\":100000}\n\n"));

    let padded = text(get(format!("{base}/sse/flood?count=2&size=64"), &[]).await).await;
    let data: Vec<_> = padded.lines().filter(|l| l.starts_with("data: ")).collect();
    assert_eq!(data.len(), 2);
    assert!(
        data.iter()
            .all(|l| l.len() == 64 && l.contains(r#","pad":"xx"#))
    );
}

#[tokio::test]
async fn empty_stream_closes_cleanly() {
    let base = start().await;
    let response = get(format!("{base}/sse/empty"), &[]).await;
    assert_sse_headers(&response);
    assert_eq!(text(response).await, "");
}

#[tokio::test]
async fn bad_parameters_are_refused_with_a_reason() {
    let base = start().await;
    let response = get(format!("{base}/sse/ticker?count=many"), &[]).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        header(&response, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        text(response).await,
        "bad query parameter `count`: expected a non-negative integer, got `many`\n"
    );
    let response = get(format!("{base}/sse/ticker?cout=5"), &[]).await;
    assert_eq!(
        text(response).await,
        "unknown query parameter `cout`; known parameters: count, interval, after, repeat, skip, id_prefix\n"
    );
    let response = get(format!("{base}/sse/ticker"), &[("Last-Event-ID", "x")]).await;
    assert_eq!(response.status(), 400);
    let response = get(format!("{base}/nope"), &[]).await;
    assert_eq!(response.status(), 404);
    assert!(text(response).await.contains("GET  /sse/ticker"));
}

#[tokio::test]
async fn chunked_array_arrives_in_pieces() {
    let base = start().await;
    let started = Instant::now();
    let response = get(format!("{base}/chunked/array"), &[]).await;
    assert_eq!(header(&response, "content-type"), "application/json");
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let pieces = [
        "[",
        r#"{"id":1,"name":"first"}"#,
        ",",
        r#"{"id":2,"name":"second"}"#,
        ",",
        r#"{"id":3,"name":"third"}"#,
        "]",
    ];
    assert_eq!(chunks, bytes(&pieces));
    let array: Value = serde_json::from_slice(&chunks.concat()).unwrap();
    assert_eq!(array[2]["name"], "third");
}

#[tokio::test]
async fn ndjson_lines_arrive_one_per_chunk() {
    let base = start().await;
    let response = get(format!("{base}/ndjson/events?interval=5ms"), &[]).await;
    assert_eq!(header(&response, "content-type"), "application/x-ndjson");
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert_eq!(
        chunks,
        bytes(&[
            "{\"event\":\"start\",\"ts\":1}\n",
            "{\"event\":\"data\",\"value\":42,\"ts\":2}\n",
            "{\"event\":\"data\",\"value\":84,\"ts\":3}\n",
            "{\"event\":\"end\",\"ts\":4}\n",
        ])
    );
}

#[tokio::test]
async fn slow_ttfb_delays_the_response_head() {
    let base = start().await;
    let started = Instant::now();
    let response = get(
        format!("{base}/slow/ttfb?ttfb=150ms&chunks=3&interval=10ms"),
        &[],
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(header(&response, "content-type"), "text/plain");
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert_eq!(chunks, bytes(&["chunk 1\n", "chunk 2\n", "chunk 3\n"]));
}

/// Posts a chat request to a fresh server.
async fn chat(query: &str, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
    post(
        format!("{}/v1/chat/completions{query}", start().await),
        headers,
        body,
    )
    .await
}

async fn post(url: String, headers: &[(&str, &str)], body: &str) -> reqwest::Response {
    let mut request = client().post(&url).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    within(&url, request.send()).await.unwrap()
}

const STREAM: &str = r#"{"model":"m1","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

/// The payloads of the `data:` lines.
fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect()
}

/// The JSON chunks (not `[DONE]`) of an OpenAI-style stream.
fn chat_chunks(text: &str) -> Vec<Value> {
    data_lines(text)
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn content(chunks: &[Value]) -> Vec<String> {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn chat_streams_openai_chunks() {
    let response = chat("", &[], STREAM).await;
    assert_sse_headers(&response);
    let body = text(response).await;
    let chunks = chat_chunks(&body);
    let tokens = content(&chunks);
    assert_eq!(tokens.len(), 8);
    assert_eq!(tokens.concat(), "Hello, how can I help you?");
    let created = &chunks[0]["created"];
    // An id of its own, the same in every chunk: `chatcmpl-` and 24 random letters and digits.
    let id = chunks[0]["id"].as_str().unwrap();
    let random = id.strip_prefix("chatcmpl-").unwrap();
    assert!(random.len() == 24 && random.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(chunks.iter().all(|chunk| chunk["id"] == id));
    let other = chat_chunks(&text(chat("", &[], STREAM).await).await);
    assert_ne!(other[0]["id"], id);
    assert_eq!(
        data_lines(&body)[0],
        format!(
            "{{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":{created},\
             \"model\":\"m1\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"Hello\"}},\
             \"finish_reason\":null}}]}}"
        )
    );
    let last = &chunks[8]["choices"][0];
    assert_eq!(last["delta"], serde_json::json!({}));
    assert_eq!(last["finish_reason"], "stop");
    assert!(body.ends_with("\n\ndata: [DONE]\n\n"));
}

#[tokio::test]
async fn chat_simple_format() {
    let response = chat("?interval=1ms", &[("X-Stream-Format", "simple")], STREAM).await;
    assert_eq!(
        text(response).await,
        "data: {\"content\":\"Hello\"}\n\ndata: {\"content\":\",\"}\n\n\
         data: {\"content\":\" how\"}\n\ndata: {\"content\":\" can\"}\n\n\
         data: {\"content\":\" I\"}\n\ndata: {\"content\":\" help\"}\n\n\
         data: {\"content\":\" you\"}\n\ndata: {\"content\":\"?\"}\n\ndata: [DONE]\n\n"
    );
}

#[tokio::test]
async fn chat_without_stream_answers_in_one_body() {
    let response = chat("", &[], r#"{"model":"m2"}"#).await;
    assert_eq!(header(&response, "content-type"), "application/json");
    let json: Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(json["object"], "chat.completion");
    assert_eq!(json["model"], "m2");
    assert_eq!(
        json["choices"][0]["message"]["content"],
        "Hello, how can I help you?"
    );
    assert_eq!(json["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn chat_refuses_bad_requests() {
    let response = chat("", &[], "{").await;
    assert_eq!(response.status(), 400);
    let json: Value = serde_json::from_str(&text(response).await).unwrap();
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("invalid JSON in the request body"),
        "{message}"
    );

    let response = chat("", &[("X-Test-Pattern", "bogus")], STREAM).await;
    assert_eq!(response.status(), 400);
    let json: Value = serde_json::from_str(&text(response).await).unwrap();
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("known patterns: unicode, short, long, abort:N, finish:REASON"),
        "{message}"
    );

    let response = chat("?interval=soon", &[], STREAM).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        header(&response, "content-type"),
        "text/plain; charset=utf-8"
    );
}

#[tokio::test]
async fn chat_unicode_splits_characters_across_chunks() {
    let response = chat("?interval=1ms", &[("X-Test-Pattern", "unicode")], STREAM).await;
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert!(chunks.iter().any(|c| std::str::from_utf8(c).is_err()));
    let body = String::from_utf8(chunks.concat()).unwrap();
    assert_eq!(
        content(&chat_chunks(&body)).concat(),
        "Hello 🌍 世界 𝄞 café!"
    );
}

#[tokio::test]
async fn chat_short_uses_tiny_chunks() {
    let response = chat("?interval=1ms", &[("X-Test-Pattern", "short")], STREAM).await;
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert!(chunks.iter().all(|c| (1..=2).contains(&c.len())));
    let body = String::from_utf8(chunks.concat()).unwrap();
    assert_eq!(
        content(&chat_chunks(&body)).concat(),
        "Hello, how can I help you?"
    );
    assert!(body.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn chat_long_tokens() {
    let response = chat("?interval=1ms", &[("X-Test-Pattern", "long")], STREAM).await;
    let tokens = content(&chat_chunks(&text(response).await));
    assert_eq!(tokens.len(), 8);
    assert!(tokens.iter().all(|t| t.len() == 4096));
    assert!(tokens[2].starts_with(" how lorem ipsum"));
}

#[tokio::test]
async fn chat_abort_drops_the_connection_after_n_tokens() {
    let response = chat("?interval=1ms", &[("X-Test-Pattern", "abort:3")], STREAM).await;
    let (chunks, end) = read_all(response).await;
    assert!(end.is_err(), "the connection must be dropped, not ended");
    let body = String::from_utf8(chunks.concat()).unwrap();
    assert_eq!(content(&chat_chunks(&body)), ["Hello", ",", " how"]);
    assert!(!body.contains("[DONE]"));
}

#[tokio::test]
async fn chat_custom_finish_reason() {
    let response = chat(
        "?interval=1ms",
        &[("X-Test-Pattern", "finish:length")],
        STREAM,
    )
    .await;
    let chunks = chat_chunks(&text(response).await);
    assert_eq!(chunks[8]["choices"][0]["finish_reason"], "length");
}

async fn stats(base: &str) -> Value {
    let body = text(get(format!("{base}/stats"), &[]).await).await;
    serde_json::from_str(&body).unwrap()
}

/// Polls `/stats` until `done` holds (or fails after [`LIMIT`]).
async fn wait_for_stats(base: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let stats = stats(base).await;
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "stats never got there: {stats}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn stats_count_finished_and_cancelled_streams() {
    let base = start().await;
    assert_eq!(
        stats(&base).await,
        serde_json::json!({"active_streams": 0, "completed_streams": 0, "cancelled_streams": 0})
    );
    text(get(format!("{base}/sse/empty"), &[]).await).await;

    let mut endless = get(format!("{base}/bad/endless?interval=10ms"), &[]).await;
    within("an endless event", endless.chunk()).await.unwrap();
    wait_for_stats(&base, |s| s["active_streams"] == 1).await;
    drop(endless);
    let after = wait_for_stats(&base, |s| s["cancelled_streams"] == 1).await;
    assert_eq!(
        after,
        serde_json::json!({"active_streams": 0, "completed_streams": 1, "cancelled_streams": 1})
    );
    assert_eq!(text(get(format!("{base}/health"), &[]).await).await, "ok");
}

#[tokio::test]
async fn stats_can_wait_for_a_cancellation() {
    let base = start().await;
    let mut endless = get(format!("{base}/bad/endless?interval=10ms"), &[]).await;
    within("an endless event", endless.chunk()).await.unwrap();
    // Asked before the client hangs up, the answer comes once the server has seen it.
    let waiting = tokio::spawn({
        let base = base.clone();
        async move { text(get(format!("{base}/stats?cancelled_above=0&timeout=5s"), &[]).await).await }
    });
    drop(endless);
    let body = within("the waiting /stats", waiting).await.unwrap();
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["cancelled_streams"], 1);
    assert_eq!(stats["active_streams"], 0);
    // Without a cancellation to wait for, it gives up after its timeout and answers anyway.
    let body = text(get(format!("{base}/stats?cancelled_above=1&timeout=50ms"), &[]).await).await;
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["cancelled_streams"], 1);
}

#[tokio::test]
async fn invalid_utf8_in_each_format() {
    let base = start().await;
    for (format, content_type) in [
        ("sse", "text/event-stream"),
        ("ndjson", "application/x-ndjson"),
        ("lines", "text/plain"),
    ] {
        let response = get(format!("{base}/bad/invalid-utf8?format={format}"), &[]).await;
        assert_eq!(header(&response, "content-type"), content_type);
        let (chunks, end) = read_all(response).await;
        end.unwrap();
        assert_eq!(chunks.len(), 3, "{format}");
        assert!(std::str::from_utf8(&chunks[0]).is_ok());
        assert!(chunks[1].windows(2).any(|w| w == [0xFF, 0xFE]), "{format}");
        assert!(std::str::from_utf8(&chunks[2]).is_ok());
    }
}

#[tokio::test]
async fn endless_keeps_going() {
    let base = start().await;
    let mut response = get(
        format!("{base}/bad/endless?format=ndjson&interval=5ms"),
        &[],
    )
    .await;
    for n in 1..=3 {
        let chunk = within("an endless line", response.chunk()).await.unwrap();
        assert_eq!(chunk, Some(Bytes::from(format!("{{\"n\":{n}}}\n"))));
    }
}

#[tokio::test]
async fn stall_goes_quiet_after_some_events() {
    let base = start().await;
    let mut response = get(format!("{base}/bad/stall?after=2"), &[]).await;
    assert_sse_headers(&response);
    for n in 1..=2 {
        let chunk = within("a stall event", response.chunk()).await.unwrap();
        assert_eq!(
            chunk,
            Some(Bytes::from(format!("id: {n}\ndata: {{\"n\":{n}}}\n\n")))
        );
    }
    let quiet = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await;
    assert!(quiet.is_err(), "expected silence, got {quiet:?}");
}

#[tokio::test]
async fn huge_line_is_streamed_in_pieces() {
    let base = start().await;
    let size = 1024 * 1024 + 7;
    let response = get(format!("{base}/bad/huge-line?size={size}"), &[]).await;
    assert_sse_headers(&response);
    let (chunks, end) = read_all(response).await;
    end.unwrap();
    assert!(chunks.iter().all(|c| c.len() <= 64 * 1024));
    let body = chunks.concat();
    assert_eq!(body.len(), size + 2);
    assert!(body.starts_with(b"data: xxx") && body.ends_with(b"xxx\n\n"));
    assert_eq!(body.iter().filter(|&&b| b == b'\n').count(), 2);

    let ndjson = text(get(format!("{base}/bad/huge-line?size=100&format=ndjson"), &[]).await).await;
    assert_eq!(ndjson.len(), 101);
    let json: Value = serde_json::from_str(&ndjson).unwrap();
    assert_eq!(
        json["data"].as_str().unwrap().len(),
        100 - r#"{"data":""}"#.len()
    );

    let lines = text(get(format!("{base}/bad/huge-line?size=10&format=lines"), &[]).await).await;
    assert_eq!(lines, "xxxxxxxxxx\n");

    let too_small = get(format!("{base}/bad/huge-line?size=5&format=ndjson"), &[]).await;
    assert_eq!(too_small.status(), 400);
}

#[tokio::test]
async fn wrong_content_type_carries_sse() {
    let base = start().await;
    let response = get(format!("{base}/bad/wrong-content-type"), &[]).await;
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(ids(&text(response).await), [1, 2, 3]);
}

#[tokio::test]
async fn silent_never_answers() {
    let base = start().await;
    let request = client().get(format!("{base}/bad/silent")).send();
    let outcome = tokio::time::timeout(Duration::from_millis(200), request).await;
    assert!(outcome.is_err(), "expected no response, got {outcome:?}");
}

#[tokio::test]
async fn reset_drops_the_connection_mid_event() {
    let base = start().await;
    let response = get(format!("{base}/bad/reset"), &[]).await;
    assert_sse_headers(&response);
    let (chunks, end) = read_all(response).await;
    assert!(end.is_err(), "the connection must be dropped, not ended");
    assert_eq!(chunks.concat(), b"id: 1\ndata: {\"n\":1}\n\nid: 2\ndata");
}

/// Reads the first chunk of a stream, then drops it: a client aborting mid-stream.
async fn abort_after_first_chunk(mut response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    let first = within("the first chunk", response.chunk()).await.unwrap();
    assert!(first.is_some(), "the stream ended before its first chunk");
    drop(response);
}

#[tokio::test]
async fn healthy_chat_survives_a_client_abort() {
    let base = start().await;
    // Slow tokens, so the stream is still going when the client leaves.
    let url = format!("{base}/v1/chat/completions");
    abort_after_first_chunk(post(format!("{url}?interval=200ms"), &[], STREAM).await).await;
    wait_for_stats(&base, |s| s["cancelled_streams"] == 1).await;

    let response = post(format!("{url}?interval=1ms"), &[], STREAM).await;
    assert_sse_headers(&response);
    let body = text(response).await;
    assert_eq!(
        content(&chat_chunks(&body)).concat(),
        "Hello, how can I help you?"
    );
    assert!(body.ends_with("data: [DONE]\n\n"));
    assert_eq!(text(get(format!("{base}/health"), &[]).await).await, "ok");
}

const BROKEN: &str = "broken: a client aborted a stream";

/// `/bad/fragile/health` for `query` (such as `?client=a`): the status and the body.
async fn fragile_health(base: &str, query: &str) -> (u16, String) {
    let response = get(format!("{base}/bad/fragile/health{query}"), &[]).await;
    let status = response.status().as_u16();
    (status, text(response).await)
}

/// Polls `/bad/fragile/health{query}` until the server has noticed the client drop.
async fn wait_until_broken(base: &str, query: &str) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let health = fragile_health(base, query).await;
        if health.0 == 503 {
            assert_eq!(health.1, BROKEN);
            return;
        }
        assert_eq!(health, (200, "ok".to_owned()));
        assert!(Instant::now() < deadline, "{query}: never broke");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `POST /bad/fragile/v1/chat/completions{query}` with a streaming request.
async fn fragile_chat(base: &str, query: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("{base}/bad/fragile/v1/chat/completions{query}");
    post(url, headers, STREAM).await
}

/// The `data:` payloads of a chat stream with the response's id and `created` time (which
/// differ from response to response) taken out, to compare two streams.
fn without_id_and_created(body: &str) -> Vec<Value> {
    let mut chunks = chat_chunks(body);
    for chunk in &mut chunks {
        let chunk = chunk.as_object_mut().unwrap();
        chunk.remove("id");
        chunk.remove("created");
    }
    chunks
}

#[tokio::test]
async fn fragile_chat_streams_like_the_healthy_one() {
    let base = start().await;
    let simple = [("X-Stream-Format", "simple")];
    let fragile = text(fragile_chat(&base, "?interval=1ms&client=a", &simple).await).await;
    let healthy = text(chat("?interval=1ms", &simple, STREAM).await).await;
    assert_eq!(fragile, healthy);
    assert!(fragile.starts_with("data: {\"content\":\"Hello\"}\n\n"));

    let response = fragile_chat(&base, "?interval=1ms", &[]).await;
    assert_sse_headers(&response);
    let fragile = text(response).await;
    let healthy = text(chat("?interval=1ms", &[], STREAM).await).await;
    assert_eq!(
        without_id_and_created(&fragile),
        without_id_and_created(&healthy)
    );
    assert!(fragile.ends_with("data: [DONE]\n\n"));

    // The same refusals, and `client` is known besides `interval`.
    let response = fragile_chat(&base, "?cleint=a", &[]).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        text(response).await,
        "unknown query parameter `cleint`; known parameters: client, interval\n"
    );
    let response = fragile_chat(&base, "", &[("X-Test-Pattern", "bogus")]).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn fragile_breaks_when_a_client_aborts() {
    let base = start().await;
    assert_eq!(fragile_health(&base, "?client=a").await, (200, "ok".into()));
    abort_after_first_chunk(fragile_chat(&base, "?client=a&interval=200ms", &[]).await).await;
    wait_until_broken(&base, "?client=a").await;
    // The drop guard that broke it is the one `/stats` counts with.
    assert_eq!(stats(&base).await["cancelled_streams"], 1);

    let response = fragile_chat(&base, "?client=a&interval=1ms", &[]).await;
    assert_eq!(response.status(), 503);
    assert_eq!(text(response).await, BROKEN);
    // Broken for good: still so after another request.
    assert_eq!(
        fragile_health(&base, "?client=a").await,
        (503, BROKEN.into())
    );
    // The healthy service next door is not affected.
    assert_eq!(text(get(format!("{base}/health"), &[]).await).await, "ok");
}

#[tokio::test]
async fn fragile_stays_healthy_when_streams_end_as_planned() {
    let base = start().await;
    for _ in 0..2 {
        let body = text(fragile_chat(&base, "?client=a&interval=1ms", &[]).await).await;
        assert!(body.ends_with("data: [DONE]\n\n"));
        // The stream counts as finished before its last byte leaves, so no wait is needed.
        assert_eq!(fragile_health(&base, "?client=a").await, (200, "ok".into()));
    }
    // A drop the server makes itself is not a client abort.
    let response = fragile_chat(
        &base,
        "?client=a&interval=1ms",
        &[("X-Test-Pattern", "abort:2")],
    )
    .await;
    let (_, end) = read_all(response).await;
    assert!(end.is_err(), "the server must drop the connection");
    assert_eq!(fragile_health(&base, "?client=a").await, (200, "ok".into()));
    assert_eq!(
        stats(&base).await,
        serde_json::json!({"active_streams": 0, "completed_streams": 3, "cancelled_streams": 0})
    );
}

#[tokio::test]
async fn fragile_clients_are_isolated() {
    let base = start().await;
    abort_after_first_chunk(fragile_chat(&base, "?client=a&interval=200ms", &[]).await).await;
    wait_until_broken(&base, "?client=a").await;
    assert_eq!(fragile_health(&base, "?client=b").await, (200, "ok".into()));
    assert_eq!(fragile_health(&base, "").await, (200, "ok".into()));
    let body = text(fragile_chat(&base, "?client=b&interval=1ms", &[]).await).await;
    assert!(body.ends_with("data: [DONE]\n\n"));

    // No `client` is the client `default`.
    abort_after_first_chunk(fragile_chat(&base, "?interval=200ms", &[]).await).await;
    wait_until_broken(&base, "").await;
    assert_eq!(
        fragile_health(&base, "?client=default").await,
        (503, BROKEN.into())
    );
    assert_eq!(fragile_health(&base, "?client=b").await, (200, "ok".into()));
    assert_eq!(
        fragile_health(&base, "?client=a").await,
        (503, BROKEN.into())
    );
}
