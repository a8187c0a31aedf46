//! gRPC specs: the four kinds of call against the demo's service, schemas from reflection,
//! `.proto` files and the config, and every way a call can go wrong, each with its full report.

use crate::support::Test;
use crate::{grpc_servers, servers};

const STOCK_PROTO: &str = include_str!("../../proto/stock.proto");

/// A test whose reports show the demo's replies: their timestamps vary, so they are redacted.
fn grpc_test() -> Test {
    Test::new().redact(r#""timestamp": "\d+""#, r#""timestamp": "[MS]""#)
}

/// Runs `a.stream` against `grpc` and expects this report and exit status.
fn run_grpc(grpc: &str, spec: &str, stdout: &str, status: i32) {
    grpc_test()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("grpc", grpc)
        .stdout(stdout)
        .status(status)
        .run();
}

fn passes_on_demo(spec: &str, stdout: &str) {
    run_grpc(servers::grpc_demo(), spec, stdout, 0);
}

fn fails_on_demo(spec: &str, stdout: &str) {
    run_grpc(servers::grpc_demo(), spec, stdout, 1);
}

#[test]
fn all_four_kinds_of_call() {
    passes_on_demo(
        r#"
        test "unary" {
          grpc {{grpc}} stock.StockService/GetQuote
          message { "symbol": "MSFT" }
          expect metadata x-demo-service == "stock"
          expect message { "symbol": "MSFT", "price": 98.75, "timestamp": /^\d+$/ }
          expect end
          expect status OK
        }

        test "server streaming, per symbol" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL", "GOOG"], "ticks": 3, "intervalMs": 10 }
          expect messages {
            where symbol == "AAPL" { 3 times { { "tick": number } } }
            where $.symbol == "GOOG" { { "tick": 1 }; { "tick": 2 }; { "tick": 3 } }
            all { "price": 90..120 }
            end
          }
          expect count == 6
          expect status OK
          expect trailer x-demo-calls ~ /^\d+$/
        }

        test "client streaming" {
          grpc {{grpc}} stock.StockService/SendOrders
          send { "symbol": "AAPL", "quantity": 2, "price": 100 }
          send { "symbol": "NVDA", "quantity": 1, "price": 116.8 }
          close
          expect message { "orders": 2, "totalQuantity": "3", "symbols": ["AAPL", "NVDA"] }
          expect status OK
        }

        test "bidirectional" {
          grpc {{grpc}} stock.StockService/TradeChat
          send { "user": "t", "message": "hello" }
          expect message { "user": "desk", "message": "ack: hello" } -> first
          expect messages {
            send { "user": "t", "message": "bye" }
            { "message": "ack: bye" }
            close
            end
          }
          expect status OK
        }
        "#,
        r#"
        Running 4 tests from 1 file
          PASS [TIME] a.stream: unary
          PASS [TIME] a.stream: server streaming, per symbol
          PASS [TIME] a.stream: client streaming
          PASS [TIME] a.stream: bidirectional
        Summary 4 tests: 4 passed, 0 failed [TIME]
        "#,
    );
}

#[test]
fn a_message_that_differs() {
    fails_on_demo(
        r#"
        test "ticks" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL"], "ticks": 3, "intervalMs": 10 }
          expect messages {
            { "symbol": "AAPL", "tick": 1 }
            { "symbol": "AAPL", "tick": 3 }
            { "symbol": "AAPL", "tick": 3 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: ticks

        error: item 2 does not match
         --> a.stream:6:5
          |
        6 |     { "symbol": "AAPL", "tick": 3 }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.tick`: expected 3, found 2
          |
          = diff of expected (-) and observed (+) items:
              { "symbol": "AAPL", "tick": 1, "price": 104.51, "timestamp": "[MS]" }  # [TIME]
            - { "symbol": "AAPL", "tick": 3 }
            + { "symbol": "AAPL", "tick": 2, "price": 105.29, "timestamp": "[MS]" }  # [TIME]
              { "symbol": "AAPL", "tick": 3, "price": 106.18, "timestamp": "[MS]" }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: ticks
        "#,
    );
}

#[test]
fn a_wrong_status() {
    fails_on_demo(
        r#"
        test "quote" {
          grpc {{grpc}} stock.StockService/GetQuote
          message { "symbol": "XYZ" }
          expect status OK
        }

        test "failure message" {
          grpc {{grpc}} stock.StockService/FailWith
          message { "code": "NOT_FOUND", "message": "no such order" }
          expect status NOT_FOUND message ~ /^no such trade/
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: quote

        error: expected status OK, got NOT_FOUND "unknown symbol \"XYZ\""
         --> a.stream:4:17
          |
        4 |   expect status OK
          |                 ^^ the call ended with NOT_FOUND
          |
          = diff of expected (-) and observed (+) items:
            - status OK
            + status NOT_FOUND "unknown symbol \"XYZ\""  # [TIME]

          FAIL [TIME] a.stream: failure message

        error: the status message does not match
          --> a.stream:10:37
           |
        10 |   expect status NOT_FOUND message ~ /^no such trade/
           |                                     ^^^^^^^^^^^^^^^^ expected text matching /^no such trade/, found "no such order"
           |
           = diff of expected (-) and observed (+) items:
             - status NOT_FOUND message /^no such trade/
             + status NOT_FOUND "no such order"  # [TIME]

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: quote
          FAIL a.stream:7: failure message
        "#,
    );
}

#[test]
fn a_deadline_that_runs_out() {
    fails_on_demo(
        r#"
        test "slow prices" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL"], "ticks": 100, "intervalMs": 10000 }
          deadline 1s
          expect messages {
            + times { { "symbol": "AAPL" } }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: slow prices

        error: expected a clean end, but the call ended with status DEADLINE_EXCEEDED "deadline exceeded after 1s (the call's grpc-timeout)"
         --> a.stream:7:5
          |
        7 |     end
          |     ^^^ expected a clean end
          |
          = diff of expected (-) and observed (+) items:
              { "symbol": "AAPL", "tick": 1, "price": 104.51, "timestamp": "[MS]" }  # [TIME]
            - end
            + dropped  # status DEADLINE_EXCEEDED "deadline exceeded after 1s (the call's grpc-timeout)"

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: slow prices
        "#,
    );
}

#[test]
fn an_item_for_no_where_group() {
    fails_on_demo(
        r#"
        test "symbols" {
          grpc {{grpc}} stock.StockService/StreamPrices
          message { "symbols": ["AAPL", "MSFT"], "ticks": 1 }
          expect messages {
            where symbol == "AAPL" { { "tick": 1 } }
            where symbol == "GOOG" { { "tick": 1 } }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: symbols

        error: item 2 belongs to no `where` group: symbol "MSFT"
         --> a.stream:5:5
          |
        5 |     where symbol == "AAPL" { { "tick": 1 } }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ the groups are for symbol "AAPL", symbol "GOOG"
          |
          = diff of expected (-) and observed (+) items:
              { "symbol": "AAPL", "tick": 1, "price": 104.51, "timestamp": "[MS]" }  # [TIME]
            - { "tick": 1 }  # where symbol == "GOOG"
            + { "symbol": "MSFT", "tick": 1, "price": 99.65, "timestamp": "[MS]" }  # [TIME]
            + end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: symbols
        "#,
    );
}

#[test]
fn unknown_service_and_method() {
    fails_on_demo(
        r#"
        test "service" {
          grpc {{grpc}} stock.StockServce/GetQuote
          expect status OK
        }

        test "method" {
          grpc {{grpc}} stock.StockService/GetQuotes
          expect status OK
        }
        "#,
        r#"
        Running 2 tests from 1 file
         ERROR [TIME] a.stream: service

        error: unknown service `stock.StockServce`
         --> a.stream:2:17
          |
        2 |   grpc {{grpc}} stock.StockServce/GetQuote
          |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^ not in the server's schema
          |
          = help: did you mean `stock.StockService`?

         ERROR [TIME] a.stream: method

        error: no method `GetQuotes` in `stock.StockService`
         --> a.stream:7:17
          |
        7 |   grpc {{grpc}} stock.StockService/GetQuotes
          |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ not a method of this service
          |
          = help: did you mean `GetQuote`?
          = note: its methods: `GetQuote`, `StreamPrices`, `SendOrders`, `TradeChat`, `FailWith`, `Flood`

        Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
         ERROR a.stream:1: service
         ERROR a.stream:6: method
        "#,
    );
}

#[test]
fn a_request_that_does_not_fit_its_message() {
    fails_on_demo(
        r#"
        test "orders" {
          grpc {{grpc}} stock.StockService/SendOrders
          send { "symbol": "AAPL", "quantity": "ten" }
          close
          expect status OK
        }

        test "quote" {
          grpc {{grpc}} stock.StockService/GetQuote
          message { "symbl": "AAPL" }
          expect status OK
        }
        "#,
        r#"
        Running 2 tests from 1 file
         ERROR [TIME] a.stream: orders

        error: this message does not fit `stock.Order`
         --> a.stream:3:8
          |
        3 |   send { "symbol": "AAPL", "quantity": "ten" }
          |        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ field `quantity`: expected an integer, found "ten"

         ERROR [TIME] a.stream: quote

        error: this message does not fit `stock.QuoteRequest`
          --> a.stream:10:11
           |
        10 |   message { "symbl": "AAPL" }
           |           ^^^^^^^^^^^^^^^^^^^ no field `symbl` in `stock.QuoteRequest`; did you mean `symbol`?

        Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
         ERROR a.stream:1: orders
         ERROR a.stream:8: quote
        "#,
    );
}

#[test]
fn a_server_without_reflection() {
    run_grpc(
        servers::grpc_unimplemented(),
        r#"
        test "quote" {
          grpc {{grpc}} stock.StockService/GetQuote
          expect status OK
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: quote

        error: the server at http://127.0.0.1:PORT does not offer reflection (neither `grpc.reflection.v1` nor `v1alpha`): give its schema as `.proto` files or as a descriptor set (`protoc --include_imports --descriptor_set_out=…`)
         --> a.stream:2:17
          |
        2 |   grpc {{grpc}} stock.StockService/GetQuote
          |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^ finding this call's schema
          |
          = help: write `proto "file.proto"` (with `import "dir"` for its imports) or `descriptor "set.binpb"` after the `grpc` line, or set them for every spec in streamspec.toml's [grpc] section

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: quote
        "#,
        1,
    );
}

#[test]
fn a_proto_file_or_a_descriptor_set_instead_of_reflection() {
    grpc_test()
        .file("stock.proto", STOCK_PROTO)
        .file(
            "stock.binpb",
            streamspec::demo::grpc::pb::FILE_DESCRIPTOR_SET,
        )
        .spec(
            "a.stream",
            r#"
            test "the demo, from the file" {
              grpc {{grpc}} stock.StockService/GetQuote
              proto "stock.proto"
              message { "symbol": "AAPL" }
              expect message { "price": 105.25 }
            }

            test "a server without the method" {
              grpc {{other}} stock.StockService/GetQuote
              proto "stock.proto"
              expect status UNIMPLEMENTED message "no such method"
            }

            test "a descriptor set" {
              grpc {{grpc}} stock.StockService/GetQuote
              descriptor "stock.binpb"
              message { "symbol": "NVDA" }
              expect message { "price": 116.8 }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", servers::grpc_demo())
        .var("other", servers::grpc_unimplemented())
        .stdout(
            r#"
            Running 3 tests from 1 file
              PASS [TIME] a.stream: the demo, from the file
              PASS [TIME] a.stream: a server without the method
              PASS [TIME] a.stream: a descriptor set
            Summary 3 tests: 3 passed, 0 failed [TIME]
            "#,
        )
        .status(0)
        .run();
}

#[test]
fn the_config_gives_the_schema() {
    grpc_test()
        .file(
            "protos/other.proto",
            "syntax = \"proto3\";\npackage other;\nmessage Empty {}\nservice Other { rpc Ping(Empty) returns (Empty); }\n",
        )
        .config(
            r#"
            [grpc]
            protos = ["protos/other.proto"]
            import_paths = ["protos"]
            "#,
        )
        .spec(
            "a.stream",
            r#"
            test "from the files: no reflection needed" {
              grpc {{other}} other.Other/Ping
              expect status UNIMPLEMENTED
            }

            test "what the files lack comes from reflection" {
              grpc {{grpc}} stock.StockService/GetQuote
              message { "symbol": "AAPL" }
              expect message { "price": 105.25 }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", servers::grpc_demo())
        .var("other", servers::grpc_unimplemented())
        .stdout(
            r#"
            Running 2 tests from 1 file
              PASS [TIME] a.stream: from the files: no reflection needed
              PASS [TIME] a.stream: what the files lack comes from reflection
            Summary 2 tests: 2 passed, 0 failed [TIME]
            "#,
        )
        .status(0)
        .run();
}

#[test]
fn servers_that_cannot_be_reached_or_do_not_speak_grpc() {
    let refused = servers::refused();
    let http1 = servers::raw_reply(
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let https = servers::grpc_demo().replace("http://", "https://");
    grpc_test()
        .spec(
            "a.stream",
            r#"
            test "refused" {
              grpc {{refused}} stock.StockService/GetQuote
              expect status OK
            }

            test "HTTP/1" {
              grpc {{http1}} stock.StockService/GetQuote
              expect status OK
            }

            test "TLS to a cleartext server" {
              grpc {{https}} stock.StockService/GetQuote
              expect status OK
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("refused", refused)
        .var("http1", http1)
        .var("https", https)
        .stdout(
            r#"
            Running 3 tests from 1 file
             ERROR [TIME] a.stream: refused

            error: could not connect to 127.0.0.1:PORT: Connection refused
             --> a.stream:2:8
              |
            2 |   grpc {{refused}} stock.StockService/GetQuote
              |        ^^^^^^^^^^^ connecting to this server

             ERROR [TIME] a.stream: HTTP/1

            error: the server at 127.0.0.1:PORT speaks HTTP/1, not gRPC (HTTP/2): it answered `HTTP/1.1 400 Bad Request`
             --> a.stream:7:8
              |
            7 |   grpc {{http1}} stock.StockService/GetQuote
              |        ^^^^^^^^^ finding this call's schema

             ERROR [TIME] a.stream: TLS to a cleartext server

            error: the TLS handshake with 127.0.0.1:PORT failed: the server does not seem to speak TLS (should the URL be `http://`?)
              --> a.stream:12:8
               |
            12 |   grpc {{https}} stock.StockService/GetQuote
               |        ^^^^^^^^^ connecting to this server

            Summary 3 tests: 0 passed, 0 failed, 3 errors [TIME]
             ERROR a.stream:1: refused
             ERROR a.stream:6: HTTP/1
             ERROR a.stream:11: TLS to a cleartext server
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn a_malformed_frame() {
    grpc_test()
        .file("stock.proto", STOCK_PROTO)
        .spec(
            "a.stream",
            r#"
            test "truncated" {
              grpc {{grpc}} stock.StockService/GetQuote
              proto "stock.proto"
              expect messages { { "symbol": string } }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", servers::grpc_truncated_frame())
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: truncated

            error: the connection was dropped before any item: the replies ended inside a gRPC frame: its header announced 5 bytes and 2 came (3 missing)
             --> a.stream:4:21
              |
            4 |   expect messages { { "symbol": string } }
              |                     ^^^^^^^^^^^^^^^^^^^^ still expected `{ "symbol": string }`
              |
              = diff of expected (-) and observed (+) items:
                - { "symbol": string }
                + dropped  # the replies ended inside a gRPC frame: its header announced 5 bytes and 2 came (3 missing)

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: truncated
            "#,
        )
        .status(1)
        .run();
}

/// A reply over `--max-item-size` fails the test wherever it is read: no `dropped` or `expect
/// end` passes on it, and `--update` records nothing from such a call.
#[test]
fn a_reply_larger_than_the_maximum_item_size() {
    let spec = r#"
        test "quote" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          message { "symbol": "AAPL" }
          expect message { "symbol": "AAPL" }
        }

        test "dropped" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          message { "symbol": "AAPL" }
          expect messages { dropped }
        }

        test "end" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          message { "symbol": "AAPL" }
          expect end
        }

        test "recorded" {
          grpc {{grpc}} stock.StockService/GetQuote
          proto "stock.proto"
          message { "symbol": "AAPL" }
          expect messages { }
        }
        "#;
    // The schema from the file: reflection answers are items too, and larger than 10 bytes.
    let output = grpc_test()
        .file("stock.proto", STOCK_PROTO)
        .spec("a.stream", spec)
        .args(["run", "a.stream", "-j", "1", "--update=in-place", "--max-item-size", "10"])
        .var("grpc", servers::grpc_demo())
        .stdout(
            r#"
            Running 4 tests from 1 file
             ERROR [TIME] a.stream: quote

            error: item 1 is larger than the maximum item size of 10 bytes
             --> a.stream:5:18
              |
            5 |   expect message { "symbol": "AAPL" }
              |                  ^^^^^^^^^^^^^^^^^^^^ reading this `messages` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

             ERROR [TIME] a.stream: dropped

            error: item 1 is larger than the maximum item size of 10 bytes
              --> a.stream:12:10
               |
            12 |   expect messages { dropped }
               |          ^^^^^^^^^^^^^^^^^^^^ reading this `messages` stream
               |
               = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

             ERROR [TIME] a.stream: end

            error: item 1 is larger than the maximum item size of 10 bytes
              --> a.stream:19:3
               |
            19 |   expect end
               |   ^^^^^^^^^^ reading the replies to their end
               |
               = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

             ERROR [TIME] a.stream: recorded

            error: item 1 is larger than the maximum item size of 10 bytes
              --> a.stream:26:10
               |
            26 |   expect messages { }
               |          ^^^^^^^^^^^^ reading this `messages` stream
               |
               = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

            Summary 4 tests: 0 passed, 0 failed, 4 errors [TIME]
             ERROR a.stream:1: quote
             ERROR a.stream:8: dropped
             ERROR a.stream:15: end
             ERROR a.stream:22: recorded
            not updated: a.stream:5: this kind of failure is not a snapshot that --update can rewrite
            not updated: a.stream:12: this kind of failure is not a snapshot that --update can rewrite
            not updated: a.stream:19: this kind of failure is not a snapshot that --update can rewrite
            not updated: a.stream:26: the stream could not be read whole (see the error), so nothing from it was written
            "#,
        )
        .status(1)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, crate::support::unindent(spec));
}

#[test]
fn floats_are_shown_in_their_shortest_form() {
    // 0.1 as an f32 is 0.10000000149011612 as an f64: shown as 0.1, as grpcurl does.
    let spec = r#"
        test "floats" {
          grpc {{grpc}} floats.Sensor/Read
          proto "floats.proto"
          expect message { "celsius": 0.1, "history": [0.3, 1.5] }
        }

        test "a float that differs" {
          grpc {{grpc}} floats.Sensor/Read
          proto "floats.proto"
          expect message { "celsius": 0.2 }
        }
        "#;
    let server = grpc_servers::floats();
    Test::new()
        .file("floats.proto", grpc_servers::FLOATS_PROTO)
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("grpc", &server)
        .stdout(
            r#"
            Running 2 tests from 1 file
              PASS [TIME] a.stream: floats
              FAIL [TIME] a.stream: a float that differs

            error: item 1 does not match
              --> a.stream:10:18
               |
            10 |   expect message { "celsius": 0.2 }
               |                  ^^^^^^^^^^^^^^^^^^ at `.celsius`: expected 0.2, found 0.1
               |
               = diff of expected (-) and observed (+) items:
                 - { "celsius": 0.2 }
                 + { "celsius": 0.1, "history": [0.3, 1.5] }  # [TIME]
                 + end

            Summary 2 tests: 1 passed, 1 failed [TIME]
              FAIL a.stream:7: a float that differs
            "#,
        )
        .status(1)
        .run();
    // What --update writes is the short form too.
    let output = Test::new()
        .file("floats.proto", grpc_servers::FLOATS_PROTO)
        .spec("a.stream", spec)
        .args(["run", "--update=in-place", "a.stream"])
        .var("grpc", &server)
        .run_unchecked();
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert!(
        written.contains(r#"expect message { "celsius": 0.1 }"#),
        "{written}"
    );
}

#[test]
fn reflection_resolves_only_what_the_call_needs_and_the_reflection_service_itself() {
    grpc_test()
        .spec(
            "a.stream",
            r#"
            test "the reflection service, through reflection" {
              grpc {{broken}} grpc.reflection.v1.ServerReflection/ServerReflectionInfo
              send { "fileContainingSymbol": "grpc.reflection.v1.ServerReflection" }
              close
              expect message { "fileDescriptorResponse": { "fileDescriptorProto": [string] } }
              expect status OK
            }

            test "the service whose files are broken" {
              grpc {{broken}} broken.Broken/Ping
              expect status OK
            }

            test "v1alpha on the demo" {
              grpc {{grpc}} grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo
              send { "listServices": "" }
              close
              expect message { "listServicesResponse": { "service": array } }
              expect status OK
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("broken", grpc_servers::broken_reflection())
        .var("grpc", servers::grpc_demo())
        .stdout(
            r#"
            Running 3 tests from 1 file
              PASS [TIME] a.stream: the reflection service, through reflection
             ERROR [TIME] a.stream: the service whose files are broken

            error: reflection at http://127.0.0.1:PORT failed: it could not give `missing.proto`, imported by `broken.proto`: NOT_FOUND: file 'missing.proto' not found
              --> a.stream:10:19
               |
            10 |   grpc {{broken}} broken.Broken/Ping
               |                   ^^^^^^^^^^^^^^^^^^ finding this call's schema

              PASS [TIME] a.stream: v1alpha on the demo
            Summary 3 tests: 2 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:9: the service whose files are broken
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn a_reflection_answer_larger_than_4_mib_is_within_the_maximum_item_size() {
    // One file of 5 MiB: not tonic's default limit of 4 MiB but --max-item-size applies.
    let server = grpc_servers::large_reflection(5 << 20);
    let spec = r#"
        test "a large schema" {
          grpc {{grpc}} big.Big/Get
          expect status UNIMPLEMENTED
        }
        "#;
    grpc_test()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("grpc", &server)
        .stdout(
            r#"
            Running 1 test from 1 file
              PASS [TIME] a.stream: a large schema
            Summary 1 test: 1 passed, 0 failed [TIME]
            "#,
        )
        .run();
    grpc_test()
        .spec("a.stream", spec)
        .args(["run", "a.stream", "--max-item-size", "1MiB"])
        .var("grpc", &server)
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: a large schema

            error: reflection at http://127.0.0.1:PORT failed: its answer of 5257085 bytes is larger than the maximum item size of 1 MiB (raise it with --max-item-size)
             --> a.stream:2:17
              |
            2 |   grpc {{grpc}} big.Big/Get
              |                 ^^^^^^^^^^^ finding this call's schema

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: a large schema
            "#,
        )
        .status(1)
        .run();
}
