//! How a response's body is delimited, and whether its connection may carry another request,
//! decided from its head (RFC 9112 §6.3 and §9.3), as hyper decided it before streamspec spoke
//! HTTP/1.1 itself.

use reqwest::Method;
use reqwest::header::{CONNECTION, CONTENT_LENGTH, HeaderMap, TRANSFER_ENCODING};

use super::body::Framing;

/// What a final response's head says about its body and its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyOf {
    pub framing: Framing,
    /// Whether the connection may carry another request once the body has ended.
    pub keep_alive: bool,
}

/// The framing of the body answering `method` with `status` (not an interim 1xx), in HTTP/1.`minor`;
/// an error says what is wrong with the head.
pub fn body_of(
    method: &Method,
    status: u16,
    minor: u8,
    headers: &HeaderMap,
) -> Result<BodyOf, String> {
    let keep_alive = keeps_alive(minor, headers);
    let (framing, keep_alive) = match status {
        // The connection now speaks another protocol, which streamspec did not ask for.
        101 => (Framing::Empty, false),
        204 | 304 => (Framing::Empty, keep_alive),
        _ if *method == Method::HEAD => (Framing::Empty, keep_alive),
        _ if headers.contains_key(TRANSFER_ENCODING) => {
            if minor == 0 {
                return Err(
                    "it is HTTP/1.0 and has a Transfer-Encoding header, which HTTP/1.0 does not have"
                        .to_string(),
                );
            }
            if ends_in_chunked(headers) {
                (Framing::Chunked, keep_alive)
            } else {
                // Some other coding last: the body runs to the end of the connection.
                (Framing::UntilClose, false)
            }
        }
        _ if headers.contains_key(CONTENT_LENGTH) => {
            (Framing::Length(content_length(headers)?), keep_alive)
        }
        _ => (Framing::UntilClose, false),
    };
    Ok(BodyOf {
        framing,
        keep_alive,
    })
}

/// HTTP/1.1 keeps a connection open unless a `Connection` header says `close`; HTTP/1.0 closes
/// it unless one says `keep-alive`. Once any says `close`, it closes.
fn keeps_alive(minor: u8, headers: &HeaderMap) -> bool {
    let tokens = || {
        headers
            .get_all(CONNECTION)
            .into_iter()
            .flat_map(|value| value.as_bytes().split(|&byte| byte == b','))
            .map(|token| token.trim_ascii())
    };
    if tokens().any(|token| token.eq_ignore_ascii_case(b"close")) {
        return false;
    }
    minor >= 1 || tokens().any(|token| token.eq_ignore_ascii_case(b"keep-alive"))
}

/// Whether the last transfer coding listed is `chunked`.
fn ends_in_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(TRANSFER_ENCODING)
        .into_iter()
        .next_back()
        .and_then(|value| value.as_bytes().rsplit(|&byte| byte == b',').next())
        .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// The body's length from its `Content-Length` headers: each may list values (`5, 5`), all of
/// which must be the same number.
fn content_length(headers: &HeaderMap) -> Result<u64, String> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for text in value.as_bytes().split(|&byte| byte == b',') {
            let text = text.trim_ascii();
            let shown = String::from_utf8_lossy(text);
            let parsed = std::str::from_utf8(text)
                .ok()
                .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|text| text.parse::<u64>().ok())
                .ok_or_else(|| format!("its Content-Length `{shown}` is not a length in bytes"))?;
            match length {
                Some(earlier) if earlier != parsed => {
                    return Err(format!(
                        "it has two different Content-Length values, {earlier} and {parsed}"
                    ));
                }
                _ => length = Some(parsed),
            }
        }
    }
    length.ok_or_else(|| "its Content-Length is empty".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(fields: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn of(status: u16, fields: &[(&str, &str)]) -> Result<BodyOf, String> {
        body_of(&Method::GET, status, 1, &headers(fields))
    }

    fn framing(status: u16, fields: &[(&str, &str)]) -> Framing {
        of(status, fields).unwrap().framing
    }

    #[test]
    fn transfer_encoding_overrides_content_length() {
        assert_eq!(
            framing(
                200,
                &[("content-length", "5"), ("transfer-encoding", "chunked")]
            ),
            Framing::Chunked
        );
        assert_eq!(
            framing(200, &[("transfer-encoding", "gzip, Chunked")]),
            Framing::Chunked
        );
        assert_eq!(
            of(200, &[("transfer-encoding", "chunked, gzip")]),
            Ok(BodyOf {
                framing: Framing::UntilClose,
                keep_alive: false
            })
        );
    }

    #[test]
    fn content_length_values_must_agree_and_be_numbers() {
        assert_eq!(
            framing(200, &[("content-length", "5"), ("content-length", "5, 5")]),
            Framing::Length(5)
        );
        assert_eq!(
            of(200, &[("content-length", "5"), ("content-length", "6")]),
            Err("it has two different Content-Length values, 5 and 6".to_string())
        );
        assert_eq!(
            of(200, &[("content-length", "+5")]),
            Err("its Content-Length `+5` is not a length in bytes".to_string())
        );
        assert_eq!(
            of(200, &[("content-length", "")]),
            Err("its Content-Length `` is not a length in bytes".to_string())
        );
        assert_eq!(
            of(200, &[("content-length", "99999999999999999999")]),
            Err("its Content-Length `99999999999999999999` is not a length in bytes".to_string())
        );
    }

    #[test]
    fn some_answers_have_no_body_whatever_their_head_says() {
        for status in [204, 304] {
            assert_eq!(framing(status, &[("content-length", "5")]), Framing::Empty);
        }
        let head = body_of(&Method::HEAD, 200, 1, &headers(&[("content-length", "5")]));
        assert_eq!(head.unwrap().framing, Framing::Empty);
        assert!(!of(101, &[]).unwrap().keep_alive);
    }

    #[test]
    fn without_a_length_the_body_runs_to_the_close() {
        assert_eq!(
            of(200, &[]),
            Ok(BodyOf {
                framing: Framing::UntilClose,
                keep_alive: false
            })
        );
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_headers() {
        assert!(of(200, &[("content-length", "1")]).unwrap().keep_alive);
        assert!(
            !of(
                200,
                &[("content-length", "1"), ("connection", "keep-alive, Close")]
            )
            .unwrap()
            .keep_alive
        );
        let old = |fields| body_of(&Method::GET, 200, 0, &headers(fields)).unwrap();
        assert!(!old(&[("content-length", "1")]).keep_alive);
        assert!(old(&[("content-length", "1"), ("connection", "Keep-Alive")]).keep_alive);
        assert_eq!(
            body_of(
                &Method::GET,
                200,
                0,
                &headers(&[("transfer-encoding", "chunked")])
            ),
            Err(
                "it is HTTP/1.0 and has a Transfer-Encoding header, which HTTP/1.0 does not have"
                    .to_string()
            )
        );
    }
}
