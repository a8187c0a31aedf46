//! Arrivals the open model drops (`--max-users` were running): counted per second in the series,
//! with when the first came in the summary, and per second on the live line.

use crate::servers;
use crate::support::Test;

/// An iteration that takes about a second: with one running at most, most arrivals are dropped.
const SLOW: &str = r#"
test "slow" {
  GET {{base}}/sse/ticker?count=10&interval=100ms
  expect sse { 10 times { data: _ }; end }
}
"#;

fn dropping() -> Test {
    Test::new()
        .spec("slow.stream", SLOW)
        .var("base", servers::demo())
        .args(["load", "slow.stream", "--rate", "20/s", "--duration", "2s"])
        .args(["--max-users", "1", "--graceful-stop", "5s"])
        .kill_after(std::time::Duration::from_secs(60))
}

#[test]
fn the_series_counts_the_arrivals_dropped_each_second() {
    let output = dropping().args(["--format", "json"]).run_unchecked();
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let dropped = report["total"]["counts"]["dropped"]
        .as_u64()
        .expect("dropped");
    assert!(dropped > 0, "{}", report["total"]["counts"]);
    let series = report["series"].as_array().expect("a series");
    let per_second: u64 = series
        .iter()
        .map(|second| second["dropped"].as_u64().expect("dropped per second"))
        .sum();
    assert_eq!(per_second, dropped, "{series:?}");
    let first = report["total"]["dropped_first_at_ms"]
        .as_u64()
        .expect("first");
    assert!(first < 2_000, "{}", report["total"]);
}

#[test]
fn the_summary_says_when_the_first_arrival_was_dropped() {
    let output = dropping().run_unchecked();
    let line = output
        .stdout
        .lines()
        .find(|line| line.contains("dropped"))
        .unwrap_or_else(|| panic!("no dropped line in:\n{}", output.stdout));
    let pattern = regex::Regex::new(
        r"^\d+ iterations dropped \(--max-users were running\), the first at \d+\.\ds$",
    )
    .expect("a regex");
    assert!(pattern.is_match(line), "{line}");
}

#[test]
fn the_live_line_shows_the_arrivals_dropped_per_second() {
    let output = dropping().stderr_on_a_terminal().run_unchecked();
    assert!(
        output.stderr.contains(" dropped/s"),
        "no dropped/s in:\n{}",
        output.stderr
    );
}

#[test]
fn merged_series_add_up_the_parts_dropped_arrivals() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let mut merge = test.args(["merge", "--format", "json"]);
    let mut dropped = 0;
    for k in 1..=2 {
        let output = dropping()
            .args(["--instance", &format!("{k}/2"), "--format", "json"])
            .run_unchecked();
        let report: serde_json::Value =
            serde_json::from_str(&output.stdout).expect("a JSON report");
        dropped += report["total"]["counts"]["dropped"]
            .as_u64()
            .expect("dropped");
        let file = dir.join(format!("part-{k}.json"));
        std::fs::write(&file, report.to_string()).expect("written");
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    assert!(dropped > 0);
    let output = merge.run_unchecked();
    let merged: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let per_second: u64 = merged["series"]
        .as_array()
        .expect("a series")
        .iter()
        .map(|second| second["dropped"].as_u64().expect("dropped per second"))
        .sum();
    assert_eq!(per_second, dropped, "{}", merged["series"]);
    assert!(merged["total"]["dropped_first_at_ms"].as_u64().is_some());
}

#[test]
fn arrivals_dropped_fail_the_run_unless_a_threshold_says_how_many_may_be() {
    // The load offered was not the schedule's: without a threshold, and beside thresholds that
    // say nothing of dropped arrivals, the run fails.
    for thresholds in [&[][..], &["failures < 1%"][..]] {
        let mut test = dropping();
        for threshold in thresholds {
            test = test.args(["--threshold", threshold]);
        }
        let output = test.run_unchecked();
        assert_eq!(output.status, Some(1), "{thresholds:?}:\n{}", output.stdout);
    }
    let output = dropping()
        .args(["--threshold", "dropped < 1000", "--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    // The failures part of the rule stays.
    assert_eq!(report["thresholds"][1]["threshold"], "failures < 1");
}
