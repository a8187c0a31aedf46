//! JSON, one value per line, as real servers send it: `expect ndjson` reads it under the content
//! types servers use for it (`text/plain` and `application/json` among them), and under any other
//! when the spec checks the content type itself; `expect lines` matches a line as JSON with
//! `json <pattern>` and JSONPath assertions, and JSON written where text is expected gets a hint
//! that fits its place.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::servers;
use crate::support::{Test, all_passed, check_fails, fails};

/// The server of this module, started once.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| servers::serve(Router::new().route("/ndjson", get(ndjson))))
}

/// `GET /ndjson?type=application/x-ndjson`: two JSON lines, `{"n":1,"kind":"a"}` and
/// `{"n":2,"kind":"b"}`, with this content type.
async fn ndjson(Query(params): Query<HashMap<String, String>>) -> Response {
    let content_type = params
        .get("type")
        .and_then(|value| HeaderValue::from_str(value).ok())
        .unwrap_or(HeaderValue::from_static("application/x-ndjson"));
    (
        [(header::CONTENT_TYPE, content_type)],
        "{\"n\":1,\"kind\":\"a\"}\n{\"n\":2,\"kind\":\"b\"}\n",
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

// ─── `expect ndjson` and content types ─────────────────────────────────────────────────────────

#[test]
fn ndjson_is_read_under_the_content_types_servers_send_it_with() {
    passes(
        r#"
        test "text/plain" {
          GET {{base}}/ndjson?type=text/plain;%20charset=utf-8
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
        }

        test "application/json" {
          GET {{base}}/ndjson?type=application/json
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
        }

        test "application/jsonl" {
          GET {{base}}/ndjson?type=application/jsonl
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
        }
        "#,
        &["text/plain", "application/json", "application/jsonl"],
    );
}

#[test]
fn ndjson_under_another_content_type_says_how_to_read_it_anyway() {
    fails(
        server(),
        r#"
        test "text/html" {
          GET {{base}}/ndjson?type=text/html
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: text/html

        error: expected an ndjson stream, but the server sent content type `text/html`
         --> a.stream:3:10
          |
        3 |   expect ndjson { { "n": 1 }; { "n": 2 }; end }
          |          ^^^^^^ expected `application/x-ndjson`
          |
          = note: an ndjson block reads `application/x-ndjson`, `application/ndjson`, `application/jsonl`, `application/x-jsonlines`, `application/json-lines`, `application/json` and `text/plain`
          = help: if this content type is what the server should send, check it with `expect header content-type …`: the block then reads the body whatever its type

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: text/html
        "#,
    );
}

#[test]
fn a_spec_that_checks_the_content_type_reads_ndjson_whatever_it_is() {
    passes(
        r#"
        test "application/octet-stream, as the spec says" {
          GET {{base}}/ndjson?type=application/octet-stream
          expect header content-type == application/octet-stream
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
        }

        test "checked after the block" {
          GET {{base}}/ndjson?type=text/html
          expect ndjson { { "n": 1 }; { "n": 2 }; end }
          expect header Content-Type exists
        }
        "#,
        &[
            "application/octet-stream, as the spec says",
            "checked after the block",
        ],
    );
}

// ─── `expect lines` of JSON ────────────────────────────────────────────────────────────────────

#[test]
fn lines_match_json_patterns_and_jsonpath() {
    passes(
        r#"
        test "json and JSONPath on lines" {
          GET {{base}}/ndjson?type=text/plain
          expect lines {
            all json { "n": integer }
            json { "n": 1, "kind": string -> kind }
            $.n == 2  $.kind == "b"  size < 100
            end
          }
          expect kind joined == "a"
        }

        test "a line of JSON is still text too" {
          GET {{base}}/ndjson?type=text/plain
          expect lines { /"n":1/; contains "\"b\""; end }
        }
        "#,
        &[
            "json and JSONPath on lines",
            "a line of JSON is still text too",
        ],
    );
}

#[test]
fn a_line_that_does_not_match_as_json() {
    fails(
        server(),
        r#"
        test "lines" {
          GET {{base}}/ndjson?type=text/plain
          expect lines {
            json { "n": 1 }
            json { "n": 3 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: lines

        error: item 2 does not match
         --> a.stream:5:5
          |
        5 |     json { "n": 3 }
          |     ^^^^^^^^^^^^^^^ at `.n`: expected 3, found 2
          |
          = diff of expected (-) and observed (+) items:
              "{\"n\":1,\"kind\":\"a\"}"  # [TIME]
            - json { "n": 3 }
            + "{\"n\":2,\"kind\":\"b\"}"  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: lines
        "#,
    );
}

#[test]
fn the_hint_for_json_in_a_lines_block_is_a_line_that_parses() {
    check_fails(
        r#"
        test "t" {
          GET http://127.0.0.1:1/
          expect lines { { "n": 1 } }
        }
        "#,
        r#"
        error: expected text: a string, /regex/, `contains "…"` or `_`
         --> a.stream:3:18
          |
        3 |   expect lines { { "n": 1 } }
          |                  ^^^^^^^^^^ not a text matcher
          |
          = help: to match the line as JSON, write `json { "n": 1 }`

        "#,
    );
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "t" {
              GET http://127.0.0.1:1/
              expect lines { json { "n": 1 } }
            }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: no problems\n")
        .run();
}

#[test]
fn json_on_a_line_fits_lines_only() {
    check_fails(
        r#"
        test "t" {
          GET http://127.0.0.1:1/
          expect chunks { json { "n": 1 } }
          expect ndjson { json { "n": 1 } }
          expect text json { "n": 1 }
          expect lines { "a"  json { "n": 1 } }
          expect sse { json { "n": 1 } }
          expect text { "n": 1 }
          expect chunks { { "n": 1 } }
        }
        "#,
        r#"
        error: `json` does not fit a `chunks` item
         --> a.stream:3:19
          |
        3 |   expect chunks { json { "n": 1 } }
          |                   ^^^^^^^^^^^^^^^ does not fit here
          |
          = help: a chunk is bytes: to match JSON, read the stream with `expect ndjson`, or with `expect lines` and `json …`

        error: `json` does not fit a JSON item
         --> a.stream:4:19
          |
        4 |   expect ndjson { json { "n": 1 } }
          |                   ^^^^^^^^^^^^^^^ does not fit here
          |
          = help: this item is JSON already: write the pattern without `json`

        error: `json` does not fit a text item
         --> a.stream:5:15
          |
        5 |   expect text json { "n": 1 }
          |               ^^^^^^^^^^^^^^^ does not fit here
          |
          = help: to match the whole body as JSON, write `expect json …`

        error: a line is matched as text or as JSON, not both
         --> a.stream:6:18
          |
        6 |   expect lines { "a"  json { "n": 1 } }
          |                  ^^^^^^^^^^^^^^^^^^^^ text and `json` on one line
          |
          = help: match the line as text (`"…"`, `/regex/`, `contains`) or as JSON (`json …`, `$.path` checks)

        error: `json` does not fit an `sse` item
         --> a.stream:7:16
          |
        7 |   expect sse { json { "n": 1 } }
          |                ^^^^^^^^^^^^^^^ does not fit here
          |
          = help: an SSE event's data is matched as JSON with `data: json …`

        error: expected text: a string, /regex/, `contains "…"` or `_`
         --> a.stream:8:15
          |
        8 |   expect text { "n": 1 }
          |               ^^^^^^^^^^ not a text matcher
          |
          = help: to match the body as JSON, write `expect json { "n": 1 }`

        error: expected text: a string, /regex/, `contains "…"` or `_`
         --> a.stream:9:19
          |
        9 |   expect chunks { { "n": 1 } }
          |                   ^^^^^^^^^^ not a text matcher
          |
          = help: a chunk is bytes: to match JSON, read the stream with `expect ndjson`, or with `expect lines` and `json { "n": 1 }`

        7 errors
        "#,
    );
}

#[test]
fn a_line_that_is_not_json() {
    fails(
        servers::canned(),
        r#"
        test "text lines" {
          GET {{base}}/lines/crlf
          expect lines { json _ }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: text lines

        error: item 1 does not match
         --> a.stream:3:18
          |
        3 |   expect lines { json _ }
          |                  ^^^^^^ expected JSON, found text that is not JSON (expected value at line 1 column 1)
          |
          = diff of expected (-) and observed (+) items:
            - json _
            + "one"  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: text lines
        "#,
    );
}

#[test]
fn fmt_keeps_json_on_lines() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "t" {
              GET http://127.0.0.1:1/
              expect lines {
                json {"n":1,"kind":string->kind}   $.kind=="a"
                $.n == 2    size < 100
              }
            }
            "#,
        )
        .args(["fmt", "a.stream"])
        .stdout("formatted a.stream")
        .run();
    let formatted =
        std::fs::read_to_string(output.dir.path().join("a.stream")).expect("read the spec back");
    assert_eq!(
        formatted,
        crate::support::unindent(
            r#"
            test "t" {
              GET http://127.0.0.1:1/
              expect lines {
                json { "n": 1, "kind": string -> kind }  $.kind == "a"
                $.n == 2  size < 100
              }
            }
            "#
        )
    );
}

#[test]
fn json_in_place_of_sse_text_gets_a_hint_that_fits() {
    check_fails(
        r#"
        test "t" {
          GET http://127.0.0.1:1/
          expect sse { data: { "n": 1 }; id: { "n": 1 } }
        }
        "#,
        r#"
        error: expected text: a string, /regex/, `contains "…"` or `_`
         --> a.stream:3:22
          |
        3 |   expect sse { data: { "n": 1 }; id: { "n": 1 } }
          |                      ^^^^^^^^^^ not a text matcher
          |
          = help: to match the data as JSON, write `json { "n": 1 }`

        error: expected text: a string, /regex/, `contains "…"` or `_`
         --> a.stream:3:38
          |
        3 |   expect sse { data: { "n": 1 }; id: { "n": 1 } }
          |                                      ^^^^^^^^^^ not a text matcher
          |
          = help: ids and event types are text, not JSON

        2 errors
        "#,
    );
}
