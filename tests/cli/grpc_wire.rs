//! What a gRPC call does on the wire and how the spec reports it: replies cut short, response
//! heads far larger than usual, deadlines that pass before anything comes or before an `abort`
//! or `close`, and cancels that must reach the server as cancels, after the messages written
//! before them (checked against the frames the server saw).

use std::time::Duration;

use crate::grpc_servers;
use crate::servers;
use crate::support::{Test, redact_verbose};

const STOCK_PROTO: &str = include_str!("../../proto/stock.proto");

/// A test with the demo's `.proto` beside the spec (no reflection needed).
fn with_proto() -> Test {
    Test::new().file("stock.proto", STOCK_PROTO)
}

#[test]
fn a_frame_cut_short_before_an_ok_status_is_dropped() {
    with_proto()
        .spec(
            "a.stream",
            r#"
            test "cut short" {
              grpc {{grpc}} stock.StockService/StreamPrices
              proto "stock.proto"
              expect messages {
                { "symbol": "ACME" }
                end
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", grpc_servers::cut_frame_then_ok())
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: cut short

            error: expected a clean end, but the connection was dropped: the replies ended inside a gRPC frame: its header announced 100 bytes and 10 came (90 missing)
             --> a.stream:6:5
              |
            6 |     end
              |     ^^^ expected a clean end
              |
              = diff of expected (-) and observed (+) items:
                  { "symbol": "ACME", "tick": 0, "price": 0.0, "timestamp": "0" }  # [TIME]
                - end
                + dropped  # the replies ended inside a gRPC frame: its header announced 100 bytes and 10 came (90 missing)

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: cut short
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn expect_end_on_a_frame_cut_short_fails_saying_what_is_missing() {
    with_proto()
        .spec(
            "a.stream",
            r#"
            test "cut short" {
              grpc {{grpc}} stock.StockService/StreamPrices
              proto "stock.proto"
              expect message { "symbol": "ACME" }
              expect end
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", grpc_servers::cut_frame_then_ok())
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: cut short

            error: the call failed without a status: the replies ended inside a gRPC frame: its header announced 100 bytes and 10 came (90 missing)
             --> a.stream:5:3
              |
            5 |   expect end
              |   ^^^^^^^^^^ reading the replies to their end

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: cut short
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn response_headers_and_trailers_far_over_16_kib_are_read() {
    // 1,000 metadata entries in each: about 47 KB as HTTP/2 counts a header list. hyper's
    // default limit of 16 KiB failed the call as a protocol error of the server.
    passes_against(
        &grpc_servers::large_response_head(1000),
        r#"
        test "large head" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          expect metadata x-m0 == "vvvvvvvvvv"
          expect metadata x-m999 == "vvvvvvvvvv"
          expect message { "symbol": "" }
          expect trailer x-t0 == "vvvvvvvvvv"
          expect trailer x-t999 == "vvvvvvvvvv"
          expect status OK
        }
        "#,
        "large head",
    );
}

/// Runs `spec` (one test that passes) against `server`.
fn passes_against(server: &str, spec: &str, name: &str) {
    with_proto()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("grpc", server)
        .stdout(&format!(
            "Running 1 test from 1 file\n  PASS [TIME] a.stream: {name}\nSummary 1 test: 1 passed, 0 failed [TIME]\n"
        ))
        .run();
}

#[test]
fn abort_with_the_request_stream_open_resets_it_without_ending_it() {
    // Half the calls are cancelled once the server has answered with its headers, half as soon
    // as their message is sent. The old cancel half-closed first, racing the reset, and let the
    // run exit before the reset was written: several calls make sure.
    const CALLS: usize = 16;
    let (grpc, log) = grpc_servers::frame_log();
    let spec: String = (1..=CALLS)
        .map(|n| {
            let wait_for_headers = if n % 2 == 0 {
                "expect metadata x-first-message == \"received\""
            } else {
                ""
            };
            format!(
                r#"
                test "cancel mid-stream {n}" {{
                  grpc {{{{grpc}}}} stock.StockService/SendOrders
                  proto "stock.proto"
                  send {{ "symbol": "ACME", "quantity": 1 }}
                  {wait_for_headers}
                  abort
                  expect status CANCELLED
                }}
                "#
            )
        })
        .collect();
    let passed: String = (1..=CALLS)
        .map(|n| format!("  PASS [TIME] a.stream: cancel mid-stream {n}\n"))
        .collect();
    with_proto()
        .spec("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("grpc", &grpc)
        .stdout(&format!(
            "Running {CALLS} tests from 1 file\n{passed}Summary {CALLS} tests: {CALLS} passed, 0 failed [TIME]\n"
        ))
        .run();
    // The message (13 bytes framed) and no END_STREAM before the reset, so the server cannot
    // complete the call.
    for call in log.calls(CALLS) {
        assert_eq!(call, ["HEADERS", "DATA(13 bytes)", "RST_STREAM(CANCEL)"]);
    }
}

#[test]
fn messages_written_before_abort_go_out_before_the_reset() {
    // Two messages of 8 bytes (13 framed) each, as `message` lines of a client-streaming call
    // and as `send`s of a bidirectional one. The old cancel reset the stream while they were
    // still queued, and h2 dropped them: most runs put no DATA on the wire.
    const REPEAT: usize = 12;
    let (grpc, log) = grpc_servers::frame_log();
    let spec = r#"
        test "messages then abort" {
          grpc {{grpc}} stock.StockService/SendOrders
          proto "stock.proto"
          message { "symbol": "ACME", "quantity": 1 }
          message { "symbol": "ACME", "quantity": 2 }
          abort
          expect status CANCELLED
        }

        test "sends then abort" {
          grpc {{grpc}} stock.StockService/TradeChat
          proto "stock.proto"
          send { "user": "ab", "message": "cd" }
          send { "user": "ab", "message": "ef" }
          abort
          expect status CANCELLED
        }
        "#;
    let output = with_proto()
        .spec("a.stream", spec)
        .args(["run", "a.stream", "--repeat", &REPEAT.to_string()])
        .var("grpc", &grpc)
        .run_unchecked();
    let runs = 2 * REPEAT;
    assert!(
        output.stdout.ends_with(&format!(
            "Summary {runs} tests: {runs} passed, 0 failed [TIME]\n"
        )),
        "{}",
        output.stdout
    );
    for (run, call) in log.calls(runs).into_iter().enumerate() {
        assert_eq!(
            call,
            ["HEADERS", "DATA(26 bytes)", "RST_STREAM(CANCEL)"],
            "call {run}"
        );
    }
}

#[test]
fn abort_lets_out_what_a_server_that_does_not_read_has_room_for_and_no_more() {
    // Three messages of 30,010 bytes framed: the server's flow control lets 65,535 bytes of
    // them out, and never more. The cancel goes out then, rather than waiting for room that
    // never comes until the test's timeout.
    let (grpc, log) = grpc_servers::frame_log_not_reading();
    let big = format!(r#"{{ "message": "{}" }}"#, "m".repeat(30_000));
    with_proto()
        .file("big.json", big)
        .spec(
            "a.stream",
            r#"
            test "more than the server takes" {
              timeout 60s
              grpc {{grpc}} stock.StockService/TradeChat
              proto "stock.proto"
              send file "big.json"
              send file "big.json"
              send file "big.json"
              abort
              expect status CANCELLED
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", &grpc)
        .kill_after(Duration::from_secs(15))
        .stdout(
            r#"
            Running 1 test from 1 file
              PASS [TIME] a.stream: more than the server takes
            Summary 1 test: 1 passed, 0 failed [TIME]
            "#,
        )
        .run();
    assert_eq!(
        log.first_call(),
        ["HEADERS", "DATA(65535 bytes)", "RST_STREAM(CANCEL)"]
    );
}

#[test]
fn abort_before_the_first_send_opens_the_call_and_cancels_it() {
    // The interop `cancel_after_begin` case: start a call, send nothing, cancel.
    let (grpc, log) = grpc_servers::frame_log();
    passes_against(
        &grpc,
        r#"
        test "cancel after begin" {
          grpc {{grpc}} stock.StockService/SendOrders
          proto "stock.proto"
          abort
          expect status CANCELLED
        }
        "#,
        "cancel after begin",
    );
    assert_eq!(log.first_call(), ["HEADERS", "RST_STREAM(CANCEL)"]);
}

#[test]
fn abort_at_the_start_of_a_block_reaches_the_server_and_shows_no_ttfb() {
    let (grpc, log) = grpc_servers::frame_log();
    redact_verbose(with_proto())
        .spec(
            "a.stream",
            r#"
            test "cancel in a block" {
              grpc {{grpc}} stock.StockService/TradeChat
              proto "stock.proto"
              expect messages {
                abort
              }
              expect status CANCELLED
            }
            "#,
        )
        .args(["run", "-v", "a.stream"])
        .var("grpc", &grpc)
        .stdout(
            r#"
            Running 1 test from 1 file
              PASS [TIME] a.stream: cancel in a block
                     messages on line 4: 0 items, 0 bytes, 1 connection
                       no response headers · duration [TIME]
                       aborted after 0 items
            Summary 1 test: 1 passed, 0 failed [TIME]
            "#,
        )
        .run();
    assert_eq!(log.first_call(), ["HEADERS", "RST_STREAM(CANCEL)"]);
}

/// Runs `count` copies of `test` (a test named `NAME` whose call must end DEADLINE_EXCEEDED)
/// against `server`: every one must pass.
fn deadline_exceeded_every_time(server: &str, count: usize, test: &str) {
    let spec: String = (1..=count)
        .map(|n| test.replace("NAME", &format!("run {n}")))
        .collect();
    let passed: String = (1..=count)
        .map(|n| format!("  PASS [TIME] a.stream: run {n}\n"))
        .collect();
    with_proto()
        .spec("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("grpc", server)
        .stdout(&format!(
            "Running {count} tests from 1 file\n{passed}Summary {count} tests: {count} passed, 0 failed [TIME]\n"
        ))
        .run();
}

#[test]
fn a_1ms_deadline_on_a_server_that_never_answers_is_exceeded_every_time() {
    // The run's own timer and tonic's for grpc-timeout fire together: many calls make sure.
    deadline_exceeded_every_time(
        &grpc_servers::never_answers(),
        12,
        r#"
        test "NAME" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          deadline 1ms
          expect status DEADLINE_EXCEEDED message "deadline exceeded after 1ms (the call's grpc-timeout)"
        }
        "#,
    );
}

#[test]
fn a_deadline_before_the_response_headers_is_exceeded_also_when_read_late() {
    // By the time the status is read, tonic's own timer has failed the call too.
    deadline_exceeded_every_time(
        &grpc_servers::never_answers_h2(),
        4,
        r#"
        test "NAME" {
          grpc {{grpc}} stock.StockService/SendOrders
          proto "stock.proto"
          deadline 50ms
          send { "symbol": "ACME", "quantity": 1 }
          close
          wait 250ms
          expect status DEADLINE_EXCEEDED
        }
        "#,
    );
}

#[test]
fn a_client_stream_left_open_past_its_deadline_is_exceeded() {
    // The interop `timeout_on_sleeping_server` case: the server resets the call at its
    // deadline, and the reset may be read before the run's own timer fires. The deadline leaves
    // the echo of the first message room on a busy machine (at 50ms it sometimes came after).
    deadline_exceeded_every_time(
        &grpc_servers::resets_at_the_deadline(),
        4,
        r#"
        test "NAME" {
          grpc {{grpc}} stock.StockService/TradeChat
          proto "stock.proto"
          deadline 1s
          send { "message": "hello" }
          expect message { "message": "" }
          wait 1200ms
          expect status DEADLINE_EXCEEDED
        }
        "#,
    );
}

#[test]
fn abort_or_close_after_the_call_deadline_is_deadline_exceeded() {
    // The server answers with its headers and never ends the call: only the client's deadline
    // can. A step `abort` after it, one in a block, and a `close`, find the call already past
    // it. (The deadline leaves the call room to start on a busy machine.)
    let (grpc, log) = grpc_servers::frame_log();
    with_proto()
        .spec(
            "a.stream",
            r#"
            test "wait then abort" {
              grpc {{grpc}} stock.StockService/TradeChat
              proto "stock.proto"
              deadline 500ms
              send { "user": "ab", "message": "cd" }
              wait 1s
              abort
              expect status DEADLINE_EXCEEDED message "deadline exceeded after 500ms (the call's grpc-timeout)"
            }

            test "abort in a block" {
              grpc {{grpc}} stock.StockService/TradeChat
              proto "stock.proto"
              deadline 500ms
              send { "user": "ab", "message": "cd" }
              expect metadata x-first-message == "received"
              expect messages {
                wait 1s
                abort
              }
              expect status DEADLINE_EXCEEDED
            }

            test "wait then close" {
              grpc {{grpc}} stock.StockService/TradeChat
              proto "stock.proto"
              deadline 500ms
              send { "user": "ab", "message": "cd" }
              wait 1s
              close
              wait 100ms
              expect status DEADLINE_EXCEEDED
            }
            "#,
        )
        // One at a time: the server sees the calls in this order.
        .args(["run", "a.stream", "-j", "1"])
        .var("grpc", &grpc)
        .stdout(
            r#"
            Running 3 tests from 1 file
              PASS [TIME] a.stream: wait then abort
              PASS [TIME] a.stream: abort in a block
              PASS [TIME] a.stream: wait then close
            Summary 3 tests: 3 passed, 0 failed [TIME]
            "#,
        )
        .run();
    // Never half-closed, so the server cannot complete a call past its deadline. An `abort`
    // waits for the reset to be written; the run may end before a `close`'s is, and then the
    // connection closing cancels the call.
    let calls = log.calls(3);
    assert_eq!(
        calls[0],
        ["HEADERS", "DATA(13 bytes)", "RST_STREAM(CANCEL)"]
    );
    assert_eq!(
        calls[1],
        ["HEADERS", "DATA(13 bytes)", "RST_STREAM(CANCEL)"]
    );
    assert!(
        calls[2] == ["HEADERS", "DATA(13 bytes)", "RST_STREAM(CANCEL)"]
            || calls[2] == ["HEADERS", "DATA(13 bytes)", "connection closed"],
        "{:?}",
        calls[2]
    );
}

#[test]
fn abort_after_the_call_deadline_in_a_paced_block_is_deadline_exceeded() {
    // The reply is read before the deadline; the pause after it ends past the deadline.
    passes_against(
        servers::grpc_demo(),
        r#"
        test "paced abort" {
          grpc {{grpc}} stock.StockService/TradeChat
          proto "stock.proto"
          deadline 1s
          send { "user": "ab", "message": "cd" }
          expect messages {
            pace 1500ms
            _
            abort
          }
          expect status DEADLINE_EXCEEDED
        }
        "#,
        "paced abort",
    );
}

#[test]
fn ttfb_of_a_call_cancelled_before_its_response_headers_fails() {
    let (grpc, log) = grpc_servers::frame_log();
    with_proto()
        .spec(
            "a.stream",
            r#"
            test "ttfb after abort" {
              grpc {{grpc}} stock.StockService/SendOrders
              proto "stock.proto"
              abort
              expect status CANCELLED
              expect ttfb < 10s
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", &grpc)
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: ttfb after abort

            error: expected ttfb < 10s, but no response headers came, so there is no ttfb to measure
             --> a.stream:6:15
              |
            6 |   expect ttfb < 10s
              |               ^^^^^ no response headers

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: ttfb after abort
            "#,
        )
        .status(1)
        .run();
    assert_eq!(log.first_call(), ["HEADERS", "RST_STREAM(CANCEL)"]);
}

#[test]
fn ttfb_before_any_reply_waits_for_the_response_headers() {
    // The server answers with its headers once the message has come: some time after the start.
    let (grpc, _log) = grpc_servers::frame_log();
    passes_against(
        &grpc,
        r#"
        test "ttfb first" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          message { "symbol": "ACME" }
          expect ttfb > 0ms
          expect metadata x-first-message == "received"
        }
        "#,
        "ttfb first",
    );
}

#[test]
fn ttfb_on_a_server_that_never_answers_fails_at_its_bound() {
    with_proto()
        .spec(
            "a.stream",
            r#"
            test "no answer" {
              grpc {{grpc}} stock.StockService/GetQuote
              proto "stock.proto"
              expect ttfb < 200ms
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", grpc_servers::never_answers_h2())
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: no answer

            error: expected ttfb < 200ms, but no response headers came within 200ms
             --> a.stream:4:15
              |
            4 |   expect ttfb < 200ms
              |               ^^^^^^^ no response headers within 200ms

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: no answer
            "#,
        )
        .status(1)
        .run();
}
