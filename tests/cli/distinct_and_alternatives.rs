//! Checks over a capture list and over statuses: `expect id distinct` (no value twice), and
//! status alternatives, `expect status 200 | 404` for HTTP and `expect status OK | NOT_FOUND`
//! for gRPC.

use crate::servers;
use crate::support::{Test, all_passed, check_fails, fails};

#[test]
fn distinct_values_and_status_alternatives_pass() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "every event has a new id" {
              GET {{base}}/sse/ticker?count=5&interval=0ms
              expect status 200 | 204
              expect sse { 5 times { id: _ -> id }; end }
              expect id distinct
            }

            test "a missing endpoint is one of the answers allowed" {
              GET {{base}}/sse/nowhere
              expect status 2xx | 404
            }
            "#,
        )
        .args(["run", "-j", "1", "a.stream"])
        .var("base", servers::demo())
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "every event has a new id"),
                (
                    "a.stream",
                    "a missing endpoint is one of the answers allowed",
                ),
            ],
        ))
        .run();
}

#[test]
fn a_value_captured_twice_is_named_with_where_both_are() {
    fails(
        servers::demo(),
        r#"
        test "a duplicate on resume" {
          GET {{base}}/sse/ticker?count=4&interval=0ms&repeat=1
          expect sse { 2 times { id: _ -> id }; disconnect; reconnect; * times { id: _ -> id }; end }
          expect id distinct
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a duplicate on resume

        error: `id` has the value "2" twice: values 2 and 3 of 5
         --> a.stream:4:10
          |
        4 |   expect id distinct
          |          ^^^^^^^^^^^ expected every value once

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a duplicate on resume
        "#,
    );
}

#[test]
fn a_status_none_of_the_alternatives_allow_names_them_all() {
    fails(
        servers::canned(),
        r#"
        test "overloaded" {
          GET {{base}}/status/503
          expect status 200 | 201 | 4xx
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: overloaded

        error: expected status 200, 201 or 4xx, got 503 Service Unavailable
         --> a.stream:3:17
          |
        3 |   expect status 200 | 201 | 4xx
          |                 ^^^^^^^^^^^^^^^ the server answered 503
          |
          = note: the body began: upstream overloaded\nretry later

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: overloaded
        "#,
    );
}

#[test]
fn grpc_status_alternatives() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "one of two failures" {
              grpc {{grpc}} stock.StockService/FailWith
              message { "code": "NOT_FOUND", "message": "no such symbol" }
              expect status UNAVAILABLE | NOT_FOUND message "no such symbol"
            }

            test "neither" {
              grpc {{grpc}} stock.StockService/FailWith
              message { "code": "NOT_FOUND", "message": "no such symbol" }
              expect status OK | UNAVAILABLE
            }
            "#,
        )
        .args(["run", "-j", "1", "a.stream"])
        .var("grpc", servers::grpc_demo())
        .status(1)
        .stdout(
            r#"
            Running 2 tests from 1 file
              PASS [TIME] a.stream: one of two failures
              FAIL [TIME] a.stream: neither

            error: expected status OK or UNAVAILABLE, got NOT_FOUND "no such symbol"
              --> a.stream:10:17
               |
            10 |   expect status OK | UNAVAILABLE
               |                 ^^^^^^^^^^^^^^^^ the call ended with NOT_FOUND
               |
               = diff of expected (-) and observed (+) items:
                 - status OK | UNAVAILABLE
                 + status NOT_FOUND "no such symbol"  # [TIME]

            Summary 2 tests: 1 passed, 1 failed [TIME]
              FAIL a.stream:7: neither
            "#,
        )
        .run();
}

#[test]
fn repeated_or_overlapping_alternatives_and_unknown_names_are_spec_errors() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect status 200 | 200 | 2xx
        }
        "#,
        "
        error: status 200 is given twice
         --> a.stream:3:23
          |
        3 |   expect status 200 | 200 | 2xx
          |                       ^^^ already an alternative

        error: `2xx` already covers 200
         --> a.stream:3:29
          |
        3 |   expect status 200 | 200 | 2xx
          |                             ^^^ overlaps another alternative

        2 errors
        ",
    );
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { 2 times { id: _ -> ids } }
          expect id distinct
          grpc http://example.invalid stock.StockService/FailWith
          expect status OK | NOT_FUND
        }
        "#,
        "
        error: nothing captures `id` before this line
         --> a.stream:4:10
          |
        4 |   expect id distinct
          |          ^^ not captured
          |
          = help: did you mean `ids`?

        error: unknown gRPC status `NOT_FUND`
         --> a.stream:6:22
          |
        6 |   expect status OK | NOT_FUND
          |                      ^^^^^^^^ not a gRPC status code
          |
          = help: did you mean `NOT_FOUND`?

        2 errors
        ",
    );
}

#[test]
fn fmt_keeps_alternatives_and_distinct() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET http://example.invalid/
              expect status 200|404
              expect sse { 2 times { id: _ -> id } }
              expect   id    distinct
              grpc http://example.invalid stock.StockService/FailWith
              expect status OK|NOT_FOUND   message "x"
            }
            "#,
        )
        .args(["fmt", "a.stream"])
        .stdout("formatted a.stream")
        .run();
    let formatted = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        formatted,
        crate::support::unindent(
            r#"
            test "a" {
              GET http://example.invalid/
              expect status 200 | 404
              expect sse { 2 times { id: _ -> id } }
              expect id distinct
              grpc http://example.invalid stock.StockService/FailWith
              expect status OK | NOT_FOUND message "x"
            }
            "#
        )
    );
}
