//! Several streams in one test, against the demo's channels, chats and counters: the failing
//! twins of the specs in `specs/many/` (a branch that fails, subscribers that did not get the
//! same items, a token lost on a refresh, a barrier a branch never reaches), and what `run -v`
//! and the JSON report show of named streams, branches and barriers.
//!
//! One demo serves the whole test binary, and channels, generations and counters live as long
//! as it does: each test uses names of its own (`many-…`), fixed so that the output is.

use std::time::Duration;

use serde_json::{Value, json};

use crate::servers;
use crate::support::{Test, fails, redact_verbose};

// ─── Failing twins ─────────────────────────────────────────────────────────────────────────────

#[test]
fn a_failing_branch_is_named_and_fails_the_test() {
    // Only the auditor expects a message nobody published; the readers pass or are cancelled.
    fails(
        servers::demo(),
        r#"
        test "an auditor that expects a message nobody published" {
          parallel {
            branch reader 2 times {
              GET {{base}}/channels/many-branch-fails/subscribe as feed
              expect sse { event: "subscribed" }
              barrier subscribed
              expect sse from feed {
                event: "message"  data: json { "n": 1 }
                event: "message"  data: json { "n": 2 }
              }
            }
            branch auditor {
              GET {{base}}/channels/many-branch-fails/subscribe as feed
              expect sse { event: "subscribed" }
              barrier subscribed
              expect sse from feed {
                event: "message"  data: json { "n": 1 }
                event: "message"  data: json { "n": 3 }
              }
            }
            branch writer {
              barrier subscribed
              repeat 2 as i {
                POST {{base}}/channels/many-branch-fails/publish
                body json { "n": {{i}} }
                expect status 200
              }
            }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: an auditor that expects a message nobody published

        error: branch auditor: item 2 does not match
          --> a.stream:18:9
           |
        18 |         event: "message"  data: json { "n": 3 }
           |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `data.n`: expected 3, found 2
           |
           = diff of expected (-) and observed (+) items:
               id: "1"  event: "message"  data: json { "n": 1 }  # [TIME]
             - event: "message"  data: json { "n": 3 }
             + id: "2"  event: "message"  data: json { "n": 2 }  # [TIME]
               … (stopped reading here)

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: an auditor that expects a message nobody published
        "#,
    );
}

#[test]
fn subscribers_that_missed_a_message_are_not_the_same() {
    // Each subscriber joins after the messages before it were published: the first gets three,
    // the second two, the third one.
    fails(
        servers::demo(),
        r#"
        test "every subscriber gets every message" {
          repeat 3 as i {
            GET {{base}}/channels/many-late-subscriber/subscribe as sub
            expect sse { event: "subscribed" }
            POST {{base}}/channels/many-late-subscriber/publish
            body json { "n": {{i}} }
            expect status 200
          }
          expect sse from sub {
            until data: json { "n": 3 } { event: "message" }
          }
          expect same items in sub where event: "message"
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: every subscriber gets every message

        error: the streams of `sub` did not all receive the same items
          --> a.stream:12:24
           |
        12 |   expect same items in sub where event: "message"
           |                        ^^^ `sub[1]` got 3 items, `sub[2]` got 2 items
           |
           = note: they part at item 1: `sub[1]` got `id: "1"  event: "message"  data: json { "n": 1 }`, `sub[2]` got `id: "2"  event: "message"  data: json { "n": 2 }`

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: every subscriber gets every message
        "#,
    );
}

#[test]
fn a_refresh_that_resumes_past_a_token_loses_it() {
    // The careless page resumes after token 4 when it had read 3: token 4 is never seen.
    fails(
        servers::demo(),
        r#"
        test "a refresh that resumes one token too far" {
          parallel {
            branch chat 2 times as n {
              GET {{base}}/chat/streams/many-lost-{{n}}?tokens=8&pace=1ms as reply
              expect sse { 3 times { data: _ }; disconnect }
              barrier refresh
              expect sse from reply { reconnect; until data: "[DONE]" { data: _ }; end }
            }
            branch careless {
              GET {{base}}/chat/streams/many-lost-careless?tokens=8&pace=1ms as reply
              expect sse { 3 times { data: _ }; disconnect }
              barrier refresh
              expect sse from reply {
                reconnect with header last-event-id: "4"
                until data: "[DONE]" { data: _ }
                end
              }
            }
          }
          expect ids in reply contiguous
          expect count in reply == 27
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a refresh that resumes one token too far

        error: ids jump from 3 to 5: id 4 is missing
          --> a.stream:20:10
           |
        20 |   expect ids in reply contiguous
           |          ^^^^^^^^^^^^^^^^^^^^^^^ ids must go up one at a time
           |
           = note: in stream `reply` (branch careless)
           = diff of expected (-) and observed (+) items:
               id: "3"  # [TIME]
             - id: "4"
             + id: "5"  # [TIME]

        error: expected count == 27, got 26
          --> a.stream:21:25
           |
        21 |   expect count in reply == 27
           |                         ^^^^^ count was 26
           |
           = note: measured over 3 streams of `reply`

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a refresh that resumes one token too far
        "#,
    );
}

#[test]
fn a_branch_that_fails_before_the_barrier_stops_the_waiting_ones_at_once() {
    // The clients would wait at the barrier until the test's minute is up; the warm-up's failure
    // ends the test at once instead.
    let output = fails(
        servers::demo(),
        r#"
        test "a warm-up that fails before the barrier" {
          timeout 60s
          parallel {
            branch client 5 times {
              barrier go
              POST {{base}}/counters/many-never-reached/increment
              expect status 200
            }
            branch warmup {
              POST {{base}}/counters/many-never-reached/increment?unsafe=maybe
              expect status 200
              barrier go
            }
          }
        }
        "#,
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a warm-up that fails before the barrier

        error: branch warmup: expected status 200, got 400 Bad Request
          --> a.stream:11:21
           |
        11 |       expect status 200
           |                     ^^^ the server answered 400
           |
           = note: the body began: bad query parameter `unsafe`: expected 1 or 0, got `maybe`
           = note: cancelled while waiting at `barrier go`: branch client[1], branch client[2], branch client[3], branch client[4], branch client[5]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: a warm-up that fails before the barrier
        "#,
    );
    assert!(
        output.elapsed < Duration::from_secs(10),
        "the run took {:?}: the branches at the barrier waited for the timeout",
        output.elapsed
    );
}

// ─── What a passing run shows ──────────────────────────────────────────────────────────────────

/// Three readers subscribed at a barrier, a writer that publishes two messages after it; and
/// two subscribers opened one after the other under one name.
const READERS_AND_A_WRITER: &str = r#"
    test "three readers and a writer" {
      parallel {
        branch reader 3 times {
          GET {{base}}/channels/CHANNEL/subscribe as feed
          expect sse { event: "subscribed" }
          barrier subscribed
          expect sse from feed { 2 times { event: "message" } }
        }
        branch writer {
          barrier subscribed
          repeat 2 as i {
            POST {{base}}/channels/CHANNEL/publish
            body json { "n": {{i}} }
            expect status 200
          }
        }
      }
      expect same items in feed where event: "message"
      expect count in reader == 9
    }

    test "two subscribers, one after the other" {
      repeat 2 {
        GET {{base}}/channels/CHANNEL-2/subscribe as sub
        expect sse { event: "subscribed" }
      }
      POST {{base}}/channels/CHANNEL-2/publish
      body json { "n": 1 }
      expect status 200
      expect sse from sub { event: "message" }
    }
"#;

#[test]
fn verbose_names_the_streams_their_branches_and_the_barrier() {
    redact_verbose(Test::new())
        .spec(
            "a.stream",
            &READERS_AND_A_WRITER.replace("CHANNEL", "many-verbose"),
        )
        .args(["run", "-v", "--jobs", "1", "a.stream"])
        .var("base", servers::demo())
        .stdout(
            r#"
            Running 2 tests from 1 file
              PASS [TIME] a.stream: three readers and a writer
                     sse feed on line 4 (branch reader[1]): 3 items, 140 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                     sse feed on line 4 (branch reader[2]): 3 items, 140 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                     sse feed on line 4 (branch reader[3]): 3 items, 140 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                     barrier subscribed on line 6: 4 branches released within [TIME]
              PASS [TIME] a.stream: two subscribers, one after the other
                     sse sub[1] on line 24: 2 items, 106 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
                     sse sub[2] on line 24: 2 items, 106 bytes, 1 connection
                       ttfb [TIME] · first item [TIME] · duration [TIME]
                       gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
            Summary 2 tests: 2 passed, 0 failed [TIME]
            "#,
        )
        .run();
}

#[test]
fn the_json_report_gives_each_stream_its_name_and_branch_and_each_barrier_its_figures() {
    let output = Test::new()
        .spec(
            "a.stream",
            &READERS_AND_A_WRITER.replace("CHANNEL", "many-json"),
        )
        .args(["run", "--format", "json", "--jobs", "1", "a.stream"])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}{}", output.stdout, output.stderr);
    let tests: Vec<Value> = output
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .filter(|line: &Value| line["type"] == "test_finished")
        .collect();
    // The chosen fields of each entry of `list`, in order.
    let fields = |test: &Value, list: &str, keys: &[&str]| -> Value {
        let entries = test[list].as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .map(|entry| {
                keys.iter()
                    .map(|key| entry[*key].clone())
                    .collect::<Value>()
            })
            .collect()
    };
    let stream_keys = ["kind", "name", "branch", "line", "items", "connections"];
    assert_eq!(
        fields(&tests[0], "streams", &stream_keys),
        json!([
            ["sse", "feed", "reader[1]", 4, 3, 1],
            ["sse", "feed", "reader[2]", 4, 3, 1],
            ["sse", "feed", "reader[3]", 4, 3, 1],
        ])
    );
    assert_eq!(
        fields(
            &tests[0],
            "barriers",
            &["name", "line", "branches", "branch"]
        ),
        json!([["subscribed", 6, 4, null]])
    );
    assert!(tests[0]["barriers"][0]["spread_ms"].is_number());
    assert_eq!(
        fields(&tests[1], "streams", &stream_keys),
        json!([
            ["sse", "sub[1]", null, 24, 2, 1],
            ["sse", "sub[2]", null, 24, 2, 1],
        ])
    );
    assert_eq!(tests[1]["barriers"], json!([]));
}
