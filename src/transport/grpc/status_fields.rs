//! The status fields a server ends a call with (`grpc-status`, `grpc-message`,
//! `grpc-status-details-bin`), checked before tonic reads them, in the trailers and in a
//! trailers-only answer's headers.
//!
//! tonic trusts them: it panics on a `grpc-status-details-bin` that is not base64, turns a
//! `grpc-message` that is not percent-encoded UTF-8 into an UNKNOWN status of its own (dropping
//! the server's code), and reads a `grpc-status` that is not a code as UNKNOWN without a word.
//! Here a status code or details that cannot be read fail the call with a [`MalformedStatus`]
//! saying what the server sent, and a message that does not decode is kept as the server wrote
//! it, as the gRPC spec asks ("the user would receive the raw percent-encoded form"), with the
//! server's code.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, percent_encode};
use tonic::codegen::http::{HeaderMap, HeaderValue};

const STATUS: &str = "grpc-status";
const MESSAGE: &str = "grpc-message";
const DETAILS: &str = "grpc-status-details-bin";

/// Base64 as tonic decodes the details: the standard alphabet, padded or not.
const DETAILS_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Written as `%XX` in a message handed on: what is not visible ASCII, and `%` itself.
const NOT_LITERAL: &AsciiSet = &CONTROLS.add(b'%');

/// How much of a malformed value a failure quotes, in characters.
const QUOTED_CHARS: usize = 60;

/// A status field the server sent that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedStatus(pub String);

impl fmt::Display for MalformedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for MalformedStatus {}

/// Checks the status fields of `fields` (trailers, or the headers of a trailers-only answer),
/// as tonic reads them: only when a `grpc-status` is there. A code with leading zeros is
/// written plainly, and a message that does not decode is re-encoded so that tonic reads the
/// text the server sent.
pub fn check(fields: &mut HeaderMap) -> Result<(), MalformedStatus> {
    let Some(code) = fields.get(STATUS) else {
        return Ok(());
    };
    let code = status_code(code.as_bytes()).ok_or_else(|| {
        MalformedStatus(format!(
            "the server sent a `grpc-status` that is not a status code (0 to 16): {}",
            quoted(code.as_bytes())
        ))
    })?;
    fields.insert(STATUS, HeaderValue::from(u16::from(code)));
    if let Some(details) = fields.get(DETAILS)
        && let Err(error) = DETAILS_BASE64.decode(details.as_bytes())
    {
        return Err(MalformedStatus(format!(
            "the server sent a `grpc-status-details-bin` that is not base64 ({}): {}",
            why_not_base64(&error),
            quoted(details.as_bytes())
        )));
    }
    if let Some(message) = fields.get(MESSAGE)
        && let Some(readable) = undecodable_message(message.as_bytes())
    {
        fields.insert(MESSAGE, readable);
    }
    Ok(())
}

/// What is wrong with a value that is not base64, in words.
fn why_not_base64(error: &base64::DecodeError) -> String {
    match error {
        base64::DecodeError::InvalidByte(offset, byte) => {
            format!("{} at byte {offset}", quoted(&[*byte]))
        }
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("its last symbol, at byte {offset}, leaves bits over")
        }
        base64::DecodeError::InvalidLength(length) => {
            format!("{length} symbols, which no bytes encode to")
        }
        base64::DecodeError::InvalidPadding => "its padding is wrong".to_string(),
    }
}

/// The code a `grpc-status` value gives: decimal digits, 0 to 16.
fn status_code(value: &[u8]) -> Option<u8> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // All digits: only leading zeros can make it long and still small.
    let digits = std::str::from_utf8(value).ok()?.trim_start_matches('0');
    match digits.parse::<u8>() {
        Ok(code) if code <= 16 => Some(code),
        Err(_) if digits.is_empty() => Some(0),
        _ => None,
    }
}

/// For a `grpc-message` that is not percent-encoded UTF-8: a value that tonic decodes to the
/// text the server sent (its bytes, read as UTF-8 with replacement characters where they are
/// not), `%` sequences and all.
fn undecodable_message(value: &[u8]) -> Option<HeaderValue> {
    if percent_decode(value).decode_utf8().is_ok() {
        return None;
    }
    let raw = String::from_utf8_lossy(value);
    let encoded = percent_encode(raw.as_bytes(), NOT_LITERAL).to_string();
    HeaderValue::from_str(&encoded).ok()
}

/// A value as a failure shows it: in backticks, cut after [`QUOTED_CHARS`] characters where a
/// report shows it (after masking secrets, see [`crate::excerpt`]), with its length when long.
fn quoted(value: &[u8]) -> String {
    let shown = crate::excerpt::excerpt(&String::from_utf8_lossy(value), QUOTED_CHARS);
    if value.len() > QUOTED_CHARS {
        format!("`{shown}` ({} bytes)", value.len())
    } else {
        format!("`{shown}`")
    }
}

/// A reply body whose trailers are checked (see [`check`]); a malformed status ends the body
/// with a [`MalformedStatus`] error in their place.
pub(crate) struct TrailersCheck<B> {
    inner: B,
    failed: bool,
}

impl<B> TrailersCheck<B> {
    pub fn new(inner: B) -> TrailersCheck<B> {
        TrailersCheck {
            inner,
            failed: false,
        }
    }
}

impl<B> Body for TrailersCheck<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other.map(|frame| frame.map_err(Into::into))),
        };
        let frame = match frame.into_trailers() {
            Ok(mut trailers) => match check(&mut trailers) {
                Ok(()) => Frame::trailers(trailers),
                Err(malformed) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(Box::new(malformed))));
                }
            },
            Err(frame) => frame,
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).expect("a value"));
        }
        map
    }

    /// What tonic reads from the fields once checked: code, message, details.
    fn as_tonic_reads(mut map: HeaderMap) -> Result<(tonic::Code, String, Vec<u8>), String> {
        check(&mut map).map_err(|malformed| malformed.0)?;
        let status = tonic::Status::from_header_map(&map).expect("a status");
        Ok((
            status.code(),
            status.message().to_string(),
            status.details().to_vec(),
        ))
    }

    #[test]
    fn well_formed_fields_are_left_as_they_are() {
        let map = fields(&[
            ("grpc-status", b"5"),
            ("grpc-message", b"no %E2%82%AC here"),
            ("grpc-status-details-bin", b"q6ur"),
        ]);
        assert_eq!(
            as_tonic_reads(map),
            Ok((
                tonic::Code::NotFound,
                "no € here".to_string(),
                vec![0xab; 3]
            ))
        );
        // Unpadded and padded base64 both.
        let map = fields(&[("grpc-status", b"3"), ("grpc-status-details-bin", b"qw")]);
        assert_eq!(as_tonic_reads(map).map(|s| s.2), Ok(vec![0xab]));
        let map = fields(&[("grpc-status", b"3"), ("grpc-status-details-bin", b"qw==")]);
        assert_eq!(as_tonic_reads(map).map(|s| s.2), Ok(vec![0xab]));
        // Without a grpc-status tonic reads nothing, and nothing is checked.
        let mut map = fields(&[("grpc-status-details-bin", b"!!")]);
        assert_eq!(check(&mut map), Ok(()));
    }

    #[test]
    fn codes_are_numbers_from_0_to_16() {
        for (value, code) in [
            (&b"0"[..], Some(0)),
            (b"16", Some(16)),
            (b"05", Some(5)),
            (b"000", Some(0)),
            (b"17", None),
            (b"256", None),
            (b"99999999999999999999", None),
            (b"-1", None),
            (b"abc", None),
            (b" 5", None),
            (b"", None),
        ] {
            assert_eq!(status_code(value), code, "{value:?}");
        }
        let map = fields(&[("grpc-status", b"05")]);
        assert_eq!(as_tonic_reads(map).map(|s| s.0), Ok(tonic::Code::NotFound));
        let map = fields(&[("grpc-status", b"ok")]);
        assert_eq!(
            as_tonic_reads(map),
            Err(
                "the server sent a `grpc-status` that is not a status code (0 to 16): `ok`"
                    .to_string()
            )
        );
    }

    #[test]
    fn details_that_are_not_base64_are_malformed() {
        let map = fields(&[("grpc-status", b"5"), ("grpc-status-details-bin", b"!!")]);
        assert_eq!(
            as_tonic_reads(map),
            Err(
                "the server sent a `grpc-status-details-bin` that is not base64 (`!` at byte 0): `!!`"
                    .to_string()
            )
        );
        let map = fields(&[("grpc-status", b"5"), ("grpc-status-details-bin", b"qwq")]);
        assert_eq!(
            as_tonic_reads(map),
            Err(
                "the server sent a `grpc-status-details-bin` that is not base64 (its last symbol, at byte 2, leaves bits over): `qwq`"
                    .to_string()
            )
        );
        let long = vec![b'*'; 100];
        let map = fields(&[("grpc-status", b"5"), ("grpc-status-details-bin", &long)]);
        // Cut where a report shows it, once secrets are masked.
        let error = crate::excerpt::cut(&as_tonic_reads(map).expect_err("malformed"));
        assert!(
            error.ends_with(&format!("`{}…` (100 bytes)", "*".repeat(60))),
            "{error}"
        );
    }

    #[test]
    fn a_message_that_does_not_decode_is_kept_as_sent_with_the_code() {
        for (sent, read) in [
            (&b"caf%FF"[..], "caf%FF"),
            (b"caf\xff", "caf\u{fffd}"),
            (b"%E2%82 and 100%", "%E2%82 and 100%"),
        ] {
            let map = fields(&[("grpc-status", b"5"), ("grpc-message", sent)]);
            assert_eq!(
                as_tonic_reads(map),
                Ok((tonic::Code::NotFound, read.to_string(), Vec::new())),
                "{sent:?}"
            );
        }
        // An invalid escape alone is decoded as it stands, by tonic itself.
        let map = fields(&[("grpc-status", b"5"), ("grpc-message", b"100% %zz")]);
        assert_eq!(as_tonic_reads(map).map(|s| s.1), Ok("100% %zz".to_string()));
    }
}
