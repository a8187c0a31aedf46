//! Specs that fail: each compares the full report (stdout) and exit code 1.
//!
//! Timing failures use bounds that cannot hold whatever the machine's load (a 5 s `after` on
//! events sent at once, a 100 ms `within` on a stream that stalls), and the measured times are
//! redacted, so the reports are exact.

use crate::servers;
use crate::support::{Test, fails};

/// Runs `a.stream` against the demo and expects exit 1 with this report.
fn fails_on_demo(spec: &str, stdout: &str) {
    fails(servers::demo(), spec, stdout);
}

fn fails_on_canned(spec: &str, stdout: &str) {
    fails(servers::canned(), spec, stdout);
}

#[test]
fn item_mismatch_in_the_middle_of_a_stream() {
    fails_on_demo(
        r#"
        test "the third event is off by one" {
          GET {{base}}/ndjson/events?interval=0ms
          expect ndjson {
            { "event": "start" }
            { "event": "data", "value": 42 }
            { "event": "data", "value": 85 }
            { "event": "end" }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the third event is off by one

        error: item 3 does not match
         --> a.stream:6:5
          |
        6 |     { "event": "data", "value": 85 }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.value`: expected 85, found 84
          |
          = diff of expected (-) and observed (+) items:
              { "event": "start", "ts": 1 }  # [TIME]
              { "event": "data", "value": 42, "ts": 2 }  # [TIME]
            - { "event": "data", "value": 85 }
            + { "event": "data", "value": 84, "ts": 3 }  # [TIME]
              { "event": "end", "ts": 4 }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the third event is off by one
        "#,
    );
}

#[test]
fn item_mismatch_late_in_a_stream_shows_a_window() {
    fails_on_demo(
        r#"
        test "tick 7 of 10" {
          GET {{base}}/sse/ticker?count=10&interval=0ms
          expect sse {
            6 times { data: _ }
            id: "7"  data: json { "count": 70 }
            id: "8"
            id: "9"
            id: "10"
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: tick 7 of 10

        error: item 7 does not match
         --> a.stream:5:5
          |
        5 |     id: "7"  data: json { "count": 70 }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.count`: expected 70, found 7
          |
          = diff of expected (-) and observed (+) items:
              … 3 items earlier
              id: "4"  event: "message"  data: json { "count": 4, "timestamp": [UNIX_MS] }  # [TIME]
              id: "5"  event: "message"  data: json { "count": 5, "timestamp": [UNIX_MS] }  # [TIME]
              id: "6"  event: "message"  data: json { "count": 6, "timestamp": [UNIX_MS] }  # [TIME]
            - id: "7"  data: json { "count": 70 }
            + id: "7"  event: "message"  data: json { "count": 7, "timestamp": [UNIX_MS] }  # [TIME]
              id: "8"  event: "message"  data: json { "count": 8, "timestamp": [UNIX_MS] }  # [TIME]
              id: "9"  event: "message"  data: json { "count": 9, "timestamp": [UNIX_MS] }  # [TIME]
              id: "10"  event: "message"  data: json { "count": 10, "timestamp": [UNIX_MS] }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: tick 7 of 10
        "#,
    );
}

#[test]
fn trailing_items_fitting_a_repetition() {
    fails_on_demo(
        r#"
        test "tick 3 of 8" {
          GET {{base}}/sse/ticker?count=8&interval=0ms
          expect sse {
            2 times { data: _ }
            id: "3"  data: json { "count": 30 }
            * times { data: _ }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: tick 3 of 8

        error: item 3 does not match
         --> a.stream:5:5
          |
        5 |     id: "3"  data: json { "count": 30 }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.count`: expected 30, found 3
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
              id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
            - id: "3"  data: json { "count": 30 }
            + id: "3"  event: "message"  data: json { "count": 3, "timestamp": [UNIX_MS] }  # [TIME]
              id: "4"  event: "message"  data: json { "count": 4, "timestamp": [UNIX_MS] }  # [TIME]
              id: "5"  event: "message"  data: json { "count": 5, "timestamp": [UNIX_MS] }  # [TIME]
              id: "6"  event: "message"  data: json { "count": 6, "timestamp": [UNIX_MS] }  # [TIME]
              id: "7"  event: "message"  data: json { "count": 7, "timestamp": [UNIX_MS] }  # [TIME]
              id: "8"  event: "message"  data: json { "count": 8, "timestamp": [UNIX_MS] }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: tick 3 of 8
        "#,
    );
}

#[test]
fn wrong_status_shows_the_start_of_the_body() {
    fails_on_canned(
        r#"
        test "the service is up" {
          GET {{base}}/status/503
          expect status 200
          expect sse { end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the service is up

        error: expected status 200, got 503 Service Unavailable
         --> a.stream:3:17
          |
        3 |   expect status 200
          |                 ^^^ the server answered 503
          |
          = note: the body began: upstream overloaded\nretry later

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the service is up
        "#,
    );
}

#[test]
fn non_2xx_answer_to_a_stream_expectation() {
    fails_on_canned(
        r#"
        test "a stream from a failing service" {
          GET {{base}}/status/503
          expect sse { end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a stream from a failing service

        error: expected status 200 to read `sse`, got 503 Service Unavailable
         --> a.stream:3:3
          |
        3 |   expect sse { end }
          |   ^^^^^^^^^^^^^^^^^^ reading the body here
          |
          = note: the body began: upstream overloaded\nretry later
          = help: add `expect status …` before this line if this status is what you expect

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a stream from a failing service
        "#,
    );
}

#[test]
fn header_mismatches() {
    fails_on_canned(
        r#"
        test "one value of two" {
          GET {{base}}/headers
          expect header vary == Cookie
        }

        test "absent" {
          GET {{base}}/headers
          expect header x-request-id exists
        }

        test "present" {
          GET {{base}}/headers
          expect header content-type not exists
        }

        test "regex" {
          GET {{base}}/headers
          expect header content-type ~ /json/
        }
        "#,
        r#"
        Running 4 tests from 1 file
          FAIL [TIME] a.stream: one value of two

        error: header `vary` does not match
         --> a.stream:3:3
          |
        3 |   expect header vary == Cookie
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected == "Cookie", found `vary` values Accept, Origin

          FAIL [TIME] a.stream: absent

        error: header `x-request-id` does not match
         --> a.stream:8:3
          |
        8 |   expect header x-request-id exists
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected the header to be present, found no such header

          FAIL [TIME] a.stream: present

        error: header `content-type` does not match
          --> a.stream:13:3
           |
        13 |   expect header content-type not exists
           |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected no such header, found `content-type: text/plain`

          FAIL [TIME] a.stream: regex

        error: header `content-type` does not match
          --> a.stream:18:3
           |
        18 |   expect header content-type ~ /json/
           |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected ~ /json/, found `content-type: text/plain`

        Summary 4 tests: 0 passed, 4 failed [TIME]
          FAIL a.stream:1: one value of two
          FAIL a.stream:6: absent
          FAIL a.stream:11: present
          FAIL a.stream:16: regex
        "#,
    );
}

#[test]
fn missing_end_while_the_stream_continues() {
    fails_on_demo(
        r#"
        test "two ticks, then the end" {
          GET {{base}}/sse/ticker?count=4&interval=0ms
          expect sse {
            2 times { data: _ }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: two ticks, then the end

        error: expected the stream to end, but item 3 arrived
         --> a.stream:5:5
          |
        5 |     end
          |     ^^^ expected the stream to end here
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
              id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
            + id: "3"  event: "message"  data: json { "count": 3, "timestamp": [UNIX_MS] }  # [TIME]
            + id: "4"  event: "message"  data: json { "count": 4, "timestamp": [UNIX_MS] }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: two ticks, then the end
        "#,
    );
}

#[test]
fn end_expected_but_the_connection_dropped() {
    fails_on_demo(
        r#"
        test "the chat finishes" {
          POST {{base}}/v1/chat/completions?interval=0ms
          header x-test-pattern: abort:2
          body json { "stream": true }
          expect sse {
            2 times { $.choices[0].delta.content == string }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the chat finishes

        error: expected a clean end, but the connection was dropped: closed mid-body (unexpected EOF during chunk size line)
         --> a.stream:7:5
          |
        7 |     end
          |     ^^^ expected a clean end
          |
          = diff of expected (-) and observed (+) items:
              data: json { …, "choices": [{ …, "delta": { "content": "Hello" }, … }] }  # [TIME]
              data: json { …, "choices": [{ …, "delta": { "content": "," }, … }] }  # [TIME]
            - end
            + dropped  # closed mid-body (unexpected EOF during chunk size line)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the chat finishes
        "#,
    );
}

#[test]
fn dropped_expected_but_the_stream_ended() {
    fails_on_demo(
        r#"
        test "the ticker breaks" {
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect sse { data: _; dropped }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the ticker breaks

        error: expected a dropped connection, but the stream ended
         --> a.stream:3:25
          |
        3 |   expect sse { data: _; dropped }
          |                         ^^^^^^^ expected a dropped connection
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
            - dropped
            + end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the ticker breaks
        "#,
    );
}

#[test]
fn too_few_repetitions() {
    fails_on_demo(
        r#"
        test "three ticks" {
          GET {{base}}/sse/ticker?count=2&interval=0ms
          expect sse {
            3 times {
              data: json { "count": integer }
            }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: three ticks

        error: the stream ended after 2 items
         --> a.stream:5:7
          |
        5 |       data: json { "count": integer }
          |       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ still expected `data: json { "count": integer }`
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
              id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
            - data: json { "count": integer }
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: three ticks
        "#,
    );
}

#[test]
fn any_order_failure() {
    fails_on_demo(
        r#"
        test "start, data and end in any order" {
          GET {{base}}/ndjson/events?interval=0ms
          expect ndjson {
            any order {
              { "event": "data" }
              { "event": "start" }
              { "event": "end" }
            }
            { "event": "end" }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: start, data and end in any order

        error: item 3 matches none of the items still expected in `any order`
         --> a.stream:4:5
          |
        4 |     any order {
          |     ^^^^^^^^^^^ still expected: { "event": "end" }
          |
          = diff of expected (-) and observed (+) items:
              { "event": "start", "ts": 1 }  # [TIME]
              { "event": "data", "value": 42, "ts": 2 }  # [TIME]
            - { "event": "end" }
            + { "event": "data", "value": 84, "ts": 3 }  # [TIME]
              { "event": "end", "ts": 4 }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: start, data and end in any order
        "#,
    );
}

#[test]
fn within_broken_by_a_stalled_stream() {
    fails_on_demo(
        r#"
        test "the second event comes quickly" {
          timeout 10s
          GET {{base}}/bad/stall?after=1
          expect sse {
            data: json { "n": 1 }
            data: json { "n": 2 }  within 100ms
          }
        }

        test "the first event comes quickly" {
          timeout 10s
          GET {{base}}/bad/stall?after=0&format=lines
          expect lines {
            first within 100ms
            "line 1"
          }
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: the second event comes quickly

        error: timing bound `within 100ms` broken
         --> a.stream:6:35
          |
        6 |     data: json { "n": 2 }  within 100ms
          |                                   ^^^^^ no item arrived in [TIME]
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1 }  # [TIME]
            - data: json { "n": 2 }  within 100ms
              … (stopped reading here)

          FAIL [TIME] a.stream: the first event comes quickly

        error: timing bound `first within 100ms` broken
          --> a.stream:14:5
           |
        14 |     first within 100ms
           |     ^^^^^^^^^^^^^^^^^^ no item arrived in [TIME]
           |
           = diff of expected (-) and observed (+) items:
             - "line 1"
               … (stopped reading here)

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: the second event comes quickly
          FAIL a.stream:10: the first event comes quickly
        "#,
    );
}

#[test]
fn within_broken_by_a_slow_chunk() {
    fails_on_demo(
        r#"
        test "chunks come quickly" {
          GET {{base}}/slow/ttfb?ttfb=0ms&interval=10s
          expect lines { "chunk 1"; "chunk 2" within 50ms }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: chunks come quickly

        error: timing bound `within 50ms` broken
         --> a.stream:3:46
          |
        3 |   expect lines { "chunk 1"; "chunk 2" within 50ms }
          |                                              ^^^^ no item arrived in [TIME]
          |
          = diff of expected (-) and observed (+) items:
              "chunk 1"  # [TIME]
            - "chunk 2"  within 50ms
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: chunks come quickly
        "#,
    );
}

#[test]
fn after_broken() {
    fails_on_demo(
        r#"
        test "ticks are spaced out" {
          GET {{base}}/sse/ticker?count=2&interval=0ms
          expect sse { data: _; data: _ after 5s; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: ticks are spaced out

        error: timing bound `after 5s` broken
         --> a.stream:3:39
          |
        3 |   expect sse { data: _; data: _ after 5s; end }
          |                                       ^^ item 2 came [TIME] after the previous one
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
            - data: _  after 5s
            + id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: ticks are spaced out
        "#,
    );
}

#[test]
fn capture_aggregate_mismatches() {
    fails_on_demo(
        r#"
        test "the reply" @llm {
          POST {{base}}/v1/chat/completions?interval=0ms
          body json { "stream": true }
          expect sse {
            8 times { data: json { "choices": [{ "delta": { "content": string -> reply } }] } }
          }
          expect reply joined == "Hello, world"
        }

        test "the token count" @llm {
          POST {{base}}/v1/chat/completions?interval=0ms
          body json { "stream": true }
          expect sse {
            8 times { data: json { "choices": [{ "delta": { "content": string -> reply } }] } }
          }
          expect reply count in 1..3
        }

        test "the first token" @llm {
          POST {{base}}/v1/chat/completions?interval=0ms
          body json { "stream": true }
          expect sse {
            8 times { data: json { "choices": [{ "delta": { "content": string -> reply } }] } }
          }
          expect reply first ~ /^Bye/
        }

        test "a capture that captured nothing" {
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect sse { * times { event: "other"  data: _ -> other }; data: _; end }
          expect other last == "x"
        }
        "#,
        r#"
        Running 4 tests from 1 file
          FAIL [TIME] a.stream: the reply

        error: `reply joined` does not match
         --> a.stream:7:10
          |
        7 |   expect reply joined == "Hello, world"
          |          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected "Hello, world", found "Hello, how can I help you?"

          FAIL [TIME] a.stream: the token count

        error: `reply count` does not match
          --> a.stream:16:10
           |
        16 |   expect reply count in 1..3
           |          ^^^^^^^^^^^^^^^^^^^ expected a number 1..3, found 8

          FAIL [TIME] a.stream: the first token

        error: `reply first` does not match
          --> a.stream:25:10
           |
        25 |   expect reply first ~ /^Bye/
           |          ^^^^^^^^^^^^^^^^^^^^ expected a string matching /^Bye/, found "Hello"

          FAIL [TIME] a.stream: a capture that captured nothing

        error: `other` captured nothing
          --> a.stream:31:10
           |
        31 |   expect other last == "x"
           |          ^^^^^ no item set this capture

        Summary 4 tests: 0 passed, 4 failed [TIME]
          FAIL a.stream:1: the reply
          FAIL a.stream:10: the token count
          FAIL a.stream:19: the first token
          FAIL a.stream:28: a capture that captured nothing
        "#,
    );
}

#[test]
fn count_and_bytes_mismatches() {
    fails_on_demo(
        r#"
        test "five ticks" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse { * times { data: _ }; end }
          expect count == 5
        }

        test "a range of ticks" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse { * times { data: _ }; end }
          expect count in 4..7
        }

        test "a small body" {
          GET {{base}}/ndjson/events?interval=0ms
          expect ndjson { * times { _ }; end }
          expect bytes < 10
        }
        "#,
        r#"
        Running 3 tests from 1 file
          FAIL [TIME] a.stream: five ticks

        error: expected count == 5, got 3
         --> a.stream:4:16
          |
        4 |   expect count == 5
          |                ^^^^ count was 3

          FAIL [TIME] a.stream: a range of ticks

        error: expected count 4..7, got 3
          --> a.stream:10:16
           |
        10 |   expect count in 4..7
           |                ^^^^^^^ count was 3

          FAIL [TIME] a.stream: a small body

        error: expected bytes < 10, got 118
          --> a.stream:16:16
           |
        16 |   expect bytes < 10
           |                ^^^^ bytes was 118

        Summary 3 tests: 0 passed, 3 failed [TIME]
          FAIL a.stream:1: five ticks
          FAIL a.stream:7: a range of ticks
          FAIL a.stream:13: a small body
        "#,
    );
}

#[test]
fn gap_and_duration_bounds_broken() {
    fails_on_demo(
        r#"
        test "gaps are long" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse { 3 times { data: _ }; end }
          expect gaps max < 10s, min > 5s
        }

        test "the stream is quick" {
          GET {{base}}/slow/ttfb?ttfb=20ms&interval=0ms
          expect lines { 3 times { _ }; end }
          expect ttfb < 10s
          expect duration < 1ms
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: gaps are long

        error: expected gap min > 5s, measured [TIME]
         --> a.stream:4:30
          |
        4 |   expect gaps max < 10s, min > 5s
          |                              ^^^^ gap min was [TIME]

          FAIL [TIME] a.stream: the stream is quick

        error: expected duration < 1ms, measured [TIME]
          --> a.stream:11:19
           |
        11 |   expect duration < 1ms
           |                   ^^^^^ duration was [TIME]

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: gaps are long
          FAIL a.stream:7: the stream is quick
        "#,
    );
}

#[test]
fn gaps_of_a_single_item() {
    fails_on_demo(
        r#"
        test "one tick has no gaps" {
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect sse { data: _; end }
          expect gaps max < 1s
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: one tick has no gaps

        error: there are no gaps to measure: 1 item arrived
         --> a.stream:4:15
          |
        4 |   expect gaps max < 1s
          |               ^^^ needs at least two items

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: one tick has no gaps
        "#,
    );
}

#[test]
fn ttfb_as_the_first_expectation() {
    fails_on_demo(
        r#"
        test "the head comes quickly" {
          GET {{base}}/slow/ttfb?ttfb=50ms
          expect ttfb < 1ms
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the head comes quickly

        error: expected ttfb < 1ms, but no response head arrived within 1ms
         --> a.stream:3:15
          |
        3 |   expect ttfb < 1ms
          |               ^^^^^ waited [TIME] for the response head

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the head comes quickly
        "#,
    );
}

#[test]
fn whole_body_mismatches() {
    fails_on_demo(
        r#"
        test "the array" {
          GET {{base}}/chunked/array?interval=0ms
          expect json [{ "id": 1, "name": "first" }, { "id": 2 }, { "id": 4 }]
        }

        test "the text" {
          GET {{base}}/slow/ttfb?ttfb=0ms&interval=0ms
          expect text "chunk 1\nchunk 2\n"
        }

        test "text that is not JSON" {
          GET {{base}}/slow/ttfb?ttfb=0ms&interval=0ms
          expect json _
        }
        "#,
        r#"
        Running 3 tests from 1 file
          FAIL [TIME] a.stream: the array

        error: the body does not match
         --> a.stream:3:15
          |
        3 |   expect json [{ "id": 1, "name": "first" }, { "id": 2 }, { "id": 4 }]
          |               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `[2].id`: expected 4, found 3
          |
          = diff of expected (-) and observed (+) items:
            - [{ "id": 1, "name": "first" }, { "id": 2 }, { "id": 4 }]
            + [{ "id": 1, "name": "first" }, { "id": 2, "name": "second" }, { "id": 3, "name": "third" }]  # [TIME]

          FAIL [TIME] a.stream: the text

        error: the body does not match
         --> a.stream:8:15
          |
        8 |   expect text "chunk 1\nchunk 2\n"
          |               ^^^^^^^^^^^^^^^^^^^^ expected "chunk 1\nchunk 2\n", found "chunk 1\nchunk 2\nchunk 3\n"
          |
          = diff of expected (-) and observed (+) items:
            - "chunk 1\nchunk 2\n"
            + "chunk 1\nchunk 2\nchunk 3\n"  # [TIME]

          FAIL [TIME] a.stream: text that is not JSON

        error: the body is not JSON: expected value at line 1 column 1
          --> a.stream:13:3
           |
        13 |   expect json _
           |   ^^^^^^^^^^^^^ expected a JSON body
           |
           = note: the body began: chunk 1\nchunk 2\nchunk 3\n

        Summary 3 tests: 0 passed, 3 failed [TIME]
          FAIL a.stream:1: the array
          FAIL a.stream:6: the text
          FAIL a.stream:11: text that is not JSON
        "#,
    );
}

#[test]
fn passes_and_failures_mixed_in_several_files() {
    Test::new()
        .spec(
            "one.stream",
            r#"
            test "passes" {
              GET {{base}}/sse/empty
              expect sse { end }
            }

            test "fails" {
              GET {{base}}/sse/empty
              expect sse {
                data: _
              }
            }
            "#,
        )
        .spec(
            "two.stream",
            r#"
            test "also passes" {
              GET {{base}}/health
              expect text "ok"
            }
            "#,
        )
        .args(["run"])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 3 tests from 2 files
              PASS [TIME] ./one.stream: passes
              FAIL [TIME] ./one.stream: fails

            error: the stream ended before any item
             --> ./one.stream:9:5
              |
            9 |     data: _
              |     ^^^^^^^ still expected `data: _`
              |
              = diff of expected (-) and observed (+) items:
                - data: _
                + end

              PASS [TIME] ./two.stream: also passes
            Summary 3 tests: 2 passed, 1 failed [TIME]
              FAIL ./one.stream:6: fails
            "#,
        )
        .run();
}

#[test]
fn caret_of_a_pattern_in_a_one_line_block() {
    fails_on_demo(
        r#"
        test "an event" {
          GET {{base}}/sse/empty
          expect sse { data: _ }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: an event

        error: the stream ended before any item
         --> a.stream:3:16
          |
        3 |   expect sse { data: _ }
          |                ^^^^^^^ still expected `data: _`
          |
          = diff of expected (-) and observed (+) items:
            - data: _
            + end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: an event
        "#,
    );
}

#[test]
fn retry_wildcard_is_shown_as_written() {
    fails_on_demo(
        r#"
        test "retry" {
          GET {{base}}/sse/ticker?count=1&interval=0ms
          expect sse {
            data: _  retry: _
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: retry

        error: item 1 does not match
         --> a.stream:4:5
          |
        4 |     data: _  retry: _
          |     ^^^^^^^^^^^^^^^^^ at `retry`: expected _, found no retry field
          |
          = diff of expected (-) and observed (+) items:
            - data: _  retry: _
            + id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
            + end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: retry
        "#,
    );
}

#[test]
fn header_and_aggregate_failures_are_all_reported() {
    fails_on_demo(
        r#"
        test "three independent checks fail" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect header x-request-id exists
          expect sse { data: _ }
          expect count == 3
          expect header cache-control == "no-store"
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: three independent checks fail

        error: header `x-request-id` does not match
         --> a.stream:3:3
          |
        3 |   expect header x-request-id exists
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected the header to be present, found no such header

        error: expected count == 3, got 1
         --> a.stream:5:16
          |
        5 |   expect count == 3
          |                ^^^^ count was 1
          |
          = help: the `expect sse` block on line 4 stopped reading once its last item matched; end it with `end` to read the whole stream

        error: header `cache-control` does not match
         --> a.stream:6:3
          |
        6 |   expect header cache-control == "no-store"
          |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected == "no-store", found `cache-control: no-cache`

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: three independent checks fail
        "#,
    );
}

#[test]
fn a_greedy_repetition_that_takes_the_marker() {
    fails_on_demo(
        r#"
        test "the last tick after any others" {
          GET {{base}}/sse/ticker?count=3&interval=0ms
          expect sse {
            * times { data: _ }
            data: json { "count": 3 }
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: the last tick after any others

        error: the stream ended after 3 items
         --> a.stream:5:5
          |
        5 |     data: json { "count": 3 }
          |     ^^^^^^^^^^^^^^^^^^^^^^^^^ still expected `data: json { "count": 3 }`
          |
          = help: an earlier item matched this, but the repetition before it took that item (repetitions are greedy); end the repetition with `until <pattern> { … }`
          = diff of expected (-) and observed (+) items:
              id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
              id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
              id: "3"  event: "message"  data: json { "count": 3, "timestamp": [UNIX_MS] }  # [TIME]
            - data: json { "count": 3 }
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: the last tick after any others
        "#,
    );
}
