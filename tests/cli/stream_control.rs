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
use crate::support::{Test, all_passed, check_fails, fails, redact_verbose};

/// Runs `a.stream` against `base` and expects these tests to pass.
fn passes(base: &str, spec: &str, names: &[&str]) {
    let tests: Vec<(&str, &str)> = names.iter().map(|name| ("a.stream", *name)).collect();
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(&all_passed(1, &tests))
        .run();
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
fn reconnect_sends_the_same_request_again() {
    // Without its body the chat would answer with one JSON object, not a stream; without the
    // header, in the OpenAI format.
    passes(
        servers::demo(),
        r#"
        test "a chat, twice" {
          POST {{base}}/v1/chat/completions?interval=0ms
          header x-stream-format: simple
          body json { "stream": true }
          expect sse {
            data: json exact { "content": "Hello" }
            disconnect
            reconnect
            data: json exact { "content": "Hello" }
            ...
            data: "[DONE]"
            end
          }
          expect connections == 2
        }
        "#,
        &["a chat, twice"],
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

#[test]
fn an_id_reset_by_the_server_sends_no_header() {
    // A bare `id` line sets the last event id to "": an EventSource then reconnects without
    // `Last-Event-ID`.
    passes(
        servers::canned(),
        r#"
        test "a bare id" {
          GET {{base}}/echo/sse?events=2&reset=1
          expect sse {
            id: "1"; id: "2"
            id: ""  data: "reset"
            end
            reconnect
            id: "1"  data: json { "last_event_id": null }
            id: "2"
            id: ""
            end
          }
          expect connections == 2
        }
        "#,
        &["a bare id"],
    );
}

#[test]
fn a_last_event_id_beyond_ascii() {
    passes(
        servers::canned(),
        r#"
        test "the id é1" {
          GET {{base}}/echo/sse?events=1&prefix=%C3%A9
          expect sse {
            id: "é1"  data: json { "last_event_id": null }
            end
            reconnect
            id: "é2"  data: json { "last_event_id": "é1" }
            end
          }
        }
        "#,
        &["the id é1"],
    );
}

#[test]
fn reconnect_in_a_repetition_and_on_other_stream_kinds() {
    passes(
        servers::demo(),
        r#"
        test "disconnect and reconnect after every event" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse {
            3 times { data: _; disconnect; reconnect }
            end
          }
          expect connections == 4
          expect ids contiguous
        }

        test "an NDJSON stream twice" {
          GET {{base}}/ndjson/events?interval=0ms
          expect ndjson {
            { "event": "start" }
            2 times { { "event": "data" } }
            { "event": "end" }
            end
            reconnect
            { "event": "start" }
            ...
            end
          }
          expect connections == 2
          expect count == 8
        }
        "#,
        &[
            "disconnect and reconnect after every event",
            "an NDJSON stream twice",
        ],
    );
}

#[test]
fn timing_after_a_reconnection() {
    // The server sets `retry: 500`, so the client waits that long before it reconnects. Bounds
    // far below 500 ms show that the wait is not taken for a gap between items, nor for the time
    // to the first item of the new connection; a `wait` before `reconnect` is part of the
    // reconnection delay.
    passes(
        servers::demo(),
        r#"
        test "gaps leave the reconnection out" {
          GET {{base}}/sse/resume?drop_after=3&last=6&retry=500
          expect sse { 3 times { data: _ }; dropped; reconnect; 3 times { data: _ }; end }
          expect gaps max < 450ms
          expect reconnect delay in 500ms..20s
          expect duration in 500ms..20s
        }

        test "within counts from the reconnection" {
          GET {{base}}/sse/retry?retry=500&count=2&client=stream-control-within
          expect sse {
            data: json { "n": 1 }
            end
            reconnect
            data: json { "n": 2, "since_previous_ms": >= 500 }  within 450ms
            end
          }
        }

        test "a wait before reconnect" {
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect sse {
            id: "1"
            end
            wait 100ms
            reconnect
            end
          }
          expect reconnect delay in 100ms..20s
        }
        "#,
        &[
            "gaps leave the reconnection out",
            "within counts from the reconnection",
            "a wait before reconnect",
        ],
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
            data: json { "query": "session=42&whole=s42", "token": null }
            end
            reconnect with header x-token: {{whole}}
            data: json { "query": "session=42&whole=s42", "token": "s42" }
            end
          }
        }
        "#,
        &["follow the session header"],
    );
}

#[test]
fn a_regex_capture_takes_its_group_or_else_the_whole_value() {
    passes(
        servers::demo(),
        r#"
        test "the group, or the whole value" {
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect header content-type ~ /^text\// -> whole
          expect header content-type ~ /^text\/([a-z-]+)/ -> subtype
          expect header content-type ~ /^text\/(x-)?/ -> optional
          expect sse {
            data: /count/ -> data
            end
          }
          expect whole first == "text/event-stream"
          expect subtype first == "event-stream"
          expect optional first == "text/event-stream"
          expect data first ~ /^\{"count":1,"timestamp":\d+\}$/
        }
        "#,
        &["the group, or the whole value"],
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

// ─── Failing twins ─────────────────────────────────────────────────────────────────────────────

#[test]
fn a_duplicate_on_resume_caught_by_the_items() {
    fails(
        servers::demo(),
        r#"
        test "ids 4 to 6 after the drop" {
          GET {{base}}/sse/resume?drop_after=3&last=6&repeat=1
          expect sse {
            id: "1"; id: "2"; id: "3"
            dropped
            reconnect
            id: "4"; id: "5"; id: "6"
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: ids 4 to 6 after the drop

        error: item 4 does not match
         --> a.stream:7:5
          |
        7 |     id: "4"; id: "5"; id: "6"
          |     ^^^^^^^ at `id`: expected "4", found "3"
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1 }  # [TIME]
              id: "2"  data: json { "n": 2 }  # [TIME]
              id: "3"  data: json { "n": 3 }  # [TIME]
              dropped  # closed mid-body (unexpected EOF during chunk size line)
              reconnect  # waited [TIME]
            - id: "4"
            + id: "3"  data: json { "n": 3 }  # [TIME]
            + id: "4"  data: json { "n": 4 }  # [TIME]
              id: "5"  data: json { "n": 5 }  # [TIME]
              id: "6"  data: json { "n": 6 }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: ids 4 to 6 after the drop
        "#,
    );
}

#[test]
fn a_duplicate_on_resume_caught_by_the_ids() {
    fails(
        servers::demo(),
        r#"
        test "contiguous" {
          GET {{base}}/sse/resume?drop_after=3&last=6&repeat=1
          expect sse { 3 times { data: _ }; dropped; reconnect; * times { data: _ }; end }
          expect count == 7
          expect ids contiguous
        }

        test "increasing" {
          GET {{base}}/sse/ticker?count=4&interval=0ms&repeat=1
          expect sse { 2 times { data: _ }; disconnect; reconnect; * times { data: _ }; end }
          expect ids increasing
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: contiguous

        error: id 3 arrived twice
         --> a.stream:5:10
          |
        5 |   expect ids contiguous
          |          ^^^^^^^^^^^^^^ ids must go up
          |
          = diff of expected (-) and observed (+) items:
              id: "3"  # [TIME]
            + id: "3"  # [TIME]

          FAIL [TIME] a.stream: increasing

        error: id 2 arrived twice
          --> a.stream:11:10
           |
        11 |   expect ids increasing
           |          ^^^^^^^^^^^^^^ ids must go up
           |
           = diff of expected (-) and observed (+) items:
               id: "2"  # [TIME]
             + id: "2"  # [TIME]

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: contiguous
          FAIL a.stream:8: increasing
        "#,
    );
}

#[test]
fn a_gap_on_resume_caught_by_the_ids() {
    fails(
        servers::demo(),
        r#"
        test "one event left out" {
          GET {{base}}/sse/resume?drop_after=3&last=6&skip=1
          expect sse { 3 times { data: _ }; dropped; reconnect; * times { data: _ }; end }
          expect count == 5
          expect ids increasing
          expect ids contiguous
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: one event left out

        error: ids jump from 3 to 5: id 4 is missing
         --> a.stream:6:10
          |
        6 |   expect ids contiguous
          |          ^^^^^^^^^^^^^^ ids must go up one at a time
          |
          = diff of expected (-) and observed (+) items:
              id: "3"  # [TIME]
            - id: "4"
            + id: "5"  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: one event left out
        "#,
    );
}

#[test]
fn an_abort_that_breaks_the_server() {
    // The demo notices an abort on the aborted connection's own task, in a race with the next
    // request; `{{sync}}/sync/fragile-broken` answers once it has (see `servers`), so the health
    // check comes after, every time.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "abort in the block" {
              POST {{base}}/bad/fragile/v1/chat/completions?client=stream-control-abort&interval=1ms
              body json { "stream": true }
              expect sse {
                2 times { data: json { "choices": [{ "delta": { "content": string } }] } }
                abort
              }
              GET {{sync}}/sync/fragile-broken?client=stream-control-abort
              expect status 200
              GET {{base}}/bad/fragile/health?client=stream-control-abort
              expect status 200
              expect text "ok"
            }

            test "abort after 3 items" {
              POST {{base}}/bad/fragile/v1/chat/completions?client=stream-control-abort-after&interval=1ms
              body json { "stream": true }
              expect sse {
                abort after 3 items
                * times { data: _ }
              }
              GET {{sync}}/sync/fragile-broken?client=stream-control-abort-after
              expect status 200
              GET {{base}}/bad/fragile/health?client=stream-control-abort-after
              expect status 2xx
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .var("sync", servers::canned())
        .status(1)
        .stdout(
            r#"
            Running 2 tests from 1 file
              FAIL [TIME] a.stream: abort in the block

            error: expected status 200, got 503 Service Unavailable
              --> a.stream:11:17
               |
            11 |   expect status 200
               |                 ^^^ the server answered 503
               |
               = note: the body began: broken: a client aborted a stream

              FAIL [TIME] a.stream: abort after 3 items

            error: expected status 2xx, got 503 Service Unavailable
              --> a.stream:25:17
               |
            25 |   expect status 2xx
               |                 ^^^ the server answered 503
               |
               = note: the body began: broken: a client aborted a stream

            Summary 2 tests: 0 passed, 2 failed [TIME]
              FAIL a.stream:1: abort in the block
              FAIL a.stream:15: abort after 3 items
            "#,
        )
        .run();
}

#[test]
fn too_slow_for_the_timing_bounds() {
    // The ticker sends its second event 300 ms after the first, far beyond the bounds; it is
    // the last, so the stream ends right after it and the diff is whole.
    fails(
        servers::demo(),
        r#"
        test "gaps" {
          GET {{base}}/sse/ticker?count=2&interval=300ms
          expect sse { 2 times { data: _ }; end }
          expect gaps max < 50ms
        }

        test "within" {
          GET {{base}}/sse/ticker?count=2&interval=300ms
          expect sse {
            id: "1"
            id: "2"  within 50ms
            end
          }
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: gaps

        error: expected gap max < 50ms, measured [TIME]
         --> a.stream:4:19
          |
        4 |   expect gaps max < 50ms
          |                   ^^^^^^ gap max was [TIME]

          FAIL [TIME] a.stream: within

        error: timing bound `within 50ms` broken
          --> a.stream:11:21
           |
        11 |     id: "2"  within 50ms
           |                     ^^^^ no item arrived in [TIME]
           |
           = diff of expected (-) and observed (+) items:
               id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
             - id: "2"  within 50ms
             + id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
               end

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: gaps
          FAIL a.stream:7: within
        "#,
    );
}

#[test]
fn a_header_capture_that_did_not_match() {
    fails(
        servers::canned(),
        r#"
        test "no session header" {
          GET {{base}}/headers
          expect header x-session ~ /^s(\d+)$/ -> session
          GET {{base}}/echo/sse?session={{session}}
          expect sse { data: _; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: no session header

        error: header `x-session` does not match
         --> a.stream:3:3
          |
        3 |   expect header x-session ~ /^s(\d+)$/ -> session
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected ~ /^s(\d+)$/, found no such header

        error: variable `session` is not set
         --> a.stream:4:33
          |
        4 |   GET {{base}}/echo/sse?session={{session}}
          |                                 ^^^^^^^^^^^ used here

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: no session header
        "#,
    );
}

// ─── Streams that do not do what a reconnection needs ──────────────────────────────────────────

#[test]
fn reconnect_when_the_server_never_closes() {
    fails(
        servers::demo(),
        r#"
        test "a stalled stream" {
          timeout 500ms
          GET {{base}}/bad/stall?after=2
          expect sse {
            2 times { data: _ }
            reconnect
            data: _
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: a stalled stream

        error: the test timed out after 500ms waiting for the connection to close before `reconnect`
         --> a.stream:6:5
          |
        6 |     reconnect
          |     ^^^^^^^^^ the server never closed the stream
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1 }  # [TIME]
              id: "2"  data: json { "n": 2 }  # [TIME]
            - data: _

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: a stalled stream
        "#,
    );
}

#[test]
fn a_reconnection_answered_204_while_items_are_expected() {
    fails(
        servers::demo(),
        r#"
        test "one more event" {
          GET {{base}}/sse/retry?retry=10&count=1&client=stream-control-204
          expect sse {
            data: json { "n": 1 }
            end
            reconnect
            data: json { "n": 2 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: one more event

        error: the stream ended after 1 item: the reconnection was refused (204 No Content)
         --> a.stream:7:5
          |
        7 |     data: json { "n": 2 }
          |     ^^^^^^^^^^^^^^^^^^^^^ still expected `data: json { "n": 2 }`
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1, "since_previous_ms": null }  retry: 10  # [TIME]
              end
            - data: json { "n": 2 }
              end  # the reconnection was refused: 204 No Content

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: one more event
        "#,
    );
}

#[test]
fn a_reconnection_answered_503() {
    fails(
        servers::canned(),
        r#"
        test "items after the reconnection" {
          GET {{base}}/sse/then-503?key=stream-control-503-a
          expect sse {
            data: "first"
            end
            reconnect
            data: "second"
          }
        }

        test "no retry after 503" {
          GET {{base}}/sse/then-503?key=stream-control-503-b
          expect sse {
            data: "first"
            end
            reconnect
            end
          }
        }
        "#,
        r#"
        Running 2 tests from 1 file
         ERROR [TIME] a.stream: items after the reconnection

        error: the connection was dropped after 1 item: the reconnection to http://127.0.0.1:PORT/sse/then-503?key=stream-control-503-a was answered 503 Service Unavailable (down for maintenance); an EventSource does not reconnect after that
         --> a.stream:7:5
          |
        7 |     data: "second"
          |     ^^^^^^^^^^^^^^ still expected `data: "second"`
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: "first"  # [TIME]
              end
            - data: "second"
            + dropped  # the reconnection to http://127.0.0.1:PORT/sse/then-503?key=stream-control-503-a was answered 503 Service Unavailable (down for maintenance); an EventSource does not reconnect after that

          FAIL [TIME] a.stream: no retry after 503

        error: expected a clean end, but the connection was dropped: the reconnection to http://127.0.0.1:PORT/sse/then-503?key=stream-control-503-b was answered 503 Service Unavailable (down for maintenance); an EventSource does not reconnect after that
          --> a.stream:17:5
           |
        17 |     end
           |     ^^^ expected a clean end
           |
           = diff of expected (-) and observed (+) items:
               id: "1"  data: "first"  # [TIME]
               end
             - end
             + dropped  # the reconnection to http://127.0.0.1:PORT/sse/then-503?key=stream-control-503-b was answered 503 Service Unavailable (down for maintenance); an EventSource does not reconnect after that

        Summary 2 tests: 0 passed, 1 failed, 1 error [TIME]
         ERROR a.stream:1: items after the reconnection
          FAIL a.stream:11: no retry after 503
        "#,
    );
}

#[test]
fn a_reconnection_answered_503_is_not_retried() {
    passes(
        servers::canned(),
        r#"
        test "the block ends with dropped" {
          GET {{base}}/sse/then-503?key=stream-control-503-c
          expect sse {
            id: "1"  data: "first"
            end
            reconnect
            dropped
          }
          expect connections == 2
          GET {{base}}/requests?key=stream-control-503-c
          expect json { "count": 2 }
        }
        "#,
        &["the block ends with dropped"],
    );
}

#[test]
fn a_reconnection_answered_with_another_content_type() {
    fails(
        servers::canned(),
        r#"
        test "JSON on reconnection" {
          GET {{base}}/sse/then-json
          expect sse {
            data: "first"
            end
            reconnect
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: JSON on reconnection

        error: the reconnection was answered with content type `application/json`, not `text/event-stream`
         --> a.stream:6:5
          |
        6 |     reconnect
          |     ^^^^^^^^^ reconnecting here
          |
          = help: if this content type is what the server should send, check it with `expect header content-type …`: the block then reads the body whatever its type
          = diff of expected (-) and observed (+) items:
              id: "1"  data: "first"  # [TIME]
              end
            - end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: JSON on reconnection
        "#,
    );
}

#[test]
fn a_reconnection_that_gets_no_answer() {
    fails(
        &servers::sse_once_then(servers::Afterwards::HangUp),
        r#"
        test "the server hangs up" {
          GET {{base}}/
          expect sse {
            data: "first"
            end
            reconnect
            data: _
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: the server hangs up

        error: the connection was dropped after 1 item: the reconnection failed: the request to 127.0.0.1:PORT failed: connection closed before message completed
         --> a.stream:7:5
          |
        7 |     data: _
          |     ^^^^^^^ still expected `data: _`
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: "first"  # [TIME]
              end
            - data: _
            + dropped  # the reconnection failed: the request to 127.0.0.1:PORT failed: connection closed before message completed

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: the server hangs up
        "#,
    );
    fails(
        &servers::sse_once_then(servers::Afterwards::Silent),
        r#"
        test "the server is silent" {
          timeout 500ms
          GET {{base}}/
          expect sse {
            data: "first"
            end
            reconnect
            data: _
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: the server is silent

        error: no response to the reconnection within 500ms (the test's timeout)
         --> a.stream:7:5
          |
        7 |     reconnect
          |     ^^^^^^^^^ reconnecting here
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: "first"  # [TIME]
              end
            - data: _

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: the server is silent
        "#,
    );
}

// ─── Check errors ──────────────────────────────────────────────────────────────────────────────

#[test]
fn stream_control_outside_a_block_is_a_check_error() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          disconnect
          abort after 3 items
          pace 10ms
          reconnect with header last-event-id: 3
        }
        "#,
        "
        error: `disconnect` goes inside an `expect` block
         --> a.stream:3:3
          |
        3 |   disconnect
          |   ^^^^^^^^^^ it acts on the stream being read

        error: `abort` goes inside an `expect` block
         --> a.stream:4:3
          |
        4 |   abort after 3 items
          |   ^^^^^^^^^^^^^^^^^^^ it acts on the stream being read

        error: `pace` goes inside an `expect` block
         --> a.stream:5:3
          |
        5 |   pace 10ms
          |   ^^^^^^^^^ it acts on the stream being read

        error: `reconnect` goes inside an `expect` block
         --> a.stream:6:3
          |
        6 |   reconnect with header last-event-id: 3
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ it acts on the stream being read

        4 errors
        ",
    );
}

#[test]
fn items_after_disconnect_are_a_check_error() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse {
            data: _
            disconnect
            data: _
          }
        }

        test "b" {
          GET http://example.invalid/
          expect sse { data: _; disconnect; wait 10ms; end }
        }
        "#,
        "
        error: nothing can follow `disconnect` but `reconnect`
         --> a.stream:6:5
          |
        6 |     data: _
          |     ^^^^^^^ the connection is closed here
          |
          = help: write `reconnect` to open the stream again (a `wait` may come before it)

        error: nothing can follow `disconnect` but `reconnect`
          --> a.stream:12:48
           |
        12 |   expect sse { data: _; disconnect; wait 10ms; end }
           |                                                ^^^ the connection is closed here
           |
           = help: write `reconnect` to open the stream again (a `wait` may come before it)

        2 errors
        ",
    );
}

#[test]
fn abort_after_inside_a_repetition_is_a_check_error() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse {
            3 times {
              data: _
              abort after 2 items
            }
          }
        }
        "#,
        "
        error: `abort after …` applies to the whole block
         --> a.stream:6:7
          |
        6 |       abort after 2 items
          |       ^^^^^^^^^^^^^^^^^^^ put it at the top of the block

        ",
    );
}

#[test]
fn expect_ids_without_an_sse_block_is_a_check_error() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect ids increasing
          expect retry == 3
          expect connections == 1
          expect reconnect delay < 1s
        }
        "#,
        "
        error: this expectation is about a stream that was not read
         --> a.stream:3:3
          |
        3 |   expect ids increasing
          |   ^^^^^^^^^^^^^^^^^^^^^ no stream before it
          |
          = help: put an `expect sse` block for this request before it

        error: this expectation is about a stream that was not read
         --> a.stream:4:3
          |
        4 |   expect retry == 3
          |   ^^^^^^^^^^^^^^^^^ no stream before it
          |
          = help: put an `expect sse` block for this request before it

        error: this expectation is about a stream that was not read
         --> a.stream:5:3
          |
        5 |   expect connections == 1
          |   ^^^^^^^^^^^^^^^^^^^^^^^ no stream before it
          |
          = help: put an `expect sse|ndjson|lines|chunks { … }` block for this request before it

        error: this expectation is about a stream that was not read
         --> a.stream:6:3
          |
        6 |   expect reconnect delay < 1s
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^ no stream before it
          |
          = help: put an `expect sse|ndjson|lines|chunks { … }` block for this request before it

        4 errors
        ",
    );
}

#[test]
fn captures_and_abort_rules_in_stream_control_are_checked() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect header x-session not exists -> session
          expect sse {
            data: _
            end
            reconnect with header last-event-id: {{mark}} with query after={{nope}}
            id: _ -> mark
          }
        }

        test "b" {
          GET http://example.invalid/
          expect sse {
            3 times { data: _; end }
          }
        }

        test "c" {
          GET http://example.invalid/
          expect sse {
            abort after 2 items
            abort after 1s
            data: _
            abort
            data: _
          }
        }
        "#,
        "
        error: `not exists` has nothing to capture
         --> a.stream:3:41
          |
        3 |   expect header x-session not exists -> session
          |                                         ^^^^^^^ the header is absent

        error: variable `mark` is not defined
         --> a.stream:7:42
          |
        7 |     reconnect with header last-event-id: {{mark}} with query after={{nope}}
          |                                          ^^^^^^^^ undefined variable
          |
          = help: `mark` is captured on line 8; a capture can be used only after the item that sets it, in the same test

        error: variable `nope` is not defined
         --> a.stream:7:68
          |
        7 |     reconnect with header last-event-id: {{mark}} with query after={{nope}}
          |                                                                    ^^^^^^^^ undefined variable
          |
          = help: set it with `let nope = …`, `--var nope=…`, the environment variable `STREAMSPEC_VAR_nope`, or `[vars]` in streamspec.toml

        error: `end` cannot be repeated
          --> a.stream:15:24
           |
        15 |     3 times { data: _; end }
           |                        ^^^ put it after the repetition, or `reconnect` after it

        error: `abort after …` is given twice
          --> a.stream:23:5
           |
        23 |     abort after 1s
           |     ^^^^^^^^^^^^^^ keep one

        error: nothing can follow `abort` in a block
          --> a.stream:26:5
           |
        26 |     data: _
           |     ^^^^^^^ the connection is dropped by then

        6 errors
        ",
    );
}

#[test]
fn abort_after_0_items_is_a_check_error() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse {
            abort after 0 items
            * times { data: _ }
          }
        }
        "#,
        "
        error: `abort after 0 items` aborts before anything
         --> a.stream:4:17
          |
        4 |     abort after 0 items
          |                 ^^^^^^^ at least 1

        ",
    );
}

#[test]
fn stream_control_syntax_errors() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET http://example.invalid/
              expect sse { end }
              expect reconnect delay < 2
            }
            "#,
        )
        .spec(
            "b.stream",
            r#"
            test "b" {
              GET http://example.invalid/
              expect sse { reconnect with foo: 1 }
            }
            "#,
        )
        .spec(
            "c.stream",
            r#"
            test "c" {
              GET http://example.invalid/
              expect sse { abort after 3 }
            }
            "#,
        )
        .args(["check", "a.stream", "b.stream", "c.stream"])
        .status(2)
        .stderr(
            "
            error: expected a duration such as `500ms` or `2s`, found `2`
             --> a.stream:4:28
              |
            4 |   expect reconnect delay < 2
              |                            ^ expected a duration such as `500ms` or `2s`

            error: expected `header` or `query`, found `foo`
             --> b.stream:3:31
              |
            3 |   expect sse { reconnect with foo: 1 }
              |                               ^^^ expected `header` or `query`

            error: expected `item` or `items`, found `}`
             --> c.stream:3:30
              |
            3 |   expect sse { abort after 3 }
              |                              ^ expected `item` or `items`

            3 errors
            ",
        )
        .run();
}

// ─── Edge cases that were bugs once ────────────────────────────────────────────────────────────

#[test]
fn an_item_where_the_connection_should_close() {
    fails(
        servers::demo(),
        r#"
        test "one event, then a close" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse {
            id: "1"
            reconnect
            id: "2"
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: one event, then a close

        error: expected the connection to close before `reconnect`, but an item arrived
         --> a.stream:5:5
          |
        5 |     reconnect
          |     ^^^^^^^^^ the connection should close here
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
            - end
            + id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: one event, then a close
        "#,
    );
}

#[test]
fn a_repetition_that_begins_with_end() {
    passes(
        servers::demo(),
        r#"
        test "an empty stream, four times" {
          GET {{base}}/sse/empty
          expect sse {
            3 times { end; reconnect }
            end
          }
          expect connections == 4
        }
        "#,
        &["an empty stream, four times"],
    );
}

#[test]
fn an_abort_rule_before_the_required_items_arrived() {
    fails(
        servers::demo(),
        r#"
        test "three events in 200ms" {
          GET {{base}}/bad/stall?after=2
          expect sse {
            abort after 200ms
            3 times { data: _ }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: three events in 200ms

        error: `abort after 200ms` ended the block after 2 items, but it still expected `data: _`
         --> a.stream:4:5
          |
        4 |     abort after 200ms
          |     ^^^^^^^^^^^^^^^^^ the abort came too soon
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1 }  # [TIME]
              id: "2"  data: json { "n": 2 }  # [TIME]
            - data: _

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: three events in 200ms
        "#,
    );
}

#[test]
fn a_retry_time_longer_than_the_timeout() {
    fails(
        servers::demo(),
        r#"
        test "retry: 60000" {
          timeout 500ms
          GET {{base}}/sse/retry?retry=60000&count=2&client=stream-control-long-retry
          expect sse {
            data: json { "n": 1 }
            end
            reconnect
            data: json { "n": 2 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: retry: 60000

        error: the test timed out after 500ms waiting the server's retry time (60000ms) before `reconnect`
         --> a.stream:7:5
          |
        7 |     reconnect
          |     ^^^^^^^^^ reconnecting here
          |
          = note: the server asked for `retry: 60000`; raise the test's `timeout`, or have the server ask for less
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1, "since_previous_ms": null }  retry: 60000  # [TIME]
              end
            - data: json { "n": 2 }
            - end

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: retry: 60000
        "#,
    );
}

#[test]
fn expect_ids_after_an_ndjson_block() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect ndjson { end }
          expect ids increasing
        }
        "#,
        "
        error: `expect ids` is about an SSE stream, but this response was read as `ndjson`
         --> a.stream:4:3
          |
        4 |   expect ids increasing
          |   ^^^^^^^^^^^^^^^^^^^^^ the stream before it is not SSE
          |
          = help: ids are SSE `id:` fields: read the response with `expect sse { … }`

        ",
    );
}

#[test]
fn a_reconnection_loop_stops_at_100_connections() {
    // Every connection of `/echo/sse` sends one event and closes: the block would reconnect for
    // ever. It stops when a 101st connection would be opened: the diff shows the 100th event,
    // the one event of the 100th connection.
    fails(
        servers::canned(),
        r#"
        test "the server closes every stream" {
          GET {{base}}/echo/sse
          expect sse {
            * times { data: _; end; reconnect }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: the server closes every stream

        error: this stream reached the limit of 100 connections
         --> a.stream:4:29
          |
        4 |     * times { data: _; end; reconnect }
          |                             ^^^^^^^^^ reconnecting again
          |
          = note: a reconnection loop is bounded; is the server closing every stream at once?
          = diff of expected (-) and observed (+) items:
              … 97 items earlier
              end
              reconnect  # waited [TIME]
              id: "98"  data: json { "n": 98, "last_event_id": "97", "token": null, "query": "" }  # [TIME]
              end
              reconnect  # waited [TIME]
              id: "99"  data: json { "n": 99, "last_event_id": "98", "token": null, "query": "" }  # [TIME]
              end
              reconnect  # waited [TIME]
              id: "100"  data: json { "n": 100, "last_event_id": "99", "token": null, "query": "" }  # [TIME]
              end

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: the server closes every stream
        "#,
    );
}

#[test]
fn an_abort_rule_while_the_head_is_awaited() {
    passes(
        servers::demo(),
        r#"
        test "give up after 100ms" {
          timeout 2s
          GET {{base}}/bad/silent
          expect sse {
            abort after 100ms
            * times { data: _ }
          }
        }
        "#,
        &["give up after 100ms"],
    );
}

#[test]
fn verbose_shows_an_abort_before_any_item() {
    redact_verbose(Test::new())
        .spec(
            "a.stream",
            r#"
            test "nothing in 100ms" {
              GET {{base}}/bad/stall?after=0
              expect sse {
                abort after 100ms
                * times { data: _ }
              }
            }
            "#,
        )
        .args(["run", "-v", "a.stream"])
        .var("base", servers::demo())
        .stdout(
            r#"
            Running 1 test from 1 file
              PASS [TIME] a.stream: nothing in 100ms
                     sse on line 3: 0 items, 0 bytes, 1 connection
                       ttfb [TIME] · duration [TIME]
                       aborted after 0 items
            Summary 1 test: 1 passed, 0 failed [TIME]
            "#,
        )
        .run();
}

#[test]
fn expect_test_with_a_measure_it_does_not_take() {
    check_fails(
        r#"
        test "a" {
          GET http://example.invalid/
          expect sse { end }
          expect test retry == 2
        }
        "#,
        "
        error: `expect test …` cannot measure this
         --> a.stream:4:15
          |
        4 |   expect test retry == 2
          |               ^^^^^ not a measure of the whole test
          |
          = help: `expect test` goes with `count`, `bytes`, `ttfb`, `duration`, `first item`, `gaps`, `connections` and `reconnect delay`

        ",
    );
}
