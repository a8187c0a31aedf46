//! gRPC calls and WebSockets in a load: each gives its connect and ttfb as an HTTP request
//! does, whether a block read it as a stream or not, and one given up before its head counts
//! the time it was waited for.

use crate::grpc_servers;
use crate::servers;
use crate::support::Test;

const STOCK_PROTO: &str = include_str!("../../../proto/stock.proto");

/// The total's figures of a load of `spec` (2 users, 4 iterations), which must pass.
fn load(spec: &str) -> serde_json::Value {
    let output = Test::new()
        .spec("a.stream", spec)
        .file("stock.proto", STOCK_PROTO)
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .args(["load", "a.stream", "--users", "2", "--iterations", "4"])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    report["total"].clone()
}

#[test]
fn a_grpc_call_no_block_reads_gives_its_connect_and_ttfb() {
    let total = load(
        r#"
        test "quote" {
          grpc {{grpc}} stock.StockService/GetQuote
          message { "symbol": "AAPL" }
          expect status OK
        }
        "#,
    );
    // Each call opens its own connection; not a stream, as a plain HTTP request is not.
    let (counts, metrics) = (&total["counts"], &total["metrics"]);
    assert_eq!(metrics["ttfb"]["count"], 4, "{total}");
    assert_eq!(metrics["connect"]["count"], 4, "{total}");
    assert_eq!(counts["connections"], 4, "{total}");
    assert_eq!(counts["streams"], 0, "{total}");
    assert!(metrics["items"].is_null(), "{total}");
}

#[test]
fn a_status_alone_is_the_head_of_its_call() {
    // A trailers-only answer: its one header block is the call's head.
    let total = load(
        r#"
        test "not found" {
          grpc {{grpc}} stock.StockService/FailWith
          message { "code": "NOT_FOUND", "message": "no such symbol" }
          expect status NOT_FOUND
        }
        "#,
    );
    assert_eq!(total["metrics"]["ttfb"]["count"], 4, "{total}");
    assert_eq!(total["metrics"]["connect"]["count"], 4, "{total}");
}

#[test]
fn the_last_exchange_of_a_branch_that_failed_gives_its_connect_and_ttfb() {
    // A branch that passed reports its last exchange as it ends; one that failed did not.
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "a branch fails" {
              parallel {
                branch quote {
                  grpc {{grpc}} stock.StockService/GetQuote
                  message { "symbol": "AAPL" }
                  expect status NOT_FOUND
                }
              }
            }
            "#,
        )
        .var("grpc", servers::grpc_demo())
        .args(["load", "a.stream", "--users", "2", "--iterations", "4"])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    assert_eq!(total["counts"]["failed"], 4, "{total}");
    assert_eq!(total["metrics"]["ttfb"]["count"], 4, "{total}");
    assert_eq!(total["metrics"]["connect"]["count"], 4, "{total}");
}

#[test]
fn a_grpc_call_read_as_a_stream_gives_its_connect_too() {
    let total = load(
        r#"
        test "prices" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL"], "ticks": 3, "intervalMs": 0 }
          expect messages { 3 times { { "tick": number } }; end }
        }
        "#,
    );
    let metrics = &total["metrics"];
    for metric in ["connect", "ttfb", "first_item", "items"] {
        assert_eq!(metrics[metric]["count"], 4, "{metric}: {total}");
    }
    assert_eq!(total["counts"]["streams"], 4, "{total}");
}

#[test]
fn a_websocket_gives_its_connect_and_ttfb() {
    let total = load(
        r#"
        test "echo" {
          ws {{base}}/ws/echo
          send "hi"
          expect message "hi"
        }
        "#,
    );
    let metrics = &total["metrics"];
    for metric in ["connect", "ttfb", "first_item", "items"] {
        assert_eq!(metrics[metric]["count"], 4, "{metric}: {total}");
    }
    // The head came before the echo of a message sent after it.
    assert!(
        metrics["ttfb"]["max"].as_f64() <= metrics["first_item"]["max"].as_f64(),
        "{metrics}"
    );
}

#[test]
fn a_refused_websocket_gives_its_connect_and_the_time_to_the_refusal() {
    let total = load(
        r#"
        test "no token" {
          ws {{base}}/ws/private
          expect status 401
        }
        "#,
    );
    let metrics = &total["metrics"];
    assert_eq!(metrics["connect"]["count"], 4, "{total}");
    assert_eq!(metrics["ttfb"]["count"], 4, "{total}");
    // No message was read: not a stream of none, as a refused HTTP request is not.
    assert_eq!(total["counts"]["streams"], 0, "{total}");
    assert!(metrics["items"].is_null(), "{total}");
}

/// A load of `spec` against `server` whose every iteration fails: its ttfb.
fn ttfb_of_failing_load(spec: &str, server: &str) -> serde_json::Value {
    let output = Test::new()
        .spec("a.stream", spec)
        .file("stock.proto", STOCK_PROTO)
        .var("server", server)
        .args(["load", "a.stream", "--users", "2", "--iterations", "2"])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    assert_eq!(report["total"]["counts"]["failed"], 2, "{report}");
    report["total"]["metrics"]["ttfb"].clone()
}

#[test]
fn a_grpc_call_given_up_before_its_head_counts_the_time_it_was_waited_for() {
    // Leaving it out made a server too slow to answer look like one that answered at once.
    let ttfb = ttfb_of_failing_load(
        r#"
        test "no answer" {
          grpc {{server}} stock.StockService/GetQuote
          proto "stock.proto"
          expect ttfb < 100ms
        }
        "#,
        &grpc_servers::never_answers_h2(),
    );
    assert_eq!(ttfb["count"], 2, "{ttfb}");
    assert!(ttfb["min"].as_f64() >= Some(99.0), "{ttfb}");
}

#[test]
fn a_grpc_call_its_deadline_ended_before_its_head_counts_the_time_it_was_waited_for() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "no answer in time" {
              grpc {{server}} stock.StockService/GetQuote
              proto "stock.proto"
              deadline 100ms
              expect status DEADLINE_EXCEEDED
            }
            "#,
        )
        .file("stock.proto", STOCK_PROTO)
        .var("server", grpc_servers::never_answers_h2())
        .args(["load", "a.stream", "--users", "2", "--iterations", "2"])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let ttfb = &report["total"]["metrics"]["ttfb"];
    assert_eq!(ttfb["count"], 2, "{ttfb}");
    assert!(ttfb["min"].as_f64() >= Some(99.0), "{ttfb}");
}

#[test]
fn a_grpc_stream_given_up_before_its_head_counts_the_time_it_was_waited_for() {
    let ttfb = ttfb_of_failing_load(
        r#"
        test "no answer" {
          grpc {{server}} stock.StockService/StreamPrices
          proto "stock.proto"
          expect messages { first within 100ms; + times { _ } }
        }
        "#,
        &grpc_servers::never_answers_h2(),
    );
    assert_eq!(ttfb["count"], 2, "{ttfb}");
    assert!(ttfb["min"].as_f64() >= Some(99.0), "{ttfb}");
}

#[test]
fn a_websocket_given_up_before_its_head_counts_the_time_it_was_waited_for() {
    let ttfb = ttfb_of_failing_load(
        r#"
        test "no answer" {
          timeout 300ms
          ws {{server}}/ws
          expect status 101
        }
        "#,
        &grpc_servers::never_answers(),
    );
    // Waited from the socket's start, a little after the test's: not all of the 300ms.
    assert_eq!(ttfb["count"], 2, "{ttfb}");
    assert!(ttfb["min"].as_f64() >= Some(200.0), "{ttfb}");
}

#[test]
fn a_socket_and_a_call_read_by_two_blocks_are_each_one_stream() {
    // Each block reports the stream's figures so far: counted once, by the last, not once a
    // block (a socket of 4 messages counted 6 items, 2 connections and 2 first items).
    let total = load(
        r#"
        test "two blocks each" {
          ws {{base}}/ws/ticker?count=4&interval=0ms
          expect messages { { "n": 1 }; { "n": 2 } }
          expect messages { { "n": 3 }; { "n": 4 }; end }
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL"], "ticks": 4, "intervalMs": 0 }
          expect messages { 2 times { { "tick": number } } }
          expect messages { 2 times { { "tick": number } }; end }
        }
        "#,
    );
    let (counts, metrics) = (&total["counts"], &total["metrics"]);
    // 4 iterations, each a socket and a call of 4 items.
    assert_eq!(counts["streams"], 8, "{total}");
    assert_eq!(counts["items"], 32, "{total}");
    assert_eq!(counts["connections"], 8, "{total}");
    for metric in ["connect", "ttfb", "first_item", "stream_duration", "items"] {
        assert_eq!(metrics[metric]["count"], 8, "{metric}: {total}");
    }
    assert_eq!(metrics["gap"]["count"], 24, "{total}");
    assert_eq!(metrics["items"]["max"], 4.0, "{total}");
}
