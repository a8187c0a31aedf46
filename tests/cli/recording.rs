//! First recordings pass: `expect sse { }` with `--update` writes matchers for the values that
//! change on every run (timestamps near now, random ids) and for those `streamspec.toml` redacts,
//! so the very next plain run passes without hand edits. The recorded text is checked exactly:
//! it must be the same on every recording.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::servers;
use crate::support::{Test, all_passed, unindent};

/// Records (or rewrites) `a.stream` with `--update=in-place`, checks the text it leaves exactly,
/// then runs it again without `--update`: it must pass as written.
fn record_then_run(config: Option<&str>, before: &str, after: &str, base: &str) {
    let with_config = |test: Test| match config {
        Some(config) => test.config(config),
        None => test,
    };
    let recorded = with_config(Test::new())
        .spec("a.stream", before)
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", base)
        .run_unchecked();
    let written = std::fs::read_to_string(recorded.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        written,
        unindent(after),
        "the recorded spec; stdout:\n{}\nstderr:\n{}",
        recorded.stdout,
        recorded.stderr
    );
    assert_eq!(recorded.status, Some(0), "stdout:\n{}", recorded.stdout);
    let names: Vec<String> = before
        .lines()
        .filter_map(|line| line.trim().strip_prefix("test \""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    let tests: Vec<(&str, &str)> = names
        .iter()
        .map(|name| ("a.stream", name.as_str()))
        .collect();
    with_config(Test::new())
        .spec("a.stream", &written)
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(1, &tests))
        .run();
}

#[test]
fn a_recorded_ticker_passes_the_next_run() {
    record_then_run(
        None,
        r#"
        test "ticker" {
          GET {{base}}/sse/ticker?count=3&interval=10ms
          expect sse { }
        }
        "#,
        r#"
        test "ticker" {
          GET {{base}}/sse/ticker?count=3&interval=10ms
          expect sse {
            id: "1"  event: "message"  data: json { "count": 1, "timestamp": integer }
            id: "2"  event: "message"  data: json { "count": 2, "timestamp": integer }
            id: "3"  event: "message"  data: json { "count": 3, "timestamp": integer }
            end
          }
        }
        "#,
        servers::demo(),
    );
}

#[test]
fn a_recorded_chat_completion_passes_the_next_run() {
    let chunk = |delta: &str, finish: &str| {
        format!(
            r#"data: json {{ "id": /^chatcmpl-[A-Za-z0-9]+$/, "object": "chat.completion.chunk", "created": integer, "model": "demo-model", "choices": [{{ "index": 0, "delta": {delta}, "finish_reason": {finish} }}] }}"#
        )
    };
    let mut lines: Vec<String> = ["Hello", ",", " how", " can", " I", " help", " you", "?"]
        .iter()
        .map(|token| chunk(&format!(r#"{{ "content": "{token}" }}"#), "null"))
        .collect();
    lines.push(chunk("{}", r#""stop""#));
    lines.push(r#"data: "[DONE]""#.to_string());
    lines.push("end".to_string());
    let block: String = lines.iter().map(|line| format!("    {line}\n")).collect();
    record_then_run(
        None,
        r#"
        test "chat" {
          POST {{base}}/v1/chat/completions?interval=0ms
          body json { "stream": true }
          expect sse { }
        }
        "#,
        &format!(
            "test \"chat\" {{\n  POST {{{{base}}}}/v1/chat/completions?interval=0ms\n  body json {{ \"stream\": true }}\n  expect sse {{\n{block}  }}\n}}\n"
        ),
        servers::demo(),
    );
}

/// A line that no longer fits is rewritten with matchers for its volatile values too, not only
/// a recording: a literal timestamp from an older snapshot becomes `integer`.
#[test]
fn a_rewritten_line_gets_matchers_for_its_volatile_values() {
    record_then_run(
        None,
        r#"
        test "ticker" {
          GET {{base}}/sse/ticker?count=2&interval=10ms
          expect sse {
            id: "1"  data: json { "count": 1, "timestamp": 1700000000000 }
            end
          }
        }
        "#,
        r#"
        test "ticker" {
          GET {{base}}/sse/ticker?count=2&interval=10ms
          expect sse {
            id: "1"  data: json { "count": 1, "timestamp": integer }
            id: "2"  data: json { "count": 2, "timestamp": integer }
            end
          }
        }
        "#,
        servers::demo(),
    );
}

/// Events whose id and `request` count up with every request, and whose `worker` is one of two
/// names: values that change on every run, which no heuristic can tell from constants. The
/// `x-request-id` header is a UUID made of the count.
fn counting() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        static REQUESTS: AtomicU32 = AtomicU32::new(0);
        servers::serve(Router::new().route(
            "/counter",
            get(|| async {
                let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
                let worker = if n.is_multiple_of(2) { "blue" } else { "green" };
                let body = format!(
                    "id: {n}\ndata: {{\"request\":{n},\"worker\":\"{worker}\",\"ok\":true}}\n\n"
                );
                let request_id = format!("{n:08x}-0000-4000-8000-{n:012x}");
                (
                    [
                        (CONTENT_TYPE.as_str(), "text/event-stream"),
                        ("x-request-id", request_id.as_str()),
                    ],
                    body,
                )
                    .into_response()
            }),
        ))
    })
}

#[test]
fn redactions_in_the_config_are_written_where_no_heuristic_would() {
    record_then_run(
        Some(
            r#"
            [update]
            redact = { "id:" = '/^\d+$/', "$.request" = "integer", "$.worker" = "string" }
            "#,
        ),
        r#"
        test "counter" {
          GET {{base}}/counter
          expect sse { }
        }
        "#,
        r#"
        test "counter" {
          GET {{base}}/counter
          expect sse {
            id: /^\d+$/  data: json { "request": integer, "worker": string, "ok": true }
            end
          }
        }
        "#,
        counting(),
    );
}

/// A header check is rewritten with a regex for a value that changes on every run.
#[test]
fn a_header_that_changes_on_every_run_is_rewritten_as_a_regex() {
    record_then_run(
        None,
        r#"
        test "request id" {
          GET {{base}}/counter
          expect header x-request-id == "none"
        }
        "#,
        r#"
        test "request id" {
          GET {{base}}/counter
          expect header x-request-id ~ /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
        }
        "#,
        counting(),
    );
}
