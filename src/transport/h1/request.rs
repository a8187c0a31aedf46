//! A request as HTTP/1.1 puts it on the wire: the request line, the spec's headers and the
//! defaults, then the body. The bytes are what reqwest and hyper sent before streamspec spoke
//! HTTP/1.1 itself, so a server sees no difference: the spec's headers first (several values of
//! one name together, where the first stands), then `accept: */*`, the user agent and `host`
//! unless the spec set them, then `content-length` for a body that is not empty.

use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, HOST, HeaderMap, HeaderValue, TRANSFER_ENCODING, USER_AGENT,
};

use crate::transport::http::HttpRequest;

pub const USER_AGENT_VALUE: &str = concat!("streamspec/", env!("CARGO_PKG_VERSION"));

/// The request's bytes, head and body; `host` is the `Host` header's default value.
pub fn encode(request: &HttpRequest, host: &str) -> Vec<u8> {
    let mut headers = HeaderMap::with_capacity(request.headers.len() + 4);
    for (name, value) in &request.headers {
        headers.append(name.clone(), value.clone());
    }
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    headers
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
    if let Ok(host) = HeaderValue::from_str(host) {
        headers.entry(HOST).or_insert(host);
    }
    let bytes = request.body.as_deref().unwrap_or_default();
    let body = if bytes.is_empty() {
        // No body at all: a `Transfer-Encoding` would promise one.
        headers.remove(TRANSFER_ENCODING);
        Body::None
    } else if headers.contains_key(TRANSFER_ENCODING) {
        // The spec asked for a coding: the body is sent chunked, as the last coding must be.
        headers.remove(CONTENT_LENGTH);
        end_codings_with_chunked(&mut headers);
        Body::Chunked(bytes)
    } else if let Some(length) = set_length(&headers) {
        // The spec's own length stands; no more than it is sent.
        Body::Raw(
            &bytes[..bytes
                .len()
                .min(usize::try_from(length).unwrap_or(usize::MAX))],
        )
    } else {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        Body::Raw(bytes)
    };

    let target = match request.url.query() {
        Some(query) => format!("{}?{query}", request.url.path()),
        None => request.url.path().to_string(),
    };
    let mut wire = Vec::with_capacity(64 + target.len() + 32 * headers.len() + bytes.len() + 16);
    wire.extend_from_slice(request.method.as_str().as_bytes());
    wire.push(b' ');
    wire.extend_from_slice(target.as_bytes());
    wire.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &headers {
        wire.extend_from_slice(name.as_str().as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    match body {
        Body::None => {}
        Body::Raw(bytes) => wire.extend_from_slice(bytes),
        Body::Chunked(bytes) => {
            // One chunk, then the last chunk, as hyper wrote a body it had whole.
            wire.extend_from_slice(format!("{:X}\r\n", bytes.len()).as_bytes());
            wire.extend_from_slice(bytes);
            wire.extend_from_slice(b"\r\n0\r\n\r\n");
        }
    }
    wire
}

enum Body<'a> {
    None,
    Raw(&'a [u8]),
    Chunked(&'a [u8]),
}

/// The length the spec's `Content-Length` headers agree on, if they are valid.
fn set_length(headers: &HeaderMap) -> Option<u64> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for text in value.to_str().ok()?.split(',') {
            let parsed = text.trim().parse::<u64>().ok()?;
            if length.is_some_and(|earlier| earlier != parsed) {
                return None;
            }
            length = Some(parsed);
        }
    }
    length
}

/// `Transfer-Encoding: gzip` becomes `gzip, chunked`: a request's last coding must be chunked.
fn end_codings_with_chunked(headers: &mut HeaderMap) {
    let last = headers.get_all(TRANSFER_ENCODING).iter().next_back();
    let ends_in_chunked = last
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
    if ends_in_chunked {
        return;
    }
    let mut values: Vec<HeaderValue> = headers.get_all(TRANSFER_ENCODING).iter().cloned().collect();
    if let Some(last) = values.pop() {
        let mut chunked = last.as_bytes().to_vec();
        chunked.extend_from_slice(b", chunked");
        if let Ok(chunked) = HeaderValue::from_bytes(&chunked) {
            values.push(chunked);
        }
    }
    headers.remove(TRANSFER_ENCODING);
    for value in values {
        headers.append(TRANSFER_ENCODING, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderName;

    fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> String {
        let request = HttpRequest {
            method: method.parse().unwrap(),
            url: reqwest::Url::parse(url).unwrap(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        HeaderValue::from_str(value).unwrap(),
                    )
                })
                .collect(),
            body: body.map(|body| body.as_bytes().to_vec()),
        };
        String::from_utf8(encode(&request, "h:1")).unwrap()
    }

    #[test]
    fn a_get_carries_the_spec_headers_grouped_then_the_defaults() {
        assert_eq!(
            request(
                "GET",
                "http://h:1/a%20b?q=1#frag",
                &[("x-b", "1"), ("x-a", "2"), ("x-b", "3")],
                None
            ),
            "GET /a%20b?q=1 HTTP/1.1\r\nx-b: 1\r\nx-b: 3\r\nx-a: 2\r\naccept: */*\r\n\
             user-agent: streamspec/0.1.0\r\nhost: h:1\r\n\r\n"
                .replace("0.1.0", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn the_spec_replaces_a_default_in_its_own_place() {
        assert_eq!(
            request(
                "GET",
                "http://h:1/",
                &[("user-agent", "mine"), ("Host", "example.com")],
                None
            ),
            "GET / HTTP/1.1\r\nuser-agent: mine\r\nhost: example.com\r\naccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn a_body_gets_its_length_and_an_empty_one_gets_none() {
        let sent = request("POST", "http://h:1/p", &[], Some("{\"a\":1}"));
        assert!(
            sent.ends_with("host: h:1\r\ncontent-length: 7\r\n\r\n{\"a\":1}"),
            "{sent}"
        );
        for body in [None, Some("")] {
            let sent = request("POST", "http://h:1/p", &[], body);
            assert!(!sent.contains("content-length"), "{sent}");
            assert!(sent.ends_with("host: h:1\r\n\r\n"), "{sent}");
        }
    }

    #[test]
    fn a_spec_length_or_coding_is_kept() {
        let sent = request(
            "POST",
            "http://h:1/",
            &[("content-length", "3")],
            Some("abcdef"),
        );
        assert!(
            sent.starts_with("POST / HTTP/1.1\r\ncontent-length: 3\r\n"),
            "{sent}"
        );
        assert!(sent.ends_with("\r\n\r\nabc"), "{sent}");
        let sent = request(
            "POST",
            "http://h:1/",
            &[("transfer-encoding", "chunked"), ("content-length", "9")],
            Some("abcdefghijklmnopq"),
        );
        assert!(!sent.contains("content-length"), "{sent}");
        assert!(
            sent.ends_with("\r\n\r\n11\r\nabcdefghijklmnopq\r\n0\r\n\r\n"),
            "{sent}"
        );
        let sent = request(
            "POST",
            "http://h:1/",
            &[("transfer-encoding", "gzip")],
            Some("x"),
        );
        assert!(
            sent.contains("transfer-encoding: gzip, chunked\r\n"),
            "{sent}"
        );
        let sent = request(
            "POST",
            "http://h:1/",
            &[("transfer-encoding", "chunked")],
            None,
        );
        assert!(!sent.contains("transfer-encoding"), "{sent}");
    }
}
