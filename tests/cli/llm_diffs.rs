//! Diffs of LLM streams: OpenAI-style `chat.completion.chunk` events, each a 200–260-character
//! line of which only `choices[0].delta` changes. The diff shows of each item what the block's
//! patterns look at (the rest as `…`), items that `ignore` drops as ignored, and the lines of
//! `where` groups against the items of their own group.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

use crate::servers;
use crate::support::Test;

/// One chunk of a chat completion stream, as OpenAI sends it (compact JSON, in this key order).
fn chunk(index: u64, delta: Value, finish_reason: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e",
        "object": "chat.completion.chunk",
        "created": 1718034000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_8b761cb050",
        "choices": [{
            "index": index,
            "delta": delta,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
    });
    format!("data: {chunk}\n\n")
}

fn content(index: u64, text: &str) -> String {
    chunk(index, json!({ "content": text }), None)
}

fn event_stream(chunks: Vec<String>) -> impl IntoResponse {
    let mut body = chunks.concat();
    body.push_str("data: [DONE]\n\n");
    ([(header::CONTENT_TYPE, "text/event-stream")], body)
}

/// `POST /chat`: "Hello, how can I help?" token by token, after a chunk that only gives the
/// role, with two empty chunks on the way (as some proxies send to keep a stream alive).
/// `POST /chat/two`: two choices (`n: 2`), their chunks interleaved: "Hello there!" and "Hi
/// friend!".
fn llm() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let one = || async {
            event_stream(vec![
                chunk(0, json!({ "role": "assistant", "content": "" }), None),
                content(0, "Hello"),
                content(0, ","),
                content(0, " how"),
                content(0, ""),
                content(0, " can"),
                content(0, " I"),
                content(0, ""),
                content(0, " help"),
                content(0, "?"),
                chunk(0, json!({}), Some("stop")),
            ])
        };
        let two = || async {
            event_stream(vec![
                content(0, "Hello"),
                content(1, "Hi"),
                content(0, " there"),
                content(1, " friend"),
                content(0, "!"),
                content(1, "!"),
                chunk(0, json!({}), Some("stop")),
                chunk(1, json!({}), Some("stop")),
            ])
        };
        servers::serve(
            Router::new()
                .route("/chat", post(one))
                .route("/chat/two", post(two)),
        )
    })
}

fn fails_with(spec: &str, stdout: &str) {
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("llm", llm())
        .stdout(stdout)
        .status(1)
        .run();
}

// Before (every item whole, the `ignore`d chunk as an unexpected `+` line, lines lined up
// by position):
//
//     Running 1 test from 1 file
//       FAIL [TIME] a.stream: the reply streams token by token
//
//     error: item 4 does not match
//      --> a.stream:8:5
//       |
//     8 |     data: json { "choices": [{ "delta": { "content": " may" } }] }
//       |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.choices[0].delta.content`: expected " may", found " can"
//       |
//       = note: 2 items were left out by `ignore` in this block
//       = diff of expected (-) and observed (+) items:
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "Hello" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "," }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": " how" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//         - data: json { "choices": [{ "delta": { "content": " may" } }] }
//         + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": " can" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": " I" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//         + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": " help" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "?" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop" }] }  # [TIME]
//           data: "[DONE]"  # [TIME]
//           end
//
//     Summary 1 test: 0 passed, 1 failed [TIME]
//       FAIL a.stream:1: the reply streams token by token
#[test]
fn a_token_that_differs() {
    fails_with(
        r#"
        test "the reply streams token by token" {
          POST {{llm}}/chat
          expect sse {
            ignore data: json { "choices": [{ "delta": { "content": "" } }] }
            data: json { "choices": [{ "delta": { "content": "Hello" } }] }
            data: json { "choices": [{ "delta": { "content": "," } }] }
            data: json { "choices": [{ "delta": { "content": " how" } }] }
            data: json { "choices": [{ "delta": { "content": " may" } }] }
            data: json { "choices": [{ "delta": { "content": " I" } }] }
            data: json { "choices": [{ "delta": { "content": " help" } }] }
            data: json { "choices": [{ "delta": { "content": "?" } }] }
            data: json { "choices": [{ "delta": {}, "finish_reason": "stop" }] }
            data: "[DONE]"
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the reply streams token by token

        error: item 4 does not match
         --> a.stream:8:5
          |
        8 |     data: json { "choices": [{ "delta": { "content": " may" } }] }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.choices[0].delta.content`: expected " may", found " can"
          |
          = note: 2 items were left out by `ignore` in this block
          = diff of expected (-) and observed (+) items:
              data: json { …, "choices": [{ …, "delta": { "content": "Hello" }, …, "finish_reason": null }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": "," }, …, "finish_reason": null }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": " how" }, …, "finish_reason": null }] }  # [TIME]
            - data: json { "choices": [{ "delta": { "content": " may" } }] }
            + data: json { …, "choices": [{ …, "delta": { "content": " can" }, …, "finish_reason": null }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": " I" }, …, "finish_reason": null }] }  # [TIME]
            ~ ignored: data: json { …, "choices": [{ …, "delta": { "content": "" }, …, "finish_reason": null }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": " help" }, …, "finish_reason": null }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": "?" }, …, "finish_reason": null }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": {}, …, "finish_reason": "stop" }] }  # [TIME]
              data: "[DONE]"  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the reply streams token by token
        "#,
    );
}

// Before (every item whole, the lines of the groups set against the items of the other
// group):
//
//     Running 1 test from 1 file
//       FAIL [TIME] a.stream: two choices, each in its order
//
//     error: item 4 does not match
//       --> a.stream:12:7
//        |
//     12 |       data: json { "choices": [{ "delta": { "content": " pal" } }] }
//        |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.choices[0].delta.content`: expected " pal", found " friend"
//        |
//        = diff of expected (-) and observed (+) items:
//            data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "Hello" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//            data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 1, "delta": { "content": "Hi" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//            data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": " there" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//          - data: json { "choices": [{ "delta": { "content": "!" } }] }  # where $.choices[0].index == 0
//          - data: json { "choices": [{ "finish_reason": "stop" }] }  # where $.choices[0].index == 0
//          - data: json { "choices": [{ "delta": { "content": " pal" } }] }  # where $.choices[0].index == 1
//          + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 1, "delta": { "content": " friend" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//            data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "!" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//          + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 1, "delta": { "content": "!" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//            data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop" }] }  # [TIME]
//          + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 1, "delta": {}, "logprobs": null, "finish_reason": "stop" }] }  # [TIME]
//            data: "[DONE]"  # [TIME]
//            end
//
//     Summary 1 test: 0 passed, 1 failed [TIME]
//       FAIL a.stream:1: two choices, each in its order
#[test]
fn a_token_that_differs_in_one_of_two_choices() {
    fails_with(
        r#"
        test "two choices, each in its order" {
          POST {{llm}}/chat/two
          expect sse {
            where $.choices[0].index == 0 {
              data: json { "choices": [{ "delta": { "content": "Hello" } }] }
              data: json { "choices": [{ "delta": { "content": " there" } }] }
              data: json { "choices": [{ "delta": { "content": "!" } }] }
              data: json { "choices": [{ "finish_reason": "stop" }] }
            }
            where $.choices[0].index == 1 {
              data: json { "choices": [{ "delta": { "content": "Hi" } }] }
              data: json { "choices": [{ "delta": { "content": " pal" } }] }
              data: json { "choices": [{ "delta": { "content": "!" } }] }
              data: json { "choices": [{ "finish_reason": "stop" }] }
            }
            data: "[DONE]"
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: two choices, each in its order

        error: item 4 does not match
          --> a.stream:12:7
           |
        12 |       data: json { "choices": [{ "delta": { "content": " pal" } }] }
           |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.choices[0].delta.content`: expected " pal", found " friend"
           |
           = diff of expected (-) and observed (+) items:
               data: json { …, "choices": [{ "index": 0, "delta": { "content": "Hello" }, …, "finish_reason": null }] }  # [TIME]
               data: json { …, "choices": [{ "index": 1, "delta": { "content": "Hi" }, …, "finish_reason": null }] }  # [TIME]
               data: json { …, "choices": [{ "index": 0, "delta": { "content": " there" }, …, "finish_reason": null }] }  # [TIME]
             - data: json { "choices": [{ "delta": { "content": " pal" } }] }  # where $.choices[0].index == 1
             + data: json { …, "choices": [{ "index": 1, "delta": { "content": " friend" }, …, "finish_reason": null }] }  # [TIME]
               data: json { …, "choices": [{ "index": 0, "delta": { "content": "!" }, …, "finish_reason": null }] }  # [TIME]
               data: json { …, "choices": [{ "index": 1, "delta": { "content": "!" }, …, "finish_reason": null }] }  # [TIME]
               data: json { …, "choices": [{ "index": 0, …, "finish_reason": "stop" }] }  # [TIME]
               data: json { …, "choices": [{ "index": 1, …, "finish_reason": "stop" }] }  # [TIME]
               data: "[DONE]"  # [TIME]
               end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: two choices, each in its order
        "#,
    );
}

// Before (every item whole, the `any order` lines in the spec's order against the items as
// they came, the `ignore`d chunk as an unexpected `+` line):
//
//     Running 1 test from 1 file
//       FAIL [TIME] a.stream: the first tokens, in any order
//
//     error: item 1 matches none of the items still expected in `any order`
//      --> a.stream:5:5
//       |
//     5 |     any order {
//       |     ^^^^^^^^^^^ still expected: data: json { "choices": [{ "delta": { "content": " how" } }] }, data: json { "choices": [{ "delta": { "content": "," } }] }, data: json { "choices": [{ "delta": { "content": "Hi" } }] }
//       |
//       = note: 1 item was left out by `ignore` in this block
//       = diff of expected (-) and observed (+) items:
//         - data: json { "choices": [{ "delta": { "content": " how" } }] }
//         + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "Hello" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "," }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//         - data: json { "choices": [{ "delta": { "content": "Hi" } }] }
//         - data: json { "choices": [{ "delta": { "content": " can" } }] }
//         + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": " how" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//         + data: json { "id": "chatcmpl-9xKcVq2ZfW1bY7nR3tLm8pD4sA6e", "object": "chat.completion.chunk", "created": [UNIX_S], "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_8b761cb050", "choices": [{ "index": 0, "delta": { "content": "" }, "logprobs": null, "finish_reason": null }] }  # [TIME]
//           … (stopped reading here)
//
//     Summary 1 test: 0 passed, 1 failed [TIME]
//       FAIL a.stream:1: the first tokens, in any order
#[test]
fn tokens_in_any_order_one_of_them_missing() {
    fails_with(
        r#"
        test "the first tokens, in any order" {
          POST {{llm}}/chat
          expect sse {
            ignore data: json { "choices": [{ "delta": { "content": "" } }] }
            any order {
              data: json { "choices": [{ "delta": { "content": " how" } }] }
              data: json { "choices": [{ "delta": { "content": "," } }] }
              data: json { "choices": [{ "delta": { "content": "Hi" } }] }
            }
            data: json { "choices": [{ "delta": { "content": " can" } }] }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the first tokens, in any order

        error: item 1 matches none of the items still expected in `any order`
         --> a.stream:5:5
          |
        5 |     any order {
          |     ^^^^^^^^^^^ still expected: data: json { "choices": [{ "delta": { "content": " how" } }] }, data: json { "choices": [{ "delta": { "content": "," } }] }, data: json { "choices": [{ "delta": { "content": "Hi" } }] }
          |
          = note: 1 item was left out by `ignore` in this block
          = diff of expected (-) and observed (+) items:
            - data: json { "choices": [{ "delta": { "content": "Hi" } }] }
            + data: json { …, "choices": [{ …, "delta": { "content": "Hello" }, … }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": "," }, … }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": " how" }, … }] }  # [TIME]
            ~ ignored: data: json { …, "choices": [{ …, "delta": { "content": "" }, … }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": " can" }, … }] }  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the first tokens, in any order
        "#,
    );
}
