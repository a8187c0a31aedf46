//! `expect ids increasing|contiguous` on composite ids such as `1796411252:7`: runs of digits
//! compared as numbers and the rest as text; contiguous ids differ only in their last number,
//! by one.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

use crate::servers;
use crate::support::{Test, all_passed, fails};

/// SSE streams with the ids given in the path's stream, all at once:
/// - `/epochs`: `1796411252:9`, `1796411252:10`, then `1796411253:0` (a new epoch);
/// - `/beyond-u64`: whole numbers past 2^64, counting up by one.
fn ids_server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let events = |ids: &'static [&'static str]| {
            move || async move {
                let body: String = ids
                    .iter()
                    .map(|id| format!("id: {id}\ndata: x\n\n"))
                    .collect();
                ([(CONTENT_TYPE, "text/event-stream")], body)
            }
        };
        servers::serve(
            Router::new()
                .route(
                    "/epochs",
                    get(events(&["1796411252:9", "1796411252:10", "1796411253:0"])),
                )
                .route(
                    "/beyond-u64",
                    get(events(&["18446744073709551615", "18446744073709551616"])),
                ),
        )
    })
}

#[test]
fn composite_ids_resumed_in_order_pass() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "composite ids across a reconnection" {
              GET {{base}}/sse/ticker?count=12&interval=0ms&id_prefix=1796411252:
              expect sse {
                id: "1796411252:1"
                8 times { data: _ }
                disconnect
                reconnect                 # Last-Event-ID: 1796411252:9
                id: "1796411252:10"
                * times { data: _ }
                end
              }
              expect ids increasing
              expect ids contiguous
            }

            test "numbers past 2^64" {
              GET {{ids}}/beyond-u64
              expect sse { 2 times { data: _ }; end }
              expect ids contiguous
            }
            "#,
        )
        .args(["run", "-j", "1", "a.stream"])
        .var("base", servers::demo())
        .var("ids", ids_server())
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "composite ids across a reconnection"),
                ("a.stream", "numbers past 2^64"),
            ],
        ))
        .run();
}

#[test]
fn a_gap_or_a_repeat_in_composite_ids_names_the_ids() {
    fails(
        servers::demo(),
        r#"
        test "a gap" {
          GET {{base}}/sse/ticker?count=5&interval=0ms&id_prefix=1796411252:&skip=1
          expect sse { 2 times { data: _ }; disconnect; reconnect; * times { data: _ }; end }
          expect ids contiguous
        }

        test "a repeat" {
          GET {{base}}/sse/ticker?count=5&interval=0ms&id_prefix=1796411252:&repeat=1
          expect sse { 2 times { data: _ }; disconnect; reconnect; * times { data: _ }; end }
          expect ids increasing
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: a gap

        error: ids jump from 1796411252:2 to 1796411252:4: id 1796411252:3 is missing
         --> a.stream:4:10
          |
        4 |   expect ids contiguous
          |          ^^^^^^^^^^^^^^ ids must go up one at a time
          |
          = diff of expected (-) and observed (+) items:
              id: "1796411252:2"  # [TIME]
            - id: "1796411252:3"
            + id: "1796411252:4"  # [TIME]

          FAIL [TIME] a.stream: a repeat

        error: id 1796411252:2 arrived twice
          --> a.stream:10:10
           |
        10 |   expect ids increasing
           |          ^^^^^^^^^^^^^^ ids must go up
           |
           = diff of expected (-) and observed (+) items:
               id: "1796411252:2"  # [TIME]
             + id: "1796411252:2"  # [TIME]

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: a gap
          FAIL a.stream:7: a repeat
        "#,
    );
}

#[test]
fn ids_that_change_more_than_their_last_number_increase_but_are_not_contiguous() {
    fails(
        ids_server(),
        r#"
        test "a new epoch" {
          GET {{base}}/epochs
          expect sse { 3 times { data: _ }; end }
          expect ids increasing
          expect ids contiguous
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a new epoch

        error: id 1796411253:0 does not follow id 1796411252:10
         --> a.stream:5:10
          |
        5 |   expect ids contiguous
          |          ^^^^^^^^^^^^^^ ids must go up one at a time
          |
          = note: `ids contiguous` needs each id to differ from the one before only in its last number, by one; `ids increasing` only needs each id above the one before
          = diff of expected (-) and observed (+) items:
              id: "1796411252:10"  # [TIME]
            + id: "1796411253:0"  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a new epoch
        "#,
    );
}
