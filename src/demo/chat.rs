//! `POST /v1/chat/completions`: a mock of an OpenAI-style chat API that streams a fixed reply
//! token by token (scenarios 11–13), with the test patterns mock LLM servers offer for client
//! test suites: awkward chunking, long tokens, aborts and custom finish reasons.
//!
//! The reply never depends on the messages sent: the point is a predictable stream to test a
//! client's handling of it. Patterns (`X-Test-Pattern`, several may be joined with commas):
//! - `unicode`: emoji, CJK and 4-byte characters, every multi-byte character split across two
//!   body chunks;
//! - `short`: the whole stream in 1–2 byte chunks;
//! - `long`: tokens of 4 KiB each;
//! - `abort:N`: the connection drops after N token events, with no finish chunk and no `[DONE]`;
//! - `finish:REASON`: the final chunk's `finish_reason`;
//! - `role:DURATION`: first a chunk with the role only (`"delta":{"role":"assistant",
//!   "content":""}`), at once, as OpenAI and vLLM send it; the first token DURATION after it (a
//!   model that thinks before it answers). A client timing its first item gets the role's.
//!
//! A non-streaming request gets the whole message in one `chat.completion` body; only the token
//! and finish-reason patterns apply to it, as it has no chunks to split or cut short.
//!
//! As OpenAI's, every response has an id of its own (`chatcmpl-` and 24 random letters and
//! digits, the same in each chunk) and the Unix time it was created, in seconds: the values a
//! recorded snapshot must not take literally.
//!
//! The fragile twin under `/bad/fragile/` serves this same reply through [`reply`], with a hook
//! for a client dropping the stream.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use serde_json::Value;

use super::AppState;
use super::body::{self, JSON, SSE, gap};
use super::params::{BadRequest, Params, QueryPairs, parse_duration};
use super::stats::OnCancel;

const TOKENS: [&str; 8] = ["Hello", ",", " how", " can", " I", " help", " you", "?"];

/// 2-, 3- and 4-byte UTF-8 characters, to catch clients that decode chunk by chunk.
const UNICODE_TOKENS: [&str; 6] = ["Hello", " 🌍", " 世界", " 𝄞", " café", "!"];

/// The length of the random part of a response's id.
const ID_RANDOM_LEN: usize = 24;

/// The size of each token of the `long` pattern.
const LONG_TOKEN: usize = 4096;

const KNOWN_PATTERNS: &str = "unicode, short, long, abort:N, finish:REASON, role:DURATION \
                              (several may be joined with commas)";

/// Which tokens the reply is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tokens {
    Plain,
    Unicode,
    Long,
}

/// How the response bytes are cut into body chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunking {
    /// One chunk per event.
    Events,
    /// Every multi-byte character split between two chunks.
    SplitChars,
    /// Chunks of 1 and 2 bytes, alternately.
    Tiny,
}

/// What `X-Test-Pattern` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    tokens: Tokens,
    chunking: Chunking,
    abort_after: Option<usize>,
    finish_reason: String,
    /// A role-only first chunk, and how long after it the first token comes.
    role: Option<Duration>,
}

impl Default for Pattern {
    fn default() -> Pattern {
        Pattern {
            tokens: Tokens::Plain,
            chunking: Chunking::Events,
            abort_after: None,
            finish_reason: "stop".to_owned(),
            role: None,
        }
    }
}

impl Pattern {
    fn parse(header: &str) -> Result<Pattern, String> {
        let mut pattern = Pattern::default();
        for part in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once(':') {
                None if part == "unicode" => {
                    pattern.tokens = Tokens::Unicode;
                    // `short` already splits inside characters; do not undo it.
                    if pattern.chunking == Chunking::Events {
                        pattern.chunking = Chunking::SplitChars;
                    }
                }
                None if part == "short" => pattern.chunking = Chunking::Tiny,
                None if part == "long" => pattern.tokens = Tokens::Long,
                Some(("abort", n)) => {
                    let n = n.trim().parse().map_err(|_| {
                        format!("bad `X-Test-Pattern` `{part}`: expected `abort:N` with N a number")
                    })?;
                    pattern.abort_after = Some(n);
                }
                Some(("role", after)) => {
                    pattern.role = Some(parse_duration(after).ok_or_else(|| {
                        format!(
                            "bad `X-Test-Pattern` `{part}`: expected `role:DURATION`, such as `role:1s`"
                        )
                    })?);
                }
                Some(("finish", reason)) if !reason.trim().is_empty() => {
                    pattern.finish_reason = reason.trim().to_owned();
                }
                _ => {
                    return Err(format!(
                        "unknown `X-Test-Pattern` `{part}`; known patterns: {KNOWN_PATTERNS}"
                    ));
                }
            }
        }
        Ok(pattern)
    }

    fn tokens(&self) -> Vec<String> {
        match self.tokens {
            Tokens::Plain => TOKENS.iter().map(|t| t.to_string()).collect(),
            Tokens::Unicode => UNICODE_TOKENS.iter().map(|t| t.to_string()).collect(),
            Tokens::Long => TOKENS.iter().map(|t| long_token(t)).collect(),
        }
    }
}

/// `token` followed by filler words, `LONG_TOKEN` bytes in all (ASCII, so any cut is valid).
fn long_token(token: &str) -> String {
    let filler = " lorem ipsum dolor sit amet";
    let mut text = token.to_owned();
    while text.len() < LONG_TOKEN {
        text.push_str(filler);
    }
    text.truncate(LONG_TOKEN);
    text
}

/// Why a chat request is refused. A bad query parameter gets the plain-text answer every demo
/// endpoint gives; a problem with the body or the headers gets an error in the OpenAI shape,
/// which chat clients know how to show.
pub enum Refusal {
    Query(BadRequest),
    Api(String),
}

impl From<BadRequest> for Refusal {
    fn from(bad: BadRequest) -> Refusal {
        Refusal::Query(bad)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Query(bad) => bad.into_response(),
            Refusal::Api(message) => {
                let body = serde_json::json!({
                    "error": { "message": message, "type": "invalid_request_error" }
                });
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
        }
    }
}

/// The request as far as the mock cares; everything else in the body is ignored.
struct Request {
    model: String,
    stream: bool,
    simple: bool,
    interval: Duration,
    pattern: Pattern,
}

/// Reads the request; `params` were checked by the endpoint, which may know more than `interval`.
fn parse_request(params: &Params, headers: &HeaderMap, body: &[u8]) -> Result<Request, Refusal> {
    let mut interval = params.duration("interval", Duration::from_millis(30))?;
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map_err(|_| format!("`{name}` is not valid text"))
            })
            .transpose()
            .map_err(Refusal::Api)
    };
    // The query wins over the header: a URL is the easier thing to change in a spec.
    if let Some(text) = header("x-token-interval")?.filter(|_| !params.has("interval")) {
        interval = parse_duration(text).ok_or_else(|| {
            Refusal::Api(format!(
                "bad `X-Token-Interval` `{text}`: expected a duration such as `30ms`"
            ))
        })?;
    }
    let simple = match header("x-stream-format")? {
        None => false,
        Some(f) if f.eq_ignore_ascii_case("openai") => false,
        Some(f) if f.eq_ignore_ascii_case("simple") => true,
        Some(f) => {
            return Err(Refusal::Api(format!(
                "unknown `X-Stream-Format` `{f}`; known formats: openai, simple"
            )));
        }
    };
    let pattern = match header("x-test-pattern")? {
        None => Pattern::default(),
        Some(text) => Pattern::parse(text).map_err(Refusal::Api)?,
    };

    // Lenient, as mock servers are: an empty body is an empty request, missing fields take
    // defaults; only a body that is not a JSON object is refused.
    let json: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Refusal::Api(format!("invalid JSON in the request body: {e}")))?
    };
    let Value::Object(fields) = json else {
        return Err(Refusal::Api(
            "the request body must be a JSON object".to_owned(),
        ));
    };
    Ok(Request {
        model: fields
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("demo-model")
            .to_owned(),
        stream: fields
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        simple,
        interval,
        pattern,
    })
}

/// `POST /v1/chat/completions` (query `interval=30ms` or header `X-Token-Interval` sets the gap
/// between tokens; `X-Stream-Format: simple` switches to `data: {"content":…}` events).
pub async fn completions(
    State(state): State<AppState>,
    Query(query): QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let params = Params::new(query, &["interval"])?;
    reply(&state, &params, &headers, &body, None)
}

/// The answer to a chat request, streamed or whole; a stream runs `on_cancel` if the client drops
/// it before its end (a stream the server cuts short with `abort:N` ends as planned).
pub fn reply(
    state: &AppState,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
    on_cancel: Option<OnCancel>,
) -> Result<Response, Refusal> {
    let request = parse_request(params, headers, body)?;
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    // Letters and digits only: no escaping in the JSON written around it.
    let id: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(ID_RANDOM_LEN)
        .collect();
    // Serialised once: a JSON string literal, escapes and all.
    let model = Value::from(request.model.as_str()).to_string();
    let tokens = request.pattern.tokens();

    if !request.stream {
        let content = Value::from(tokens.concat()).to_string();
        let finish = Value::from(request.pattern.finish_reason.as_str()).to_string();
        let body = format!(
            "{{\"id\":\"chatcmpl-{id}\",\"object\":\"chat.completion\",\"created\":{created},\
             \"model\":{model},\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\
             \"content\":{content}}},\"finish_reason\":{finish}}}]}}"
        );
        return Ok(([(header::CONTENT_TYPE, JSON)], body).into_response());
    }

    let event = |delta: &str, finish: &str| -> Bytes {
        Bytes::from(format!(
            "data: {{\"id\":\"chatcmpl-{id}\",\"object\":\"chat.completion.chunk\",\
             \"created\":{created},\"model\":{model},\"choices\":[{{\"index\":0,\
             \"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        ))
    };
    let interval = request.interval;
    let sent = request
        .pattern
        .abort_after
        .unwrap_or(usize::MAX)
        .min(tokens.len());
    let mut steps: Vec<(Duration, Bytes)> = Vec::with_capacity(tokens.len() + 3);
    let role = request.pattern.role.filter(|_| !request.simple);
    if role.is_some() {
        steps.push((
            Duration::ZERO,
            event("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
        ));
    }
    for (i, token) in (0u64..).zip(&tokens[..sent]) {
        let content = Value::from(token.as_str()).to_string();
        let bytes = if request.simple {
            Bytes::from(format!("data: {{\"content\":{content}}}\n\n"))
        } else {
            event(&format!("{{\"content\":{content}}}"), "null")
        };
        let after = match role {
            Some(thinking) if i == 0 => thinking,
            _ => gap(i, interval),
        };
        steps.push((after, bytes));
    }
    let chunks = if request.pattern.abort_after.is_some() {
        body::paced(steps)
            .chain(body::abort(
                "demo: dropping the connection, as X-Test-Pattern abort:N asks",
            ))
            .boxed()
    } else {
        if !request.simple {
            let finish = Value::from(request.pattern.finish_reason.as_str()).to_string();
            steps.push((interval, event("{}", &finish)));
        }
        let done_after = if request.simple {
            interval
        } else {
            Duration::ZERO
        };
        steps.push((done_after, Bytes::from_static(b"data: [DONE]\n\n")));
        body::paced(steps).boxed()
    };

    let chunking = request.pattern.chunking;
    let chunks = chunks.flat_map(move |chunk| {
        let pieces: Vec<_> = match chunk {
            Ok(bytes) => split(bytes, chunking).into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        stream::iter(pieces)
    });
    Ok(body::streaming_with(state, SSE, chunks.boxed(), on_cancel))
}

/// Cuts one event's bytes into the body chunks `chunking` asks for (slices, not copies).
fn split(bytes: Bytes, chunking: Chunking) -> Vec<Bytes> {
    let cuts: Vec<usize> = match chunking {
        Chunking::Events => Vec::new(),
        // Cut each multi-byte character in its middle: after the lead byte of a 2- or 3-byte
        // character, after two bytes of a 4-byte one.
        Chunking::SplitChars => bytes
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| match b {
                0xC0..=0xDF => Some(i + 1),
                0xE0..=0xEF => Some(i + 1),
                0xF0..=0xF7 => Some(i + 2),
                _ => None,
            })
            .collect(),
        // Cuts at 1, 3, 4, 6, 7, …: pieces of 1 and 2 bytes in turn.
        Chunking::Tiny => (1..)
            .map(|k| k / 2 * 3 + k % 2)
            .take_while(|&cut| cut < bytes.len())
            .collect(),
    };
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        if cut > start {
            pieces.push(bytes.slice(start..cut));
            start = cut;
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse() {
        assert_eq!(Pattern::parse(""), Ok(Pattern::default()));
        let p = Pattern::parse("unicode, abort:2").unwrap();
        assert_eq!(
            (p.tokens, p.chunking, p.abort_after),
            (Tokens::Unicode, Chunking::SplitChars, Some(2))
        );
        assert_eq!(
            Pattern::parse("finish:length").unwrap().finish_reason,
            "length"
        );
        let err = Pattern::parse("bogus").unwrap_err();
        assert!(
            err.contains("known patterns: unicode, short, long"),
            "{err}"
        );
        assert_eq!(
            Pattern::parse("role:1s").unwrap().role,
            Some(Duration::from_secs(1))
        );
        assert!(Pattern::parse("role:soon").is_err());
        assert!(Pattern::parse("abort:x").is_err());
        assert!(Pattern::parse("finish:").is_err());
    }

    #[test]
    fn split_cuts_inside_characters() {
        let pieces = split(Bytes::from("a 🌍 世é"), Chunking::SplitChars);
        assert_eq!(pieces.concat(), "a 🌍 世é".as_bytes());
        assert_eq!(pieces.len(), 4);
        assert!(pieces[1..].iter().all(|p| std::str::from_utf8(p).is_err()));
    }

    #[test]
    fn tiny_chunks_are_one_or_two_bytes() {
        let pieces = split(Bytes::from("data: [DONE]\n\n"), Chunking::Tiny);
        assert_eq!(pieces.concat(), b"data: [DONE]\n\n");
        let sizes: Vec<_> = pieces.iter().map(Bytes::len).collect();
        assert_eq!(&sizes[..4], &[1, 2, 1, 2]);
        assert!(sizes.iter().all(|s| (1..=2).contains(s)));
    }

    #[test]
    fn long_tokens_are_4_kib() {
        let t = long_token(" how");
        assert_eq!(t.len(), LONG_TOKEN);
        assert!(t.starts_with(" how lorem"));
    }
}
