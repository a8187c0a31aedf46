//! The WebSocket opening handshake (RFC 6455 §4), done here rather than by tungstenite so that
//! every answer can be checked as an HTTP response: the 101's headers (the subprotocol the
//! server chose among them), and a refusal's status, headers and body. Browsers accept a
//! server that chooses no subprotocol, and so does this; tungstenite would fail it.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::connection::Io;
use super::{WsError, WsTarget};
use crate::transport::http::MAX_HEADER_FIELDS;

/// The most bytes a handshake's response head may take.
const MAX_HEAD_BYTES: usize = 1 << 20;
/// How much of a refusal's body is kept to show.
const MAX_REFUSAL_BODY: usize = 16 * 1024;
/// How long a refusal's body is waited for, after its head: the status is the news.
const REFUSAL_BODY_WAIT: Duration = Duration::from_secs(1);

/// The head of the server's answer to the upgrade request (`101 Switching Protocols`, or a
/// refusal's), with when the request was sent and how long the connection and the head took.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    /// When the upgrade request was sent.
    pub sent_at: Instant,
    /// From sending the request to having the response head.
    pub ttfb: Duration,
    /// How long the TCP connect before it took (before TLS, for `wss://`).
    pub connect: Duration,
}

/// Sends the upgrade request on `io` and reads the answer. Returns the handshake and the bytes
/// read after the head (the first frames, when the server sent them at once).
pub(super) async fn handshake(
    io: &mut Io,
    target: &WsTarget,
    deadline: Instant,
    connect: Duration,
) -> Result<(Handshake, BytesMut), WsError> {
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let (request, key) = request_text(target, key);
    let sent_at = Instant::now();
    let write = async {
        io.write_all(request.as_bytes()).await?;
        io.flush().await
    };
    match tokio::time::timeout_at(deadline.into(), write).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            return Err(WsError::Connect(format!(
                "sending the upgrade request: {error}"
            )));
        }
        Err(_) => return Err(WsError::TimedOut("the upgrade request to be sent")),
    }
    let mut buffer = BytesMut::with_capacity(4096);
    let (status, headers, head_len) = loop {
        if let Some(head) = parse_head(&buffer)? {
            break head;
        }
        if buffer.len() >= MAX_HEAD_BYTES {
            return Err(WsError::BadHandshake(format!(
                "the answer's head went past {} KiB",
                MAX_HEAD_BYTES / 1024
            )));
        }
        buffer.reserve(4096);
        match tokio::time::timeout_at(deadline.into(), io.read_buf(&mut buffer)).await {
            Ok(Ok(0)) if buffer.is_empty() => {
                return Err(WsError::Connect(
                    "the server closed the connection without answering the upgrade request"
                        .to_string(),
                ));
            }
            Ok(Ok(0)) => {
                return Err(WsError::BadHandshake(
                    "the server closed the connection in the middle of its answer's head"
                        .to_string(),
                ));
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return Err(WsError::Connect(format!(
                    "reading the answer to the upgrade request: {error}"
                )));
            }
            Err(_) => return Err(WsError::TimedOut("the answer to the upgrade request")),
        }
    };
    let ttfb = sent_at.elapsed();
    let rest = buffer.split_off(head_len);
    if status != reqwest::StatusCode::SWITCHING_PROTOCOLS {
        let body = refusal_body(io, &headers, rest, deadline).await;
        return Err(WsError::Refused {
            head: Box::new(Handshake {
                status,
                headers,
                sent_at,
                ttfb,
                connect,
            }),
            body,
        });
    }
    verify(&headers, &key, target)?;
    Ok((
        Handshake {
            status,
            headers,
            sent_at,
            ttfb,
            connect,
        },
        rest,
    ))
}

/// The upgrade request as bytes, and the key it carries (the spec's own, if it sets one).
fn request_text(target: &WsTarget, key: String) -> (String, String) {
    let url = &target.url;
    let mut path = url.path().to_string();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    };
    let mut defaults: Vec<(&str, String)> = vec![
        ("host", host),
        ("upgrade", "websocket".to_string()),
        ("connection", "Upgrade".to_string()),
        ("sec-websocket-key", key),
        ("sec-websocket-version", "13".to_string()),
        (
            "user-agent",
            concat!("streamspec/", env!("CARGO_PKG_VERSION")).to_string(),
        ),
    ];
    if !target.protocols.is_empty() {
        defaults.push(("sec-websocket-protocol", target.protocols.join(", ")));
    }
    // The spec's headers replace the defaults of the same name (a test of how a server treats
    // a wrong key or version sets its own).
    defaults.retain(|(name, _)| {
        !target
            .headers
            .iter()
            .any(|(own, _)| own.as_str().eq_ignore_ascii_case(name))
    });
    let mut key = defaults
        .iter()
        .find(|(name, _)| *name == "sec-websocket-key")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let mut text = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in &defaults {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    for (name, value) in &target.headers {
        if name.as_str() == "sec-websocket-key" {
            key = String::from_utf8_lossy(value.as_bytes()).into_owned();
        }
        text.push_str(name.as_str());
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    (text, key)
}

type Head = (reqwest::StatusCode, HeaderMap, usize);

/// The response head at the start of `buffer`, once all of it is there.
fn parse_head(buffer: &[u8]) -> Result<Option<Head>, WsError> {
    let mut fields = vec![httparse::EMPTY_HEADER; 64];
    loop {
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(buffer) {
            Ok(httparse::Status::Complete(len)) => {
                let code = response.code.unwrap_or(0);
                let status = reqwest::StatusCode::from_u16(code).map_err(|_| {
                    WsError::BadHandshake(format!("the answer's status {code} is not valid"))
                })?;
                let mut headers = HeaderMap::new();
                for field in response.headers.iter() {
                    let name = HeaderName::from_bytes(field.name.as_bytes());
                    let value = HeaderValue::from_bytes(field.value);
                    if let (Ok(name), Ok(value)) = (name, value) {
                        headers.append(name, value);
                    }
                }
                return Ok(Some((status, headers, len)));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) if fields.len() < MAX_HEADER_FIELDS => {
                let more = (fields.len() * 4).min(MAX_HEADER_FIELDS);
                fields = vec![httparse::EMPTY_HEADER; more];
            }
            Err(error) => {
                let start = String::from_utf8_lossy(&buffer[..buffer.len().min(40)]).into_owned();
                return Err(WsError::BadHandshake(format!(
                    "the answer is not an HTTP response ({error}); it began {start:?}"
                )));
            }
        }
    }
}

/// RFC 6455 §4.1: what a client must check of a 101 before it speaks WebSocket.
fn verify(headers: &HeaderMap, key: &str, target: &WsTarget) -> Result<(), WsError> {
    let has_token = |name: &str, token: &str| {
        headers.get_all(name).iter().any(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token("upgrade", "websocket") {
        return Err(WsError::BadHandshake(
            "the server answered 101 without `Upgrade: websocket`".to_string(),
        ));
    }
    if !has_token("connection", "upgrade") {
        return Err(WsError::BadHandshake(
            "the server answered 101 without `Connection: Upgrade`".to_string(),
        ));
    }
    let expected = derive_accept_key(key.as_bytes());
    match headers.get("sec-websocket-accept") {
        None => {
            return Err(WsError::BadHandshake(
                "the server answered 101 without a `Sec-WebSocket-Accept` header".to_string(),
            ));
        }
        Some(accept) if accept.as_bytes() != expected.as_bytes() => {
            return Err(WsError::BadHandshake(format!(
                "the server's `Sec-WebSocket-Accept` is {:?}; for the key sent it must be {expected:?}",
                String::from_utf8_lossy(accept.as_bytes())
            )));
        }
        Some(_) => {}
    }
    if let Some(chosen) = headers.get("sec-websocket-protocol") {
        let chosen = String::from_utf8_lossy(chosen.as_bytes())
            .trim()
            .to_string();
        if !target.protocols.contains(&chosen) {
            let asked = if target.protocols.is_empty() {
                "none was asked for".to_string()
            } else {
                format!("the request asked for {}", target.protocols.join(", "))
            };
            return Err(WsError::BadHandshake(format!(
                "the server chose the subprotocol {chosen:?}, but {asked}"
            )));
        }
    }
    if let Some(extensions) = headers.get("sec-websocket-extensions") {
        return Err(WsError::BadHandshake(format!(
            "the server chose the extension {:?}, which the request did not offer",
            String::from_utf8_lossy(extensions.as_bytes())
        )));
    }
    Ok(())
}

/// What the server sent after a refusal's head: up to its `Content-Length`, or to the end of
/// the connection, bounded in size and time (a body that does not come leaves it short).
async fn refusal_body(
    io: &mut Io,
    headers: &HeaderMap,
    mut body: BytesMut,
    deadline: Instant,
) -> Vec<u8> {
    let length = headers
        .get("content-length")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<usize>().ok());
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let wanted = length.unwrap_or(usize::MAX).min(MAX_REFUSAL_BODY);
    let until = deadline.min(Instant::now() + REFUSAL_BODY_WAIT);
    while body.len() < wanted && !(chunked && body.ends_with(b"0\r\n\r\n")) {
        body.reserve(4096);
        match tokio::time::timeout_at(until.into(), io.read_buf(&mut body)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
    }
    body.truncate(wanted);
    if chunked {
        return dechunk(&body);
    }
    body.to_vec()
}

/// The data of a chunked body (as far as it is whole).
fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    while let Some(line_end) = bytes.windows(2).position(|pair| pair == b"\r\n") {
        let size_text = String::from_utf8_lossy(&bytes[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || start + size > bytes.len() {
            data.extend_from_slice(&bytes[start..bytes.len().min(start + size)]);
            break;
        }
        data.extend_from_slice(&bytes[start..start + size]);
        bytes = bytes.get(start + size + 2..).unwrap_or(&[]);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(protocols: &[&str]) -> WsTarget {
        WsTarget {
            url: reqwest::Url::parse("ws://127.0.0.1:9/room?x=1").unwrap(),
            headers: Vec::new(),
            protocols: protocols.iter().map(|p| p.to_string()).collect(),
            insecure: false,
        }
    }

    #[test]
    fn the_request_names_the_path_host_key_and_protocols() {
        let (text, key) = request_text(&target(&["a", "b"]), "k==".to_string());
        assert_eq!(key, "k==");
        assert!(text.starts_with("GET /room?x=1 HTTP/1.1\r\nhost: 127.0.0.1:9\r\n"));
        assert!(text.contains("sec-websocket-key: k==\r\n"));
        assert!(text.contains("sec-websocket-protocol: a, b\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn a_spec_header_replaces_a_default_and_its_key_is_the_one_checked() {
        let mut target = target(&[]);
        target.headers.push((
            HeaderName::from_static("sec-websocket-key"),
            HeaderValue::from_static("mine"),
        ));
        let (text, key) = request_text(&target, "generated".to_string());
        assert_eq!(key, "mine");
        assert_eq!(text.matches("sec-websocket-key").count(), 1);
        assert!(!text.contains("sec-websocket-protocol"));
    }

    #[test]
    fn a_chunked_refusal_body_is_read_as_its_data() {
        assert_eq!(dechunk(b"5\r\nhello\r\n3\r\n!!!\r\n0\r\n\r\n"), b"hello!!!");
        assert_eq!(dechunk(b"5\r\nhel"), b"hel");
    }

    #[test]
    fn a_head_is_parsed_once_whole() {
        assert!(parse_head(b"HTTP/1.1 101 Switching").unwrap().is_none());
        let (status, headers, len) = parse_head(b"HTTP/1.1 403 No\r\nx-a: 1\r\n\r\nbody")
            .unwrap()
            .unwrap();
        assert_eq!(status.as_u16(), 403);
        assert_eq!(headers["x-a"], "1");
        assert_eq!(len, 27);
    }
}
