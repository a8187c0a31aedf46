//! Numbers compared exactly: integers beyond 2^53 in JSON items, and gRPC's 64-bit integers,
//! which the proto3 JSON mapping writes as strings, against numeric patterns.

use crate::servers;
use crate::support::fails;

/// An NDJSON stream of one item whose integers are past 2^53, where `f64` would round
/// 9007199254740993 to 9007199254740992.
fn big_integers() -> String {
    servers::raw_reply(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ncontent-length: 63\r\n\r\n\
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
