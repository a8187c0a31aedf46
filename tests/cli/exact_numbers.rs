//! Numbers compared exactly: integers beyond 2^53 in JSON items, and gRPC's 64-bit integers,
//! which the proto3 JSON mapping writes as strings, against numeric patterns.

use crate::grpc_servers;
use crate::servers;
use crate::support::{Test, fails, unindent};

/// An NDJSON stream of one item whose integers are past 2^53, where `f64` would round
/// 9007199254740993 to 9007199254740992.
fn big_integers() -> String {
    servers::raw_reply(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ncontent-length: 63\r\nconnection: close\r\n\r\n\
          {\"id\": 9007199254740993, \"max\": 18446744073709551615, \"n\": -1}\n",
    )
}

#[test]
fn integers_beyond_two_to_the_53_compare_exactly() {
    fails(
        &big_integers(),
        r#"
        test "passes: each bound is exact" {
          GET {{base}}/
          expect ndjson {
            { "id": 9007199254740993, "max": 18446744073709551615, "n": -1 }  $.id > 9007199254740992
            end
          }
        }

        test "passes: ranges and comparisons" {
          GET {{base}}/
          expect ndjson {
            { "id": 9007199254740993..9007199254740993, "max": > 18446744073709551614, "n": != 9007199254740992 }
            end
          }
        }

        test "fails: the bound is one below" {
          GET {{base}}/
          expect ndjson { { "id": 9007199254740992 } }
        }

        test "fails: the range ends one below" {
          GET {{base}}/
          expect ndjson { { "id": ..9007199254740992 } }
        }

        test "fails: the path check is one off" {
          GET {{base}}/
          expect ndjson { $.max < 18446744073709551615 }
        }
        "#,
        r#"
        Running 5 tests from 1 file
          PASS [TIME] a.stream: passes: each bound is exact
          PASS [TIME] a.stream: passes: ranges and comparisons
          FAIL [TIME] a.stream: fails: the bound is one below

        error: item 1 does not match
          --> a.stream:19:19
           |
        19 |   expect ndjson { { "id": 9007199254740992 } }
           |                   ^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.id`: expected 9007199254740992, found 9007199254740993
           |
           = diff of expected (-) and observed (+) items:
             - { "id": 9007199254740992 }
             + { "id": 9007199254740993, "max": 18446744073709551615, "n": -1 }  # [TIME]
             + end

          FAIL [TIME] a.stream: fails: the range ends one below

        error: item 1 does not match
          --> a.stream:24:19
           |
        24 |   expect ndjson { { "id": ..9007199254740992 } }
           |                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.id`: expected ..9007199254740992, found 9007199254740993
           |
           = diff of expected (-) and observed (+) items:
             - { "id": ..9007199254740992 }
             + { "id": 9007199254740993, "max": 18446744073709551615, "n": -1 }  # [TIME]
             + end

          FAIL [TIME] a.stream: fails: the path check is one off

        error: item 1 does not match
          --> a.stream:29:19
           |
        29 |   expect ndjson { $.max < 18446744073709551615 }
           |                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `$.max`: expected a number < 18446744073709551615, found 18446744073709551615
           |
           = diff of expected (-) and observed (+) items:
             - $.max < 18446744073709551615
             + { "id": 9007199254740993, "max": 18446744073709551615, "n": -1 }  # [TIME]
             + end

        Summary 5 tests: 2 passed, 3 failed [TIME]
          FAIL a.stream:17: fails: the bound is one below
          FAIL a.stream:22: fails: the range ends one below
          FAIL a.stream:27: fails: the path check is one off
        "#,
    );
}

/// `ledger.Account` replies (see `grpc_servers::ledger`) hold 64-bit integers of each kind,
/// which the proto3 JSON mapping writes as strings (`"balance": "-42"`), and `code`, a string
/// field that holds digits.
fn run_on_ledger(spec: &str, stdout: &str, status: i32) {
    Test::new()
        .file("ledger.proto", grpc_servers::LEDGER_PROTO)
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("grpc", grpc_servers::ledger())
        .stdout(stdout)
        .status(status)
        .run();
}

/// Numeric patterns take a 64-bit integer field's string as the number it is, exactly, however
/// deep it is (a repeated field, a nested message, a map's value, the `Int64Value` wrapper) and
/// however the pattern reaches it (a JSON pattern, a `$.path` check, a `where` key).
#[test]
fn grpc_64_bit_integers_match_numeric_patterns() {
    run_on_ledger(
        r#"
        test "every kind of 64-bit integer" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message {
            "balance": < 0,
            "serial": 9007199254740993,
            "code": "42",
            "moves": [-1..-1, > 1],
            "originalRequest": { "amount": 18446744073709551615, "count": 3 },
            "limits": { "daily": -5..0 },
            "overdraft": integer
          }  $.serial > 9007199254740992  $.moves[*] == [-1, 2]  $.balance == number
        }

        test "as strings too, as grpcurl shows them" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "balance": "-42", "serial": string, "overdraft": /^-\d+$/ }
        }

        test "a where key" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect messages {
            where balance == < 0 { { "code": "42" } }
            end
          }
        }
        "#,
        r#"
        Running 3 tests from 1 file
          PASS [TIME] a.stream: every kind of 64-bit integer
          PASS [TIME] a.stream: as strings too, as grpcurl shows them
          PASS [TIME] a.stream: a where key
        Summary 3 tests: 3 passed, 0 failed [TIME]
        "#,
        0,
    );
}

/// Failures say what was expected of the string as a number, with the string as the reply has
/// it; a string field stays a string, however many digits it holds.
#[test]
fn grpc_64_bit_integers_that_do_not_match() {
    run_on_ledger(
        r#"
        test "one above the bound, past 2^53" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "serial": 9007199254740992 }
        }

        test "negative" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "balance": > 0 }
        }

        test "the largest uint64, by path" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message $.originalRequest.amount < 18446744073709551615
        }

        test "a string field of digits is no number" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "code": < 100 }
        }
        "#,
        r#"
        Running 4 tests from 1 file
          FAIL [TIME] a.stream: one above the bound, past 2^53

        error: item 1 does not match
         --> a.stream:4:18
          |
        4 |   expect message { "serial": 9007199254740992 }
          |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.serial`: expected 9007199254740992, found "9007199254740993"
          |
          = diff of expected (-) and observed (+) items:
            - { "serial": 9007199254740992 }
            + { …, "serial": "9007199254740993", … }  # [TIME]
            + end

          FAIL [TIME] a.stream: negative

        error: item 1 does not match
          --> a.stream:10:18
           |
        10 |   expect message { "balance": > 0 }
           |                  ^^^^^^^^^^^^^^^^^^ at `.balance`: expected > 0, found "-42"
           |
           = diff of expected (-) and observed (+) items:
             - { "balance": > 0 }
             + { "balance": "-42", … }  # [TIME]
             + end

          FAIL [TIME] a.stream: the largest uint64, by path

        error: item 1 does not match
          --> a.stream:16:18
           |
        16 |   expect message $.originalRequest.amount < 18446744073709551615
           |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `$.originalRequest.amount`: expected a number < 18446744073709551615, found "18446744073709551615"
           |
           = diff of expected (-) and observed (+) items:
             - $.originalRequest.amount < 18446744073709551615
             + { …, "originalRequest": { "amount": "18446744073709551615", … }, … }  # [TIME]
             + end

          FAIL [TIME] a.stream: a string field of digits is no number

        error: item 1 does not match
          --> a.stream:22:18
           |
        22 |   expect message { "code": < 100 }
           |                  ^^^^^^^^^^^^^^^^^ at `.code`: expected < 100, found "42"
           |
           = diff of expected (-) and observed (+) items:
             - { "code": < 100 }
             + { …, "code": "42", … }  # [TIME]
             + end

        Summary 4 tests: 0 passed, 4 failed [TIME]
          FAIL a.stream:1: one above the bound, past 2^53
          FAIL a.stream:7: negative
          FAIL a.stream:13: the largest uint64, by path
          FAIL a.stream:19: a string field of digits is no number
        "#,
        1,
    );
}

/// `run --update` keeps the numeric patterns that a reply's 64-bit integers match, and rewrites
/// only what does not fit.
#[test]
fn update_keeps_numeric_patterns_that_64_bit_integers_match() {
    let before = r#"
        test "update" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "balance": < 0, "serial": > 9007199254740992, "moves": [integer, 2], "code": "41" }
        }
        "#;
    let after = r#"
        test "update" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "balance": < 0, "serial": > 9007199254740992, "moves": [integer, 2], "code": "42" }
        }
        "#;
    let output = Test::new()
        .file("ledger.proto", grpc_servers::LEDGER_PROTO)
        .spec("a.stream", before)
        .args(["run", "--update=in-place", "a.stream"])
        .var("grpc", grpc_servers::ledger())
        .run_unchecked();
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        written,
        unindent(after),
        "the updated spec; stdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
    assert_eq!(output.status, Some(0), "stdout:\n{}", output.stdout);
}
