//! Status fields a misbehaving server sends (`grpc-status`, `grpc-message`,
//! `grpc-status-details-bin`), in trailers and in trailers-only answers: each gets a clear
//! failure or the status the gRPC spec says a client reads, never a panic (nothing on stderr).

use crate::grpc_servers::{self, StatusIn};
use crate::support::Test;

const STOCK_PROTO: &str = include_str!("../../proto/stock.proto");

/// Runs `expect` (a line checking the status) on a unary call to a server that ends it with
/// `fields`: returns the run's stdout.
fn run(fields: Vec<(&'static str, Vec<u8>)>, status_in: StatusIn, expect: &str) -> String {
    run_with(fields, status_in, expect, &[])
}

/// [`run`], with more arguments.
fn run_with(
    fields: Vec<(&'static str, Vec<u8>)>,
    status_in: StatusIn,
    expect: &str,
    args: &[&str],
) -> String {
    let output = Test::new()
        .file("stock.proto", STOCK_PROTO)
        .spec(
            "a.stream",
            &format!(
                r#"
                test "status" {{
                  grpc {{{{grpc}}}} stock.StockService/GetQuote
                  proto "stock.proto"
                  {expect}
                }}
                "#
            ),
        )
        .args(["run", "a.stream"])
        .args(args.iter().copied())
        .var("grpc", grpc_servers::status_fields(fields, status_in))
        .run_unchecked();
    assert_eq!(output.stderr, "", "nothing on stderr (no panic)");
    output.stdout
}

/// The output of a run whose one test ended in `error` (what the server sent is not a status) at
/// `expect status NOT_FOUND`.
fn errored_call(error: &str) -> String {
    format!(
        "Running 1 test from 1 file
 ERROR [TIME] a.stream: status

error: the call failed without a status: {error}
 --> a.stream:4:3
  |
4 |   expect status NOT_FOUND
  |   ^^^^^^^^^^^^^^^^^^^^^^^ reading the call to its end

Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
 ERROR a.stream:1: status
"
    )
}

const PASSED: &str = "Running 1 test from 1 file
  PASS [TIME] a.stream: status
Summary 1 test: 1 passed, 0 failed [TIME]
";

fn status(code: &str) -> (&'static str, Vec<u8>) {
    ("grpc-status", code.as_bytes().to_vec())
}

#[test]
fn details_that_are_not_base64_fail_the_call() {
    for status_in in [StatusIn::Trailers, StatusIn::HeadersOnly] {
        let fields = vec![
            status("5"),
            ("grpc-status-details-bin", b"!!not base64".to_vec()),
        ];
        assert_eq!(
            run(fields, status_in, "expect status NOT_FOUND"),
            errored_call(
                "the server sent a `grpc-status-details-bin` that is not base64 (`!` at byte 0): `!!not base64`"
            )
        );
    }
}

/// A value is quoted cut short, after secrets in the whole of it are masked: cutting first
/// would leave the start of a secret that straddles the cut.
#[test]
fn details_holding_a_secret_are_masked_before_they_are_cut() {
    const SECRET: &str = "sk-live-Q7fR2xW9mK4tZ8pL1vB6nJ3hD5cY0gAeUoTiSs";
    let details = format!("!{}{SECRET}{}", "a".repeat(49), "z".repeat(20));
    let fields = vec![
        status("5"),
        ("grpc-status-details-bin", details.into_bytes()),
    ];
    let secret = format!("token={SECRET}");
    assert_eq!(
        run_with(
            fields,
            StatusIn::Trailers,
            "expect status NOT_FOUND",
            &["--secret", &secret]
        ),
        errored_call(&format!(
            "the server sent a `grpc-status-details-bin` that is not base64 (`!` at byte 0): `!{}***zzzzzzz…` (116 bytes)",
            "a".repeat(49)
        ))
    );
}

#[test]
fn a_status_that_is_not_a_code_fails_the_call() {
    for (code, status_in) in [("abc", StatusIn::Trailers), ("17", StatusIn::HeadersOnly)] {
        assert_eq!(
            run(vec![status(code)], status_in, "expect status NOT_FOUND"),
            errored_call(&format!(
                "the server sent a `grpc-status` that is not a status code (0 to 16): `{code}`"
            ))
        );
    }
    // Leading zeros are still the code.
    assert_eq!(
        run(
            vec![status("05")],
            StatusIn::Trailers,
            "expect status NOT_FOUND"
        ),
        PASSED
    );
}

#[test]
fn a_message_that_does_not_decode_keeps_its_code_and_reads_as_sent() {
    for (sent, read) in [
        // Percent-encoded bytes that are not UTF-8, and such bytes as they are.
        (&b"caf%FF"[..], "caf%FF"),
        (b"caf\xff", "caf\u{fffd}"),
        // Escapes that are not escapes stand as they are.
        (b"100% %zz", "100% %zz"),
    ] {
        for status_in in [StatusIn::Trailers, StatusIn::HeadersOnly] {
            let fields = vec![status("5"), ("grpc-message", sent.to_vec())];
            let expect = format!("expect status NOT_FOUND message \"{read}\"");
            assert_eq!(run(fields, status_in, &expect), PASSED, "{sent:?}");
        }
    }
}

#[test]
fn a_long_message_is_read_and_one_over_the_header_limit_fails_clearly() {
    // hyper's own limit is 16 KiB: a trailers-only answer with this message broke the call.
    let long = vec![b'x'; 100_000];
    for status_in in [StatusIn::Trailers, StatusIn::HeadersOnly] {
        let fields = vec![status("5"), ("grpc-message", long.clone())];
        let expect = "expect status NOT_FOUND message /^x{100000}$/";
        assert_eq!(run(fields, status_in, expect), PASSED);
    }
    let huge = vec![b'x'; 2 << 20];
    let fields = vec![status("5"), ("grpc-message", huge)];
    assert_eq!(
        run(fields, StatusIn::Trailers, "expect status NOT_FOUND"),
        errored_call(
            "the connection to 127.0.0.1:PORT failed: the server sent response headers or trailers larger than 1 MiB (error reading a body from connection: connection error detected: detected excessive load generating behavior (b\"too_many_continuations\"))"
        )
    );
}
