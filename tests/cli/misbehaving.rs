//! Servers that misbehave — the demo's `/bad/*` endpoints, canned responses and raw TCP
//! servers: each run exits 1 with the exact message.

use std::time::Duration;

use crate::servers;
use crate::support::{Test, fails};

#[test]
fn invalid_utf8_in_an_sse_event() {
    fails(
        servers::demo(),
        r#"
        test "three events" {
          GET {{base}}/bad/invalid-utf8?format=sse
          expect sse { 3 times { data: json { "n": integer } }; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: three events

        error: the server sent invalid UTF-8 in event 2
         --> a.stream:3:10
          |
        3 |   expect sse { 3 times { data: json { "n": integer } }; end }
          |          ^^^ in this stream
          |
          = note: a browser would show it with U+FFFD: id: "2"  data: json { "n": 2, "text": "��" }

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: three events
        "#,
    );
}

#[test]
fn invalid_utf8_in_an_ndjson_line() {
    fails(
        servers::demo(),
        r#"
        test "three lines of JSON" {
          GET {{base}}/bad/invalid-utf8?format=ndjson
          expect ndjson { 3 times { { "n": integer } }; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: three lines of JSON

        error: the server sent a malformed stream: line 2 of the body is not valid UTF-8
         --> a.stream:3:10
          |
        3 |   expect ndjson { 3 times { { "n": integer } }; end }
          |          ^^^^^^ reading this `ndjson` stream

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: three lines of JSON
        "#,
    );
}

#[test]
fn invalid_utf8_in_a_text_line() {
    fails(
        servers::demo(),
        r#"
        test "three lines" {
          GET {{base}}/bad/invalid-utf8?format=lines
          expect lines { "line 1"; _; "line 3"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: three lines

        error: the server sent a malformed stream: line 2 of the body is not valid UTF-8
         --> a.stream:3:10
          |
        3 |   expect lines { "line 1"; _; "line 3"; end }
          |          ^^^^^ reading this `lines` stream

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: three lines
        "#,
    );
}

#[test]
fn a_line_that_is_not_json() {
    fails(
        servers::canned(),
        r#"
        test "NDJSON" {
          GET {{base}}/ndjson/not-json
          expect ndjson { 3 times { { "n": integer } }; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: NDJSON

        error: the server sent a malformed stream: line 2 is not valid JSON (key must be a string at line 1 column 8): {"n":2,oops}
         --> a.stream:3:10
          |
        3 |   expect ndjson { 3 times { { "n": integer } }; end }
          |          ^^^^^^ reading this `ndjson` stream

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: NDJSON
        "#,
    );
}

#[test]
fn a_stream_that_never_ends() {
    // How many events arrive in the second depends on the machine: their numbers are redacted.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "the stream ends" {
              timeout 1s
              GET {{base}}/bad/endless?interval=20ms
              expect sse {
                * times { data: json { "n": integer } }
                end
              }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .redact(r"and \d+ items", "and N items")
        .redact(r"… \d+ items earlier", "… N items earlier")
        .redact(
            r#"id: "\d+"  data: json \{ "n": \d+ \}"#,
            r#"id: "N"  data: json { "n": N }"#,
        )
        .status(1)
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: the stream ends

            error: the test timed out after 1s and N items (waiting for `end`)
             --> a.stream:4:10
              |
            4 |   expect sse {
              |          ^^^ while reading this stream
              |
              = note: the stream neither sent a matching item nor ended; raise the limit with `timeout` in the test or `--timeout`
              = diff of expected (-) and observed (+) items:
                  … N items earlier
                  id: "N"  data: json { "n": N }  # [TIME]
                  id: "N"  data: json { "n": N }  # [TIME]
                  id: "N"  data: json { "n": N }  # [TIME]
                - end
                  … (stopped reading here)

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: the stream ends
            "#,
        )
        .run();
}

#[test]
fn a_stream_that_stalls() {
    fails(
        servers::demo(),
        r#"
        test "three events" {
          timeout 500ms
          GET {{base}}/bad/stall?after=2
          expect sse { 3 times { data: _ } }
        }

        test "the whole body" {
          timeout 500ms
          GET {{base}}/bad/stall?after=2&format=lines
          expect text contains "line 3"
        }
        "#,
        r#"
        Running 2 tests from 1 file
         ERROR [TIME] a.stream: three events

        error: the test timed out after 500ms and 2 items (waiting for `data: _`)
         --> a.stream:4:10
          |
        4 |   expect sse { 3 times { data: _ } }
          |          ^^^ while reading this stream
          |
          = note: the stream neither sent a matching item nor ended; raise the limit with `timeout` in the test or `--timeout`
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1 }  # [TIME]
              id: "2"  data: json { "n": 2 }  # [TIME]
            - data: _
              … (stopped reading here)

         ERROR [TIME] a.stream: the whole body

        error: the test timed out after 500ms while reading the body (14 bytes so far)
          --> a.stream:10:3
           |
        10 |   expect text contains "line 3"
           |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ reading the whole body

        Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
         ERROR a.stream:1: three events
         ERROR a.stream:7: the whole body
        "#,
    );
}

#[test]
fn a_100_mb_line_fails_quickly_at_the_maximum_item_size() {
    let output = fails(
        servers::demo(),
        r#"
        test "one huge event" {
          GET {{base}}/bad/huge-line
          expect sse { data: _; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: one huge event

        error: item 1 is larger than the maximum item size of 16 MiB
         --> a.stream:3:10
          |
        3 |   expect sse { data: _; end }
          |          ^^^ reading this `sse` stream
          |
          = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: one huge event
        "#,
    );
    // Reading all 100 MB would take far longer than stopping at 16 MiB.
    assert!(
        output.elapsed < Duration::from_secs(15),
        "took {:?}",
        output.elapsed
    );
}

#[test]
fn max_item_size_from_the_command_line() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a long NDJSON line" {
              GET {{base}}/bad/huge-line?size=1000000&format=ndjson
              expect ndjson { _; end }
            }

            test "a long text line" {
              GET {{base}}/bad/huge-line?size=1000000&format=lines
              expect lines { _; end }
            }

            test "a long body" {
              GET {{base}}/sse/long?count=100&size=1024
              expect text _
            }
            "#,
        )
        .args(["run", "a.stream", "--max-item-size", "64KiB"])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 3 tests from 1 file
             ERROR [TIME] a.stream: a long NDJSON line

            error: item 1 is larger than the maximum item size of 64 KiB
             --> a.stream:3:10
              |
            3 |   expect ndjson { _; end }
              |          ^^^^^^ reading this `ndjson` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

             ERROR [TIME] a.stream: a long text line

            error: item 1 is larger than the maximum item size of 64 KiB
             --> a.stream:8:10
              |
            8 |   expect lines { _; end }
              |          ^^^^^ reading this `lines` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

             ERROR [TIME] a.stream: a long body

            error: the body is larger than the maximum item size of 64 KiB
              --> a.stream:13:3
               |
            13 |   expect text _
               |   ^^^^^^^^^^^^^ reading the whole body
               |
               = note: raise it with --max-item-size, or read the body as a stream

            Summary 3 tests: 0 passed, 0 failed, 3 errors [TIME]
             ERROR a.stream:1: a long NDJSON line
             ERROR a.stream:6: a long text line
             ERROR a.stream:11: a long body
            "#,
        )
        .run();
}

#[test]
fn wrong_content_type() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "SSE labelled as JSON" {
              GET {{demo}}/bad/wrong-content-type
              expect sse { 3 times { data: _ }; end }
            }

            test "events as NDJSON" {
              GET {{demo}}/sse/ticker?count=1
              expect ndjson { _ }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("demo", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 2 tests from 1 file
              FAIL [TIME] a.stream: SSE labelled as JSON

            error: expected an sse stream, but the server sent content type `application/json`
             --> a.stream:3:10
              |
            3 |   expect sse { 3 times { data: _ }; end }
              |          ^^^ expected `text/event-stream`
              |
              = help: if this content type is what the server should send, check it with `expect header content-type …`: the block then reads the body whatever its type

              FAIL [TIME] a.stream: events as NDJSON

            error: expected an ndjson stream, but the server sent content type `text/event-stream`
             --> a.stream:8:10
              |
            8 |   expect ndjson { _ }
              |          ^^^^^^ expected `application/x-ndjson`
              |
              = note: an ndjson block reads `application/x-ndjson`, `application/ndjson`, `application/jsonl`, `application/x-jsonlines`, `application/json-lines`, `application/json` and `text/plain`
              = help: if this content type is what the server should send, check it with `expect header content-type …`: the block then reads the body whatever its type

            Summary 2 tests: 0 passed, 2 failed [TIME]
              FAIL a.stream:1: SSE labelled as JSON
              FAIL a.stream:6: events as NDJSON
            "#,
        )
        .run();
}

#[test]
fn a_server_that_never_answers() {
    fails(
        servers::demo(),
        r#"
        test "silence" {
          timeout 1s
          GET {{base}}/bad/silent
          expect sse { end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: silence

        error: no response within 1s (the test's timeout)
         --> a.stream:3:3
          |
        3 |   GET {{base}}/bad/silent
          |   ^^^^^^^^^^^^^^^^^^^^^^^ waiting for the response to this request
          |
          = note: the server at http://127.0.0.1:PORT/bad/silent accepted nothing, or sent no response head

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: silence
        "#,
    );
}

#[test]
fn first_within_bounds_the_wait_for_a_silent_server() {
    let output = fails(
        servers::demo(),
        r#"
        test "an event comes quickly" {
          timeout 10s
          GET {{base}}/bad/silent
          expect sse {
            first within 100ms
            data: _
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: an event comes quickly

        error: timing bound `first within 100ms` broken
         --> a.stream:5:5
          |
        5 |     first within 100ms
          |     ^^^^^^^^^^^^^^^^^^ no item arrived in [TIME] (not even the response head)
          |
          = diff of expected (-) and observed (+) items:
            - data: _
              … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: an event comes quickly
        "#,
    );
    assert!(
        output.elapsed < Duration::from_secs(5),
        "took {:?}",
        output.elapsed
    );
}

#[test]
fn a_ttfb_bound_ends_the_wait_for_the_response_head() {
    let output = fails(
        servers::demo(),
        r#"
        test "the head comes quickly" {
          timeout 10s
          GET {{base}}/bad/silent
          expect status 200
          expect ttfb < 300ms
          expect sse { end }
        }

        test "the head comes quickly, reading the body" {
          timeout 10s
          GET {{base}}/bad/silent
          expect sse { end }
          expect ttfb in 10ms..200ms
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: the head comes quickly

        error: expected ttfb < 300ms, but no response head arrived within 300ms
         --> a.stream:5:15
          |
        5 |   expect ttfb < 300ms
          |               ^^^^^^^ waited [TIME] for the response head

          FAIL [TIME] a.stream: the head comes quickly, reading the body

        error: expected ttfb in 10ms..200ms, but no response head arrived within 200ms
          --> a.stream:13:15
           |
        13 |   expect ttfb in 10ms..200ms
           |               ^^^^^^^^^^^^^^ waited [TIME] for the response head

        Summary 2 tests: 0 passed, 2 failed [TIME]
          FAIL a.stream:1: the head comes quickly
          FAIL a.stream:9: the head comes quickly, reading the body
        "#,
    );
    assert!(
        output.elapsed < Duration::from_secs(8),
        "took {:?}",
        output.elapsed
    );
}

#[test]
fn a_test_ttfb_bound_ends_the_wait_for_the_first_response_head() {
    let output = fails(
        servers::demo(),
        r#"
        test "the first head comes quickly" {
          timeout 10s
          GET {{base}}/bad/silent
          GET {{base}}/health
          expect text "ok"
          expect test ttfb < 300ms
        }

        test "a later request is not bound by the first's ttfb" {
          timeout 1s
          GET {{base}}/health
          expect test ttfb < 5s
          GET {{base}}/bad/silent
          expect status 200
        }
        "#,
        r#"
        Running 2 tests from 1 file
          FAIL [TIME] a.stream: the first head comes quickly

        error: expected ttfb < 300ms, but no response head arrived within 300ms
         --> a.stream:6:20
          |
        6 |   expect test ttfb < 300ms
          |                    ^^^^^^^ waited [TIME] for the response head

         ERROR [TIME] a.stream: a later request is not bound by the first's ttfb

        error: no response within 1s (the test's timeout)
          --> a.stream:13:3
           |
        13 |   GET {{base}}/bad/silent
           |   ^^^^^^^^^^^^^^^^^^^^^^^ waiting for the response to this request
           |
           = note: the server at http://127.0.0.1:PORT/bad/silent accepted nothing, or sent no response head

        Summary 2 tests: 0 passed, 1 failed, 1 error [TIME]
          FAIL a.stream:1: the first head comes quickly
         ERROR a.stream:9: a later request is not bound by the first's ttfb
        "#,
    );
    assert!(
        output.elapsed < Duration::from_secs(8),
        "took {:?}",
        output.elapsed
    );
}

#[test]
fn a_connection_reset_in_the_middle_of_an_event() {
    fails(
        servers::demo(),
        r#"
        test "two events, then the end" {
          GET {{base}}/bad/reset
          expect sse {
            id: "1"
            id: "2"
            end
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: two events, then the end

        error: the connection was dropped after 1 item: closed mid-body (unexpected EOF during chunk size line); 10 bytes of an unfinished item were discarded
         --> a.stream:5:5
          |
        5 |     id: "2"
          |     ^^^^^^^ still expected `id: "2"`
          |
          = diff of expected (-) and observed (+) items:
              id: "1"  data: json { "n": 1 }  # [TIME]
            - id: "2"
            - end
            + dropped  # closed mid-body (unexpected EOF during chunk size line); 10 bytes of an unfinished item were discarded

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: two events, then the end
        "#,
    );
}

#[test]
fn a_clean_close_in_the_middle_of_an_event() {
    fails(
        servers::canned(),
        r#"
        test "two events" {
          GET {{base}}/sse/cut
          expect sse { data: "1"; data: "2"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: two events

        error: the connection was dropped after 1 item: the stream closed in the middle of an item; 8 bytes of it were discarded
         --> a.stream:3:27
          |
        3 |   expect sse { data: "1"; data: "2"; end }
          |                           ^^^^^^^^^ still expected `data: "2"`
          |
          = diff of expected (-) and observed (+) items:
              data: "1"  # [TIME]
            - data: "2"
            - end
            + dropped  # the stream closed in the middle of an item; 8 bytes of it were discarded

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: two events
        "#,
    );
}

#[test]
fn connection_refused() {
    fails(
        &servers::refused(),
        r#"
        test "nobody listens" {
          GET {{base}}/sse/empty
          expect sse { end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: nobody listens

        error: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
         --> a.stream:2:3
          |
        2 |   GET {{base}}/sse/empty
          |   ^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/empty

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: nobody listens
        "#,
    );
}

#[test]
fn a_server_that_hangs_up_without_answering() {
    fails(
        servers::hang_up(),
        r#"
        test "hang-up" {
          GET {{base}}/sse/empty
          expect sse { end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: hang-up

        error: the request to 127.0.0.1:PORT failed: connection closed before message completed
         --> a.stream:2:3
          |
        2 |   GET {{base}}/sse/empty
          |   ^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/empty

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: hang-up
        "#,
    );
}

#[test]
fn a_server_that_does_not_speak_http() {
    fails(
        &servers::raw_reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
        r#"
        test "not HTTP" {
          GET {{base}}/sse/empty
          expect sse { end }
        }
        "#,
        r#"
        Running 1 test from 1 file
         ERROR [TIME] a.stream: not HTTP

        error: the server at 127.0.0.1:PORT sent an invalid response head: it does not begin with `HTTP/1.1` or `HTTP/1.0`; it began "SSH-2.0-OpenSSH_9.6\r\n\r\n"
         --> a.stream:2:3
          |
        2 |   GET {{base}}/sse/empty
          |   ^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/empty

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR a.stream:1: not HTTP
        "#,
    );
}

#[test]
fn a_body_shorter_than_its_content_length() {
    fails(
        &servers::raw_reply(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 100\r\n\r\ndata: 1\n\n",
        ),
        r#"
        test "short body" {
          GET {{base}}/sse/empty
          expect sse { data: "1"; end }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: short body

        error: expected a clean end, but the connection was dropped: closed mid-body (end of file before message length reached)
         --> a.stream:3:27
          |
        3 |   expect sse { data: "1"; end }
          |                           ^^^ expected a clean end
          |
          = diff of expected (-) and observed (+) items:
              data: "1"  # [TIME]
            - end
            + dropped  # closed mid-body (end of file before message length reached)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: short body
        "#,
    );
}

/// A chunk is held to the maximum item size like any other item (a server's chunk reaches
/// streamspec in pieces no larger than it was sent, so 1,000 bytes sent at once are one piece
/// of at least 100 bytes).
#[test]
fn a_chunk_larger_than_the_maximum_item_size_fails() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a long chunk" {
              GET {{base}}/bad/huge-line?size=1000&format=lines
              expect chunks { + times { _ }; end }
            }
            "#,
        )
        .args(["run", "a.stream", "--max-item-size", "100"])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: a long chunk

            error: item 1 is larger than the maximum item size of 100 bytes
             --> a.stream:3:10
              |
            3 |   expect chunks { + times { _ }; end }
              |          ^^^^^^ reading this `chunks` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: a long chunk
            "#,
        )
        .run();
}
