//! Stream control: `reconnect` (after `end`, `dropped`, `disconnect`, or a close the block
//! waits for), `disconnect`, `abort` (at once, after N items, after a time), header captures and
//! captures across steps, the aggregates about reconnections and ids, `expect test …`, and what
//! `run --verbose` shows of it all.
//!
//! What a reconnection sends is checked on the server side: the canned `/echo/sse` puts the
//! `Last-Event-ID`, `X-Token` and query string it received into its events' data, and the demo's
//! `/sse/resume`, `/sse/ticker` and `/sse/retry` resume from the `Last-Event-ID` they get.
//!
//! The demo remembers `client=` names across requests (`/sse/retry`, `/bad/fragile/`), and one
//! demo serves the whole test binary: each test uses names of its own.
//!
//! Times are never asserted exactly: bounds are generous and measured times are redacted.

use crate::servers;
use crate::support::Test;

/// The report of a run of `a.stream` whose tests all passed.
fn all_passed(names: &[&str]) -> String {
    let plural = |n: usize| if n == 1 { "test" } else { "tests" };
    let mut out = format!(
        "Running {} {} from 1 file\n",
        names.len(),
        plural(names.len())
    );
    for name in names {
        out.push_str(&format!("  PASS [TIME] a.stream: {name}\n"));
    }
    out.push_str(&format!(
        "Summary {} {}: {} passed, 0 failed [TIME]\n",
        names.len(),
        plural(names.len()),
        names.len()
    ));
    out
}

/// Runs `a.stream` against `base` and expects these tests to pass.
fn passes(base: &str, spec: &str, names: &[&str]) {
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(names))
        .run();
}

/// The times `run --verbose` measures, which the default redactions leave alone: the figures
/// after `ttfb`, `first item`, `duration` and the gap statistics, and the waits before
/// reconnecting.
fn redact_verbose(test: Test) -> Test {
    test.redact(
        r"\b(ttfb|first item|duration|min|mean|p50|p95|p99|max) \d+(?:\.\d+)?m?s\b",
        "$1 [TIME]",
    )
    .redact(r"(reconnecting: |, )\d+(?:\.\d+)?m?s\b", "$1[TIME]")
}

// ─── Reconnections that pass ───────────────────────────────────────────────────────────────────

#[test]
fn reconnect_after_a_dropped_connection_sends_the_last_event_id() {
    passes(
        servers::canned(),
        r#"
        test "the server sees Last-Event-ID: 2" {
          GET {{base}}/echo/sse?events=2&close=drop
          expect sse {
            id: "1"  data: json { "n": 1, "last_event_id": null }
            id: "2"  data: json { "n": 2, "last_event_id": null }
            dropped
            reconnect
            id: "3"  data: json { "n": 3, "last_event_id": "2", "query": "events=2&close=drop" }
            id: "4"  data: json { "n": 4, "last_event_id": "2" }
            dropped
          }
          expect connections == 2
          expect count == 4
        }
        "#,
        &["the server sees Last-Event-ID: 2"],
    );
}

#[test]
fn demo_resume_continues_after_the_last_event_id() {
    passes(
        servers::demo(),
        r#"
        test "ids 1 to 3, a drop, then 4 to 6" {
          GET {{base}}/sse/resume?drop_after=3&last=6
          expect sse {
            id: "1"  data: json { "n": 1 }
            id: "2"
            id: "3"
            dropped
            reconnect
            id: "4"  data: json { "n": 4 }
            id: "5"
            id: "6"
            end
          }
          expect connections == 2
          expect ids increasing
          expect ids contiguous
          expect count == 6
        }
        "#,
        &["ids 1 to 3, a drop, then 4 to 6"],
    );
}

#[test]
fn reconnect_after_end_waits_the_retry_time() {
    // The server measures the time between the connections of `client` itself: at least the
    // `retry` time, whatever the machine's load. A third connection is answered 204, which
    // ends the stream cleanly.
    passes(
        servers::demo(),
        r#"
        test "retry: 100, twice, then 204" {
          GET {{base}}/sse/retry?retry=100&count=2&client=stream-control-retry
          expect sse {
            retry: 100  id: "1"  data: json { "n": 1, "since_previous_ms": null }
            end
            reconnect
            retry: 100  id: "2"  data: json { "n": 2, "since_previous_ms": >= 100 }
            end
            reconnect
            end
          }
          expect connections == 3
          expect retry == 100
          expect reconnect delay in 100ms..20s
          expect count == 2
        }
        "#,
        &["retry: 100, twice, then 204"],
    );
}

#[test]
fn reconnect_waits_for_the_server_to_close() {
    passes(
        servers::demo(),
        r#"
        test "no dropped before reconnect" {
          GET {{base}}/sse/resume?drop_after=3&last=6
          expect sse {
            3 times { data: _ }
            reconnect
            id: "4"; id: "5"; id: "6"
            end
          }
          expect connections == 2
        }

        test "no end before reconnect" {
          GET {{base}}/sse/ticker?count=2&interval=0ms
          expect sse {
            id: "1"; id: "2"
            reconnect
            end
          }
          expect connections == 2
          expect count == 2
        }
        "#,
        &["no dropped before reconnect", "no end before reconnect"],
    );
}

#[test]
fn disconnect_and_reconnect_several_times() {
    // Each connection of `/echo/sse?events=2` sends two events numbered on from the
    // `Last-Event-ID` it got: the block reads one or two of them, then hangs up.
    passes(
        servers::canned(),
        r#"
        test "four connections" {
          GET {{base}}/echo/sse?events=2
          expect sse {
            id: "1"  data: json { "last_event_id": null }
            id: "2"  data: json { "last_event_id": null }
            disconnect
            reconnect
            id: "3"  data: json { "last_event_id": "2" }
            disconnect
            reconnect
            id: "4"  data: json { "last_event_id": "3" }
            disconnect
            wait 10ms
            reconnect
            id: "5"  data: json { "last_event_id": "4" }
            id: "6"  data: json { "last_event_id": "4" }
            end
          }
          expect connections == 4
          expect count == 6
          expect ids contiguous
        }
        "#,
        &["four connections"],
    );
}

#[test]
fn disconnect_and_reconnect_the_demo_ticker() {
    passes(
        servers::demo(),
        r#"
        test "the ticker resumes each time" {
          GET {{base}}/sse/ticker?count=5&interval=0ms
          expect sse {
            id: "1"; id: "2"
            disconnect
            reconnect
            id: "3"  data: json { "count": 3 }
            disconnect
            reconnect
            id: "4"; id: "5"
            end
          }
          expect connections == 3
          expect ids contiguous
        }
        "#,
        &["the ticker resumes each time"],
    );
}

#[test]
fn reconnect_with_header_and_query() {
    passes(
        servers::canned(),
        r#"
        test "what each reconnection sends" {
          GET {{base}}/echo/sse?events=1
          header x-token: first
          expect sse {
            id: "1"  data: json exact { "n": 1, "last_event_id": null, "token": "first", "query": "events=1" }
            end
            reconnect with header x-token: second with query from=a
            id: "2"  data: json exact { "n": 2, "last_event_id": "1", "token": "second", "query": "events=1&from=a" }
            end
            reconnect with header last-event-id: 7 with query events=2
            id: "8"  data: json exact { "n": 8, "last_event_id": "7", "token": "first", "query": "events=2" }
            id: "9"
            end
            reconnect with query q="two words" with header x-token: "a b"
            id: "10"  data: json exact { "n": 10, "last_event_id": "9", "token": "a b", "query": "events=1&q=two+words" }
            end
          }
          expect connections == 4
        }
        "#,
        &["what each reconnection sends"],
    );
}

#[test]
fn an_empty_last_event_id_sends_no_header() {
    passes(
        servers::canned(),
        r#"
        test "start afresh" {
          GET {{base}}/echo/sse?events=2
          expect sse {
            id: "1"; id: "2"
            end
            reconnect with header last-event-id: ""
            id: "1"  data: json { "last_event_id": null }
            id: "2"
            end
          }
          expect connections == 2
        }

        test "a header the request set is dropped too" {
          GET {{base}}/echo/sse?events=1
          header last-event-id: 4
          expect sse {
            id: "5"  data: json { "last_event_id": "4" }
            disconnect
            reconnect with header last-event-id: ""
            id: "1"  data: json { "last_event_id": null }
            end
          }
        }
        "#,
        &["start afresh", "a header the request set is dropped too"],
    );
}

// ─── Abort ─────────────────────────────────────────────────────────────────────────────────────

#[test]
fn abort_then_a_new_request() {
    passes(
        servers::demo(),
        r#"
        test "abort in the block" {
          POST {{base}}/v1/chat/completions?interval=1ms
          body json { "stream": true }
          expect sse {
            3 times { data: json { "choices": [{ "delta": { "content": string } }] } }
            abort
          }
          expect count == 3
          GET {{base}}/health
          expect text "ok"
        }

        test "abort after 3 items" {
          GET {{base}}/bad/endless?format=sse&interval=10ms
          expect sse {
            abort after 3 items
            * times { data: json { "n": integer } }
          }
          expect count == 3
          expect ids contiguous
          GET {{base}}/health
          expect status 200
        }

        test "abort after 200ms" {
          GET {{base}}/bad/stall?after=2
          expect sse {
            abort after 200ms
            * times { data: _ }
          }
          expect count == 2
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect sse { id: "1"; end }
        }

        test "abort as a step" {
          GET {{base}}/bad/endless?format=ndjson&interval=10ms
          expect status 200
          abort
          GET {{base}}/health
          expect text "ok"
        }
        "#,
        &[
            "abort in the block",
            "abort after 3 items",
            "abort after 200ms",
            "abort as a step",
        ],
    );
}

// ─── Captures ──────────────────────────────────────────────────────────────────────────────────

#[test]
fn a_header_capture_in_the_next_url() {
    passes(
        servers::canned(),
        r#"
        test "follow the session header" {
          GET {{base}}/session
          expect header x-session ~ /^s(\d+)$/ -> session
          expect header x-session exists -> whole
          GET {{base}}/echo/sse?session={{session}}&whole={{whole}}
          expect sse {
            data: json { "query": "session=42&whole=s42" }
            end
          }
        }
        "#,
        &["follow the session header"],
    );
}

#[test]
fn a_capture_used_later_in_the_same_block() {
    passes(
        servers::canned(),
        r#"
        test "resume from a captured id" {
          GET {{base}}/echo/sse?events=3
          expect sse {
            id: "1"
            id: /^\d+$/ -> mark
            id: "3"
            end
            reconnect with header last-event-id: {{mark}} with query mark={{mark}}
            id: "3"  data: json { "last_event_id": "{{mark}}", "query": "events=3&mark=2" }
            data: json { "n": 4, "last_event_id": {{mark}} }
            id: "5"
            end
          }
        }
        "#,
        &["resume from a captured id"],
    );
}

#[test]
fn capture_lists_across_reconnections() {
    passes(
        servers::demo(),
        r#"
        test "every id of both connections" {
          GET {{base}}/sse/resume?drop_after=3&last=6
          expect sse {
            + times { id: _ -> seen }
            dropped
            reconnect
            + times { id: _ -> seen  data: json { "n": integer -> ns } }
            end
          }
          expect seen joined == "123456"
          expect seen count == 6
          expect seen first == "1"
          expect seen last == "6"
          expect ns joined == "456"
          expect ns count in 3..3
          expect ns first == 4
          expect ns last > 5
        }
        "#,
        &["every id of both connections"],
    );
}

// ─── Aggregates ────────────────────────────────────────────────────────────────────────────────

#[test]
fn aggregates_about_streams_and_whole_tests() {
    passes(
        servers::demo(),
        r#"
        test "two streams" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse { 3 times { data: _ }; end }
          expect first item < 20s
          expect first item in 0ms..20s
          expect ids increasing
          expect ids contiguous
          expect connections == 1
          expect connections in 1..1
          GET {{base}}/sse/resume?drop_after=3&last=6
          expect sse { 3 times { data: _ }; dropped; reconnect; 3 times { data: _ }; end }
          expect count == 6
          expect connections == 2
          expect connections > 1
          expect reconnect delay < 20s
          expect test count == 9
          expect test count in 9..
          expect test bytes > 0
          expect test duration < 20s
          expect test first item < 20s
          expect test ttfb < 20s
          expect test gaps max < 20s
        }
        "#,
        &["two streams"],
    );
}

// ─── run --verbose ─────────────────────────────────────────────────────────────────────────────

#[test]
fn verbose_shows_reconnections_and_aborts() {
    redact_verbose(Test::new())
        .spec(
            "a.stream",
            r#"
            test "resume" {
              GET {{base}}/sse/resume?drop_after=3&last=6
              expect sse { 3 times { data: _ }; dropped; reconnect; 3 times { data: _ }; end }
            }

            test "two reconnections" {
              GET {{base}}/sse/ticker?count=3&interval=0ms
              expect sse {
                id: "1"
                disconnect
                reconnect
                id: "2"
                disconnect
                reconnect
                id: "3"
                end
              }
            }

            test "abort after 3 items" {
              GET {{base}}/bad/endless?format=sse&interval=10ms
              expect sse {
                abort after 3 items
                * times { data: _ }
              }
            }

            test "abort after 200ms" {
              GET {{base}}/bad/stall?after=2
              expect sse {
                abort after 200ms
                * times { data: _ }
              }
            }
            "#,
        )
        .args(["run", "-v", "a.stream"])
        .var("base", servers::demo())
        .stdout(
            r#"
            Running 4 tests from 1 file
              PASS [TIME] a.stream: resume
                     sse on line 3: 6 items, 126 bytes, 2 connections
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                       waited before reconnecting: [TIME]
              PASS [TIME] a.stream: two reconnections
                     sse on line 8: 3 items, 198 bytes, 3 connections
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       waited before reconnecting: [TIME], [TIME]
              PASS [TIME] a.stream: abort after 3 items
                     sse on line 22: 3 items, 63 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                       aborted after 3 items; the last received:
                         id: "1"  data: json { "n": 1 }  # [TIME]
                         id: "2"  data: json { "n": 2 }  # [TIME]
                         id: "3"  data: json { "n": 3 }  # [TIME]
              PASS [TIME] a.stream: abort after 200ms
                     sse on line 30: 2 items, 42 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                       aborted after 2 items; the last received:
                         id: "1"  data: json { "n": 1 }  # [TIME]
                         id: "2"  data: json { "n": 2 }  # [TIME]
            Summary 4 tests: 4 passed, 0 failed [TIME]
            "#,
        )
        .run();
}

#[test]
fn verbose_shows_the_stream_of_a_failing_test() {
    redact_verbose(Test::new())
        .spec(
            "a.stream",
            r#"
            test "a duplicate on resume" {
              GET {{base}}/sse/resume?drop_after=3&last=6&repeat=1
              expect sse { 3 times { data: _ }; dropped; reconnect; * times { data: _ }; end }
              expect ids contiguous
            }
            "#,
        )
        .args(["run", "--verbose", "a.stream"])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 1 test from 1 file
              FAIL [TIME] a.stream: a duplicate on resume
                     sse on line 3: 7 items, 147 bytes, 2 connections
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                       waited before reconnecting: [TIME]

            error: id 3 arrived twice
             --> a.stream:4:10
              |
            4 |   expect ids contiguous
              |          ^^^^^^^^^^^^^^ ids must go up
              |
              = diff of expected (-) and observed (+) items:
                  id: "3"  # [TIME]
                + id: "3"  # [TIME]

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: a duplicate on resume
            "#,
        )
        .run();
}
