//! The JUnit and TAP reports of a run whose branches read named streams and meet at a barrier:
//! each stream's figures under its name and branch, and the barrier's, as `run -v` shows them
//! (JUnit's `<system-out>`) and as JSON Lines has them (TAP's YAML block).

use crate::reports::{parse_tap, redact_report};
use crate::servers;
use crate::support::{Test, redact};

/// Two readers subscribed at a barrier, and a writer that publishes two messages after it.
const READERS_AND_A_WRITER: &str = r#"
    test "two readers and a writer" {
      parallel {
        branch reader 2 times {
          GET {{base}}/channels/report-figures/subscribe as feed
          expect sse { event: "subscribed" }
          barrier subscribed
          expect sse from feed { 2 times { event: "message" } }
        }
        branch writer {
          barrier subscribed
          repeat 2 as i {
            POST {{base}}/channels/report-figures/publish
            body json { "n": {{i}} }
            expect status 200
          }
        }
      }
    }
"#;

#[test]
fn junit_and_tap_give_each_stream_its_name_and_branch_and_each_barrier_its_figures() {
    let output = Test::new()
        .spec("a.stream", READERS_AND_A_WRITER)
        .args(["run", "a.stream", "--format", "tap"])
        .args(["--report-junit", "junit.xml"])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}{}", output.stdout, output.stderr);
    let tap = redact_report(&output.stdout);
    let reader = |n: usize| {
        format!(
            r#"    - kind: "sse"
      name: "feed"
      branch: "reader[{n}]"
      line: 4
      items: 3
      bytes: 142
      connections: 1
      ttfb_ms: [MS]
      first_item_ms: [MS]
      duration_ms: [MS]
      gaps_ms:
        min: [MS]
        mean: [MS]
        p50: [MS]
        p95: [MS]
        p99: [MS]
        max: [MS]
      reconnect_delays_ms: []
      aborted_after: ~
"#
        )
    };
    assert_eq!(
        tap,
        format!(
            r#"TAP version 13
1..1
ok 1 - a.stream: two readers and a writer
  ---
  streams:
{}{}  barriers:
    - name: "subscribed"
      line: 6
      branches: 3
      spread_ms: [MS]
      branch: ~
  ...
"#,
            reader(1),
            reader(2)
        )
    );
    if let Some(parsed) = parse_tap(&output.stdout) {
        assert_eq!(parsed["parse_errors"], serde_json::json!([]));
        let yaml = &parsed["tests"][0]["yaml"];
        assert_eq!(yaml["streams"][1]["name"], "feed");
        assert_eq!(yaml["streams"][1]["branch"], "reader[2]");
        assert_eq!(yaml["streams"][1]["aborted_after"], serde_json::Value::Null);
        assert_eq!(yaml["barriers"][0]["name"], "subscribed");
    }
    let xml = std::fs::read_to_string(output.dir.path().join("junit.xml")).expect("the report");
    let reader = |n: usize| {
        format!(
            "         sse feed on line 4 (branch reader[{n}]): 3 items, 142 bytes, 1 connection
           ttfb [TIME] · first item [TIME] · duration [TIME]
           gaps min [TIME] · mean [TIME] · p50 [TIME] · p95 [TIME] · p99 [TIME] · max [TIME]
"
        )
    };
    assert_eq!(
        redact_report(&redact(output.dir.path(), &xml)),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="streamspec" tests="1" skipped="0" failures="0" errors="0" time="[TIME]">
    <testsuite name="a.stream" tests="1" skipped="0" errors="0" failures="0" time="[TIME]">
        <testcase name="two readers and a writer" classname="a.stream" time="[TIME]" file="a.stream" line="1">
            <system-out>{}{}         barrier subscribed on line 6: 3 branches released within [TIME]
</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#,
            reader(1),
            reader(2)
        )
    );
}
