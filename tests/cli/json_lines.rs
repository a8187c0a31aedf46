//! JSON, one value per line, as real servers send it: `expect ndjson` reads it under the content
//! types servers use for it (`text/plain` and `application/json` among them), and under any other
//! when the spec checks the content type itself; `expect lines` matches a line as JSON with
//! `json <pattern>` and JSONPath assertions.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::servers;
use crate::support::{Test, all_passed, fails};

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
