//! Thresholds written in a test (`threshold p99 gap < 100ms`): a load judges them on that test's
//! figures alone, `run` passes over them, and `check` refuses one that cannot be judged.

use crate::servers;
use crate::support::Test;

/// A fast stream whose own bound holds, and a slow one whose own bound does not: the whole
/// load's gaps would hide which.
const TWO_STREAMS: &str = r#"
test "fast" {
  threshold p99 gap < 1s
  GET {{base}}/sse/ticker?count=3&interval=0ms
  expect sse { 3 times { data: _ }; end }
}

test "slow" {
  threshold max gap < 50ms    # its events come 150ms apart
  GET {{base}}/sse/ticker?count=2&interval=150ms
  expect sse { 2 times { data: _ }; end }
}
"#;

#[test]
fn a_tests_own_threshold_judges_its_figures_alone() {
    let output = Test::new()
        .spec("two.stream", TWO_STREAMS)
        .var("base", servers::demo())
        .args(["load", "two.stream", "--users", "2", "--duration", "1s"])
        .args(["--threshold", "max gap < 10s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let table: Vec<&str> = output
        .stdout
        .split("\nthresholds\n")
        .nth(1)
        .expect("a table of thresholds")
        .lines()
        .map(|line| line.trim_start().split("  ").next().unwrap_or(line))
        .collect();
    assert_eq!(
        table,
        [
            "✓ max gap < 10s",
            "✓ two.stream: fast: p99 gap < 1s",
            "✗ two.stream: slow: max gap < 50ms",
            "✓ failures < 1 (implied)",
            "(implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)",
        ],
        "{}",
        output.stdout
    );
}

#[test]
fn the_json_report_and_a_merge_keep_which_test_a_threshold_judges() {
    let output = Test::new()
        .spec("two.stream", TWO_STREAMS)
        .var("base", servers::demo())
        .args(["load", "two.stream", "--users", "2", "--duration", "1s"])
        .args(["--report-json", "part.json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let text = std::fs::read_to_string(output.dir.path().join("part.json")).expect("the report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("a JSON report");
    assert_eq!(
        report["thresholds"][1]["test"], "two.stream: slow",
        "{}",
        report["thresholds"]
    );
    assert_eq!(
        report["thresholds"][1]["passed"], false,
        "{}",
        report["thresholds"]
    );
    // `merge` judges it again on the test's merged figures.
    let merged = Test::new()
        .file("part.json", &text)
        .args(["merge", "part.json", "--format", "json"])
        .run_unchecked();
    assert_eq!(
        merged.status,
        Some(1),
        "{}\n{}",
        merged.stdout,
        merged.stderr
    );
    let merged: serde_json::Value = serde_json::from_str(&merged.stdout).expect("a JSON report");
    assert_eq!(merged["thresholds"], report["thresholds"], "{merged}");
    // Thresholds given to `merge` replace the parts' whole-load ones, not a test's own.
    let given = Test::new()
        .file("part.json", &text)
        .args([
            "merge",
            "part.json",
            "--format",
            "json",
            "--threshold",
            "errors < 1%",
        ])
        .run_unchecked();
    assert_eq!(given.status, Some(1), "{}\n{}", given.stdout, given.stderr);
    let given: serde_json::Value = serde_json::from_str(&given.stdout).expect("a JSON report");
    let judged: Vec<String> = given["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .map(|verdict| format!("{} {}", verdict["test"], verdict["threshold"]))
        .collect();
    assert_eq!(
        judged,
        [
            "null \"errors < 1%\"",
            "\"two.stream: fast\" \"p99 gap < 1s\"",
            "\"two.stream: slow\" \"max gap < 50ms\"",
            // Errors allowed; answers that came wrong, not.
            "null \"unmet < 1\"",
        ],
        "{given}"
    );
}

#[test]
fn run_passes_over_a_tests_thresholds() {
    let output = Test::new()
        .spec(
            "two.stream",
            TWO_STREAMS
                .replace("max gap < 50ms", "max gap < 1ms")
                .as_str(),
        )
        .var("base", servers::demo())
        .args(["run", "two.stream"])
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
}

#[test]
fn check_refuses_a_threshold_a_test_cannot_be_judged_by() {
    Test::new()
        .spec(
            "bad.stream",
            r#"test "health" {
  threshold p99 gapp < 1s
  threshold p99 gap < 1s
  GET {{base}}/health
  repeat 2 { threshold errors < 1% }
}
"#,
        )
        .var("base", "http://127.0.0.1:9")
        .args(["check", "bad.stream"])
        .stderr(
            "error: unknown metric `gapp`; did you mean `gap`? (in `p99 gapp < 1s`)
 --> bad.stream:2:13
  |
2 |   threshold p99 gapp < 1s
  |             ^^^^^^^^^^^^^ not a threshold

error: `threshold` judges the test's figures in a load, and goes outside `repeat` and `parallel`
 --> bad.stream:5:14
  |
5 |   repeat 2 { threshold errors < 1% }
  |              ^^^^^^^^^^^^^^^^^^^^^ inside a `repeat`

2 errors
",
        )
        .status(2)
        .run();
}

#[test]
fn check_leaves_a_tests_token_threshold_to_the_load_that_names_the_tokens() {
    // `--tokens token` on the load's command line counts them; `check` cannot know it.
    let output = Test::new()
        .spec(
            "chat.stream",
            r#"test "chat" {
  threshold p50 tokens/s > 1/s
  POST {{base}}/v1/chat/completions
  body json { "model": "m", "stream": true, "messages": [] }
  expect sse {
    8 times { data: json { "choices": [{ "delta": { "content": string -> token } }] } }
    data: json { "choices": [{ "finish_reason": "stop" }] }
    data: "[DONE]"
    end
  }
}
"#,
        )
        .var("base", "http://127.0.0.1:9")
        .args(["check", "chat.stream"])
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
}

#[test]
fn a_tests_threshold_on_what_it_does_not_produce_is_said_of_that_test() {
    Test::new()
        .spec(
            "health.stream",
            "test \"health\" {\n  threshold p99 gap < 1s\n  GET {{base}}/health\n}\n",
        )
        .var("base", "http://127.0.0.1:9")
        .args(["check", "health.stream"])
        .stderr(
            "error: `p99 gap < 1s`: this test reads no stream (an `expect sse`, `expect ndjson`, `expect messages`… block), so there is no gap to measure
 --> health.stream:2:13
  |
2 |   threshold p99 gap < 1s
  |             ^^^^^^^^^^^^ this test does not produce this

",
        )
        .status(2)
        .run();
}

#[test]
fn a_part_that_ran_none_of_a_test_leaves_its_own_thresholds_to_merge() {
    // Three users in blocks of two (one per test): the second part gets one, so one of the
    // tests runs in it not at all. Judged on nothing, its threshold failed a healthy part.
    let spec = r#"
        test "fast" {
          threshold p99 gap < 1s
          GET {{base}}/sse/ticker?count=3&interval=10ms
          expect sse { 3 times { data: _ }; end }
        }

        test "slow" {
          threshold p99 gap < 1s
          GET {{base}}/sse/ticker?count=3&interval=20ms
          expect sse { 3 times { data: _ }; end }
        }
    "#;
    let output = Test::new()
        .spec("two.stream", spec)
        .var("base", servers::demo())
        .args(["load", "two.stream", "--users", "3", "--duration", "1s"])
        .args(["--instance", "2/2", "--format", "json"])
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
    assert_eq!(
        report["thresholds"].as_array().map(Vec::len),
        Some(2),
        "{}",
        report["thresholds"]
    );
}
