//! Query parameters and request headers of the demo endpoints: typed getters with defaults, and
//! the plain-text `400 Bad Request` every endpoint answers when one of them is wrong.
//!
//! Unknown parameter names are rejected rather than ignored, so that a typo in a spec's URL
//! (`?cout=5`) fails loudly instead of silently testing the defaults.

use std::time::Duration;

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The raw query pairs, percent-decoded by axum; [`Params::new`] checks them.
pub type QueryPairs = Query<Vec<(String, String)>>;

/// A request the demo refuses, with the reason shown to the user as the plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        let mut body = self.0;
        body.push('\n');
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// A request the demo cannot serve for a reason beyond its parameters — too large (413), in
/// conflict with what is running (409), nothing to resume (404), a limit reached (503) — with
/// the reason as the plain-text body, as [`BadRequest`] has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub StatusCode, pub String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let Refused(status, mut body) = self;
        body.push('\n');
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

impl From<BadRequest> for Refused {
    fn from(bad: BadRequest) -> Refused {
        Refused(StatusCode::BAD_REQUEST, bad.0)
    }
}

/// The longest name of a channel, a chat stream or a counter.
pub const MAX_NAME: usize = 128;

/// Checks a name taken from the path (a channel, a chat stream, a counter): 1 to [`MAX_NAME`]
/// of `A-Z a-z 0-9 . _ -`, so that it is safe in a URL, in an SSE field and in JSON as it is.
pub fn name(text: &str) -> Result<&str, BadRequest> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if (1..=MAX_NAME).contains(&text.len()) && text.bytes().all(allowed) {
        return Ok(text);
    }
    Err(BadRequest(format!(
        "bad name `{text}`: a name is 1 to {MAX_NAME} of A-Z, a-z, 0-9, `.`, `_` and `-`"
    )))
}

/// The query parameters of one request, checked against the names its endpoint knows.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Accepts `pairs` (already percent-decoded) when every name is in `known` and none repeats.
    pub fn new(pairs: Vec<(String, String)>, known: &[&str]) -> Result<Params, BadRequest> {
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                let hint = if known.is_empty() {
                    "this endpoint takes no query parameters".to_owned()
                } else {
                    format!("known parameters: {}", known.join(", "))
                };
                return Err(BadRequest(format!(
                    "unknown query parameter `{name}`; {hint}"
                )));
            }
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(BadRequest(format!(
                    "query parameter `{name}` is given more than once"
                )));
            }
        }
        Ok(Params { pairs })
    }

    /// Text, as given; the default when absent.
    pub fn text<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.raw(name).unwrap_or(default)
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request gave `name` at all.
    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// A non-negative integer, `default` when absent.
    pub fn u64(&self, name: &str, default: u64) -> Result<u64, BadRequest> {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                BadRequest(format!(
                    "bad query parameter `{name}`: expected a non-negative integer, got `{v}`"
                ))
            }),
        }
    }

    /// A non-negative integer no larger than `max`, `default` when absent.
    pub fn u64_at_most(&self, name: &str, default: u64, max: u64) -> Result<u64, BadRequest> {
        let value = self.u64(name, default)?;
        if value > max {
            return Err(BadRequest(format!(
                "bad query parameter `{name}`: {value} is more than the maximum, {max}"
            )));
        }
        Ok(value)
    }

    /// An optional non-negative integer.
    pub fn opt_u64(&self, name: &str) -> Result<Option<u64>, BadRequest> {
        match self.raw(name) {
            None => Ok(None),
            Some(_) => self.u64(name, 0).map(Some),
        }
    }

    /// An on/off switch: `1` or `true`, `0` or `false`; off when absent.
    pub fn flag(&self, name: &str) -> Result<bool, BadRequest> {
        match self.raw(name) {
            None | Some("0" | "false") => Ok(false),
            Some("1" | "true") => Ok(true),
            Some(v) => Err(BadRequest(format!(
                "bad query parameter `{name}`: expected 1 or 0, got `{v}`"
            ))),
        }
    }

    /// A duration such as `100ms`, `2s`, `1m` or plain milliseconds, `default` when absent.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, BadRequest> {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => parse_duration(v).ok_or_else(|| {
                BadRequest(format!(
                    "bad query parameter `{name}`: expected a duration such as `100ms`, `2s` or \
                     `250` (milliseconds), got `{v}`"
                ))
            }),
        }
    }

    /// A free-form string, `default` when absent.
    pub fn str<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.raw(name).unwrap_or(default)
    }

    /// One of `choices`, `choices[0]` when absent.
    pub fn choice(&self, name: &str, choices: &[&'static str]) -> Result<&'static str, BadRequest> {
        let Some(v) = self.raw(name) else {
            return Ok(choices[0]);
        };
        choices.iter().copied().find(|c| *c == v).ok_or_else(|| {
            BadRequest(format!(
                "bad query parameter `{name}`: expected one of {}, got `{v}`",
                choices.join(", ")
            ))
        })
    }
}

/// Parses `100ms`, `2s`, `1m` or a plain number of milliseconds. Integers only: a schedule in
/// whole milliseconds is as fine as the timer that drives it.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    // A bare number is milliseconds, as query parameters often are; otherwise the spec syntax.
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok().map(Duration::from_millis);
    }
    crate::duration::parse_duration(text).ok()
}

/// Where an SSE client wants to resume: the `Last-Event-ID` header, else the `after` query
/// parameter (for clients that cannot set headers), else `None`. An empty header means no id, as
/// an EventSource whose last id was reset would send.
pub fn resume_after(headers: &HeaderMap, params: &Params) -> Result<Option<u64>, BadRequest> {
    resume_after_prefixed(headers, params, "")
}

/// As [`resume_after`], for ids written `<id_prefix><n>` (`1796411252:3`): the header's id must
/// start with the prefix.
pub fn resume_after_prefixed(
    headers: &HeaderMap,
    params: &Params,
    id_prefix: &str,
) -> Result<Option<u64>, BadRequest> {
    if let Some(value) = headers.get("last-event-id") {
        let text = value.to_str().unwrap_or("\u{fffd}").trim();
        if text.is_empty() {
            return Ok(None);
        }
        return text
            .strip_prefix(id_prefix)
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                BadRequest(format!(
                    "bad `Last-Event-ID` header: expected `{id_prefix}` and a non-negative integer, got `{text}`"
                ))
            });
    }
    params.opt_u64("after")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)], known: &[&str]) -> Result<Params, BadRequest> {
        let pairs = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Params::new(pairs, known)
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0ms"), Some(Duration::ZERO));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["", "ms", "-1", "+1", "1 s", "99999999999999999999"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_and_repeated_names_are_refused() {
        let err = params(&[("cout", "5")], &["count", "interval"]).unwrap_err();
        assert_eq!(
            err.0,
            "unknown query parameter `cout`; known parameters: count, interval"
        );
        let err = params(&[("count", "5"), ("count", "6")], &["count"]).unwrap_err();
        assert_eq!(err.0, "query parameter `count` is given more than once");
    }

    #[test]
    fn flags() {
        let known = ["on", "off", "yes"];
        let p = params(&[("on", "1"), ("off", "0")], &known).unwrap();
        assert_eq!((p.flag("on"), p.flag("off")), (Ok(true), Ok(false)));
        let p = params(&[("on", "true"), ("off", "false")], &known).unwrap();
        assert_eq!((p.flag("on"), p.flag("off")), (Ok(true), Ok(false)));
        let p = params(&[("yes", "yes")], &known).unwrap();
        assert_eq!(
            p.flag("yes").unwrap_err().0,
            "bad query parameter `yes`: expected 1 or 0, got `yes`"
        );
    }

    #[test]
    fn names() {
        assert_eq!(name("run-1_a.B9"), Ok("run-1_a.B9"));
        assert!(name(&"x".repeat(MAX_NAME)).is_ok());
        for bad in ["", "a b", "a/b", "é", "a\nb"] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
        assert!(name(&"x".repeat(MAX_NAME + 1)).is_err());
    }

    #[test]
    fn typed_getters() {
        let p = params(&[("count", "7"), ("interval", "x")], &["count", "interval"]).unwrap();
        assert_eq!(p.u64("count", 5), Ok(7));
        assert_eq!(p.u64("missing", 5), Ok(5));
        assert!(p.u64_at_most("count", 5, 6).is_err());
        assert_eq!(p.flag("missing"), Ok(false));
        let err = p.duration("interval", Duration::ZERO).unwrap_err();
        assert!(
            err.0.starts_with("bad query parameter `interval`"),
            "{}",
            err.0
        );
    }
}
