//! Spec errors: exit 2 and the exact diagnostics on stderr — `file:line:col`, the source line
//! and a caret — from `check`, and from `run` before anything is sent.

use crate::support::{Test, check_fails};

mod concurrency;
mod mistakes;
mod websocket;

#[test]
fn misspelt_keyword_with_did_you_mean() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expcet status 200
        }
        "#,
        "
        error: unknown keyword `expcet`
         --> a.stream:3:3
          |
        3 |   expcet status 200
          |   ^^^^^^
          |
          = help: did you mean `expect`?

        ",
    );
}

#[test]
fn misspelt_top_level_keyword() {
    check_fails(
        r#"
        tset "a" {
          GET http://example.invalid/
        }
        "#,
        r#"
        error: unknown keyword `tset`
         --> a.stream:1:1
          |
        1 | tset "a" {
          | ^^^^ expected `test` or `let`
          |
          = help: did you mean `test`?

        "#,
    );
}

#[test]
fn misspelt_keyword_inside_a_block() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { evnt: "tick" }
        }
        "#,
        r#"
        error: unknown keyword `evnt`
         --> a.stream:3:16
          |
        3 |   expect sse { evnt: "tick" }
          |                ^^^^
          |
          = help: did you mean `event`?

        "#,
    );
}

#[test]
fn missing_closing_brace_at_the_end_of_the_file() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect status 200
        "#,
        "
        error: expected `}` or a step: a request such as `GET <url>` or `ws <url>`, `header`, `body`, `send`, `expect` or `timeout`, found end of file
         --> a.stream:4:1
          |
        4 |
          | ^
          |
          = help: the `{` on line 1 is not closed

        ",
    );
}

#[test]
fn missing_closing_brace_before_the_next_test() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { data: _
        }

        test "b" {
          GET http://example.invalid/
        }
        "#,
        r#"
        error: expected `}` or a step: a request such as `GET <url>` or `ws <url>`, `header`, `body`, `send`, `expect` or `timeout`, found `test`
         --> a.stream:6:1
          |
        6 | test "b" {
          | ^^^^
          |
          = help: the `{` on line 1 is not closed

        "#,
    );
}

#[test]
fn missing_line_break_between_items() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect ndjson {
            { "n": 1 } { "n": 2 }
          }
          expect sse {
            data: "a" data: "b"
          }
        }
        "#,
        r#"
        error: a JSON pattern is given twice in one item
         --> a.stream:4:16
          |
        4 |     { "n": 1 } { "n": 2 }
          |                ^^^^^^^^^^ one item is one line; put the next item on its own line

        error: `data:` is given twice in one item
         --> a.stream:7:15
          |
        7 |     data: "a" data: "b"
          |               ^^^^^^^^^ one item is one line; put the next item on its own line

        2 errors
        "#,
    );
}

#[test]
fn missing_line_break_between_steps() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/  expect status 200
        }
        "#,
        "
        error: expected a new line (or `;`), found `expect`
         --> a.stream:2:32
          |
        2 |   GET http://example.invalid/  expect status 200
          |                                ^^^^^^ expected a new line (or `;`)

        ",
    );
}

#[test]
fn semicolon_after_a_url() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "one line" { GET http://example.invalid/health; expect text "ok" }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: no problems")
        .run();
}

#[test]
fn bad_regex() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { data: /count(/ }
        }
        "#,
        "
        error: invalid regular expression
         --> a.stream:3:22
          |
        3 |   expect sse { data: /count(/ }
          |                      ^^^^^^^^ unclosed group

        ",
    );
}

#[test]
fn bad_durations() {
    // A file stops at its first syntax error, so each is in its own file.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              timeout 10 seconds
              GET http://example.invalid/
            }
            "#,
        )
        .spec(
            "b.stream",
            r#"
            test "b" {
              GET http://example.invalid/
              expect sse { data: _ within 1sec }
            }
            "#,
        )
        .args(["check", "a.stream", "b.stream"])
        .status(2)
        .stderr(
            "
            error: expected a duration such as `500ms` or `2s`, found `10`
             --> a.stream:2:11
              |
            2 |   timeout 10 seconds
              |           ^^ expected a duration such as `500ms` or `2s`

            error: expected a duration such as `500ms` or `2s`, found `1sec`
             --> b.stream:3:31
              |
            3 |   expect sse { data: _ within 1sec }
              |                               ^^^^ expected a duration such as `500ms` or `2s`

            2 errors
            ",
        )
        .run();
}

#[test]
fn duration_without_a_unit() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { data: _ within 5 }
        }
        "#,
        "
        error: expected a duration such as `500ms` or `2s`, found `5`
         --> a.stream:3:31
          |
        3 |   expect sse { data: _ within 5 }
          |                               ^ expected a duration such as `500ms` or `2s`

        ",
    );
}

#[test]
fn unknown_stream_kind_with_did_you_mean() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect jsonl { _ }
        }
        "#,
        "
        error: unknown expectation `jsonl`
         --> a.stream:3:10
          |
        3 |   expect jsonl { _ }
          |          ^^^^^ not an expectation
          |
          = help: did you mean `json`?

        ",
    );
}

#[test]
fn unknown_stream_kind() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect websocket { _ }
        }
        "#,
        "
        error: unknown expectation `websocket`
         --> a.stream:3:10
          |
        3 |   expect websocket { _ }
          |          ^^^^^^^^^ not an expectation
          |
          = help: the streams are `sse`, `ndjson`, `lines`, `chunks` and `messages` (gRPC and WebSocket)

        ",
    );
}

#[test]
fn sse_field_in_an_ndjson_block() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect ndjson { data: "x" }
        }
        "#,
        r#"
        error: the SSE field `data:` does not fit a JSON item
         --> a.stream:3:19
          |
        3 |   expect ndjson { data: "x" }
          |                   ^^^^^^^^^ does not fit here
          |
          = help: SSE fields fit only `expect sse` blocks

        "#,
    );
}

#[test]
fn patterns_that_do_not_fit_their_block() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { size 3 }
          expect chunks { $.a == 1 }
          expect json { "a": 1 } contains "x"
        }
        "#,
        r#"
        error: `size` does not fit an `sse` item
         --> a.stream:3:16
          |
        3 |   expect sse { size 3 }
          |                ^^^^^^ does not fit here
          |
          = help: `size` fits `lines`, `chunks` and `expect text`

        error: a JSONPath assertion does not fit a `chunks` item
         --> a.stream:4:19
          |
        4 |   expect chunks { $.a == 1 }
          |                   ^^^^^^^^ does not fit here
          |
          = help: JSONPath fits `sse`, `ndjson`, `lines` and `expect json`

        error: `contains` does not fit a JSON item
         --> a.stream:5:26
          |
        5 |   expect json { "a": 1 } contains "x"
          |                          ^^^^^^^^^^^^ does not fit here
          |
          = help: `contains` fits text: `lines`, `chunks`, `expect text` and SSE fields

        3 errors
        "#,
    );
}

#[test]
fn undefined_variable_with_did_you_mean() {
    check_fails(
        r#"
        let base = "http://127.0.0.1:1"

        test "a" {
          GET {{bsae}}/sse/empty
          expect sse { end }
        }
        "#,
        "
        error: variable `bsae` is not defined
         --> a.stream:4:7
          |
        4 |   GET {{bsae}}/sse/empty
          |       ^^^^^^^^ undefined variable
          |
          = help: did you mean `base`?

        ",
    );
}

#[test]
fn undefined_variable_without_a_close_name() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { data: "{{token}}" }
        }
        "#,
        "
        error: variable `token` is not defined
         --> a.stream:3:23
          |
        3 |   expect sse { data: \"{{token}}\" }
          |                       ^^^^^^^^^ undefined variable
          |
          = help: set it with `let token = …`, `--var token=…`, the environment variable `STREAMSPEC_VAR_token`, or `[vars]` in streamspec.toml

        ",
    );
}

#[test]
fn undefined_capture_with_did_you_mean() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { data: _ -> reply }
          expect rpely joined == "x"
        }
        "#,
        r#"
        error: nothing captures `rpely` before this line
         --> a.stream:4:10
          |
        4 |   expect rpely joined == "x"
          |          ^^^^^ not captured
          |
          = help: did you mean `reply`?

        "#,
    );
}

#[test]
fn duplicate_test_name() {
    check_fails(
        r#"
        test "ticker" {
          GET http://example.invalid/
        }

        test "ticker" {
          GET http://example.invalid/
        }
        "#,
        r#"
        error: test name `ticker` is used twice in this file
         --> a.stream:5:6
          |
        5 | test "ticker" {
          |      ^^^^^^^^ also the name of the test on line 1

        "#,
    );
}

#[test]
fn steps_out_of_order() {
    check_fails(
        r#"
        test "expectation before the request" {
          expect status 200
          GET http://example.invalid/
        }

        test "header after the body was read" {
          GET http://example.invalid/
          expect sse { data: _ }
          header x-test: 1
        }

        test "nothing after the end" {
          GET http://example.invalid/
          expect sse { end; data: _ }
        }

        test "timeout twice" {
          timeout 1s
          GET http://example.invalid/
          timeout 2s
        }
        "#,
        "
        error: `expect status` needs a request before it
         --> a.stream:2:3
          |
        2 |   expect status 200
          |   ^^^^^^^^^^^^^^^^^ no request yet in this test

        error: `header` must come before the request's expectations
         --> a.stream:9:3
          |
        9 |   header x-test: 1
          |   ^^^^^^^^^^^^^^^^ the request was already sent

        error: nothing can follow `end` but `reconnect`
          --> a.stream:14:21
           |
        14 |   expect sse { end; data: _ }
           |                     ^^^^^^^ the connection is closed here
           |
           = help: write `reconnect` to open the stream again (a `wait` may come before it)

        error: the timeout is set twice in this test
          --> a.stream:20:3
           |
        20 |   timeout 2s
           |   ^^^^^^^^^^ also set on line 18

        4 errors
        ",
    );
}

#[test]
fn header_and_body_after_the_request_was_sent() {
    check_fails(
        r#"
        test "header after the status" {
          GET http://example.invalid/
          expect status 200
          header x-test: 1
        }

        test "body after the status" {
          POST http://example.invalid/
          expect status 200
          body json { "stream": true }
        }
        "#,
        r#"
        error: `header` must come before the request's expectations
         --> a.stream:4:3
          |
        4 |   header x-test: 1
          |   ^^^^^^^^^^^^^^^^ the request was already sent

        error: `body` must come before the request's expectations
          --> a.stream:10:3
           |
        10 |   body json { "stream": true }
           |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ the request was already sent

        2 errors
        "#,
    );
}

#[test]
fn stream_control_outside_a_block() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          reconnect
        }
        "#,
        "
        error: `reconnect` goes inside an `expect` block
         --> a.stream:3:3
          |
        3 |   reconnect
          |   ^^^^^^^^^ it acts on the stream being read

        ",
    );
}

#[test]
fn byte_order_mark() {
    Test::new()
        .file(
            "a.stream",
            "\u{feff}test \"a\" {\r\n  GET http://example.invalid/\r\n}\r\n",
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: no problems")
        .run();
}

#[test]
fn caret_after_wide_characters() {
    check_fails(
        r#"
        test "日本" {
          GET http://example.invalid/
          expect sse {
            data: "日本" data: _
          }
        }
        "#,
        r#"
        error: `data:` is given twice in one item
         --> a.stream:4:16
          |
        4 |     data: "日本" data: _
          |                  ^^^^^^^ one item is one line; put the next item on its own line

        "#,
    );
}

#[test]
fn a_spec_that_is_not_utf8() {
    Test::new()
        .file(
            "a.stream",
            b"test \"\xff\" {\n  GET http://example.invalid/\n}\n",
        )
        .args(["check", "a.stream"])
        .stderr("error: cannot read `a.stream`: the file is not valid UTF-8 (line 1, column 7)")
        .status(2)
        .run();
}

#[test]
fn the_same_file_named_twice() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET http://example.invalid/
            }
            "#,
        )
        .args(["check", "a.stream", "./a.stream", "."])
        .stdout("checked 1 test in 1 file: no problems")
        .run();
}

#[test]
fn check_reports_errors_from_several_files_at_once() {
    Test::new()
        .spec(
            "specs/b.stream",
            r#"
            test "b" {
              GET {{base}}/sse/empty
              expect sse { end }
            }
            "#,
        )
        .spec(
            "specs/a.stream",
            r#"
            test "a" {
              GET http://example.invalid/
              expcet status 200
            }
            "#,
        )
        .spec(
            "specs/nested/c.stream",
            r#"
            test "c" {
              GET http://example.invalid/
              expect sse { data: /(/ -> x }
              timeout 1x
            }

            test "c" {
              GET http://example.invalid/
            }
            "#,
        )
        .spec(
            "specs/good.stream",
            r#"
            test "good" {
              GET http://example.invalid/
            }
            "#,
        )
        .args(["check", "specs"])
        .status(2)
        .stderr(
            "
            error: unknown keyword `expcet`
             --> specs/a.stream:3:3
              |
            3 |   expcet status 200
              |   ^^^^^^
              |
              = help: did you mean `expect`?

            error: variable `base` is not defined
             --> specs/b.stream:2:7
              |
            2 |   GET {{base}}/sse/empty
              |       ^^^^^^^^ undefined variable
              |
              = help: set it with `let base = …`, `--var base=…`, the environment variable `STREAMSPEC_VAR_base`, or `[vars]` in streamspec.toml

            error: expected a duration such as `500ms` or `2s`, found `1x`
             --> specs/nested/c.stream:4:11
              |
            4 |   timeout 1x
              |           ^^ expected a duration such as `500ms` or `2s`

            3 errors
            ",
        )
        .run();
}

#[test]
fn run_reports_spec_errors_before_sending_anything() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET {{base}}/sse/empty
              expect sse { end }
            }
            "#,
        )
        .args(["run"])
        .status(2)
        .stderr(
            "
            error: variable `base` is not defined
             --> ./a.stream:2:7
              |
            2 |   GET {{base}}/sse/empty
              |       ^^^^^^^^ undefined variable
              |
              = help: set it with `let base = …`, `--var base=…`, the environment variable `STREAMSPEC_VAR_base`, or `[vars]` in streamspec.toml

            no tests were run: fix the errors above first
            ",
        )
        .run();
}

#[test]
fn hints_for_common_mistakes() {
    check_fails(
        r#"
        test "quoted status" {
          GET http://example.invalid/
          expect status "200"
        }

        test "header written as a request header" {
          GET http://example.invalid/
          expect header content-type: text/event-stream
        }

        test "a slash inside a regex" {
          GET http://example.invalid/
          expect header content-type ~ /^text/event-stream/
        }

        test "a flag regexes do not have" {
          GET http://example.invalid/
          expect sse { data: /count/g }
        }

        test "let inside a test" {
          let x = "1"
          GET http://example.invalid/
        }

        test "no scheme" {
          GET 127.0.0.1:7878/sse/ticker
        }
        "#,
        r#"
        error: expected a status code such as `200` or `2xx`, found `"`
         --> a.stream:3:17
          |
        3 |   expect status "200"
          |                 ^ expected a status code such as `200` or `2xx`
          |
          = help: write the status without quotes: `expect status 200`

        error: expected `==`, `!=`, `~ /regex/`, `contains`, `exists` or `not exists`, found `:`
         --> a.stream:8:29
          |
        8 |   expect header content-type: text/event-stream
          |                             ^
          |
          = help: write `expect header NAME == VALUE` (or `~ /regex/`, `contains`, `exists`)

        error: expected a new line (or `;`), found `event-stream`
          --> a.stream:13:39
           |
        13 |   expect header content-type ~ /^text/event-stream/
           |                                       ^^^^^^^^^^^^ expected a new line (or `;`)
           |
           = help: a `/` inside a regex is written `\/`

        error: expected a new line (or `;`), found `g`
          --> a.stream:18:29
           |
        18 |   expect sse { data: /count/g }
           |                             ^ expected a new line (or `;`)
           |
           = help: `g` is not a regex flag: the flags are `i`, `m`, `s` and `x` (a regex already finds every match, anywhere)

        error: expected `}` or a step: a request such as `GET <url>` or `ws <url>`, `header`, `body`, `send`, `expect` or `timeout`, found `let`
          --> a.stream:22:3
           |
        22 |   let x = "1"
           |   ^^^
           |
           = help: `let` goes at the top of the file, outside the tests

        5 errors
        "#,
    );
}

#[test]
fn a_url_without_a_scheme_and_a_capture_used_too_early() {
    check_fails(
        r#"
        test "no scheme" {
          GET example.com/sse/ticker
        }

        test "resume from a capture" {
          GET http://example.invalid/sse?after={{last}}
          expect sse { id: _ -> last }
        }
        "#,
        r#"
        error: a URL needs a scheme
         --> a.stream:2:7
          |
        2 |   GET example.com/sse/ticker
          |       ^^^^^^^^^^^^^^^^^^^^^^ no `http://` or `https://`
          |
          = help: write `http://example.com/sse/ticker`

        error: variable `last` is not defined
         --> a.stream:6:40
          |
        6 |   GET http://example.invalid/sse?after={{last}}
          |                                        ^^^^^^^^ undefined variable
          |
          = help: `last` is captured on line 7; a capture can be used only after the item that sets it, in the same test

        2 errors
        "#,
    );
}

#[test]
fn an_empty_block_is_a_warning() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET http://example.invalid/
              expect sse { }
            }
            "#,
        )
        .args(["check", "a.stream"])
        .stdout("checked 1 test in 1 file: 1 warning")
        .stderr(
            "
            warning: this block expects nothing
             --> a.stream:3:14
              |
            3 |   expect sse { }
              |              ^^^ passes whatever the stream sends
              |
              = help: list the items you expect, or write `end` for a stream that must be empty

            ",
        )
        .run();
}
#[test]
fn grpc_and_http_steps_do_not_mix() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          metadata x-a: b
          close
          expect message { "a": 1 }
        }

        test "b" {
          grpc http://127.0.0.1:1 stock.StockService/GetQuote
          header x-a: b
          expect status 200
          expect header x-b exists
          expect sse { data: "x" }
        }
        "#,
        r#"
        error: `metadata` is for gRPC calls
         --> a.stream:3:3
          |
        3 |   metadata x-a: b
          |   ^^^^^^^^^^^^^^^ the exchange before it is an HTTP request
          |
          = help: an HTTP request takes `header name: value`; or start a call with `grpc http://host:port package.Service/Method`

        error: `close` is for WebSockets and gRPC calls
         --> a.stream:4:3
          |
        4 |   close
          |   ^^^^^ the exchange before it is an HTTP request
          |
          = help: open a WebSocket first (`ws ws://host/path`), or start a call (`grpc http://host:port package.Service/Method`); an HTTP request sends its `body` at once

        error: `expect message` is for gRPC calls and WebSockets
         --> a.stream:5:3
          |
        5 |   expect message { "a": 1 }
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^ the exchange before it is an HTTP request
          |
          = help: an HTTP response's items are read with `expect sse|ndjson|lines|chunks { … }`; or open a WebSocket with `ws ws://host/path`, or start a call with `grpc http://host:port package.Service/Method`

        error: `header` is for HTTP requests, and this is a gRPC call
          --> a.stream:10:3
           |
        10 |   header x-a: b
           |   ^^^^^^^^^^^^^ a gRPC call takes `metadata name: value`

        error: a numeric `expect status` is for HTTP responses, and this is a gRPC call
          --> a.stream:11:3
           |
        11 |   expect status 200
           |   ^^^^^^^^^^^^^^^^^ gRPC statuses are names: `expect status OK`, `expect status NOT_FOUND`

        error: `expect header` is for HTTP responses, and this is a gRPC call
          --> a.stream:12:3
           |
        12 |   expect header x-b exists
           |   ^^^^^^^^^^^^^^^^^^^^^^^^ a gRPC call has `expect metadata name …` and `expect trailer name …`

        error: `expect sse` is for HTTP responses, and this is a gRPC call
          --> a.stream:13:3
           |
        13 |   expect sse { data: "x" }
           |   ^^^^^^^^^^^^^^^^^^^^^^^^ a gRPC call's replies are read with `expect messages { … }`

        7 errors
        "#,
    );
}

#[test]
fn grpc_call_steps_in_order() {
    check_fails(
        r#"
        test "a" {
          grpc http://127.0.0.1:1 stock.StockService/TradeChat
          deadline 1s
          send { "a": 1 }
          message { "a": 2 }
          deadline 2s
          close
          send { "b": 1 }
          expect status OK
          expect message { "x": 1 }
        }
        "#,
        r#"
        error: `message` must come before the call's first expectation
         --> a.stream:5:3
          |
        5 |   message { "a": 2 }
          |   ^^^^^^^^^^^^^^^^^^ the call has already started
          |
          = help: to send another message on a started call, write `send { … }`

        error: `deadline` must come before the call's first expectation
         --> a.stream:6:3
          |
        6 |   deadline 2s
          |   ^^^^^^^^^^^ the call has already started

        error: the call's deadline is set twice
         --> a.stream:6:3
          |
        6 |   deadline 2s
          |   ^^^^^^^^^^^ also set on line 3

        error: `send` after the request stream was closed
         --> a.stream:8:3
          |
        8 |   send { "b": 1 }
          |   ^^^^^^^^^^^^^^^ `close` on line 7 closed it

        error: the call's replies have already ended
          --> a.stream:10:3
           |
        10 |   expect message { "x": 1 }
           |   ^^^^^^^^^^^^^^^^^^^^^^^^^ line 9 read them to their end

        5 errors
        "#,
    );
}

#[test]
fn grpc_status_names() {
    check_fails(
        r#"
        test "a" {
          grpc http://127.0.0.1:1 stock.StockService/GetQuote
          expect status NOT_FUOND
        }
        "#,
        "
        error: unknown gRPC status `NOT_FUOND`
         --> a.stream:3:17
          |
        3 |   expect status NOT_FUOND
          |                 ^^^^^^^^^ not a gRPC status code
          |
          = help: did you mean `NOT_FOUND`?

        ",
    );
}

#[test]
fn where_groups_and_all() {
    check_fails(
        r#"
        test "a" {
          grpc http://127.0.0.1:1 stock.StockService/StreamPrices
          expect messages {
            all { "price": number -> p }
            where symbol == "AAPL" {
              { "tick": 1 }
              end
            }
            where symbol == "GOOG" { }
            reconnect
          }
        }
        "#,
        r#"
        error: an `all` pattern cannot capture
         --> a.stream:4:5
          |
        4 |     all { "price": number -> p }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ it checks every item; capture in the item lines

        error: `end` cannot go in a `where` group
         --> a.stream:7:7
          |
        7 |       end
          |       ^^^ how the stream ends goes after the groups

        error: this `where` group expects nothing
         --> a.stream:9:5
          |
        9 |     where symbol == "GOOG" { }
          |     ^^^^^^^^^^^^^^^^^^^^^^ put the items of this key inside

        error: `reconnect` is for HTTP streams, and this is a gRPC call
          --> a.stream:10:5
           |
        10 |     reconnect
           |     ^^^^^^^^^ a gRPC call does not reconnect; `abort` cancels it

        4 errors
        "#,
    );
}
