//! A response head read and parsed (httparse): the status line and header fields, bounded in
//! bytes and in fields as streamspec's limits say, with interim `1xx` answers (`100 Continue`,
//! `103 Early Hints`) passed over.

use std::io;

use bytes::Bytes;
use memchr::memmem;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::connection::Connection;
use crate::transport::http::{MAX_HEAD_BYTES, MAX_HEADER_FIELDS};

/// Header fields parsed without allocating; a head with more is parsed again with room for
/// [`MAX_HEADER_FIELDS`].
const USUAL_FIELDS: usize = 64;

/// A final response's head.
#[derive(Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    /// 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub minor: u8,
    pub headers: HeaderMap,
}

/// Why no head could be read.
#[derive(Debug)]
pub enum HeadError {
    /// The connection ended, or broke, before any byte of an answer came: on a connection used
    /// before, the server may have closed it just as the request went out.
    NothingCame(Option<io::Error>),
    /// The connection ended in the middle of a head.
    Closed,
    Io(io::Error),
    TooLarge,
    /// What is wrong with it, in words, and how it began.
    Invalid(String),
}

/// Reads heads from `connection` until a final one (interim `1xx` ones are passed over).
/// Returns it and the bytes read after it.
pub async fn read(connection: &mut Connection) -> Result<(ResponseHead, Bytes), HeadError> {
    let mut buffer = Vec::new();
    let mut anything_came = false;
    loop {
        // The head is parsed only once a blank line may have just arrived.
        let mut searched = 0;
        let (head, length) = loop {
            if blank_line_from(&buffer, searched).is_some()
                && let Some(parsed) = parse(&buffer)?
            {
                break parsed;
            }
            if buffer.len() >= MAX_HEAD_BYTES {
                return Err(HeadError::TooLarge);
            }
            searched = buffer.len().saturating_sub(2);
            match connection.read_appending(&mut buffer).await {
                Ok(0) if !anything_came => return Err(HeadError::NothingCame(None)),
                Ok(0) => return Err(HeadError::Closed),
                Ok(_) => anything_came = true,
                Err(error) if !anything_came => return Err(HeadError::NothingCame(Some(error))),
                Err(error) => return Err(HeadError::Io(error)),
            }
        };
        if length > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge);
        }
        // Interim answers; `101 Switching Protocols` ends the exchange as a final one would.
        if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
            buffer.drain(..length);
            continue;
        }
        // What came after the head, in an allocation of its own size.
        return Ok((head, Bytes::copy_from_slice(&buffer[length..])));
    }
}

/// Where the head in `buffer` ends (after its blank line), looking from `from` on.
fn blank_line_from(buffer: &[u8], from: usize) -> Option<usize> {
    // httparse takes LF alone as a line break, as RFC 9112 allows.
    let lf_lf = memmem::find(&buffer[from..], b"\n\n").map(|at| at + 2);
    let lf_crlf = memmem::find(&buffer[from..], b"\n\r\n").map(|at| at + 3);
    [lf_lf, lf_crlf]
        .into_iter()
        .flatten()
        .min()
        .map(|end| from + end)
}

/// The head at the start of `bytes`, and its length; `None` until all of it is there.
fn parse(bytes: &[u8]) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let mut usual = [httparse::EMPTY_HEADER; USUAL_FIELDS];
    match parse_with(bytes, &mut usual) {
        Err(HeadError::TooLarge) => {
            let mut fields = vec![httparse::EMPTY_HEADER; MAX_HEADER_FIELDS];
            parse_with(bytes, &mut fields)
        }
        parsed => parsed,
    }
}

fn parse_with<'b>(
    bytes: &'b [u8],
    fields: &mut [httparse::Header<'b>],
) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let mut response = httparse::Response::new(fields);
    let length = match response.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(error) => return Err(HeadError::Invalid(invalid(what_is_wrong(error), bytes))),
    };
    let code = response.code.unwrap_or_default();
    let status = StatusCode::from_u16(code).map_err(|_| {
        HeadError::Invalid(invalid(
            &format!("its status code {code:03} is below 100"),
            bytes,
        ))
    })?;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes());
        let value = HeaderValue::from_bytes(field.value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(HeadError::Invalid(invalid(
                &format!("its header field `{}` is not valid", field.name),
                bytes,
            )));
        };
        headers.append(name, value);
    }
    let head = ResponseHead {
        status,
        minor: response.version.unwrap_or(1),
        headers,
    };
    Ok(Some((head, length)))
}

/// httparse's complaint, in words.
fn what_is_wrong(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::Version => "it does not begin with `HTTP/1.1` or `HTTP/1.0`",
        httparse::Error::Status => "its status line has no valid status code",
        httparse::Error::HeaderName => "a header field name has a character not allowed in it",
        httparse::Error::HeaderValue => "a header field value has a character not allowed in it",
        httparse::Error::NewLine => "a line ends in a CR without an LF",
        httparse::Error::Token => "its status line has a character not allowed in it",
        httparse::Error::TooManyHeaders => "it has too many header fields",
    }
}

/// `what` and how the head began.
fn invalid(what: &str, bytes: &[u8]) -> String {
    let began = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]);
    format!("{what}; it began {began:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(bytes: &[u8]) -> (ResponseHead, usize) {
        parse(bytes).unwrap().unwrap()
    }

    #[test]
    fn http_1_0_and_a_missing_reason_phrase_are_read() {
        let (head, length) = parsed(b"HTTP/1.0 200 OK\r\nx-a: 1\r\n\r\nbody");
        assert_eq!((head.status.as_u16(), head.minor, length), (200, 0, 27));
        assert_eq!(head.headers["x-a"], "1");
        let (head, _) = parsed(b"HTTP/1.1 200\r\n\r\n");
        assert_eq!((head.status.as_u16(), head.minor), (200, 1));
        let (head, length) = parsed(b"HTTP/1.1 204 No Content\n\n");
        assert_eq!((head.status.as_u16(), length), (204, 25));
    }

    #[test]
    fn empty_lines_before_a_head_are_passed_over() {
        let (head, length) = parsed(b"\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
        assert_eq!((head.status.as_u16(), length), (200, 23));
    }

    #[test]
    fn the_end_of_a_head_is_found_in_what_just_arrived() {
        assert_eq!(blank_line_from(b"HTTP/1.1 200 OK\r\n\r\nrest", 0), Some(19));
        assert_eq!(blank_line_from(b"HTTP/1.1 200 OK\n\nrest", 10), Some(17));
        assert_eq!(blank_line_from(b"HTTP/1.1 200 OK\r\nx: y\r\n", 0), None);
    }

    #[test]
    fn more_fields_than_usual_are_read_up_to_the_limit() {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for n in 0..MAX_HEADER_FIELDS {
            head.push_str(&format!("x-{n}: {n}\r\n"));
        }
        head.push_str("\r\n");
        assert_eq!(parsed(head.as_bytes()).0.headers.len(), MAX_HEADER_FIELDS);
        let one_more = head.replace("\r\n\r\n", "\r\nx-last: 1\r\n\r\n");
        assert!(matches!(
            parse(one_more.as_bytes()),
            Err(HeadError::TooLarge)
        ));
    }

    #[test]
    fn what_is_not_a_head_is_said_in_words() {
        let Err(HeadError::Invalid(why)) = parse(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") else {
            panic!("SSH is not HTTP");
        };
        assert_eq!(
            why,
            r#"it does not begin with `HTTP/1.1` or `HTTP/1.0`; it began "SSH-2.0-OpenSSH_9.6\r\n\r\n""#
        );
        let Err(HeadError::Invalid(why)) = parse(b"HTTP/1.1 020 Low\r\n\r\n") else {
            panic!("020 is no status");
        };
        assert!(why.starts_with("its status code 020 is below 100"), "{why}");
    }
}
