//! `expect sse` as an EventSource: the request carries `Accept: text/event-stream` and
//! `Cache-Control: no-cache` (unless the spec sets them), and a response opens the stream only
//! with status 200, on the first connection and on every reconnection (unless the spec checks
//! the status itself); a 204 on a reconnection ends the stream.
//!
//! The server here says what it received: `/headers` puts the request's `Accept`,
//! `Cache-Control` and `Last-Event-ID` into its event's data, so what went on the wire is checked
//! by the spec that reads it.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::servers;
use crate::support::{Test, all_passed, fails};

/// The server of this module, started once.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        servers::serve(
            Router::new()
                .route("/status", get(status))
                .route("/headers", get(headers))
                .route("/picky", get(picky)),
        )
    })
}

/// `GET /status?first=200&then=200&type=text/event-stream&then_type=text/event-stream`: without
/// `Last-Event-ID`, status `first` with one event (`id: 1`, `data: first`); with it, status
/// `then` with `id: 2`, `data: second`; each with its content type, then a clean end.
async fn status(request: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    let param = |name: &str, default: &'static str| {
        params
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let (status, content_type, body) = if request.contains_key("last-event-id") {
        let status = param("then", "200");
        let content_type = param("then_type", "text/event-stream");
        (status, content_type, "id: 2\ndata: second\n\n")
    } else {
        (
            param("first", "200"),
            param("type", "text/event-stream"),
            "id: 1\ndata: first\n\n",
        )
    };
    let status = status
        .parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let content_type =
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("text/plain"));
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /headers`: one SSE event, `id` one past the `Last-Event-ID` (1 without one), whose data
/// is `{"accept":…,"cache_control":…,"last_event_id":…}`, each the request's header (`null`
/// when absent, several values joined with `, `); then a clean end.
async fn headers(request: HeaderMap) -> Response {
    let value = |name: &str| {
        let values: Vec<String> = request
            .get_all(name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let last_event_id = value("last-event-id");
    let n = last_event_id
        .as_deref()
        .and_then(|id| id.parse::<u64>().ok())
        .map_or(1, |id| id + 1);
    let data = serde_json::json!({
        "accept": value("accept"),
        "cache_control": value("cache-control"),
        "last_event_id": last_event_id,
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        format!("id: {n}\ndata: {data}\n\n"),
    )
        .into_response()
}

/// `GET /picky?status=406`: a server that refuses event streams: when the request's `Accept`
/// names `text/event-stream`, it answers `status` with a short text; otherwise one event.
async fn picky(request: HeaderMap, Query(params): Query<HashMap<String, String>>) -> Response {
    let wants_events = request
        .get_all(header::ACCEPT)
        .iter()
        .any(|value| value.as_bytes().starts_with(b"text/event-stream"));
    if wants_events {
        let status = params
            .get("status")
            .and_then(|status| status.parse::<u16>().ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .unwrap_or(StatusCode::NOT_ACCEPTABLE);
        return (status, "this endpoint serves application/json\n").into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        "data: served\n\n",
    )
        .into_response()
}

fn passes(spec: &str, names: &[&str]) {
    let tests: Vec<(&str, &str)> = names.iter().map(|name| ("a.stream", *name)).collect();
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", server())
        .stdout(&all_passed(1, &tests))
        .run();
}

// ─── The status that opens a stream ────────────────────────────────────────────────────────────

#[test]
fn a_first_answer_other_than_200_does_not_open_an_event_stream() {
    fails(
        server(),
        r#"
        test "206" {
          GET {{base}}/status?first=206
          expect sse { id: "1"; end }
        }

        test "205" {
          GET {{base}}/status?first=205
          expect sse { end }
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: 206

        error: expected status 200 to read `sse`, got 206 Partial Content
         --> a.stream:3:3
          |
        3 |   expect sse { id: "1"; end }
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^ reading the body here
          |
          = note: an EventSource fails the connection on any status but 200
          = note: the body began: id: 1\ndata: first
          = help: add `expect status …` before this line if this status is what you expect

          FAIL [TIME] a.stream: 205

        error: expected status 200 to read `sse`, got 205 Reset Content
         --> a.stream:8:3
          |
        8 |   expect sse { end }
          |   ^^^^^^^^^^^^^^^^^^ reading the body here
          |
          = note: an EventSource fails the connection on any status but 200
          = note: the body began: id: 1\ndata: first
          = help: add `expect status …` before this line if this status is what you expect

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: 206
          FAIL a.stream:6: 205
        "#,
    );
}

#[test]
fn a_spec_that_checks_the_status_reads_the_stream_whatever_it_is() {
    passes(
        r#"
        test "a 206 on purpose, checked before the block" {
          GET {{base}}/status?first=206
          expect status 206
          expect sse { id: "1"  data: "first"; end }
        }

        test "checked after the block" {
          GET {{base}}/status?first=206
          expect sse { id: "1"; end }
          expect status 2xx
        }

        test "other blocks read any 2xx, as before" {
          GET {{base}}/status?first=206
          expect lines { "id: 1"; "data: first"; ""; end }
        }
        "#,
        &[
            "a 206 on purpose, checked before the block",
            "checked after the block",
            "other blocks read any 2xx, as before",
        ],
    );
}

#[test]
fn a_reconnection_answered_other_than_200_fails_the_connection() {
    fails(
        server(),
        r#"
        test "206 on reconnection" {
          GET {{base}}/status?then=206
          expect sse {
            id: "1"
            end
            reconnect
            id: "2"
            end
          }
        }

        test "the block can expect it" {
          GET {{base}}/status?then=299
          expect sse {
            id: "1"
            end
            reconnect
            dropped
          }
          expect connections == 2
        }
        "#,
        r#"
        Running 2 tests from 1 file
         ERROR [TIME] a.stream: 206 on reconnection

        error: the connection was dropped after 1 item: the reconnection to http://127.0.0.1:PORT/status?then=206 was answered 206 Partial Content (id: 2\ndata: second); an EventSource does not reconnect after that
         --> a.stream:7:5
          |
        7 |     id: "2"
          |     ^^^^^^^ still expected `id: "2"`
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: "first"  # [TIME]
              end
            - id: "2"
            - end
            + dropped  # the reconnection to http://127.0.0.1:PORT/status?then=206 was answered 206 Partial Content (id: 2\ndata: second); an EventSource does not reconnect after that

          PASS [TIME] a.stream: the block can expect it
        Summary 2 tests: 1 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: 206 on reconnection
        "#,
    );
}

#[test]
fn a_spec_that_checks_the_status_decides_which_reconnections_open() {
    passes(
        r#"
        test "206 on every connection, as the spec expects" {
          GET {{base}}/status?first=206&then=206
          expect status 206
          expect sse {
            id: "1"
            end
            reconnect
            id: "2"  data: "second"
            end
          }
          expect connections == 2
        }

        test "a status the spec does not accept still fails the reconnection" {
          GET {{base}}/status?first=206&then=200
          expect status 206
          expect sse {
            id: "1"
            end
            reconnect
            dropped
          }
        }

        test "a 204 ends the stream whatever the spec expects" {
          GET {{base}}/status?first=206&then=204
          expect status 2xx
          expect sse {
            id: "1"
            end
            reconnect
            end
          }
        }
        "#,
        &[
            "206 on every connection, as the spec expects",
            "a status the spec does not accept still fails the reconnection",
            "a 204 ends the stream whatever the spec expects",
        ],
    );
}

// ─── The content type ──────────────────────────────────────────────────────────────────────────

#[test]
fn a_spec_that_checks_the_content_type_reads_the_stream_whatever_it_is() {
    passes(
        r#"
        test "events served as text/plain, on every connection" {
          GET {{base}}/status?type=text/plain&then_type=text/plain
          expect header content-type == text/plain
          expect sse {
            id: "1"
            end
            reconnect
            id: "2"
            end
          }
        }
        "#,
        &["events served as text/plain, on every connection"],
    );
}

#[test]
fn a_wrong_content_type_says_how_to_read_it_anyway() {
    fails(
        server(),
        r#"
        test "text/plain" {
          GET {{base}}/status?type=text/plain
          expect sse { id: "1"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: text/plain

        error: expected an sse stream, but the server sent content type `text/plain`
         --> a.stream:3:10
          |
        3 |   expect sse { id: "1"; end }
          |          ^^^ expected `text/event-stream`
          |
          = help: if this content type is what the server should send, check it with `expect header content-type …`: the block then reads the body whatever its type

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: text/plain
        "#,
    );
}

// ─── The request headers ───────────────────────────────────────────────────────────────────────

#[test]
fn an_sse_request_carries_accept_and_cache_control_as_an_eventsource() {
    passes(
        r#"
        test "first connection and reconnection" {
          GET {{base}}/headers
          expect sse {
            id: "1"  data: json exact { "accept": "text/event-stream", "cache_control": "no-cache", "last_event_id": null }
            end
            reconnect
            id: "2"  data: json exact { "accept": "text/event-stream", "cache_control": "no-cache", "last_event_id": "1" }
            end
          }
        }

        test "the spec's own headers win, whatever their case" {
          GET {{base}}/headers
          header Accept: text/event-stream; q=1
          header CACHE-CONTROL: max-age=0
          expect sse {
            data: json exact { "accept": "text/event-stream; q=1", "cache_control": "max-age=0", "last_event_id": null }
            end
          }
        }

        test "a reconnection may leave them out" {
          GET {{base}}/headers
          expect sse {
            id: "1"
            end
            reconnect with header accept: "" with header cache-control: ""
            data: json exact { "accept": "*/*", "cache_control": null, "last_event_id": "1" }
            end
          }
        }

        test "a request read otherwise carries neither" {
          GET {{base}}/headers
          expect text contains "\"accept\":\"*/*\",\"cache_control\":null"
        }
        "#,
        &[
            "first connection and reconnection",
            "the spec's own headers win, whatever their case",
            "a reconnection may leave them out",
            "a request read otherwise carries neither",
        ],
    );
}

#[test]
fn a_server_that_refuses_the_sse_headers_gets_a_help_that_names_them() {
    fails(
        server(),
        r#"
        test "406" {
          GET {{base}}/picky
          expect sse { end }
        }

        test "403, with the status checked" {
          GET {{base}}/picky?status=403
          header cache-control: no-store
          expect status 200
          expect sse { end }
        }

        test "with the spec's own accept" {
          GET {{base}}/picky
          header accept: */*
          expect sse { data: "served"; end }
        }
        "#,
        r#"
        Running 3 tests from 1 file
          FAIL [TIME] a.stream: 406

        error: expected status 200 to read `sse`, got 406 Not Acceptable
         --> a.stream:3:3
          |
        3 |   expect sse { end }
          |   ^^^^^^^^^^^^^^^^^^ reading the body here
          |
          = note: the body began: this endpoint serves application/json
          = help: streamspec sent `Accept: text/event-stream` and `Cache-Control: no-cache`, as an EventSource does; to send other values, set them with `header accept: …` and `header cache-control: …`
          = help: add `expect status …` before this line if this status is what you expect

          FAIL [TIME] a.stream: 403, with the status checked

        error: expected status 200, got 403 Forbidden
         --> a.stream:9:17
          |
        9 |   expect status 200
          |                 ^^^ the server answered 403
          |
          = note: the body began: this endpoint serves application/json
          = help: streamspec sent `Accept: text/event-stream`, as an EventSource does; to send another value, set it with `header accept: …`

          PASS [TIME] a.stream: with the spec's own accept
        Summary 3 tests: 1 passed, 2 failed [TIME]
          FAIL a.stream:1: 406
          FAIL a.stream:6: 403, with the status checked
        "#,
    );
}
