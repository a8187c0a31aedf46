//! What a gRPC call does on the wire and how the spec reports it: replies cut short, deadlines
//! that pass before anything comes, and cancels that must reach the server as cancels (checked
//! against the frames the server saw).

use crate::grpc_servers;
use crate::support::Test;

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
