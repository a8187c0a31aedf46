//! A `wait` between steps keeps reading the stream the test has open (an HTTP body a later block
//! reads, the current WebSocket, the current gRPC call), so the items that arrive meanwhile keep
//! the time they arrived; at most as many items as a named stream's background reading keeps.
//! Against the demo service.
//!
//! `run -v` figures are redacted to "under a second" or "a second or more": the waits last a
//! second, and the items come within tens of milliseconds of the request.

use crate::servers;
use crate::support::Test;

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
