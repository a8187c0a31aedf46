//! Values that change on every run — times near now, UUIDs, ids with a random part — and the
//! matcher `--update` writes in their place, so that a recording passes the next run. The rules
//! are few and exact, so that what becomes a matcher can be predicted (docs/language.md,
//! "Snapshot update", lists them):
//!
//! - a JSON number that is a Unix time within a year of now, in seconds, milliseconds,
//!   microseconds or nanoseconds: `integer`, or `number` when written with a fraction;
//! - a whole text (a JSON string, an SSE id, event or data, a line) that is
//!   - an ISO 8601 date and time within a year of now: a regex of its layout;
//!   - only digits, and a Unix time as above: `/^\d+$/`;
//!   - letters, digits and the separators `-` `_` `.` `:`, with a random part: a UUID, a run of
//!     at least 8 hex digits mixing digits and letters, or a run of at least 16 letters and
//!     digits mixing two of lowercase, uppercase and digits. The random parts become character
//!     classes and the rest stays as written: `chatcmpl-9pX8VJZ3kUO4Q2vI4LX6` is
//!     `/^chatcmpl-[A-Za-z0-9]+$/`.
//!
//! The regex depends only on the value's layout, never on its digits, so two recordings write
//! the same text.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;
use serde_json::Number;

/// How far from now a time may be and still count as "now", in seconds: a year, and a day.
const WINDOW_SECONDS: f64 = 366.0 * 24.0 * 3600.0;

/// The units a Unix time is written in: seconds, milliseconds, microseconds, nanoseconds.
const UNITS_PER_SECOND: [f64; 4] = [1.0, 1e3, 1e6, 1e9];

/// The separators an id's parts are joined with.
const SEPARATORS: &[u8] = b"-_.:";

/// The longest text taken for an id: longer ones are prose or payloads, not ids.
const MAX_ID_LEN: usize = 256;

/// The moment of the update, as a Unix time in seconds: what "near now" is measured from.
#[derive(Debug, Clone, Copy)]
pub struct Now(f64);

impl Now {
    /// The system clock's time.
    pub fn current() -> Now {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Now(since.as_secs_f64())
    }

    /// A fixed moment, for tests.
    pub fn at(unix_seconds: f64) -> Now {
        Now(unix_seconds)
    }

    /// Whether `value` is a Unix time within the window of now, in one of the units.
    fn is_near(self, value: f64) -> bool {
        value > 0.0
            && UNITS_PER_SECOND
                .iter()
                .any(|units| (value / units - self.0).abs() <= WINDOW_SECONDS)
    }
}

/// The matcher for a JSON number that is a Unix time near now: `integer`, or `number` for one
/// written with a fraction.
pub fn number_matcher(number: &Number, now: Now) -> Option<&'static str> {
    let value = number.as_f64()?;
    if !now.is_near(value) {
        return None;
    }
    Some(if number.is_f64() { "number" } else { "integer" })
}

/// The regex (its source, without the slashes) for a text that changes on every run.
pub fn text_regex(text: &str, now: Now) -> Option<String> {
    if let Some(regex) = date_time(text, now) {
        return Some(regex);
    }
    if is_unix_time_digits(text, now) {
        return Some(r"^\d+$".to_string());
    }
    id_with_random_part(text, now)
}

/// Digits only, making a Unix time near now.
fn is_unix_time_digits(text: &str, now: Now) -> bool {
    !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<f64>().is_ok_and(|value| now.is_near(value))
}

/// `2025-06-01T12:30:05.123Z` and its variants (a space for the `T`, no seconds, no fraction,
/// an offset or no zone), within the window of now: a regex of the same layout, with the
/// fraction optional, as servers drop trailing zeros.
fn date_time(text: &str, now: Now) -> Option<String> {
    static LAYOUT: OnceLock<Regex> = OnceLock::new();
    let layout = LAYOUT.get_or_init(|| {
        Regex::new(
            r"^(\d{4})-(\d{2})-(\d{2})([T ])(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$",
        )
        .unwrap_or_else(|_| unreachable!("a fixed valid regex"))
    });
    let parts = layout.captures(text)?;
    let number = |i: usize| parts.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let seconds = parts.get(7).map(|m| m.as_str());
    let time = chrono::NaiveDate::from_ymd_opt(number(1)? as i32, number(2)?, number(3)?)?
        .and_hms_opt(number(5)?, number(6)?, number(7).unwrap_or(0))?;
    if !now.is_near(time.and_utc().timestamp() as f64) {
        return None;
    }
    let mut regex = String::from(r"^\d{4}-\d{2}-\d{2}");
    regex.push_str(parts.get(4).map_or("T", |m| m.as_str()));
    regex.push_str(r"\d{2}:\d{2}");
    if seconds.is_some() {
        regex.push_str(r":\d{2}(\.\d+)?");
    }
    match parts.get(9).map(|m| m.as_str()) {
        None => {}
        Some("Z") => regex.push('Z'),
        Some(zone) => regex.push_str(match zone.len() {
            3 => r"[+-]\d{2}",
            5 => r"[+-]\d{4}",
            _ => r"[+-]\d{2}:\d{2}",
        }),
    }
    regex.push('$');
    Some(regex)
}

/// An id of parts joined by separators, some of them random: the regex with a character class
/// for each random part and the other parts as written.
fn id_with_random_part(text: &str, now: Now) -> Option<String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || SEPARATORS.contains(&b);
    if text.is_empty() || text.len() > MAX_ID_LEN || !text.bytes().all(allowed) {
        return None;
    }
    let mut regex = String::from("^");
    let mut random = false;
    let mut rest = text;
    while let Some(&first) = rest.as_bytes().first() {
        if SEPARATORS.contains(&first) {
            // `.` is the only separator a regex reads as more than itself.
            regex.push_str(if first == b'.' { r"\." } else { &rest[..1] });
            rest = &rest[1..];
            continue;
        }
        if let Some(class) = uuid_at_start(rest) {
            regex.push_str(&class);
            random = true;
            rest = &rest[UUID_LEN..];
            continue;
        }
        let end = rest
            .bytes()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let (part, after) = rest.split_at(end);
        match random_part_class(part, now) {
            Some(class) => {
                regex.push_str(class);
                random = true;
            }
            None => regex.push_str(part),
        }
        rest = after;
    }
    regex.push('$');
    random.then_some(regex)
}

const UUID_LEN: usize = 36;

/// The regex of a UUID that starts `text` and ends a part (the text ends or a separator
/// follows), in the case its letters are written in.
fn uuid_at_start(text: &str) -> Option<String> {
    let candidate = text.get(..UUID_LEN)?;
    let ends_a_part = text
        .as_bytes()
        .get(UUID_LEN)
        .is_none_or(|b| SEPARATORS.contains(b));
    let layout_fits = candidate.bytes().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    if !ends_a_part || !layout_fits {
        return None;
    }
    let class = match (
        candidate.bytes().any(|b| b.is_ascii_lowercase()),
        candidate.bytes().any(|b| b.is_ascii_uppercase()),
    ) {
        (true, true) => "[0-9a-fA-F]",
        (false, true) => "[0-9A-F]",
        _ => "[0-9a-f]",
    };
    Some(format!(
        "{class}{{8}}-{class}{{4}}-{class}{{4}}-{class}{{4}}-{class}{{12}}"
    ))
}

/// The character class of a part (letters and digits only) that looks random.
fn random_part_class(part: &str, now: Now) -> Option<&'static str> {
    let has = |test: fn(&u8) -> bool| part.bytes().any(|b| test(&b));
    let (lower, upper, digit) = (
        has(u8::is_ascii_lowercase),
        has(u8::is_ascii_uppercase),
        has(u8::is_ascii_digit),
    );
    let hex = part.bytes().all(|b| b.is_ascii_hexdigit());
    if part.len() >= 8 && hex && digit && (lower != upper) {
        return Some(if lower { "[0-9a-f]+" } else { "[0-9A-F]+" });
    }
    if part.len() >= 16 && [lower, upper, digit].iter().filter(|&&x| x).count() >= 2 {
        return Some("[A-Za-z0-9]+");
    }
    if is_unix_time_digits(part, now) {
        return Some(r"\d+");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-06-01T00:00:00Z.
    const NOW: f64 = 1_780_272_000.0;

    fn regex(text: &str) -> Option<String> {
        text_regex(text, Now::at(NOW))
    }

    fn number(json: &str) -> Option<&'static str> {
        let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
        number_matcher(value.as_number().expect("a number"), Now::at(NOW))
    }

    #[test]
    fn unix_times_near_now_in_any_unit_are_numbers_that_vary() {
        assert_eq!(number("1780272000"), Some("integer"));
        assert_eq!(number("1780272000123"), Some("integer"));
        assert_eq!(number("1780272000123456"), Some("integer"));
        assert_eq!(number("1780272000123456789"), Some("integer"));
        assert_eq!(number("1780272000.5"), Some("number"));
        // Within a year either way, and no further.
        assert_eq!(number("1750000000"), Some("integer"));
        assert_eq!(number("1700000000"), None);
        assert_eq!(number("1900000000"), None);
        for constant in ["0", "1", "42", "-1780272000", "200", "3.5", "65536"] {
            assert_eq!(number(constant), None, "{constant}");
        }
    }

    #[test]
    fn date_times_near_now_become_a_regex_of_their_layout() {
        assert_eq!(
            regex("2026-05-31T23:59:58Z").as_deref(),
            Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
        );
        // The fraction is optional whatever was seen: its trailing zeros come and go.
        assert_eq!(
            regex("2026-06-01T10:00:00.120+02:00").as_deref(),
            Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")
        );
        assert_eq!(
            regex("2026-06-01 10:00").as_deref(),
            Some(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
        );
        assert_eq!(
            regex("2026-06-01T10:00:00-0500").as_deref(),
            Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{4}$")
        );
        // A date long ago is a constant (a fixture), and a date alone is not a time.
        assert_eq!(regex("2020-01-01T00:00:00Z"), None);
        assert_eq!(regex("2026-06-01"), None);
        assert_eq!(regex("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn uuids_are_random_in_their_letters_case() {
        let class = "[0-9a-f]";
        let lower = format!("^{class}{{8}}-{class}{{4}}-{class}{{4}}-{class}{{4}}-{class}{{12}}$");
        assert_eq!(
            regex("550e8400-e29b-41d4-a716-446655440000").as_deref(),
            Some(lower.as_str())
        );
        assert_eq!(
            regex("550E8400-E29B-41D4-A716-446655440000").as_deref(),
            Some(lower.replace("a-f", "A-F").as_str())
        );
        let prefixed =
            format!("^req_{class}{{8}}-{class}{{4}}-{class}{{4}}-{class}{{4}}-{class}{{12}}$");
        assert_eq!(
            regex("req_550e8400-e29b-41d4-a716-446655440000").as_deref(),
            Some(prefixed.as_str())
        );
    }

    #[test]
    fn ids_with_a_random_part_keep_the_rest_as_written() {
        assert_eq!(
            regex("chatcmpl-9pX8VJZ3kUO4Q2vI4LX6z0y1").as_deref(),
            Some(r"^chatcmpl-[A-Za-z0-9]+$")
        );
        assert_eq!(
            regex("msg_01XFDUDYJgAACzvnptvVoYEL").as_deref(),
            Some(r"^msg_[A-Za-z0-9]+$")
        );
        assert_eq!(regex("fp_44709d6fcb").as_deref(), Some(r"^fp_[0-9a-f]+$"));
        assert_eq!(
            regex("run.5F3A9C2B7D:trace").as_deref(),
            Some(r"^run\.[0-9A-F]+:trace$")
        );
        assert_eq!(regex("1780272000123-0").as_deref(), Some(r"^\d+-0$"));
        assert_eq!(regex("1780272000123").as_deref(), Some(r"^\d+$"));
        assert_eq!(
            regex("aBcDeFgHiJkLmNoPqRsT").as_deref(),
            Some(r"^[A-Za-z0-9]+$")
        );
    }

    #[test]
    fn words_names_and_small_numbers_are_constants() {
        for constant in [
            "chatcmpl-demo",
            "chat.completion.chunk",
            "demo-model",
            "gpt-4o-mini-2024-07-18",
            "claude-3-5-sonnet-20241022",
            "assistant",
            "internationalization",
            "stop",
            "[DONE]",
            "Hello, how can I help you?",
            "deadbeef",
            "12345678",
            "1",
            "",
            "a1b2c3",
        ] {
            assert_eq!(regex(constant), None, "{constant}");
        }
    }
}
