//! Payloads a spec builds rather than pastes: a repeated string (`"A" * 1000`) in JSON values and
//! `body text`, and gRPC request messages read from files (`message file`, `send file`).

use crate::servers;
use crate::support::{Test, all_passed, check_fails, fails};

#[test]
fn repeated_strings_build_bodies_and_match_values() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "repeated strings" {
              POST {{base}}/echo
              body json { "payload": "AB" * 500, "none": "x" * 0 }
              expect json { "payload": string len 1000, "none": "" }  $.payload == "AB" * 500
              POST {{base}}/echo
              body text "ABC" * 100000
              expect text size 300000
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout(&all_passed(1, &[("a.stream", "repeated strings")]))
        .run();
}

#[test]
fn a_repeated_string_that_does_not_match_is_shown_as_written() {
    fails(
        servers::demo(),
        r#"
        test "one repetition short" {
          POST {{base}}/echo
          body json { "payload": "AB" * 3 }
          expect json { "payload": "AB" * 4 }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: one repetition short

        error: the body does not match
         --> a.stream:4:15
          |
        4 |   expect json { "payload": "AB" * 4 }
          |               ^^^^^^^^^^^^^^^^^^^^^^^ at `.payload`: expected "AB" * 4, found "ABABAB"
          |
          = diff of expected (-) and observed (+) items:
            - { "payload": "AB" * 4 }
            + { "payload": "ABABAB" }  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: one repetition short
        "#,
    );
}

#[test]
fn a_repeated_string_too_large_or_out_of_place_is_a_spec_error() {
    check_fails(
        r#"
        test "a" {
          POST http://example.invalid/echo
          body text "AB" * 200000000
          expect lines { "A" * 3 }
        }
        "#,
        r#"
        error: this string is too large to build
         --> a.stream:3:13
          |
        3 |   body text "AB" * 200000000
          |             ^^^^^^^^^^^^^^^^ the repeated string would be 400000000 bytes, over the limit of 256 MiB

        error: a repeated string fits JSON values and `body text`, and this is text to match
         --> a.stream:4:18
          |
        4 |   expect lines { "A" * 3 }
          |                  ^^^^^^^ not a text matcher
          |
          = help: to check the length of the text, write `size N` for a line or chunk, or `data: json string len N` for JSON data

        2 errors
        "#,
    );
}

#[test]
fn a_repeated_string_built_from_a_variable_is_bounded_when_the_test_runs() {
    fails(
        servers::demo(),
        r#"
        let unit = "ABCD"
        test "too large" {
          POST {{base}}/echo
          body json { "payload": "{{unit}}" * 100000000 }
          expect status 200
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: too large

        error: the repeated string would be 400000000 bytes, over the limit of 256 MiB
         --> a.stream:4:39
          |
        4 |   body json { "payload": "{{unit}}" * 100000000 }
          |                                       ^^^^^^^^^ repeated this many times

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:2: too large
        "#,
    );
}

#[test]
fn grpc_messages_are_read_from_files() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "messages from files" {
              grpc {{grpc}} stock.StockService/StreamPrices
              message file "messages/prices.json"
              expect messages { 2 times { { "symbol": "AAPL" } }; end }
              grpc {{grpc}} stock.StockService/TradeChat
              send file "messages/buy.json"
              expect message { "message": "ack: Buy AAPL" }
              expect messages {
                send file "messages/buy.json"
                { "message": "ack: Buy AAPL" }
                close
                end
              }
            }
            "#,
        )
        .file(
            "messages/prices.json",
            r#"{ "symbols": ["AAPL"], "ticks": 2, "intervalMs": 10 }"#,
        )
        .file(
            "messages/buy.json",
            r#"{ "user": "trader1", "message": "Buy AAPL" }"#,
        )
        .args(["run", "a.stream"])
        .var("grpc", servers::grpc_demo())
        .stdout(&all_passed(1, &[("a.stream", "messages from files")]))
        .run();
}

#[test]
fn a_message_file_that_is_missing_or_not_json_fails_at_its_line() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "not JSON" {
              grpc {{grpc}} stock.StockService/TradeChat
              send file "broken.json"
              expect messages { end }
            }

            test "missing" {
              grpc {{grpc}} stock.StockService/StreamPrices
              message file "missing.json"
              expect messages { end }
            }
            "#,
        )
        .file("broken.json", "{ \"user\": \n")
        .args(["run", "-j", "1", "a.stream"])
        .var("grpc", servers::grpc_demo())
        .stdout(
            r#"
            Running 2 tests from 1 file
             ERROR [TIME] a.stream: not JSON

            error: message file `broken.json` is not JSON: EOF while parsing a value at line 2 column 0
             --> a.stream:3:13
              |
            3 |   send file "broken.json"
              |             ^^^^^^^^^^^^^ this message file

             ERROR [TIME] a.stream: missing

            error: cannot read message file `missing.json`: No such file or directory (os error 2)
             --> a.stream:9:16
              |
            9 |   message file "missing.json"
              |                ^^^^^^^^^^^^^^ this message file

            Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
             ERROR a.stream:1: not JSON
             ERROR a.stream:7: missing
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn fmt_keeps_repeated_strings_and_message_files() {
    let spec = r#"
        test "a" {
          POST http://example.invalid/echo
          body text   "A"*1000
          expect json {"a":"B" *  3}
          grpc http://example.invalid stock.StockService/TradeChat
          message   file  "a.json"
          send file "b.json"
        }
        "#;
    let output = Test::new()
        .spec("a.stream", spec)
        .args(["fmt", "a.stream"])
        .stdout("formatted a.stream")
        .run();
    let formatted = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        formatted,
        crate::support::unindent(
            r#"
            test "a" {
              POST http://example.invalid/echo
              body text "A" * 1000
              expect json { "a": "B" * 3 }
              grpc http://example.invalid stock.StockService/TradeChat
              message file "a.json"
              send file "b.json"
            }
            "#
        )
    );
}
