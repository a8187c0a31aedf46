//! The rule that every iteration passes, which a load's thresholds replace only when one says
//! how many may fail: a latency threshold let a run of failed iterations exit 0, and a load
//! whose every stream stalled and was cut off at the end passed without a threshold at all.

use crate::servers;
use crate::support::Test;

/// Two events where the spec expects three: every iteration fails.
const SHORT: &str = r#"
test "short" {
  GET {{base}}/sse/ticker?count=2&interval=0ms
  expect sse { 3 times { data: _ }; end }
}
"#;

fn short(thresholds: &[&str]) -> Test {
    let mut test = Test::new()
        .spec("short.stream", SHORT)
        .var("base", servers::demo())
        .args(["load", "short.stream", "--users", "2", "--iterations", "4"])
        .args(["--format", "json"]);
    for threshold in thresholds {
        test = test.args(["--threshold", threshold]);
    }
    test.kill_after(std::time::Duration::from_secs(60))
}

#[test]
fn a_latency_threshold_does_not_let_failed_iterations_pass() {
    let output = short(&["p99 ttfb < 5s"]).run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    assert_eq!(
        (&report["passed"], &report["failed_because"]),
        (
            &serde_json::json!(false),
            &serde_json::json!(["the threshold `failures < 1 (implied)` failed"])
        )
    );
    let verdicts: Vec<(&str, bool, bool)> = report["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .map(|verdict| {
            (
                verdict["threshold"].as_str().unwrap_or_default(),
                verdict["implied"].as_bool().unwrap_or(false),
                verdict["passed"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("p99 ttfb < 5s", false, true),
            ("failures < 1", true, false)
        ]
    );
}

#[test]
fn a_threshold_on_failures_says_how_many_may_fail() {
    for allowing in ["failures <= 100%", "passes >= 0%"] {
        let output = short(&["p99 ttfb < 5s", allowing]).run_unchecked();
        assert_eq!(output.status, Some(0), "{allowing}: {}", output.stderr);
        let report: serde_json::Value =
            serde_json::from_str(&output.stdout).expect("a JSON report");
        assert_eq!(report["thresholds"].as_array().map(Vec::len), Some(2));
        assert_eq!(report["passed"], true);
        assert!(report.get("failed_because").is_none(), "{report}");
    }
    // Errors are one kind of failure: every answer here came, and was wrong.
    let output = short(&["errors < 1%"]).run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stdout);
}

#[test]
fn streams_that_stalled_until_the_end_cut_them_off_fail_a_load_that_judges_nothing_else() {
    // Two events, then nothing: every iteration waits on its stream until the end cuts it off.
    let stalled = r#"
        test "stalled" {
          GET {{base}}/bad/stall?after=2
          expect sse { 5 times { data: _ }; end }
        }
    "#;
    let load = |thresholds: &[&str]| {
        let mut test = Test::new()
            .spec("stall.stream", stalled)
            .var("base", servers::demo())
            .args(["load", "stall.stream", "--users", "2", "--duration", "1s"])
            .args(["--graceful-stop", "100ms", "--format", "json"]);
        for threshold in thresholds {
            test = test.args(["--threshold", threshold]);
        }
        test.kill_after(std::time::Duration::from_secs(60))
            .run_unchecked()
    };
    // Nor do thresholds on what a stream stalled after its head meets (`connect`, `ttfb`).
    for thresholds in [
        &[][..],
        &["failures < 5%"][..],
        &["p99 ttfb < 1s"][..],
        &["p99 first item < 1s"][..],
    ] {
        let output = load(thresholds);
        assert_eq!(output.status, Some(1), "{thresholds:?}: {}", output.stderr);
        // The report says so too, for a CI step that reads it alone.
        let report: serde_json::Value =
            serde_json::from_str(&output.stdout).expect("a JSON report");
        assert_eq!(report["passed"], false, "{thresholds:?}");
        assert!(
            report["failed_because"]
                .as_array()
                .expect("reasons")
                .contains(&serde_json::json!(
                    "stall.stream: stalled: no iteration ended (the end of the run cut off 2 iterations), so none was judged"
                )),
            "{}",
            report["failed_because"]
        );
        assert_eq!(
            output.stderr,
            "error: stall.stream: stalled: no iteration ended (the end of the run cut off 2 iterations), so none was judged: a stream stalled since its last item reads the same as one still going; give the test time to end (--duration, --graceful-stop), or judge its gaps with a threshold of its own (`threshold max gap < 1s`, shorter than the run)\n",
            "{thresholds:?}"
        );
    }
    // A threshold on the streams judges them: the stall shows as a gap of the time waited.
    let output = load(&["max gap < 500ms"]);
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    assert_eq!(report["thresholds"][0]["passed"], false, "{report}");
    assert!(
        output
            .stderr
            .starts_with("warning: stall.stream: stalled: no iteration ended"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_test_stalled_until_the_cut_is_not_judged_by_the_gaps_of_the_others() {
    // Beside a healthy feed, whose gaps outweigh the stalled test's in the whole load's.
    let output = Test::new()
        .spec(
            "mixed.stream",
            r#"
            test "feed" {
              GET {{base}}/sse/ticker?count=5&interval=10ms
              expect sse { 5 times { data: _ }; end }
            }

            test "stalled" {
              GET {{base}}/bad/stall?after=2
              expect sse { 5 times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "mixed.stream", "--users", "4", "--duration", "1s"])
        .args(["--graceful-stop", "100ms", "--threshold", "p99 gap < 1s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stdout);
    assert!(
        output
            .stderr
            .starts_with("error: mixed.stream: stalled: no iteration ended"),
        "{}",
        output.stderr
    );
}
