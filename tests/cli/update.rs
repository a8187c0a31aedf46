//! `run --update`: a spec made to fail is rewritten, then passes, and a second update changes
//! nothing — over every transport; pending files and `review`/`accept`/`reject`; CI, and what
//! is never rewritten. How the files are written is in `update_writes`.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Query;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::servers;
use crate::support::Test;

/// Streams that say the same every time, so a recorded snapshot stays true.
pub fn stable() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let with = |kind: &'static str, body: &'static str| {
            move || async move { ([(CONTENT_TYPE.as_str(), kind), ("x-version", "2")], body) }
        };
        servers::serve(
            Router::new()
                .route(
                    "/sse",
                    get(with(
                        "text/event-stream",
                        "data: {\"n\":1}\n\ndata: {\"n\":2}\n\nevent: done\ndata: bye\n\n",
                    )),
                )
                .route(
                    "/ndjson",
                    get(with("application/x-ndjson", "{\"n\":1}\n{\"n\":2}\n")),
                )
                .route("/lines", get(with("text/plain", "alpha\nbeta\n")))
                .route("/chunks", get(with("text/plain", "hello")))
                .route(
                    "/json",
                    get(with("application/json", "{\"version\":2,\"name\":\"x\"}")),
                )
                .route("/text", get(with("text/plain", "ok v2")))
                .route("/volatile", get(volatile))
                .route("/touch", get(touch)),
        )
    })
}

/// Three events whose ids and `at` values differ on every request, as timestamps do.
async fn volatile() -> impl IntoResponse {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let body: String = (1..=3)
        .map(|n| format!("id: {at}-{n}\ndata: {{\"n\":{n},\"at\":{}}}\n\n", at + n))
        .collect();
    ([(CONTENT_TYPE, "text/event-stream")], body)
}

/// Changes the spec named in `?path=` while its test runs (its `"n": 9` becomes `"n": 8`),
/// then serves the SSE stream: the update must see that the text changed.
async fn touch(
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    if let Some(path) = query.get("path")
        && let Ok(text) = std::fs::read_to_string(path)
    {
        let _ = std::fs::write(path, text.replace("\"n\": 9", "\"n\": 8"));
    }
    ([(CONTENT_TYPE, "text/event-stream")], "data: {\"n\":1}\n\n")
}

/// Runs `--update=in-place` on a spec, checks the file it leaves, then that the spec passes and
/// that a second update writes nothing.
pub fn round_trip(before: &str, after: &str, var: (&str, &str)) {
    let output = Test::new()
        .spec("a.stream", before)
        .args(["run", "--update=in-place", "a.stream"])
        .var(var.0, var.1)
        .run_unchecked();
    let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(
        written,
        crate::support::unindent(after),
        "the updated spec; stdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
    assert_eq!(output.status, Some(0), "stdout:\n{}", output.stdout);
    assert!(
        output.stdout.contains("updated: a.stream"),
        "{}",
        output.stdout
    );
    let again = Test::new()
        .spec("a.stream", &written)
        .args(["run", "--update=in-place", "a.stream"])
        .var(var.0, var.1)
        .run_unchecked();
    let rewritten = std::fs::read_to_string(again.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(rewritten, written, "a second update changed the spec");
    assert_eq!(again.status, Some(0), "stdout:\n{}", again.stdout);
    assert!(!again.stdout.contains("updated"), "{}", again.stdout);
    // What the update writes is already in the formatter's layout.
    let formatted = std::process::Command::new(crate::support::BIN)
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

#[test]
fn sse_lines_after_the_failure_are_rewritten_and_the_rest_stays_byte_for_byte() {
    round_trip(
        r#"
        # the header comment stays
        test "sse" {
          GET {{base}}/sse
          expect status 201   # a wrong status
          expect header x-version == "1"
          expect sse {
            data: json { "n": integer }   # matched: stays as written
            # a comment inside the block stays
            data: json { "n": 3 } within 5s
            end
          }
        }
        "#,
        r#"
        # the header comment stays
        test "sse" {
          GET {{base}}/sse
          expect status 200   # a wrong status
          expect header x-version == "2"
          expect sse {
            data: json { "n": integer }   # matched: stays as written
            # a comment inside the block stays
            data: json { "n": 2 }  within 5s
            event: "done"  data: "bye"
            end
          }
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn matchers_for_volatile_values_stay_and_new_lines_take_the_shape_of_the_line_before() {
    round_trip(
        r#"
        test "volatile" {
          GET {{base}}/volatile
          expect sse {
            id: /^\d+-\d$/  data: json { "n": 1, "at": integer }
            id: /^\d+-\d$/  data: json { "n": 5, "at": integer }   # the second
            end
          }
        }
        "#,
        r#"
        test "volatile" {
          GET {{base}}/volatile
          expect sse {
            id: /^\d+-\d$/  data: json { "n": 1, "at": integer }
            id: /^\d+-\d$/  data: json { "n": 2, "at": integer }   # the second
            id: /^\d+-\d$/  data: json { "n": 3, "at": integer }
            end
          }
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn a_repetition_of_one_line_changes_its_count_or_gives_way_to_lines_of_its_shape() {
    round_trip(
        r#"
        test "fewer" {
          GET {{base}}/ndjson
          expect ndjson {
            3 times { { "n": integer } }   # one per n
            end
          }
        }

        test "more" {
          GET {{base}}/ndjson
          expect ndjson {
            1 times { { "n": integer } }
            end
          }
        }

        test "other values" {
          GET {{base}}/ndjson
          expect ndjson {
            2 times { { "n": 2 } -> n }
            end
          }
        }
        "#,
        r#"
        test "fewer" {
          GET {{base}}/ndjson
          expect ndjson {
            2 times { { "n": integer } }   # one per n
            end
          }
        }

        test "more" {
          GET {{base}}/ndjson
          expect ndjson {
            2 times { { "n": integer } }
            end
          }
        }

        test "other values" {
          GET {{base}}/ndjson
          expect ndjson {
            { "n": 1 } -> n
            { "n": 2 } -> n
            end
          }
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn a_skip_after_the_failing_line_stays_and_takes_the_items_it_stood_for() {
    round_trip(
        r#"
        test "skip" {
          GET {{base}}/sse
          expect sse {
            data: json { "n": 5 }
            ...
            event: "done"  data: "bye"
            end
          }
        }
        "#,
        r#"
        test "skip" {
          GET {{base}}/sse
          expect sse {
            data: json { "n": 1 }
            ...
            event: "done"  data: "bye"
            end
          }
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn an_empty_block_records_the_stream_and_counts_it() {
    round_trip(
        r#"
        test "ndjson" {
          GET {{base}}/ndjson
          expect ndjson { }
          expect count == 2
        }
        "#,
        r#"
        test "ndjson" {
          GET {{base}}/ndjson
          expect ndjson {
            { "n": 1 }
            { "n": 2 }
            end
          }
          expect count == 2
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn lines_and_chunks_are_updated() {
    round_trip(
        r#"
        test "lines" {
          GET {{base}}/lines
          expect lines {
            "alpha"
            "gamma"
          }
        }

        test "chunks" {
          GET {{base}}/chunks
          expect chunks { "bye" }
        }

        test "one line" {
          GET {{base}}/lines
          expect lines { "alpha"; "gamma"; end }
        }
        "#,
        r#"
        test "lines" {
          GET {{base}}/lines
          expect lines {
            "alpha"
            "beta"
          }
        }

        test "chunks" {
          GET {{base}}/chunks
          expect chunks { "hello" }
        }

        test "one line" {
          GET {{base}}/lines
          expect lines { "alpha"; "beta"; end }
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn whole_bodies_are_updated() {
    round_trip(
        r#"
        test "json" {
          GET {{base}}/json
          expect json { "version": 1, "name": string }  $.name ~ /^y/
        }

        test "text" {
          GET {{base}}/text
          expect text contains "v1"
        }
        "#,
        r#"
        test "json" {
          GET {{base}}/json
          expect json { "version": 2, "name": string }  $.name == "x"
        }

        test "text" {
          GET {{base}}/text
          expect text "ok v2"
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn grpc_messages_and_statuses_are_updated() {
    round_trip(
        r#"
        test "orders" {
          grpc {{grpc}} stock.StockService/SendOrders
          message { "symbol": "TSLA", "quantity": 1, "price": 2 }
          expect message { "orders": 5 }
          expect status OK
        }

        test "recorded" {
          grpc {{grpc}} stock.StockService/SendOrders
          message { "symbol": "TSLA", "quantity": 2, "price": 2 }
          expect messages { }
        }

        test "rejected" {
          grpc {{grpc}} stock.StockService/SendOrders
          message { "symbol": "TSLA", "quantity": 0, "price": 2 }
          expect status OK
        }
        "#,
        r#"
        test "orders" {
          grpc {{grpc}} stock.StockService/SendOrders
          message { "symbol": "TSLA", "quantity": 1, "price": 2 }
          expect message { "orders": 1 }
          expect status OK
        }

        test "recorded" {
          grpc {{grpc}} stock.StockService/SendOrders
          message { "symbol": "TSLA", "quantity": 2, "price": 2 }
          expect messages {
            { "orders": 1, "totalQuantity": "2", "totalValue": 4.0, "symbols": ["TSLA"] }
            end
          }
        }

        test "rejected" {
          grpc {{grpc}} stock.StockService/SendOrders
          message { "symbol": "TSLA", "quantity": 0, "price": 2 }
          expect status INVALID_ARGUMENT
        }
        "#,
        ("grpc", servers::grpc_demo()),
    );
}

#[test]
fn pending_updates_are_reviewed_then_accepted_or_rejected() {
    let spec = r#"
        test "json" {
          GET {{base}}/json
          expect json { "version": 1 }
        }
    "#;
    let output = Test::new()
        .spec("a.stream", spec)
        .spec("b.stream", spec)
        .args(["run", "--update=pending", "."])
        .var("base", stable())
        .status(1)
        .stdout(
            r#"
            Running 2 tests from 2 files
              FAIL [TIME] ./a.stream: json

            error: the body does not match
             --> ./a.stream:3:15
              |
            3 |   expect json { "version": 1 }
              |               ^^^^^^^^^^^^^^^^ at `.version`: expected 1, found 2
              |
              = diff of expected (-) and observed (+) items:
                - { "version": 1 }
                + { "version": 2, "name": "x" }  # [TIME]

              FAIL [TIME] ./b.stream: json

            error: the body does not match
             --> ./b.stream:3:15
              |
            3 |   expect json { "version": 1 }
              |               ^^^^^^^^^^^^^^^^ at `.version`: expected 1, found 2
              |
              = diff of expected (-) and observed (+) items:
                - { "version": 1 }
                + { "version": 2, "name": "x" }  # [TIME]

            Summary 2 tests: 0 passed, 2 failed [TIME]
              FAIL ./a.stream:1: json
              FAIL ./b.stream:1: json
            pending: ./a.stream.new (1 expectation; accept with `streamspec review`)
            pending: ./b.stream.new (1 expectation; accept with `streamspec review`)
            "#,
        )
        .run();
    let dir = output.dir.path();
    let original = std::fs::read_to_string(dir.join("a.stream")).expect("a.stream");
    assert!(
        original.contains("\"version\": 1"),
        "the spec is left alone"
    );
    let pending = std::fs::read_to_string(dir.join("a.stream.new")).expect("a.stream.new");
    assert!(pending.contains(r#"expect json { "version": 2 }"#));

    let review = std::process::Command::new(crate::support::BIN)
        .args(["review"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run review");
    let shown = String::from_utf8_lossy(&review.stdout);
    assert!(
        shown.contains(r#"-  expect json { "version": 1 }"#)
            && shown.contains(r#"+  expect json { "version": 2 }"#)
            && shown.contains("2 updates pending"),
        "{shown}"
    );
    let accept = std::process::Command::new(crate::support::BIN)
        .args(["accept", "a.stream"])
        .current_dir(dir)
        .output()
        .expect("run accept");
    assert_eq!(
        String::from_utf8_lossy(&accept.stdout),
        "accepted: a.stream.new\n"
    );
    let reject = std::process::Command::new(crate::support::BIN)
        .args(["reject"])
        .current_dir(dir)
        .output()
        .expect("run reject");
    assert_eq!(
        String::from_utf8_lossy(&reject.stdout),
        "rejected: ./b.stream.new\n"
    );
    let accepted = std::fs::read_to_string(dir.join("a.stream")).expect("a.stream");
    assert_eq!(accepted, pending);
    assert!(!dir.join("a.stream.new").exists() && !dir.join("b.stream.new").exists());
    let rejected = std::fs::read_to_string(dir.join("b.stream")).expect("b.stream");
    assert!(rejected.contains("\"version\": 1"));
}

#[test]
fn two_tests_updating_one_file_both_land() {
    round_trip(
        r#"
        test "one" {
          GET {{base}}/json
          expect json { "version": 1 }
        }

        test "two" {
          GET {{base}}/text
          expect text "v1"
        }
        "#,
        r#"
        test "one" {
          GET {{base}}/json
          expect json { "version": 2 }
        }

        test "two" {
          GET {{base}}/text
          expect text "ok v2"
        }
        "#,
        ("base", stable()),
    );
}

#[test]
fn under_ci_a_bare_update_writes_nothing_and_timing_bounds_are_never_rewritten() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "json" {
              GET {{base}}/json
              expect json { "version": 1 }
            }
            "#,
        )
        .args(["run", "--update", "a.stream"])
        .var("base", stable())
        .env("CI", "true")
        .run_unchecked();
    assert_eq!(output.status, Some(1));
    assert!(
        output.stdout.ends_with(
            "not updated: 1 expectation (update mode `never`, the default when CI is set; use --update=in-place to write anyway)\n"
        ),
        "{}",
        output.stdout
    );
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "slow" {
              GET {{base}}/slow/ttfb?ttfb=50ms&chunks=1
              expect ttfb < 1ms
            }
            "#,
        )
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(1));
    assert!(
        output.stdout.ends_with("not updated: a.stream:3: timing bounds are budgets, not snapshots: they are never rewritten\n"),
        "{}",
        output.stdout
    );
}

/// What an in-place update prints: the tests it rewrites as `UPDATE` with why, a summary that
/// counts them apart from failures, and the files it wrote; a failure it cannot rewrite stays a
/// `FAIL` and says why.
#[test]
fn the_output_of_an_update_says_what_was_rewritten_and_what_was_not() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "rewritten" {
              GET {{base}}/ndjson
              expect ndjson {
                { "n": 1 }
                { "n": 3 }
              }
            }

            test "not rewritten" {
              GET {{base}}/ndjson
              expect ndjson {
                { "n": 1 }
                { "n": 3 }  within 10s
              }
              expect count == 5
            }
            "#,
        )
        .args(["run", "--update=in-place", "-j", "1", "a.stream"])
        .var("base", stable())
        .stdout(
            r#"
            Running 2 tests from 1 file
            UPDATE [TIME] a.stream: rewritten

            error: item 2 does not match
             --> a.stream:5:5
              |
            5 |     { "n": 3 }
              |     ^^^^^^^^^^ at `.n`: expected 3, found 2
              |
              = diff of expected (-) and observed (+) items:
                  { "n": 1 }  # [TIME]
                - { "n": 3 }
                + { "n": 2 }  # [TIME]
                  … (stopped reading here)

              FAIL [TIME] a.stream: not rewritten

            error: item 2 does not match
              --> a.stream:13:5
               |
            13 |     { "n": 3 }  within 10s
               |     ^^^^^^^^^^^^^^^^^^^^^^ at `.n`: expected 3, found 2
               |
               = diff of expected (-) and observed (+) items:
                   { "n": 1 }  # [TIME]
                 - { "n": 3 }  within 10s
                 + { "n": 2 }  # [TIME]
                   … (stopped reading here)

            error: expected count == 5, got 2
              --> a.stream:15:16
               |
            15 |   expect count == 5
               |                ^^^^ count was 2

            Summary 2 tests: 0 passed, 1 failed, 1 updated [TIME]
              FAIL a.stream:9: not rewritten
            updated: a.stream (2 expectations)
            not updated: a.stream:15: this kind of failure is not a snapshot that --update can rewrite
            "#,
        )
        .status(1)
        .run();
}

/// An update never writes a secret into a spec: the failure is reported (masked) and left.
#[test]
fn a_secret_in_what_was_observed_is_not_written_into_the_spec() {
    let spec = r#"
        test "body" {
          GET {{base}}/text
          expect text "ok v1"
        }
        "#;
    let output = Test::new()
        .spec("a.stream", spec)
        .args(["run", "--update=in-place", "--secret", "VERSION=v2", "a.stream"])
        .var("base", stable())
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: body

            error: the body does not match
             --> a.stream:3:15
              |
            3 |   expect text "ok v1"
              |               ^^^^^^^ expected "ok v1", found "ok ***"
              |
              = diff of expected (-) and observed (+) items:
                - "ok v1"
                + "ok ***"  # [TIME]

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: body
            not updated: a.stream:3: what was observed holds a secret's value, which --update does not write into a spec; update it by hand
            "#,
        )
        .status(1)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, crate::support::unindent(spec));
}

/// A block that does not expect the stream's end is a prefix: the update reads only as many
/// items as it stands for, so an endless stream is no obstacle.
#[test]
fn a_prefix_of_an_endless_stream_stays_a_prefix() {
    round_trip(
        r#"
        test "prefix" {
          timeout 10s
          GET {{base}}/bad/endless?format=ndjson&interval=20ms
          expect ndjson {
            { "n": 1 }
            2 times { { "n": 7 } }
          }
        }
        "#,
        r#"
        test "prefix" {
          timeout 10s
          GET {{base}}/bad/endless?format=ndjson&interval=20ms
          expect ndjson {
            { "n": 1 }
            { "n": 2 }
            { "n": 3 }
          }
        }
        "#,
        ("base", crate::servers::demo()),
    );
}

/// Recording an endless stream stops at half the time left before the test's timeout, without
/// an ending: the next run reads as far and passes well inside the timeout.
#[test]
fn recording_an_endless_stream_stops_well_inside_the_timeout() {
    let spec = r#"
        test "endless" {
          timeout 2s
          GET {{base}}/bad/endless?format=ndjson&interval=100ms
          expect ndjson { }
        }
        "#;
    let recorded = Test::new()
        .spec("a.stream", spec)
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", crate::servers::demo())
        .run_unchecked();
    assert_eq!(recorded.status, Some(0), "{}", recorded.stdout);
    let written = std::fs::read_to_string(recorded.dir.path().join("a.stream")).expect("the spec");
    assert!(written.contains(r#"{ "n": 1 }"#), "{written}");
    assert!(!written.contains("end\n"), "{written}");
    let again = Test::new()
        .spec("a.stream", &written)
        .args(["run", "a.stream"])
        .var("base", crate::servers::demo())
        .run_unchecked();
    assert_eq!(again.status, Some(0), "{}", again.stdout);
}
