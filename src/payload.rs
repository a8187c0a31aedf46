//! Payloads a spec builds rather than spells out: a string repeated (`"A" * 1000`, for
//! payload-size tests) and a gRPC request message read from a file of JSON (`message file "…"`,
//! `send file "…"`). Each is held in memory whole, so each is bounded as a `body file` is.

use std::path::Path;

use serde_json::Value;

use crate::spec_file::MAX_DATA_FILE_SIZE;
use crate::transport::framing::format_size;

/// Why `text * times` may not be built: it would be larger than a body file may be.
pub fn repeated_too_large(text_len: usize, times: u64) -> Option<String> {
    let size = (text_len as u64).checked_mul(times);
    if size.is_some_and(|size| size <= MAX_DATA_FILE_SIZE) {
        return None;
    }
    let size = size.map_or_else(
        || "more than 2^64 bytes".to_string(),
        |size| format!("{size} bytes"),
    );
    Some(format!(
        "the repeated string would be {size}, over the limit of {}",
        format_size(MAX_DATA_FILE_SIZE as usize)
    ))
}

/// `text` repeated `times` times, within the limit.
pub fn repeat(text: &str, times: u64) -> Result<String, String> {
    if let Some(reason) = repeated_too_large(text.len(), times) {
        return Err(reason);
    }
    // Within the limit, so the count fits in memory and in `usize`.
    Ok(text.repeat(times as usize))
}

/// Whether `actual` is `text` repeated `times` times, without building the repetition.
pub fn is_repetition(actual: &str, text: &str, times: u64) -> bool {
    if text.is_empty() {
        return actual.is_empty();
    }
    (actual.len() as u64) == (text.len() as u64).saturating_mul(times)
        && actual
            .as_bytes()
            .chunks(text.len())
            .all(|chunk| chunk == text.as_bytes())
}

/// The JSON value of a message file; the error says what is wrong, for `cannot …` messages.
pub fn read_message(path: &Path) -> Result<Value, String> {
    let bytes = crate::spec_file::read_data(path)
        .map_err(|error| format!("cannot read message file `{}`: {error}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| format!("message file `{}` is not JSON: {error}", path.display()))
}

/// The bytes written as hex (`"0a 0b"`, blanks between bytes allowed) or base64 (standard
/// alphabet, padded or not), for WebSocket binary messages and their patterns.
pub fn decode_bytes(text: &str, hex: bool) -> Result<Vec<u8>, String> {
    use base64::Engine;
    if hex {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() % 2 == 1 {
            return Err("hex needs two digits for each byte".to_string());
        }
        return digits
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| format!("`{}` is not a hex byte", String::from_utf8_lossy(pair)))
            })
            .collect();
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
        .map_err(|error| match error {
            base64::DecodeError::InvalidByte(at, byte) => format!(
                "`{}` is not base64 (character {} of the text)",
                char::from(byte).escape_default(),
                at + 1
            ),
            base64::DecodeError::InvalidLength(_) => {
                "this is not base64: its length fits no base64 text".to_string()
            }
            base64::DecodeError::InvalidLastSymbol(at, byte) => format!(
                "`{}` cannot end base64 text (character {})",
                char::from(byte).escape_default(),
                at + 1
            ),
            base64::DecodeError::InvalidPadding => {
                "this base64 text's padding is wrong".to_string()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitions_are_recognised_without_being_built() {
        assert!(is_repetition("ababab", "ab", 3));
        assert!(!is_repetition("ababa", "ab", 3));
        assert!(!is_repetition("abacab", "ab", 3));
        assert!(is_repetition("", "", 5));
        assert!(is_repetition("", "ab", 0));
        assert!(!is_repetition("x", "", 5));
        assert!(!is_repetition("ab", "ab", u64::MAX));
    }

    #[test]
    fn repetitions_are_bounded_like_body_files() {
        assert_eq!(repeat("ab", 3).as_deref(), Ok("ababab"));
        assert_eq!(repeated_too_large(1, MAX_DATA_FILE_SIZE), None);
        assert_eq!(
            repeated_too_large(2, MAX_DATA_FILE_SIZE).as_deref(),
            Some("the repeated string would be 536870912 bytes, over the limit of 256 MiB")
        );
        assert_eq!(
            repeated_too_large(2, u64::MAX).as_deref(),
            Some("the repeated string would be more than 2^64 bytes, over the limit of 256 MiB")
        );
    }
}
