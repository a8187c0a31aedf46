//! Iterations the end of a load cuts off (after `--graceful-stop`): what their streams had
//! measured until then still counts, and the iterations are counted as cut off.

use crate::servers;
use crate::support::Test;

/// A subscription that outlasts the run: every iteration is cut off mid-stream.
const LONGER_THAN_THE_RUN: &str = r#"
test "subscription" {
  GET {{base}}/sse/ticker?count=100000&interval=20ms
  expect sse { + times { data: json { "count": integer } }; end }
}
"#;

#[test]
fn a_stream_longer_than_the_run_reports_what_it_measured_when_cut_off() {
    let output = Test::new()
        .spec("soak.stream", LONGER_THAN_THE_RUN)
        .var("base", servers::demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "1s"])
        .args(["--graceful-stop", "100ms", "--format", "json"])
        .args(["--threshold", "p99 gap < 30s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    let counts = &total["counts"];
    // Neither passed nor failed: cut off, with what their streams measured.
    assert_eq!(counts["interrupted"], 2, "{counts}");
    assert_eq!(counts["iterations"], 0, "{counts}");
    assert_eq!(counts["streams"], 2, "{counts}");
    assert!(counts["items"].as_u64() >= Some(4), "{counts}");
    let metrics = &total["metrics"];
    for metric in ["connect", "ttfb", "first_item"] {
        assert_eq!(metrics[metric]["count"], 2, "{metric}: {metrics}");
    }
    assert!(metrics["gap"]["count"].as_u64() >= Some(2), "{metrics}");
    // A stream's length and item count are only known once it ends: cut off, they are not
    // measured (the time to the cut would pass `stream duration p99 < …` for any stream).
    for metric in ["stream_duration", "items"] {
        assert!(metrics[metric].is_null(), "{metric}: {metrics}");
    }
    // Each stream's head came no later than its first item.
    for stat in ["min", "max"] {
        let (ttfb, first) = (&metrics["ttfb"][stat], &metrics["first_item"][stat]);
        assert!(ttfb.as_f64() <= first.as_f64(), "{stat}: {ttfb} > {first}");
    }
    // An iteration cut off has no duration of its own to report.
    assert!(metrics["iteration"].is_null(), "{metrics}");
    assert_eq!(report["thresholds"][0]["passed"], true);
}

#[test]
fn the_summary_counts_the_iterations_cut_off_and_shows_their_streams() {
    let output = Test::new()
        .spec("soak.stream", LONGER_THAN_THE_RUN)
        .var("base", servers::demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "1s"])
        .args(["--graceful-stop", "100ms"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    // Nothing failed, but nothing was judged either: a stream stalled since its last item
    // would read the same. Without a threshold on the streams, the run fails.
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert_eq!(
        output.stderr,
        "error: soak.stream: subscription: no iteration ended (the end of the run cut off 2 iterations), so none was judged: a stream stalled since its last item reads the same as one still going; give the test time to end (--duration, --graceful-stop), or judge its gaps with a threshold of its own (`threshold max gap < 1s`, shorter than the run)\n"
    );
    for expected in [
        "\n2 iterations cut off at the end (the streams they had open: measured but for their \
         length and item count)\n",
        "\n  ttfb ",
        "\n  first item ",
        "\n  gap ",
        "  0 iterations · 0 passed · 0 failed · 2 cut off · 2 streams · ",
        "\nFAILED: soak.stream: subscription: no iteration ended (the end of the run cut off 2 \
         iterations), so none was judged\n",
    ] {
        assert!(
            output.stdout.contains(expected),
            "no {expected:?} in:\n{}",
            output.stdout
        );
    }
}

#[test]
fn a_grpc_call_and_a_socket_longer_than_the_run_report_what_they_measured() {
    let output = Test::new()
        .spec(
            "soak.stream",
            r#"
            test "prices" {
              threshold max gap < 30s
              grpc {{grpc}} stock.StockService/StreamPrices
              message { "symbols": ["AAPL"], "ticks": 100000, "intervalMs": 20 }
              expect messages { + times { { "tick": number } }; end }
            }

            test "ticks" {
              threshold max gap < 30s
              ws {{base}}/ws/ticker?count=100000&interval=20ms
              expect messages { + times { { "n": integer } }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "1s"])
        .args(["--graceful-stop", "100ms", "--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    for test in report["tests"].as_array().expect("tests") {
        let (counts, metrics) = (&test["counts"], &test["metrics"]);
        assert_eq!(counts["interrupted"], 1, "{test}");
        assert_eq!(counts["streams"], 1, "{test}");
        assert!(counts["items"].as_u64() >= Some(2), "{test}");
        for metric in ["ttfb", "first_item"] {
            assert_eq!(metrics[metric]["count"], 1, "{metric}: {test}");
        }
        assert!(metrics["stream_duration"].is_null(), "{test}");
        assert!(metrics["gap"]["count"].as_u64() >= Some(1), "{test}");
    }
}

#[test]
fn a_load_stopped_early_cuts_off_its_iterations_with_what_they_measured() {
    // `--abort-on-fail` stops the load once the grace is over: the iterations running are cut
    // off at once, as at Ctrl-C, without waiting for the graceful stop.
    let output = Test::new()
        .spec("soak.stream", LONGER_THAN_THE_RUN)
        .var("base", servers::demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "10m"])
        .args(["--threshold", "iterations > 100", "--abort-on-fail"])
        .args(["--abort-grace", "1s", "--format", "json"])
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
    assert!(
        report["stopped"]
            .as_str()
            .is_some_and(|why| why.contains("iterations > 100")),
        "{}",
        report["stopped"]
    );
    let total = &report["total"];
    assert_eq!(total["counts"]["interrupted"], 2, "{total}");
    assert_eq!(total["counts"]["streams"], 2, "{total}");
    assert_eq!(total["metrics"]["ttfb"]["count"], 2, "{total}");
    assert!(
        total["metrics"]["gap"]["count"].as_u64() >= Some(2),
        "{total}"
    );
}

#[test]
fn streams_read_in_parallel_branches_report_what_they_measured_when_cut_off() {
    // Two subscriptions that outlast the run, read in branches, beside a branch that ended
    // before the cut: each branch's stream counts, as a stream of the test itself would.
    let output = Test::new()
        .spec(
            "soak.stream",
            r#"
            test "two subscriptions" {
              parallel {
                branch prices {
                  GET {{base}}/sse/ticker?count=100000&interval=20ms
                  expect sse { + times { data: json { "count": integer } }; end }
                }
                branch news {
                  GET {{base}}/sse/ticker?count=100000&interval=20ms
                  expect sse { + times { data: json { "count": integer } }; end }
                }
                branch hello {
                  GET {{base}}/sse/ticker?count=2&interval=0ms
                  expect sse { 2 times { data: _ }; end }
                }
              }
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "1s"])
        .args(["--graceful-stop", "100ms", "--format", "json"])
        // Judged by their gaps: all cut off, they are judged by nothing else.
        .args(["--threshold", "max gap < 30s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    let counts = &total["counts"];
    assert_eq!(counts["interrupted"], 2, "{counts}");
    // Per user: the two subscriptions cut off, and the branch that had ended.
    assert_eq!(counts["streams"], 6, "{counts}");
    assert!(
        counts["items"].as_u64() >= Some(2 * (2 + 2 * 2)),
        "{counts}"
    );
    let metrics = &total["metrics"];
    // Each subscription opened its own connection (a connection the short branch left idle
    // may have served another).
    assert!(metrics["connect"]["count"].as_u64() >= Some(4), "{metrics}");
    for metric in ["ttfb", "first_item"] {
        assert_eq!(metrics[metric]["count"], 6, "{metric}: {metrics}");
    }
    // Only the branch that ended has a length and an item count.
    for metric in ["stream_duration", "items"] {
        assert_eq!(metrics[metric]["count"], 2, "{metric}: {metrics}");
    }
    assert!(metrics["gap"]["count"].as_u64() >= Some(6), "{metrics}");
}

#[test]
fn a_grpc_call_and_a_socket_read_in_nested_branches_report_what_they_measured() {
    let output = Test::new()
        .spec(
            "soak.stream",
            r#"
            test "prices and ticks" {
              parallel {
                branch prices {
                  grpc {{grpc}} stock.StockService/StreamPrices
                  message { "symbols": ["AAPL"], "ticks": 100000, "intervalMs": 20 }
                  expect messages { + times { { "tick": number } }; end }
                }
                branch outer {
                  parallel {
                    branch ticks {
                      ws {{base}}/ws/ticker?count=100000&interval=20ms
                      expect messages { + times { { "n": integer } }; end }
                    }
                  }
                }
              }
            }
            "#,
        )
        .var("base", servers::demo())
        .var("grpc", servers::grpc_demo())
        .args(["load", "soak.stream", "--users", "1", "--duration", "1s"])
        .args(["--graceful-stop", "100ms", "--format", "json"])
        // Judged by their gaps: all cut off, they are judged by nothing else.
        .args(["--threshold", "max gap < 30s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let (counts, metrics) = (&report["total"]["counts"], &report["total"]["metrics"]);
    assert_eq!(counts["interrupted"], 1, "{counts}");
    assert_eq!(counts["streams"], 2, "{counts}");
    assert!(counts["items"].as_u64() >= Some(4), "{counts}");
    for metric in ["ttfb", "first_item"] {
        assert_eq!(metrics[metric]["count"], 2, "{metric}: {metrics}");
    }
    for metric in ["stream_duration", "items"] {
        assert!(metrics[metric].is_null(), "{metric}: {metrics}");
    }
    assert!(metrics["gap"]["count"].as_u64() >= Some(2), "{metrics}");
}

#[test]
fn a_threshold_on_the_length_or_items_of_streams_all_cut_off_is_not_met() {
    // Every stream is longer than the run: their length and item count are unknown, so a bound
    // on them cannot hold (the time to the cut passed `stream duration p99 < 1m` before).
    let output = Test::new()
        .spec("soak.stream", LONGER_THAN_THE_RUN)
        .var("base", servers::demo())
        .args(["load", "soak.stream", "--users", "2", "--duration", "1s"])
        .args(["--graceful-stop", "100ms"])
        .args(["--threshold", "stream duration p99 < 1m"])
        .args(["--threshold", "items p50 < 100000"])
        .args(["--threshold", "p99 gap < 30s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let thresholds = output
        .stdout
        .split("\nthresholds\n")
        .nth(1)
        .expect("a table of thresholds");
    let lines: Vec<&str> = thresholds.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "  ✗ stream duration p99 < 1m  nothing measured",
            "  ✗ items p50 < 100000        nothing measured",
        ],
        "{}",
        output.stdout
    );
    assert!(
        lines[2].starts_with("  ✓ p99 gap < 30s "),
        "{}",
        output.stdout
    );
}

#[test]
fn a_stall_still_going_at_the_cut_counts_as_a_gap_of_the_time_waited() {
    // Three events, then silence until the run's end cuts the streams off: the wait still going
    // is a gap of at least that long (it read as no gap at all, and `max gap < 100ms` passed).
    let output = Test::new()
        .spec(
            "stall.stream",
            r#"
test "stalls until the cut" {
  GET {{base}}/bad/stall?after=3
  expect sse { 10 times { data: _ }; end }
}
"#,
        )
        .var("base", servers::demo())
        .args(["load", "stall.stream", "--users", "2", "--duration", "1s"])
        .args([
            "--graceful-stop",
            "100ms",
            "--timeout",
            "60s",
            "--format",
            "json",
        ])
        .args(["--threshold", "max gap < 100ms"])
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
    let gap = &report["total"]["metrics"]["gap"];
    assert!(gap["max"].as_f64() >= Some(800.0), "{gap}");
    assert_eq!(
        report["thresholds"][0]["passed"], false,
        "{}",
        report["thresholds"]
    );
}
