//! HTTP transport: sends a request, reads the response head, then hands out body chunks one at
//! a time, each stamped with the instant it was read, and says how the body ended. `http://`
//! goes over streamspec's own HTTP/1.1 client ([`super::h1`]); `https://`, and any request the
//! environment's proxy settings send through a proxy, over reqwest (HTTP/2 where the server
//! offers it).

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hyper_util::client::proxy::matcher::Matcher as ProxyMatcher;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::content_coding::{self, Decoded, DecodedBody};
use super::h1;

/// The largest response head streamspec reads, status line and header fields together: hyper's
/// read buffer (8 KiB + 400 KiB), which reqwest gives no way to change; streamspec's own
/// HTTP/1.1 client keeps the same limit. That is more than curl (300 KB) and browsers (Chrome:
/// 256 KB) accept.
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// The most header fields a response head may have; hyper's default is 100. curl and browsers
/// count only bytes, but hyper fills an array with a slot per allowed field for every response
/// head it parses: in a debug build (the test suite's) 10,000 slots cost each response a quarter
/// of a millisecond, which timing-sensitive tests notice. 2,000 is far above any real server's
/// head and costs next to nothing. streamspec's own HTTP/1.1 client parses a head with room
/// for 64 fields first, and for all of them only when it has more.
pub const MAX_HEADER_FIELDS: usize = 2_000;

/// HTTP/2 counts a header list as its names and values plus 32 bytes per field; hyper's default
/// is 16 KiB. 1 MiB takes what an HTTP/1.1 head of [`MAX_HEAD_BYTES`] holds, unless its fields
/// are tiny.
const MAX_HTTP2_HEADER_LIST: u32 = 1 << 20;

/// One shared client per run: it owns the connection pools and the TLS set-up.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// Idle connections of streamspec's own HTTP/1.1 client.
    own: Arc<h1::Pool>,
    /// The proxy settings of the environment (`http_proxy`, `all_proxy`, `no_proxy`, …), read
    /// as reqwest reads them: a request they send through a proxy goes over reqwest.
    proxies: Arc<ProxyMatcher>,
}

impl HttpClient {
    pub fn new() -> Result<HttpClient, String> {
        // reqwest is built without a default crypto provider (aws-lc is a slow C build);
        // ring is installed once here, before any client exists. A second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("streamspec/", env!("CARGO_PKG_VERSION")))
            // Redirects are answers too: a spec sees the 3xx and can assert on it.
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .http1_max_headers(MAX_HEADER_FIELDS)
            .http2_max_header_list_size(MAX_HTTP2_HEADER_LIST)
            .build()
            .map_err(|e| format!("could not set up the HTTP client: {}", describe_error(&e)))?;
        Ok(HttpClient {
            client,
            own: Arc::default(),
            proxies: Arc::new(ProxyMatcher::from_system()),
        })
    }

    /// Whether `url` goes over streamspec's own HTTP/1.1 client: `http://`, not proxied.
    fn speaks_itself(&self, url: &reqwest::Url) -> bool {
        url.scheme() == "http"
            && url
                .as_str()
                .parse::<hyper::Uri>()
                .is_ok_and(|uri| self.proxies.intercept(&uri).is_none())
    }
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
}

/// A response whose head has arrived and whose body is read chunk by chunk.
pub struct HttpResponse {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    /// When the request was sent.
    pub sent_at: Instant,
    /// From sending the request to having the response head.
    pub ttfb: Duration,
    /// How long the TCP connection took to open (part of `ttfb`); `None` when a kept
    /// connection was used, or the client does not say (HTTPS and proxies, through reqwest).
    pub connect: Option<Duration>,
    body: Body,
}

/// The body as it is read: as sent, or decoded from its `Content-Encoding`.
enum Body {
    AsSent(RawBody),
    Decoded(DecodedBody),
    /// A coding streamspec does not know; reading the body fails with this message.
    Undecodable(String),
}

/// The body's bytes as the connection carried them.
enum RawBody {
    /// Over reqwest (`https://`, a proxy).
    Reqwest(Box<reqwest::Response>),
    /// Over streamspec's own HTTP/1.1 client.
    Own(h1::BodyReader),
}

/// The bytes of a raw body, each piece with when it was read, or why the connection broke.
type RawStream = Pin<Box<dyn Stream<Item = Result<(Bytes, Instant), String>> + Send + Sync>>;

impl RawBody {
    /// The next piece of the body, or how it ended, by `deadline`.
    async fn next(&mut self, deadline: Instant) -> ChunkRead {
        match self {
            RawBody::Reqwest(response) => {
                match tokio::time::timeout_at(deadline.into(), response.chunk()).await {
                    Err(_) => ChunkRead::TimedOut,
                    Ok(Ok(Some(bytes))) => ChunkRead::Data {
                        bytes,
                        at: Instant::now(),
                    },
                    Ok(Ok(None)) => ChunkRead::End,
                    Ok(Err(error)) => ChunkRead::Failed(describe_body_error(&error)),
                }
            }
            RawBody::Own(reader) => {
                let read = std::future::poll_fn(|cx| reader.poll_read(cx, Some(deadline)));
                match tokio::time::timeout_at(deadline.into(), read).await {
                    Err(_) | Ok(h1::BodyRead::TimedOut) => ChunkRead::TimedOut,
                    Ok(h1::BodyRead::Data(bytes, at)) => ChunkRead::Data { bytes, at },
                    Ok(h1::BodyRead::End) => ChunkRead::End,
                    Ok(h1::BodyRead::Failed(reason)) => ChunkRead::Failed(reason),
                }
            }
        }
    }

    fn into_stream(self) -> RawStream {
        match self {
            RawBody::Reqwest(response) => Box::pin(response.bytes_stream().map(|chunk| {
                chunk
                    .map(|bytes| (bytes, Instant::now()))
                    .map_err(|error| describe_body_error(&error))
            })),
            RawBody::Own(reader) => Box::pin(reader),
        }
    }
}

impl Body {
    /// The body `raw`, whose response's headers are `headers`.
    fn new(raw: RawBody, headers: &HeaderMap) -> Body {
        match content_coding::codings(headers) {
            Ok(codings) if codings.is_empty() => Body::AsSent(raw),
            Ok(codings) => Body::Decoded(DecodedBody::new(raw.into_stream(), &codings)),
            Err(name) => Body::Undecodable(format!(
                "the server sent the body with Content-Encoding `{name}`, which streamspec cannot decode (it decodes gzip, br, deflate and zstd)"
            )),
        }
    }
}

/// What reading the next piece of the body gave.
pub enum ChunkRead {
    Data { bytes: Bytes, at: Instant },
    End,
    Failed(String),
    TimedOut,
}

/// A body read to its end.
#[derive(Debug, Default)]
pub struct WholeBody {
    /// What was kept of it.
    pub bytes: Vec<u8>,
    /// Its whole length.
    pub total: u64,
}

/// Why a body could not be read to its end; `read` is how many bytes came before.
#[derive(Debug)]
pub enum BodyError {
    Dropped { reason: String, read: u64 },
    TimedOut { read: u64 },
    TooLarge { limit: usize },
}

pub enum SendError {
    Failed(String),
    TimedOut,
}

pub async fn send(
    client: &HttpClient,
    request: HttpRequest,
    deadline: Instant,
) -> Result<HttpResponse, SendError> {
    if client.speaks_itself(&request.url) {
        let sent_at = Instant::now();
        return match tokio::time::timeout_at(deadline.into(), h1::send(&client.own, &request)).await
        {
            Err(_) => Err(SendError::TimedOut),
            Ok(Err(reason)) => Err(SendError::Failed(reason)),
            Ok(Ok(response)) => Ok(HttpResponse {
                status: response.status,
                connect: response.connect,
                ttfb: sent_at.elapsed(),
                sent_at,
                body: Body::new(RawBody::Own(response.body), &response.headers),
                headers: response.headers,
            }),
        };
    }
    let mut builder = client.client.request(request.method, request.url);
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let sent_at = Instant::now();
    match tokio::time::timeout_at(deadline.into(), builder.send()).await {
        Err(_) => Err(SendError::TimedOut),
        Ok(Err(error)) => Err(SendError::Failed(describe_send_error(&error))),
        Ok(Ok(mut response)) => {
            let ttfb = sent_at.elapsed();
            let headers = owned_headers(std::mem::take(response.headers_mut()));
            Ok(HttpResponse {
                status: response.status(),
                connect: None,
                ttfb,
                sent_at,
                body: Body::new(RawBody::Reqwest(Box::new(response)), &headers),
                headers,
            })
        }
    }
}

/// `headers` with every value in an allocation of its own. The values hyper parses are slices
/// of the connection's read buffer: kept as long as a stream is open, they pin that buffer, and
/// hyper allocates another (8 KiB) for the body; a test holding a thousand streams open pays it
/// a thousand times (benches/many_streams.sh).
fn owned_headers(headers: HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    let mut name = None;
    for (next, value) in headers {
        // `into_iter` names only the first of a header's values.
        if next.is_some() {
            name = next;
        }
        let Some(name) = &name else { continue };
        // A value hyper let through that `HeaderValue` would refuse stays as it was (shared).
        let value = match HeaderValue::from_bytes(value.as_bytes()) {
            Ok(mut copy) => {
                copy.set_sensitive(value.is_sensitive());
                copy
            }
            Err(_) => value,
        };
        owned.append(name.clone(), value);
    }
    owned
}

impl HttpRequest {
    /// Sets a header, replacing any value it had.
    pub fn set_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value));
    }

    pub fn remove_header(&mut self, name: &HeaderName) {
        self.headers.retain(|(existing, _)| existing != name);
    }

    /// Sets a query parameter, replacing any value it had.
    pub fn set_query(&mut self, name: &str, value: &str) {
        let kept: Vec<(String, String)> = self
            .url
            .query_pairs()
            .filter(|(key, _)| key != name)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let mut pairs = self.url.query_pairs_mut();
        pairs.clear();
        for (key, value) in &kept {
            pairs.append_pair(key, value);
        }
        pairs.append_pair(name, value);
    }
}

impl HttpResponse {
    /// The next chunk of the body as the connection delivered it, or how the body ended.
    /// A decoded body's chunks are what one read of the decoder gives, stamped with when the
    /// compressed bytes that completed them arrived.
    pub async fn next_chunk(&mut self, deadline: Instant) -> ChunkRead {
        match &mut self.body {
            Body::AsSent(raw) => raw.next(deadline).await,
            Body::Decoded(body) => {
                match tokio::time::timeout_at(deadline.into(), body.next()).await {
                    Err(_) => ChunkRead::TimedOut,
                    Ok(Decoded::Data(bytes, at)) => ChunkRead::Data { bytes, at },
                    Ok(Decoded::End) => ChunkRead::End,
                    Ok(Decoded::Failed(reason)) => ChunkRead::Failed(reason),
                }
            }
            Body::Undecodable(message) => ChunkRead::Failed(message.clone()),
        }
    }

    /// Reads the rest of the body. Up to `keep` bytes are kept; with `fail_past_keep`, a longer
    /// body is an error as soon as it passes that size, else the rest is only counted.
    pub async fn read_to_end(
        &mut self,
        deadline: Instant,
        keep: usize,
        fail_past_keep: bool,
    ) -> Result<WholeBody, BodyError> {
        let mut body = WholeBody::default();
        loop {
            match self.next_chunk(deadline).await {
                ChunkRead::Data { bytes, .. } => {
                    body.total += bytes.len() as u64;
                    let room = keep.saturating_sub(body.bytes.len());
                    if bytes.len() > room && fail_past_keep {
                        return Err(BodyError::TooLarge { limit: keep });
                    }
                    body.bytes
                        .extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
                ChunkRead::End => return Ok(body),
                ChunkRead::Failed(reason) => {
                    return Err(BodyError::Dropped {
                        reason,
                        read: body.total,
                    });
                }
                ChunkRead::TimedOut => return Err(BodyError::TimedOut { read: body.total }),
            }
        }
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }
}

/// Why a request got no response, in words: `could not connect to 127.0.0.1:1 (Connection
/// refused)` rather than the client library's layers of wrapping.
/// `401 Unauthorized`, or the code alone when it has no name.
pub fn describe_status(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn describe_send_error(error: &reqwest::Error) -> String {
    let target = error
        .url()
        .map(|url| {
            let host = url.host_str().unwrap_or("");
            match url.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        })
        .unwrap_or_default();
    let cause = root_cause(error);
    let lower = cause.to_ascii_lowercase();
    if lower.contains("message head is too large") {
        head_too_large(&target)
    } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        format!(
            "the TLS handshake with {target} failed: the server does not seem to speak TLS (should the URL be `http://`?)"
        )
    } else if lower.contains("certificate") {
        format!(
            "the TLS handshake with {target} failed: {}",
            crate::transport::tls::readable_error(&cause)
        )
    } else if error.is_connect() {
        format!("could not connect to {target}: {cause}")
    } else if error.is_timeout() {
        format!("the request to {target} timed out: {cause}")
    } else {
        format!("the request to {target} failed: {cause}")
    }
}

/// A response head past [`MAX_HEAD_BYTES`] or [`MAX_HEADER_FIELDS`], from the server at `target`.
pub(super) fn head_too_large(target: &str) -> String {
    format!(
        "the server at {target} sent a response head larger than streamspec accepts (more than {} header fields, or more than {} KiB)",
        format_count(MAX_HEADER_FIELDS),
        MAX_HEAD_BYTES / 1024
    )
}

/// `10,000`.
pub fn format_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// How a body broke off, in words; the HTTP library's own phrases follow in brackets.
pub(super) fn describe_body_error(error: &(dyn std::error::Error + 'static)) -> String {
    let cause = root_cause(error);
    let lower = cause.to_ascii_lowercase();
    if lower.contains("unexpected eof") || lower.contains("end of file before message length") {
        format!("closed mid-body ({cause})")
    } else if lower.contains("reset") {
        format!("reset by the server ({cause})")
    } else {
        cause
    }
}

/// The innermost cause: for a broken body, that is what the connection did
/// (`unexpected EOF during chunk size line`, `connection reset by peer`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// An error with its causes, most specific last, without repeating text a cause already gives:
/// `error sending request: client error (Connect): tcp connect error: Connection refused`.
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        // reqwest prefixes its own message with the URL; that is shown elsewhere already.
        let text = match text.find(" for url (") {
            Some(index) => text[..index].to_string(),
            None => text,
        };
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_headers_share_no_buffer_with_the_response() {
        // As hyper parses them: values sliced out of one buffer.
        let buffer = Bytes::from_static(b"text/event-stream\r\nno-cache\r\nclose");
        let slice = |range: std::ops::Range<usize>| {
            HeaderValue::from_maybe_shared(buffer.slice(range)).expect("a header value")
        };
        let mut headers = HeaderMap::new();
        headers.insert("content-type", slice(0..17));
        headers.append("cache-control", slice(19..27));
        headers.append("cache-control", slice(29..34));
        let buffer_range = buffer.as_ptr_range();

        let owned = owned_headers(headers.clone());

        assert_eq!(owned, headers);
        for value in owned.values() {
            let at = value.as_bytes().as_ptr();
            assert!(
                !buffer_range.contains(&at),
                "{value:?} is still in the buffer"
            );
        }
    }
}
