//! Specs that pass: each asserts exit 0 and the exact report.
//!
//! Timing bounds here are generous budgets (seconds), so a busy machine cannot break them.

use crate::servers;
use crate::support::{Test, all_passed};

/// Runs `a.stream` against `base` and expects these tests to pass.
fn run_passing(base: &str, spec: &str, names: &[&str]) {
    let tests: Vec<(&str, &str)> = names.iter().map(|name| ("./a.stream", *name)).collect();
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "."])
        .var("base", base)
        .stdout(&all_passed(1, &tests))
        .run();
}

fn run_demo(spec: &str, name: &str) {
    run_passing(servers::demo(), spec, &[name]);
}

fn run_canned(spec: &str, name: &str) {
    run_passing(servers::canned(), spec, &[name]);
}

#[test]
fn sse_ticker() {
    Test::new()
        .spec(
            "ticker.stream",
            r#"
            test "the ticker sends three events, then closes" @sse {
              GET {{base}}/sse/ticker?count=3&interval=10ms
              expect status 200
              expect header content-type ~ /^text\/event-stream/
              expect header cache-control == no-cache
              expect sse {
                first within 5s
                id: "1"  event: "message"  data: json { "count": 1, "timestamp": integer }
                id: "2"  data: json { "count": 2 }
                id: "3"  data: json { "count": 3 }
                end
              }
              expect count == 3
            }
            "#,
        )
        .args(["run", "."])
        .var("base", servers::demo())
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] ./ticker.stream: the ticker sends three events, then closes
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .run();
}

#[test]
fn sse_fields_comments_retry_and_id_persistence() {
    run_canned(
        r#"
        test "every SSE field" {
          GET {{base}}/sse/fields
          expect sse {
            retry: 1500  id: "7"  event: "greeting"  data: "hello\nworld"
            id: "7"  event: "message"  data: json { "n": 2 }  $.n == 2
            id: ""  event: "bye"  data: "done"
            end
          }
        }
        "#,
        "every SSE field",
    );
}

#[test]
fn sse_data_matchers() {
    run_demo(
        r#"
        test "regex, contains, any, JSONPath" {
          GET {{base}}/sse/ticker?count=4&interval=0ms
          expect sse {
            data: /^\{"count":1,/
            data: contains "\"count\":2"
            id: _  data: _
            $.count == 4
            end
          }
        }
        "#,
        "regex, contains, any, JSONPath",
    );
}

#[test]
fn ndjson() {
    run_demo(
        r#"
        test "four NDJSON events" @ndjson {
          GET {{base}}/ndjson/events?interval=0ms
          expect header content-type == application/x-ndjson
          expect ndjson {
            exact { "event": "start", "ts": 1 }
            { "event": "data", "value": integer }  $.ts == 2
            { "event": "data", "value": 80..90, "ts": > 2 }
            { "event": "end" }  $.ts >= 4
            end
          }
          expect count == 4
          expect bytes > 100
        }
        "#,
        "four NDJSON events",
    );
}

#[test]
fn lines() {
    run_demo(
        r#"
        test "chunk lines" {
          GET {{base}}/slow/ttfb?ttfb=0ms&interval=0ms
          expect lines {
            "chunk 1"
            /^chunk \d$/
            contains "3"  size 7
            end
          }
        }
        "#,
        "chunk lines",
    );
}

#[test]
fn lines_with_crlf_blank_and_unterminated() {
    run_canned(
        r#"
        test "CRLF, a blank line, and a last line without its ending" {
          GET {{base}}/lines/crlf
          expect lines { "one"; "two"; ""; "three"; end }
        }
        "#,
        "CRLF, a blank line, and a last line without its ending",
    );
}

#[test]
fn chunks() {
    run_demo(
        r#"
        test "the array arrives piece by piece" {
          GET {{base}}/chunked/array?interval=0ms
          expect chunks {
            "["
            contains "first"  size > 10
            size 1
            /"second"/
            ","
            _
            "]"
            end
          }
        }
        "#,
        "the array arrives piece by piece",
    );
}

#[test]
fn whole_bodies() {
    run_passing(
        servers::demo(),
        r#"
        test "a JSON body, matched whole" {
          GET {{base}}/chunked/array?interval=0ms
          expect json [{ "id": 1, "name": "first" }, { "id": 2 }, ...]  $[2].name == "third"
        }

        test "a JSON body with JSONPath over several values" {
          GET {{base}}/chunked/array?interval=0ms
          expect json array  $[*].id == [1, 2, 3]
        }

        test "a text body" {
          GET {{base}}/slow/ttfb?ttfb=0ms&interval=0ms
          expect text "chunk 1\nchunk 2\nchunk 3\n"
        }

        test "a text body containing" {
          GET {{base}}/health
          expect text contains "ok"
        }
        "#,
        &[
            "a JSON body, matched whole",
            "a JSON body with JSONPath over several values",
            "a text body",
            "a text body containing",
        ],
    );
}

#[test]
fn llm_chat_with_captures_and_aggregates() {
    Test::new()
        .spec(
            "chat.stream",
            r#"
            let model = "demo"

            test "the reply streams token by token" @llm {
              POST {{base}}/v1/chat/completions?interval=0ms
              header authorization: Bearer test-token
              body json { "model": "{{model}}", "stream": true,
                          "messages": [{ "role": "user", "content": "Hello" }] }
              expect status 200
              expect sse {
                first within 5s
                8 times {
                  data: json { "model": "{{model}}", "choices": [{ "delta": { "content": string -> reply } }] }
                }
                $.choices[0].finish_reason == "stop"
                data: "[DONE]"
                end
              }
              expect reply joined == "Hello, how can I help you?"
              expect reply joined ~ /^Hello/
              expect reply count == 8
              expect reply count in 8..8
              expect reply first == "Hello"
              expect reply last == "?"
              expect count == 10
            }

            test "until [DONE], skipping the finish chunk" @llm {
              POST {{base}}/v1/chat/completions?interval=0ms
              body json { "stream": true }
              expect sse {
                until data: "[DONE]" {
                  data: json { "choices": [{ "delta": object -> delta }] }
                }
                end
              }
              expect delta count == 9
              expect delta last == {}
            }

            test "a non-streaming answer" @llm {
              POST {{base}}/v1/chat/completions
              body json { "stream": false }
              expect header content-type == application/json
              expect json { "object": "chat.completion" }  $.choices[0].message.content ~ /Hello/
            }
            "#,
        )
        .args(["run", "chat.stream"])
        .var("base", servers::demo())
        .stdout(
            "
            Running 3 tests from 1 file
              PASS [TIME] chat.stream: the reply streams token by token
              PASS [TIME] chat.stream: until [DONE], skipping the finish chunk
              PASS [TIME] chat.stream: a non-streaming answer
            Summary 3 tests: 3 passed, 0 failed [TIME]
            ",
        )
        .run();
}

#[test]
fn capture_used_by_the_next_request() {
    run_demo(
        r#"
        test "resume after the first id" {
          GET {{base}}/sse/ticker?count=2&interval=0ms
          expect sse { id: /^(\d+)$/ -> first_id; data: _ }
          GET {{base}}/sse/ticker?count=3&interval=0ms&after={{first_id}}
          expect sse { id: "2"; id: "3"  data: json { "count": 3 }; end }
          expect first_id last == "1"
        }
        "#,
        "resume after the first id",
    );
}

#[test]
fn repetitions() {
    run_demo(
        r#"
        test "exact, ranges, plus and star" {
          GET {{base}}/sse/ticker?count=9&interval=0ms
          expect sse {
            2 times { data: _ }
            1..2 times { id: "3"; id: "4" }
            + times { id: /^[56]$/ }
            * times { id: "9" }
            2.. times { data: _ }
            * times { data: _ }
            end
          }
        }
        "#,
        "exact, ranges, plus and star",
    );
}

#[test]
fn until() {
    run_demo(
        r#"
        test "until the fourth tick" {
          GET {{base}}/sse/ticker?count=5&interval=0ms
          expect sse {
            until data: json { "count": 4 } { data: json { "count": < 4 } }
            data: json { "count": 5 }
            end
          }
        }
        "#,
        "until the fourth tick",
    );
}

#[test]
fn any_order() {
    run_demo(
        r#"
        test "the middle events in any order" {
          GET {{base}}/ndjson/events?interval=0ms
          expect ndjson {
            { "event": "start" }
            any order {
              { "value": 84 }
              { "event": "data" }
            }
            { "event": "end" }
            end
          }
        }
        "#,
        "the middle events in any order",
    );
}

#[test]
fn skip() {
    run_demo(
        r#"
        test "skip to the fourth tick" {
          GET {{base}}/sse/ticker?count=5&interval=0ms
          expect sse {
            data: json { "count": 1 }
            ...
            data: json { "count": 4 }
          }
        }
        "#,
        "skip to the fourth tick",
    );
}

#[test]
fn ignore() {
    run_canned(
        r#"
        test "heartbeats are ignored" {
          GET {{base}}/sse/heartbeat
          expect sse {
            ignore event: "ping"
            data: json { "n": 1 }
            data: json { "n": 2 }
            data: json { "n": 3 }
            end
          }
          expect count == 3
        }
        "#,
        "heartbeats are ignored",
    );
}

#[test]
fn timing_bounds() {
    // Only bounds that hold however late the client reads: two items read together have a gap
    // of zero, so `after` and `min` get no lower bound above zero.
    run_demo(
        r#"
        test "generous timing budgets hold" {
          GET {{base}}/sse/ticker?count=3&interval=20ms
          expect sse {
            first within 10s
            data: json { "count": 1 }
            data: json { "count": 2 }  within 10s  after 0ms
            data: json { "count": 3 }  within 10s
            end
          }
          expect ttfb < 10s
          expect duration < 10s
          expect duration > 20ms
          expect gaps max < 10s, mean < 10s, p50 < 10s, p95 < 10s, p99 < 10s, min >= 0ms
        }
        "#,
        "generous timing budgets hold",
    );
}

#[test]
fn dropped_connections() {
    Test::new()
        .spec(
            "demo.stream",
            r#"
            test "the chat aborts after three tokens" {
              POST {{base}}/v1/chat/completions?interval=0ms
              header x-test-pattern: abort:3
              body json { "stream": true }
              expect sse { 3 times { data: _ }; dropped }
            }

            test "the connection is reset mid-event" {
              GET {{base}}/bad/reset
              expect sse { id: "1"; dropped }
            }
            "#,
        )
        .spec(
            "canned.stream",
            r#"
            test "a clean close in the middle of an event counts as dropped" {
              GET {{canned}}/sse/cut
              expect sse { data: "1"; dropped }
            }
            "#,
        )
        .args(["run", "."])
        .var("base", servers::demo())
        .var("canned", servers::canned())
        .stdout(&all_passed(
            2,
            &[
                (
                    "./canned.stream",
                    "a clean close in the middle of an event counts as dropped",
                ),
                ("./demo.stream", "the chat aborts after three tokens"),
                ("./demo.stream", "the connection is reset mid-event"),
            ],
        ))
        .run();
}

#[test]
fn client_actions() {
    run_demo(
        r#"
        test "abort, wait and pace" {
          GET {{base}}/sse/ticker?count=4&interval=0ms
          expect sse {
            pace 5ms
            data: _
            wait 10ms
            data: _
            abort
          }
          GET {{base}}/bad/endless?interval=10ms
          expect sse { data: _ }
          abort
          GET {{base}}/health
          wait 1ms
          expect text "ok"
        }
        "#,
        "abort, wait and pace",
    );
}

#[test]
fn head_expectations() {
    run_passing(
        servers::canned(),
        r#"
        test "status classes and headers with several values" {
          GET {{base}}/headers
          expect status 2xx
          expect header Vary == Origin
          expect header vary contains Acc
          expect header vary ~ /^Orig/
          expect header vary != "Cookie"
          expect header content-type exists
          expect header x-debug not exists
        }

        test "a 503 the spec expects" {
          GET {{base}}/status/503
          expect status 503
        }
        "#,
        &[
            "status classes and headers with several values",
            "a 503 the spec expects",
        ],
    );
}

#[test]
fn not_equal_on_an_absent_header() {
    run_canned(
        r#"
        test "not served by nginx" {
          GET {{base}}/headers
          expect header server != "nginx"
        }
        "#,
        "not served by nginx",
    );
}

#[test]
fn variables_in_urls_headers_bodies_and_patterns() {
    run_demo(
        r#"
        let count = 3
        let path = "/sse/ticker?count={{count}}"
        let last = "{{count}}"

        test "variables everywhere" {
          GET {{base}}{{path}}&interval=0ms
          expect sse {
            2 times { data: _ }
            id: "{{last}}"  data: json { "count": {{count}} }
            end
          }
          expect count == 3
        }
        "#,
        "variables everywhere",
    );
}

#[test]
fn several_files_and_semicolons() {
    Test::new()
        .spec(
            "b/two.stream",
            r#"
            test "empty" { GET {{base}}/sse/empty ; expect sse { end } }
            "#,
        )
        .spec(
            "a/one.stream",
            r#"
            # A comment, then two tests.
            test "one" {
              GET {{base}}/sse/ticker?count=2&interval=0ms  # trailing comment
              expect sse { data: json { "count": 1 }; data: json { "count": 2 }; end }
            }
            test "health" { GET {{base}}/health ; expect text "ok" }
            "#,
        )
        .file("notes.txt", "not a spec")
        .args(["run"])
        .var("base", servers::demo())
        .stdout(&all_passed(
            2,
            &[
                ("./a/one.stream", "one"),
                ("./a/one.stream", "health"),
                ("./b/two.stream", "empty"),
            ],
        ))
        .run();
}

#[test]
fn check_counts_tests_and_files() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "one" { GET http://127.0.0.1:1/x ; expect sse { end } }
            test "two" { GET http://127.0.0.1:1/x ; expect status 200 }
            "#,
        )
        .spec("sub/b.stream", "test \"three\" { GET {{base}}/x }")
        .args(["check", "--var", "base=http://example.invalid"])
        .stdout("checked 3 tests in 2 files: no problems")
        .run();
}
