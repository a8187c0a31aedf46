//! `run --update` on specs with lengths, repeated strings, message files, status alternatives,
//! `distinct`, composite ids and `{{test_id}}`: what fits stays as written, failed status
//! alternatives give way to the observed code, and a second update changes nothing.

use crate::servers;
use crate::support::{BIN, Test, unindent};

const BEFORE: &str = r#"
    let who = "user-{{test_id}}"

    test "update keeps the new constructs" {
      POST {{base}}/echo
      body json { "payload": "AB" * 3, "who": "{{who}}", "tags": [1, 2], "ok": true }
      expect status 200 | 201
      expect json { "payload": "AB" * 3, "who": string len 41, "tags": array len 2, "ok": false }
      GET {{base}}/sse/ticker?count=3&interval=0ms&id_prefix=7:
      expect sse { 3 times { id: _ -> id }; end }
      expect id distinct
      expect ids contiguous
    }

    test "failed alternatives give way to the observed status" {
      GET {{base}}/health
      expect status 201 | 204
    }

    test "a message from a file" {
      grpc {{grpc}} stock.StockService/GetQuote
      message file "quote.json"
      expect message { "symbol": "MSFT", "price": 1 }
      expect status OK | NOT_FOUND
    }
"#;

const AFTER: &str = r#"
    let who = "user-{{test_id}}"

    test "update keeps the new constructs" {
      POST {{base}}/echo
      body json { "payload": "AB" * 3, "who": "{{who}}", "tags": [1, 2], "ok": true }
      expect status 200 | 201
      expect json { "payload": "AB" * 3, "who": string len 41, "tags": array len 2, "ok": true }
      GET {{base}}/sse/ticker?count=3&interval=0ms&id_prefix=7:
      expect sse { 3 times { id: _ -> id }; end }
      expect id distinct
      expect ids contiguous
    }

    test "failed alternatives give way to the observed status" {
      GET {{base}}/health
      expect status 200
    }

    test "a message from a file" {
      grpc {{grpc}} stock.StockService/GetQuote
      message file "quote.json"
      expect message { "symbol": "MSFT", "price": 98.75 }
      expect status OK | NOT_FOUND
    }
"#;

fn update(spec: &str) -> crate::support::Output {
    Test::new()
        .spec("a.stream", spec)
        .file("quote.json", r#"{ "symbol": "MSFT" }"#)
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .run_unchecked()
}

#[test]
fn update_keeps_the_new_constructs_and_a_second_update_changes_nothing() {
    let output = update(BEFORE);
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        written,
        unindent(AFTER),
        "the updated spec; stdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
    assert_eq!(output.status, Some(0), "stdout:\n{}", output.stdout);
    assert!(
        output.stdout.contains("updated: a.stream (3 expectations)"),
        "{}",
        output.stdout
    );
    let again = update(&written);
    let rewritten = std::fs::read_to_string(again.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(rewritten, written, "a second update changed the spec");
    assert_eq!(again.status, Some(0), "stdout:\n{}", again.stdout);
    assert!(!again.stdout.contains("updated"), "{}", again.stdout);
    let formatted = std::process::Command::new(BIN)
        .args(["fmt", "--check", "a.stream"])
        .current_dir(again.dir.path())
        .output()
        .expect("run fmt --check");
    assert!(
        formatted.status.success(),
        "fmt --check after the update:\n{}{}",
        String::from_utf8_lossy(&formatted.stdout),
        String::from_utf8_lossy(&formatted.stderr)
    );
}
