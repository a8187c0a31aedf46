//! The streams of failed iterations in a load: timed to their failure, not to the items a run
//! would read after it for the diff.

use crate::servers;
use crate::support::Test;

#[test]
fn a_stream_failed_by_a_broken_bound_is_timed_to_the_failure_not_past_it() {
    // The second event comes 10 s after the first: the `within 100ms` breaks at 100 ms. A run
    // reads on for up to 500 ms to show what came next in the diff; a load measures the server,
    // so its stream ends at the failure (it read on, 600 ms, before).
    let output = Test::new()
        .spec(
            "slow.stream",
            r#"
test "slow second event" {
  GET {{base}}/sse/ticker?count=2&interval=10s
  expect sse {
    data: _
    data: _ within 100ms
    end
  }
}
"#,
        )
        .var("base", servers::demo())
        .args(["load", "slow.stream", "--users", "2", "--iterations", "2"])
        .args(["--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    assert_eq!(total["counts"]["failed"], 2, "{total}");
    let max = total["metrics"]["iteration"]["max"]
        .as_f64()
        .expect("a max");
    // 100 ms and the machine's delays; reading on for the diff took it past 600 ms.
    assert!(max < 450.0, "iteration max {max} ms: {total}");
    // A stream given up on did not end: its length is not known.
    assert!(total["metrics"]["stream_duration"].is_null(), "{total}");
}

/// Runs `spec` as a load of two iterations and gives its JSON report's total.
fn total_of(spec: &str) -> serde_json::Value {
    let output = Test::new()
        .spec("stall.stream", spec)
        .var("base", servers::demo())
        .args(["load", "stall.stream", "--users", "2", "--iterations", "2"])
        .args(["--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    report["total"].clone()
}

#[test]
fn a_first_item_that_never_came_counts_the_time_waited_for_it() {
    // The head comes, then nothing: the time to the first item is at least the 300 ms waited,
    // as a head never received counts in `ttfb`. Left out, `p99 first item < 100ms` passed.
    let total = total_of(
        r#"
test "silent stream" {
  GET {{base}}/bad/stall?after=0
  expect sse { data: _ within 300ms; end }
}
"#,
    );
    let first = &total["metrics"]["first_item"];
    assert_eq!(first["count"], 2, "{total}");
    assert!(first["min"].as_f64() >= Some(300.0), "{total}");
    // The ttfb is the head's, which did come.
    assert!(
        total["metrics"]["ttfb"]["max"].as_f64() < Some(300.0),
        "{total}"
    );
}

#[test]
fn a_stall_that_broke_a_bound_counts_as_a_gap_of_the_time_waited() {
    // Two events, then nothing: the gap after the second is at least the 300 ms waited.
    let total = total_of(
        r#"
test "stalled stream" {
  GET {{base}}/bad/stall?after=2
  expect sse { 2 times { data: _ }; data: _ within 300ms; end }
}
"#,
    );
    let gap = &total["metrics"]["gap"];
    // One gap between the two events, and the wait after them, in each iteration.
    assert_eq!(gap["count"], 4, "{total}");
    assert!(gap["max"].as_f64() >= Some(300.0), "{total}");
    assert_eq!(total["metrics"]["first_item"]["count"], 2, "{total}");
}
