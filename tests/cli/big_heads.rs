//! Response heads far larger than usual: many header fields, long ones, and one over the limit
//! streamspec sets (the same as curl's and browsers' order of magnitude), which must fail with a
//! message that says what the server sent.

use crate::servers;
use crate::support::{Test, fails};

/// A raw server whose answer is a 200 with `fields` header fields `x-field-N: value-N` (each
/// padded with `padding` bytes of value), then one SSE event and a clean close.
fn many_fields(fields: usize, padding: usize) -> String {
    let mut reply = String::from("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n");
    let pad = "p".repeat(padding);
    for n in 1..=fields {
        reply.push_str(&format!("x-field-{n}: value-{n}{pad}\r\n"));
    }
    reply.push_str("connection: close\r\n\r\ndata: hi\n\n");
    servers::raw_reply(Box::leak(reply.into_bytes().into_boxed_slice()))
}

fn passes_with_fields(fields: usize) {
    let spec = format!(
        r#"
        test "many header fields" {{
          GET {{{{base}}}}/sse
          expect status 200
          expect header x-field-1 == value-1
          expect header x-field-{fields} == value-{fields}
          expect sse {{ data: "hi"; end }}
        }}
        "#
    );
    Test::new()
        .spec("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("base", many_fields(fields, 0))
        .stdout(&crate::support::all_passed(
            1,
            &[("a.stream", "many header fields")],
        ))
        .run();
}

#[test]
fn a_response_with_101_header_fields_is_read() {
    passes_with_fields(101);
}

#[test]
fn a_response_with_1000_header_fields_is_read() {
    passes_with_fields(1_000);
}

/// With `content-type` and `connection`: 2,000 fields, the most streamspec reads.
#[test]
fn a_response_with_2000_header_fields_is_read() {
    passes_with_fields(1_998);
}

/// 300 fields of 3,000 bytes: 900 KB of head, far more than curl (300 KB) and browsers take.
#[test]
fn a_response_head_over_the_limit_fails_with_what_the_server_sent() {
    fails(
        &many_fields(300, 3_000),
        r#"
        test "a huge head" {
          GET {{base}}/sse
          expect sse { data: "hi"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: a huge head

        error: the server at 127.0.0.1:PORT sent a response head larger than streamspec accepts (more than 2,000 header fields, or more than 408 KiB)
         --> a.stream:2:3
          |
        2 |   GET {{base}}/sse
          |   ^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: a huge head
        "#,
    );
}

/// 2,001 short fields: 50 KB, within the size curl takes, but more fields than streamspec reads.
#[test]
fn a_response_head_with_too_many_fields_fails_with_what_the_server_sent() {
    fails(
        &many_fields(1_999, 0),
        r#"
        test "many fields" {
          GET {{base}}/sse
          expect sse { data: "hi"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: many fields

        error: the server at 127.0.0.1:PORT sent a response head larger than streamspec accepts (more than 2,000 header fields, or more than 408 KiB)
         --> a.stream:2:3
          |
        2 |   GET {{base}}/sse
          |   ^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: many fields
        "#,
    );
}
