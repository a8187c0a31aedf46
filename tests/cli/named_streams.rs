//! Streams that stay open while other steps run (`GET … as NAME`, `grpc … as NAME`), held again
//! by `expect KIND from NAME { … }`; `repeat`; and what `--update` does with blocks that run more
//! than once. Against the demo service (channels, chat streams, tickers, the gRPC demo); each
//! test names its channels after itself, as one demo serves the whole test binary.
//!
//! Times are never asserted exactly: bounds are generous and measured times are redacted.

use crate::servers;
use crate::support::{Test, all_passed};

fn passes(spec: &str, name: &str) {
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .stdout(&all_passed(1, &[("a.stream", name)]))
        .run();
}

#[test]
fn a_message_published_while_subscribed_reaches_the_held_subscriber() {
    passes(
        r#"
        test "publish while subscribed" {
          GET {{base}}/channels/named-publish/subscribe as sub
          expect status 200
          expect sse {
            event: "subscribed"
          }
          POST {{base}}/channels/named-publish/publish
          body json { "text": "hello" }
          expect status 200
          expect sse from sub {
            event: "message"  data: json { "text": "hello" }
          }
        }
        "#,
        "publish while subscribed",
    );
}

#[test]
fn items_that_arrived_before_the_block_are_timed_when_they_were_read() {
    // The ticks come 20ms apart, long before the block holds the stream (after the wait): their
    // `within` bounds hold, because each is measured from when its bytes were read.
    passes(
        r#"
        test "read ahead" {
          GET {{base}}/sse/ticker?count=3&interval=20ms as ticks
          wait 600ms
          expect sse from ticks {
            id: "1"  within 300ms
            id: "2"  within 300ms
            id: "3"  within 300ms
            end
          }
        }
        "#,
        "read ahead",
    );
}

#[test]
fn a_bound_broken_before_the_block_held_the_stream_still_fails() {
    // The second tick came 400ms after the first, while no block held the stream.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "late tick" {
              GET {{base}}/sse/ticker?count=2&interval=400ms as ticks
              wait 900ms
              expect sse from ticks {
                id: "1"
                id: "2"  within 200ms
                end
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: late tick

            error: timing bound `within 200ms` broken
             --> a.stream:6:21
              |
            6 |     id: "2"  within 200ms
              |                     ^^^^^ item 2 came [TIME] after the previous one
              |
              = diff of expected (-) and observed (+) items:
                  id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
                - id: "2"  within 200ms
                + id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
                  end

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: late tick
            "#,
        )
        .run();
}

#[test]
fn the_requests_of_a_repeat_are_sent_with_their_own_index() {
    // No step of the loop reads the publish's answer: each is still sent within its own
    // iteration, with its own `i`.
    passes(
        r#"
        test "ordered publishes" {
          GET {{base}}/channels/named-repeat/subscribe as sub
          expect sse { event: "subscribed" }
          repeat 3 as i {
            POST {{base}}/channels/named-repeat/publish
            body json { "text": "m{{i}}" }
          }
          expect sse from sub {
            data: json { "text": "m1" }
            data: json { "text": "m2" }
            data: json { "text": "m3" }
          }
        }
        "#,
        "ordered publishes",
    );
}

#[test]
fn a_block_held_against_several_streams_names_the_one_that_failed() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "two subscribers" {
              repeat 2 as i {
                GET {{base}}/channels/named-group-{{i}}/subscribe as sub
                expect sse { event: "subscribed" }
              }
              POST {{base}}/channels/named-group-1/publish
              body json { "text": "only the first" }
              expect status 200
              expect sse from sub {
                event: "message"  within 300ms
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: two subscribers

            error: timing bound `within 300ms` broken
              --> a.stream:10:30
               |
            10 |     event: "message"  within 300ms
               |                              ^^^^^ no item arrived in [TIME]
               |
               = note: in stream `sub[2]`, the 2nd opened as `sub`
               = diff of expected (-) and observed (+) items:
                 - event: "message"  within 300ms
                   … (stopped reading here)

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: two subscribers
            "#,
        )
        .run();
}

#[test]
fn a_named_grpc_call_stays_open_while_other_calls_run() {
    passes(
        r#"
        test "chat and prices" {
          grpc {{grpc}} stock.StockService/TradeChat as chat
          expect messages {
            send { "user": "t", "message": "one" }
            { "message": "ack: one" }
          }
          grpc {{grpc}} stock.StockService/StreamPrices as prices
          message { "symbols": ["AAPL"] }
          GET {{base}}/health
          expect status 200
          expect messages from chat {
            send { "user": "t", "message": "two" }
            { "message": "ack: two" }
            close
            end
          }
          expect messages from prices {
            5 times { { "symbol": "AAPL" } }
            end
          }
        }
        "#,
        "chat and prices",
    );
}

#[test]
fn update_leaves_a_block_inside_a_repeat_alone_and_says_why() {
    let spec = r#"
        test "loop" {
          repeat 2 {
            GET {{base}}/sse/ticker?count=1&interval=0ms
            expect sse {
              data: "wrong"
            }
          }
        }
        "#;
    let output = Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream", "--update"])
        .var("base", servers::demo())
        .redact(r"\d{13}", "[UNIX_MS]")
        .status(1)
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: loop

            error: item 1 does not match
             --> a.stream:5:7
              |
            5 |       data: "wrong"
              |       ^^^^^^^^^^^^^ at `data`: expected "wrong", found "{\"count\":1,\"timestamp\":[UNIX_MS]}"
              |
              = diff of expected (-) and observed (+) items:
                - data: "wrong"
                + id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
                  … (stopped reading here)

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: loop
            not updated: a.stream:5: it is inside `repeat 2`, and one text cannot answer for every run: update it by hand
            "#,
        )
        .run();
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(written, crate::support::unindent(spec));
}

#[test]
fn a_branchs_captures_are_lists_after_the_join_in_instance_order() {
    // The test's only requests are in the branches; after the join each instance's capture is
    // one value of `reader.v`.
    passes(
        r#"
        test "captures from branches" {
          parallel {
            branch reader 3 times as n {
              POST {{base}}/counters/named-captures-{{n}}/increment
              expect json { "value": 1 -> v }
            }
          }
          expect reader.v count == 3
          expect reader.v joined == "111"
        }
        "#,
        "captures from branches",
    );
}

#[test]
fn update_rewrites_a_block_inside_a_branch_that_runs_once() {
    let spec = r#"
        test "update in a branch" {
          parallel {
            branch only {
              GET {{base}}/sse/ticker?count=2&interval=0ms
              expect sse {
                id: "1"
                id: "9"
                end
              }
            }
          }
        }
        "#;
    let output = Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream", "--update"])
        .var("base", servers::demo())
        .status(0)
        .stdout(
            r#"
            Running 1 test from 1 file
            UPDATE [TIME] a.stream: update in a branch

            error: branch only: item 2 does not match
             --> a.stream:7:9
              |
            7 |         id: "9"
              |         ^^^^^^^ at `id`: expected "9", found "2"
              |
              = diff of expected (-) and observed (+) items:
                  id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
                - id: "9"
                + id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
                  end

            Summary 1 test: 0 passed, 0 failed, 1 updated [TIME]
            updated: a.stream (1 expectation)
            "#,
        )
        .run();
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        written,
        crate::support::unindent(spec).replace(r#"id: "9""#, r#"id: "2""#)
    );
}

#[test]
fn ndjson_and_chunk_streams_are_read_in_the_background_too() {
    // Each is framed by the kind of the block that holds it later.
    passes(
        r#"
        test "ndjson and chunks" {
          GET {{base}}/ndjson/events?interval=10ms as events
          GET {{base}}/chunked/array?interval=10ms as array
          GET {{base}}/health
          expect status 200
          expect ndjson from events {
            exact { "event": "start", "ts": 1 }
            2 times { { "event": "data" } }
            exact { "event": "end", "ts": 4 }
            end
          }
          expect chunks from array {
            1.. times { size > 0 }
            end
          }
        }
        "#,
        "ndjson and chunks",
    );
}

#[test]
fn a_repeat_that_reads_its_stream_to_the_end_holds_only_its_own_each_time_round() {
    // The streams of earlier rounds ended: the block of each round holds the one still open.
    passes(
        r#"
        test "a stream per round" {
          repeat 3 {
            GET {{base}}/sse/ticker?count=2&interval=0ms as feed
            GET {{base}}/health
            expect sse from feed {
              2 times { data: _ }
              end
            }
          }
          expect count in feed == 6
        }
        "#,
        "a stream per round",
    );
}
