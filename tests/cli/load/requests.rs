//! Requests not read as streams (a publisher's `POST`, a health check) in a load: their time to
//! the response head and to a new connection are measured as a stream's are; a request given up
//! before its head counts its wait; rates count what ended within the schedule.

use crate::servers;
use crate::support::Test;

#[test]
fn a_plain_request_gives_its_connect_and_ttfb() {
    let output = Test::new()
        .spec(
            "publish.stream",
            r#"
            test "publish, then read" {
              POST {{base}}/counters/c{{vu}}/increment
              expect status 200
              GET {{base}}/sse/ticker?count=2&interval=0ms
              expect sse { 2 times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .args([
            "load",
            "publish.stream",
            "--users",
            "2",
            "--iterations",
            "4",
        ])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    // Two requests an iteration, one of them read as a stream.
    assert_eq!(total["metrics"]["ttfb"]["count"], 8, "{total}");
    assert_eq!(total["counts"]["streams"], 4, "{total}");
    assert_eq!(total["metrics"]["items"]["count"], 4, "{total}");
    assert_eq!(total["metrics"]["first_item"]["count"], 4, "{total}");
    // Each user's first request opens its connection.
    assert!(
        total["metrics"]["connect"]["count"].as_u64() >= Some(2),
        "{total}"
    );
}

#[test]
fn a_ttfb_threshold_holds_on_tests_without_streams() {
    let output = Test::new()
        .spec(
            "health.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect status 200
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "health.stream", "--users", "2", "--iterations", "6"])
        .args(["--threshold", "p99 ttfb < 30s", "--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    assert_eq!(total["metrics"]["ttfb"]["count"], 6, "{total}");
    assert_eq!(total["counts"]["streams"], 0, "{total}");
    assert!(total["metrics"]["items"].is_null(), "{total}");
    assert!(total["metrics"]["first_item"].is_null(), "{total}");
}

#[test]
fn a_request_given_up_before_its_head_counts_the_time_it_was_waited_for() {
    // The head comes after 400ms; the block gives up at 100ms. Leaving such requests out of
    // the ttfb made a server too slow to answer look like one that answered at once.
    let output = Test::new()
        .spec(
            "slow.stream",
            r#"
            test "slow head" {
              GET {{base}}/slow/ttfb?ttfb=400ms
              expect sse {
                first within 100ms
                + times { data: _ }
              }
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "slow.stream", "--users", "2", "--iterations", "4"])
        .args(["--threshold", "p50 ttfb < 50ms", "--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let ttfb = &report["total"]["metrics"]["ttfb"];
    assert_eq!(ttfb["count"], 4, "{ttfb}");
    assert!(ttfb["min"].as_f64() >= Some(99.0), "{ttfb}");
    assert_eq!(report["thresholds"][0]["passed"], false, "{report}");
}

#[test]
fn rates_count_what_ended_within_the_schedule_not_in_the_graceful_stop() {
    // One user, a 2-second schedule, iterations of 1.5 s: the first ends in the schedule, the
    // second in the graceful stop after it. A rate of 2 passes in 2 s would be a server twice
    // as fast as it was.
    let output = Test::new()
        .spec(
            "slow.stream",
            r#"
            test "a stream of 1.5s" {
              GET {{base}}/sse/ticker?count=16&interval=100ms
              expect sse { 16 times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "slow.stream", "--users", "1", "--duration", "2s"])
        .args(["--threshold", "goodput > 0.8/s", "--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    assert_eq!(total["counts"]["passed"], 2, "{total}");
    assert_eq!(total["counts"]["passed_in_schedule"], 1, "{total}");
    assert_eq!(total["goodput"], 0.5, "{total}");
    assert_eq!(report["thresholds"][0]["measured"], 0.5, "{report}");
}
