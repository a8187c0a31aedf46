//! Reply patterns name fields as requests may: by their JSON name (`originalRequest`, as the
//! proto3 JSON mapping writes replies) or by their `.proto` name (`original_request`), in
//! object patterns, `$.path` checks and `where` keys alike; a key that is neither gets "did you
//! mean".

use crate::grpc_servers;
use crate::support::{Test, unindent};

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

#[test]
fn reply_patterns_take_proto_field_names() {
    run_on_ledger(
        r#"
        test "in an object pattern" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "original_request": { "count": 3 } }
        }

        test "in an exact object, where it counts as the key it stands for" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message exact { "balance": _, "serial": _, "code": _, "moves": _, "original_request": _, "limits": _, "overdraft": _ }
        }

        test "in a path, deeper and with JSON names beside" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message $.original_request.count == 3  $.originalRequest.count == 3
        }

        test "in a where key" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect messages {
            where $.original_request.count == 3 { { "code": "42" } }
            end
          }
        }
        "#,
        r#"
        Running 4 tests from 1 file
          PASS [TIME] a.stream: in an object pattern
          PASS [TIME] a.stream: in an exact object, where it counts as the key it stands for
          PASS [TIME] a.stream: in a path, deeper and with JSON names beside
          PASS [TIME] a.stream: in a where key
        Summary 4 tests: 4 passed, 0 failed [TIME]
        "#,
        0,
    );
}

#[test]
fn a_key_that_names_no_field_gets_did_you_mean() {
    run_on_ledger(
        r#"
        test "a typo" {
          grpc {{grpc}} ledger.Ledger/Balance
          proto "ledger.proto"
          expect message { "original_reqest": { "count": 3 } }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a typo

        error: item 1 does not match
         --> a.stream:4:18
          |
        4 |   expect message { "original_reqest": { "count": 3 } }
          |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.original_reqest`: expected { "count": 3 }, found no such key (did you mean `originalRequest`?)
          |
          = diff of expected (-) and observed (+) items:
            - { "original_reqest": { "count": 3 } }
            + { "balance": "-42", "serial": "9007199254740993", "code": "42", "moves": ["-1", "2"], "originalRequest": { "amount": "18446744073709551615", "count": 3 }, "limits": { "daily": "-5" }, "overdraft": "-100" }  # [TIME]
            + end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a typo
        "#,
        1,
    );
}

/// `run --update` finds the field a `.proto` name stands for, keeps the name and rewrites only
/// what does not fit inside it.
#[test]
fn update_keeps_a_proto_field_name() {
    let output = Test::new()
        .file("ledger.proto", grpc_servers::LEDGER_PROTO)
        .spec(
            "a.stream",
            r#"
            test "update" {
              grpc {{grpc}} ledger.Ledger/Balance
              proto "ledger.proto"
              expect message { "original_request": { "amount": string, "count": 4 } }
            }
            "#,
        )
        .args(["run", "--update=in-place", "a.stream"])
        .var("grpc", grpc_servers::ledger())
        .run_unchecked();
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        written,
        unindent(
            r#"
            test "update" {
              grpc {{grpc}} ledger.Ledger/Balance
              proto "ledger.proto"
              expect message { "original_request": { "amount": string, "count": 3 } }
            }
            "#
        ),
        "the updated spec; stdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
    assert_eq!(output.status, Some(0), "stdout:\n{}", output.stdout);
}
