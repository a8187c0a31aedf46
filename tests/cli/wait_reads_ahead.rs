//! A `wait` between steps keeps reading the stream the test has open (an HTTP body a later block
//! reads, the current WebSocket, the current gRPC call), so the items that arrive meanwhile keep
//! the time they arrived; at most as many items as a named stream's background reading keeps.
//! Against the demo service.
//!
//! `run -v` figures are redacted to "under a second" or "a second or more": the waits last a
//! second, and the items come within tens of milliseconds of the request.

use crate::servers;
use crate::support::Test;

/// `a.stream` run with `-v` against the demo (`base`, and `grpc` for its gRPC service), with
/// each measured time in the figures told only as under a second or not.
fn verbose(spec: &str) -> Test {
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "-v", "a.stream"])
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .redact(r"\b\d+(?:\.\d+)?ms\b", "[<1s]")
        .redact(r"\b\d+\.\d{2}s\b", "[>=1s]")
        .redact(r#""timestamp": "\d+""#, r#""timestamp": "[MS]""#)
}

#[test]
fn sse_events_that_arrive_during_a_wait_are_timed_when_they_arrived() {
    // The ticks come 10ms apart, all of them during the wait: item 2's `within` holds, and the
    // gaps are those between the ticks, not the wait.
    verbose(
        r#"
        test "sse" {
          GET {{base}}/sse/ticker?count=3&interval=10ms
          wait 1s
          expect sse {
            data: json { "count": 1 }  within 300ms
            data: json { "count": 2 }  within 300ms
            data: json { "count": 3 }  within 300ms
            end
          }
        }
        "#,
    )
    .stdout(
        r#"
        Running 1 test from 1 file
          PASS [TIME] a.stream: sse
                 sse on line 4: 3 items, 198 bytes, 1 connection
                   ttfb [<1s] · first item [<1s] · duration [<1s]
                   gaps min [<1s] · mean [<1s] · p50 [<1s] · p95 [<1s] · p99 [<1s] · max [<1s]
        Summary 1 test: 1 passed, 0 failed [TIME]
        "#,
    )
    .run();
}

#[test]
fn websocket_messages_that_arrive_during_a_wait_are_timed_when_they_arrived() {
    verbose(
        r#"
        test "ws" {
          ws {{base}}/ws/ticker?count=3&interval=10ms
          expect status 101
          wait 1s
          expect messages {
            { "n": 1 }  within 300ms
            { "n": 2 }  within 300ms
            { "n": 3 }  within 300ms
            end
          }
        }
        "#,
    )
    .stdout(
        r#"
        Running 1 test from 1 file
          PASS [TIME] a.stream: ws
                 messages on line 5: 3 items, 21 bytes, 1 connection
                   ttfb [<1s] · first item [<1s] · duration [<1s]
                   gaps min [<1s] · mean [<1s] · p50 [<1s] · p95 [<1s] · p99 [<1s] · max [<1s]
        Summary 1 test: 1 passed, 0 failed [TIME]
        "#,
    )
    .run();
}

#[test]
fn grpc_replies_that_arrive_during_a_wait_are_timed_when_they_arrived() {
    // The metadata check starts the call before the wait.
    verbose(
        r#"
        test "grpc" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL"], "ticks": 3, "intervalMs": 10 }
          expect metadata x-demo-service == "stock"
          wait 1s
          expect messages {
            { "symbol": "AAPL" }  within 300ms
            { "symbol": "AAPL" }  within 300ms
            { "symbol": "AAPL" }  within 300ms
            end
          }
        }
        "#,
    )
    .stdout(
        r#"
        Running 1 test from 1 file
          PASS [TIME] a.stream: grpc
                 messages on line 6: 3 items, 72 bytes, 1 connection
                   ttfb [<1s] · first item [<1s] · duration [<1s]
                   gaps min [<1s] · mean [<1s] · p50 [<1s] · p95 [<1s] · p99 [<1s] · max [<1s]
        Summary 1 test: 1 passed, 0 failed [TIME]
        "#,
    )
    .run();
}

#[test]
fn a_grpc_call_nothing_started_yet_starts_before_the_wait() {
    // As an HTTP request is sent and a WebSocket opened before a `wait`: the replies come during
    // the wait (the call lasts the wait), not after it.
    verbose(
        r#"
        test "grpc" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL"], "ticks": 3, "intervalMs": 10 }
          wait 1s
          expect messages {
            { "symbol": "AAPL" }  within 300ms
            { "symbol": "AAPL" }  within 300ms
            { "symbol": "AAPL" }  within 300ms
            end
          }
        }
        "#,
    )
    .stdout(
        r#"
        Running 1 test from 1 file
          PASS [TIME] a.stream: grpc
                 messages on line 5: 3 items, 72 bytes, 1 connection
                   ttfb [<1s] · first item [<1s] · duration [<1s]
                   gaps min [<1s] · mean [<1s] · p50 [<1s] · p95 [<1s] · p99 [<1s] · max [<1s]
        Summary 1 test: 1 passed, 0 failed [TIME]
        "#,
    )
    .run();
}

/// `a.stream` run against the demo: exit 1 with this report.
fn fails(spec: &str, stdout: &str) {
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .redact(r#""timestamp": "\d+""#, r#""timestamp": "[MS]""#)
        .redact(r#""price": [\d.]+"#, r#""price": [PRICE]"#)
        .status(1)
        .stdout(stdout)
        .run();
}

#[test]
fn a_bound_broken_during_a_wait_still_fails_with_the_time_the_item_came() {
    // The second message came 400ms after the first, both during the wait.
    fails(
        r#"
        test "late message" {
          ws {{base}}/ws/ticker?count=2&interval=400ms
          wait 1s
          expect messages {
            { "n": 1 }
            { "n": 2 }  within 200ms
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: late message

        error: timing bound `within 200ms` broken
         --> a.stream:6:24
          |
        6 |     { "n": 2 }  within 200ms
          |                        ^^^^^ item 2 came [TIME] after the previous one
          |
          = diff of expected (-) and observed (+) items:
              { "n": 1 }  # [TIME]
            - { "n": 2 }  within 200ms
            + { "n": 2 }  # [TIME]
              end  # close 1000 "done"

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: late message
        "#,
    );
}

#[test]
fn a_blocks_first_within_counts_from_the_item_an_earlier_block_took_not_the_last_read_ahead() {
    // Message 2 came 400ms after message 1, which the first block took; message 3 came during the
    // wait too, but no block had taken it when the second block started.
    fails(
        r#"
        test "named socket" {
          ws {{base}}/ws/ticker?count=3&interval=400ms as ticks
          expect messages { { "n": 1 } }
          wait 1s
          expect messages from ticks {
            { "n": 2 }  within 200ms
            { "n": 3 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: named socket

        error: timing bound `within 200ms` broken
         --> a.stream:6:24
          |
        6 |     { "n": 2 }  within 200ms
          |                        ^^^^^ item 1 came [TIME] after the previous one
          |
          = diff of expected (-) and observed (+) items:
            - { "n": 2 }  within 200ms
            + { "n": 2 }  # [TIME]
              { "n": 3 }  # [TIME]
              end  # close 1000 "done"

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: named socket
        "#,
    );
}

#[test]
fn a_grpc_blocks_first_within_counts_from_the_reply_an_earlier_block_took() {
    fails(
        r#"
        test "named call" {
          grpc {{grpc}} stock.StockService/StreamPrices as prices
          message { "symbols": ["AAPL"], "ticks": 3, "intervalMs": 400 }
          expect messages { { "tick": 1 } }
          wait 1s
          expect messages from prices {
            { "tick": 2 }  within 200ms
            { "tick": 3 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: named call

        error: timing bound `within 200ms` broken
         --> a.stream:7:27
          |
        7 |     { "tick": 2 }  within 200ms
          |                           ^^^^^ item 1 came [TIME] after the previous one
          |
          = diff of expected (-) and observed (+) items:
            - { "tick": 2 }  within 200ms
            + { "symbol": "AAPL", "tick": 2, "price": [PRICE], "timestamp": "[MS]" }  # [TIME]
              { "symbol": "AAPL", "tick": 3, "price": [PRICE], "timestamp": "[MS]" }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: named call
        "#,
    );
}

// A server that sends more during a wait than a stream read in the background may keep fails the
// test once a block reads up to there, as a named stream does. The waits leave the test's reader
// a few seconds to read ten thousand small items on a busy machine.

#[test]
fn an_http_stream_that_sends_too_much_during_a_wait_fails() {
    fails(
        r#"
        test "flood" {
          GET {{base}}/sse/ticker?count=10001&interval=0ms
          wait 3s
          expect sse {
            10001 times { data: _ }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: flood

        error: the stream was read in the background and more than 10000 items or 64 MiB arrived while no block held the stream
         --> a.stream:4:10
          |
        4 |   expect sse {
          |          ^^^ reading this `sse` stream
          |
          = help: hold the stream with a block sooner, or read it to its end in the block that opens it

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: flood
        "#,
    );
}

#[test]
fn a_websocket_that_sends_too_much_during_a_wait_fails() {
    fails(
        r#"
        test "flood" {
          ws {{base}}/ws/flood?count=10001
          wait 3s
          expect messages {
            10001 times { _ }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: flood

        error: the stream was read in the background and more than 10000 items or 64 MiB arrived while no block held the stream
         --> a.stream:4:10
          |
        4 |   expect messages {
          |          ^^^^^^^^^^ reading this `messages` stream
          |
          = help: hold the stream with a block sooner, or read it to its end in the block that opens it

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: flood
        "#,
    );
}

#[test]
fn a_grpc_call_that_sends_too_much_during_a_wait_fails() {
    fails(
        r#"
        test "flood" {
          grpc {{grpc}} stock.StockService/Flood
          message { "count": 10001 }
          wait 3s
          expect messages {
            10001 times { _ }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: flood

        error: the stream was read in the background and more than 10000 items or 64 MiB arrived while no block held the stream
         --> a.stream:5:10
          |
        5 |   expect messages {
          |          ^^^^^^^^^^ reading this `messages` stream
          |
          = help: hold the stream with a block sooner, or read it to its end in the block that opens it

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: flood
        "#,
    );
}

#[test]
fn a_step_that_reads_a_socket_to_its_end_past_what_a_wait_kept_fails_the_same_way() {
    fails(
        r#"
        test "flood" {
          ws {{base}}/ws/flood?count=10001
          wait 3s
          expect close 1000
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: flood

        error: the stream was read in the background and more than 10000 items or 64 MiB arrived while no block held the stream
         --> a.stream:4:3
          |
        4 |   expect close 1000
          |   ^^^^^^^^^^^^^^^^^ reading this `messages` stream
          |
          = help: hold the stream with a block sooner, or read it to its end in the block that opens it

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: flood
        "#,
    );
}

#[test]
fn a_step_that_reads_a_call_to_its_status_past_what_a_wait_kept_fails_the_same_way() {
    fails(
        r#"
        test "flood" {
          grpc {{grpc}} stock.StockService/Flood
          message { "count": 10001 }
          wait 3s
          expect status OK
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: flood

        error: the stream was read in the background and more than 10000 items or 64 MiB arrived while no block held the stream
         --> a.stream:5:3
          |
        5 |   expect status OK
          |   ^^^^^^^^^^^^^^^^ reading this `messages` stream
          |
          = help: hold the stream with a block sooner, or read it to its end in the block that opens it

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: flood
        "#,
    );
}

#[test]
fn a_load_times_the_items_that_arrive_during_a_wait_when_they_arrived() {
    // The rows of the first item and the gaps keep only whether each figure is under a second:
    // the ticks come within tens of milliseconds of the request, during the one-second wait.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "sse" {
              GET {{base}}/sse/ticker?count=3&interval=10ms
              wait 1s
              expect sse {
                3 times { data: _ }
                end
              }
            }
            "#,
        )
        .args(["load", "a.stream", "--users", "1", "--iterations", "1"])
        .var("base", servers::demo())
        .redact(
            r"^(  (connect|ttfb|stream duration|items/s per stream|iteration)) .*$",
            "$1 [figures]",
        )
        .redact(r" +\d{4,}(?:\.\d+)?ms\b", " [>=1s]")
        .redact(r" +\d{1,3}(?:\.\d+)?ms\b", " [<1s]")
        .redact(r"^ran .*$", "ran [figures]")
        .redact(r"^load generator: .*$", "load generator: [figures]")
        .redact(r"^  warning: .*\n", "")
        .stdout(
            "load: 1 test · closed model: 1 user, 1 iteration at most
ran [figures]

a.stream: sse              p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [<1s] [<1s] [<1s] [<1s] [<1s] [<1s]
  gap [<1s] [<1s] [<1s] [<1s] [<1s] [<1s]
  stream duration [figures]
  items per stream           3         3         3         3         3         3
  items/s per stream [figures]
  iteration [figures]
  1 iteration · 1 passed · 0 failed · 1 stream · 3 items · 0 reconnections

load generator: [figures]

no thresholds: the run passes if every iteration passed
",
        )
        .run();
}

#[test]
fn a_streams_end_that_came_during_a_wait_ends_its_duration() {
    // Five events 100 ms apart end the stream at about 400 ms; the block takes the end after
    // the 800 ms wait. The stream's duration is to its end (it read 800 ms, and `expect
    // duration < 600ms` failed); for SSE and for a WebSocket.
    for (name, spec) in [
        (
            "sse",
            r#"test "sse" {
  GET {{base}}/sse/ticker?count=5&interval=100ms
  wait 800ms
  expect sse { 5 times { data: _ }; end }
  expect duration < 600ms
}
"#,
        ),
        (
            "ws",
            r#"test "ws" {
  ws {{base}}/ws/ticker?count=5&interval=100ms
  wait 800ms
  expect messages { 5 times { { "n": number } }; end }
  expect duration < 600ms
}
"#,
        ),
    ] {
        let output = Test::new()
            .spec("a.stream", spec)
            .var("base", servers::demo())
            .args(["run", "a.stream"])
            .run_unchecked();
        assert_eq!(
            output.status,
            Some(0),
            "{name}:\n{}\n{}",
            output.stdout,
            output.stderr
        );
    }
}
