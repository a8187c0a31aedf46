//! `streamspec load` and `streamspec merge` against the demo service in-process: the summary as
//! printed (figures that depend on timing redacted), thresholds and the exit code they decide,
//! errors classified, four instances merged into what one instance measures, and bad settings.

use crate::servers;
use crate::support::Test;

/// A test whose stream has as many items as the iteration's number: the counts and the
/// items-per-stream percentiles of a load depend only on which iterations ran, not on timing.
const COUNTS: &str = r#"
test "ticker" {
  GET {{base}}/sse/ticker?count={{iteration}}&interval=0ms
  expect status 200
  expect sse {
    + times { data: json { "count": integer } }
    end
  }
}
"#;

/// The rows of timings and rates become `[figures]`, other timings and rates `[T]` and
/// `[RATE]`, the load generator's own figures `[N]`; counts stay. The row of items/s per stream
/// goes: a stream whose items come within 10ms has no rate, and whether COUNTS' items (sent
/// without a pause) do depends on the machine.
fn redacted(test: Test) -> Test {
    test.redact(r"^  items/s per stream .*\n", "")
        .redact(
            r"^(  (connect|ttfb|first item|gap|first token|token gap|stream duration|output tokens/s|iteration)) .*$",
            "$1 [figures]",
        )
        .redact(r"\d[\d,]*(\.\d+)?(ms|s)\b", "[T]")
        .redact(r"\d[\d,]*(\.\d+)?/s\b", "[RATE]")
        .redact(r"^load generator: .*$", "load generator: [N]")
        .redact(r"^  warning: .*\n", "")
}

#[test]
fn a_closed_load_with_a_number_of_iterations_counts_every_one() {
    redacted(
        Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args([
                "load",
                "counts.stream",
                "--users",
                "3",
                "--iterations",
                "12",
            ]),
    )
    .stdout(
        "load: 1 test · closed model: 3 users, 12 iterations at most
ran [T] · 12 iterations ([RATE]) · 12 passed · 0 failed · goodput [RATE]

counts.stream: ticker
                           p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [figures]
  gap [figures]
  stream duration [figures]
  items per stream           6        11        12        12        12        12
  iteration [figures]
  12 iterations · 12 passed · 0 failed · 12 streams · 78 items · 0 reconnections

load generator: [N]

no thresholds: the run passes if every iteration passed
",
    )
    .run();
}

#[test]
fn four_instances_merged_measure_what_one_instance_measures() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let whole = Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .args([
            "load",
            "counts.stream",
            "--users",
            "4",
            "--iterations",
            "40",
        ])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(whole.status, Some(0), "{}", whole.stderr);
    let whole: serde_json::Value = serde_json::from_str(&whole.stdout).expect("a JSON report");
    let mut reports = Vec::new();
    for k in 1..=4 {
        let file = dir.join(format!("part-{k}.json"));
        let part = Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args([
                "load",
                "counts.stream",
                "--users",
                "4",
                "--iterations",
                "40",
            ])
            .args(["--instance", &format!("{k}/4"), "--format", "json"])
            .args(["--report-json", file.to_str().expect("a UTF-8 path")])
            .run_unchecked();
        assert_eq!(part.status, Some(0), "{}", part.stderr);
        reports.push(file);
    }
    let mut merge = test.args(["merge", "--format", "json"]);
    for file in &reports {
        merge = merge.args([file.to_str().expect("a UTF-8 path")]);
    }
    let merged = merge.run_unchecked();
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    let merged: serde_json::Value = serde_json::from_str(&merged.stdout).expect("a JSON report");
    for figure in ["iterations", "passed", "failed", "streams", "items"] {
        assert_eq!(
            merged["total"]["counts"][figure], whole["total"]["counts"][figure],
            "{figure}"
        );
    }
    assert_eq!(whole["total"]["counts"]["iterations"], 40);
    // Items per stream do not depend on timing: the merged histogram is the whole one.
    for stat in ["min", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"] {
        assert_eq!(
            merged["total"]["metrics"]["items"][stat], whole["total"]["metrics"]["items"][stat],
            "items {stat}"
        );
    }
    assert_eq!(whole["total"]["metrics"]["items"]["max"], 40.0);
    // Every gap of every stream is in the merged histogram.
    assert_eq!(
        merged["total"]["metrics"]["gap"]["count"],
        whole["total"]["metrics"]["gap"]["count"]
    );
}

#[test]
fn failed_thresholds_fail_the_run_with_their_values() {
    redacted(
        Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args(["load", "counts.stream", "--users", "2", "--iterations", "6"])
            .args(["--threshold", "max items < 5", "--threshold", "errors < 1%"])
            .args(["--threshold", "iterations >= 6"]),
    )
    .stdout(
        "load: 1 test · closed model: 2 users, 6 iterations at most
ran [T] · 6 iterations ([RATE]) · 6 passed · 0 failed · goodput [RATE]

counts.stream: ticker
                           p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [figures]
  gap [figures]
  stream duration [figures]
  items per stream           3         6         6         6         6         6
  iteration [figures]
  6 iterations · 6 passed · 0 failed · 6 streams · 21 items · 0 reconnections

load generator: [N]

thresholds
  ✗ max items < 5         6  margin -2
  ✓ errors < 1%          0%  margin 1%
  ✓ iterations >= 6       6  margin 0
  ✓ unmet < 1 (implied)   0  margin 0
  (implied: a threshold allows errors, not answers that came and were wrong; `failures < 1%` would allow some of both)
",
    )
    .status(1)
    .run();
}

#[test]
fn a_service_that_refuses_is_counted_by_error_class_to_the_end_of_the_schedule() {
    redacted(
        Test::new()
            .spec(
                "down.stream",
                r#"
                test "down" {
                  GET {{base}}/sse/ticker
                  expect sse { + times { data: _ }; end }
                }
                "#,
            )
            .var("base", servers::refused())
            .args(["load", "down.stream", "--users", "2", "--iterations", "8"])
            .args(["--threshold", "connections succeeded > 99%"]),
    )
    .stdout(
        "load: 1 test · closed model: 2 users, 8 iterations at most
ran [T] · 8 iterations ([RATE]) · 0 passed · 8 failed · goodput [RATE]

down.stream: down          p50       p90       p95       p99     p99.9       max
  iteration [figures]
  8 iterations · 0 passed · 8 failed · 0 streams · 0 items · 0 reconnections

errors
  refused           8  first at [T]

failures, by the spec line that failed
  8× down.stream:2:3: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)

the first, as `streamspec run` shows it:
  error: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
   --> down.stream:2:3
    |
  2 |   GET {{base}}/sse/ticker
    |   ^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/ticker

load generator: [N]

thresholds
  ✗ connections succeeded > 99%  0%  margin -99%
  ✗ failures < 1 (implied)        8  margin -8
  (implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)
",
    )
    .status(1)
    .run();
}

#[test]
fn a_threshold_on_what_the_tests_do_not_measure_is_refused_before_the_load() {
    Test::new()
        .spec(
            "plain.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect status 200
            }
            "#,
        )
        .config(
            r#"
            [load]
            users = 2
            duration = "1s"
            thresholds = ["p99 gap < 100ms"]
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "."])
        .stderr(
            "error: `p99 gap < 100ms`: none of the load's tests reads a stream (an `expect sse`, `expect ndjson`, `expect messages`… block), so there is no gap to measure
 --> ./streamspec.toml:4:15
  |
4 | thresholds = [\"p99 gap < 100ms\"]
  |               ^^^^^^^^^^^^^^^^^ the tests do not produce this

",
        )
        .status(2)
        .run();
}

#[test]
fn check_points_at_a_bad_load_setting() {
    Test::new()
        .spec("a.stream", "test \"a\" {\n  GET {{base}}/health\n}\n")
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:1"

            [load]
            users = 0
            thresholds = ["p99 gpa < 1s"]
            "#,
        )
        .args(["check", "."])
        .stderr(
            "error: `users` must be at least 1
 --> ./streamspec.toml:5:9
  |
5 | users = 0
  |         ^ not a count

error: unknown metric `gpa`; did you mean `gap`? (in `p99 gpa < 1s`)
 --> ./streamspec.toml:6:15
  |
6 | thresholds = [\"p99 gpa < 1s\"]
  |               ^^^^^^^^^^^^^^ not a threshold

2 errors
",
        )
        .status(2)
        .run();
}

#[test]
fn a_load_needs_a_length_and_one_model() {
    for (args, message) in [
        (
            vec!["--users", "2"],
            "error: say how long the load lasts: --duration, --iterations, or --stage\n",
        ),
        (
            vec!["--users", "2", "--rate", "5/s", "--duration", "1s"],
            "error: give --users (a closed model: users repeating their test) or --rate (an open model: iterations started per second), not both\n",
        ),
    ] {
        Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args(["load", "counts.stream"])
            .args(args)
            .stderr(message)
            .status(2)
            .run();
    }
}

#[test]
fn an_open_load_starts_iterations_at_its_rate() {
    let output = Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .args([
            "load",
            "counts.stream",
            "--rate",
            "200/s",
            "--iterations",
            "20",
        ])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let total = &report["total"];
    assert_eq!(total["counts"]["iterations"], 20);
    assert_eq!(total["counts"]["items"], 210);
    // Each iteration's delay after its due time is measured, and latencies count from then.
    assert_eq!(total["metrics"]["start_delay"]["count"], 20);
    assert_eq!(report["profile"]["model"], "open");
}

#[test]
fn an_interrupted_load_still_prints_what_it_measured() {
    let output = Test::new()
        .spec(
            "long.stream",
            r#"
            test "slow" {
              GET {{base}}/sse/ticker?count=1000&interval=50ms
              expect sse { + times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "long.stream", "--users", "2", "--duration", "1m"])
        .args(["--report-html", "load.html"])
        .interrupt_when_stdout_has("load: 1 test")
        .run_unchecked();
    assert_eq!(output.status, Some(130), "{}", output.stderr);
    // The page has no verdict for a run cut short by a signal: it was not failed, but partial.
    let page = std::fs::read_to_string(output.dir.path().join("load.html")).expect("a page");
    assert!(
        page.contains("<div class=\"value\">interrupted</div><div class=\"label\">verdict"),
        "{page}"
    );
    assert!(
        output
            .stdout
            .contains("stopped early: interrupted by SIGINT"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("no thresholds"), "{}", output.stdout);
}

#[test]
fn abort_on_fail_ends_the_run_once_a_threshold_is_lost_for_good() {
    let output = Test::new()
        .spec(
            "down.stream",
            r#"
            test "down" {
              GET {{base}}/sse/ticker
              expect sse { + times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::refused())
        .args(["load", "down.stream", "--users", "1", "--duration", "10m"])
        .args(["--threshold", "errors < 1", "--abort-on-fail"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("stopped early: the threshold `errors < 1` failed (--abort-on-fail)"),
        "{}",
        output.stdout
    );
}

#[test]
fn the_live_line_shows_on_a_terminal() {
    let output = Test::new()
        .spec(
            "feed.stream",
            r#"
            test "feed" {
              GET {{base}}/sse/ticker?count=16&interval=100ms
              expect sse { 16 times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .args(["load", "feed.stream", "--users", "2", "--iterations", "2"])
        .stderr_on_a_terminal()
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert!(
        output.stderr.contains("0:01 · ") && output.stderr.contains(" of 2 iterations · "),
        "no live line in:\n{}",
        output.stderr
    );
}

#[test]
fn tokens_are_counted_from_the_capture_that_names_them() {
    redacted(
        Test::new()
            .spec(
                "chat.stream",
                r#"
                test "chat" {
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
            .var("base", servers::demo())
            .args(["load", "chat.stream", "--users", "2", "--iterations", "4"])
            .args(["--tokens", "token", "--threshold", "min tokens >= 8"]),
    )
    .stdout(
        "load: 1 test · closed model: 2 users, 4 iterations at most
ran [T] · 4 iterations ([RATE]) · 4 passed · 0 failed · goodput [RATE]

chat.stream: chat          p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [figures]
  gap [figures]
  first token [figures]
  token gap [figures]
  stream duration [figures]
  items per stream          10        10        10        10        10        10
  output tokens              8         8         8         8         8         8
  output tokens/s [figures]
  iteration [figures]
  4 iterations · 4 passed · 0 failed · 4 streams · 40 items · 0 reconnections

load generator: [N]

thresholds
  ✓ min tokens >= 8         8  margin 0
  ✓ failures < 1 (implied)  0  margin 0
  (implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)
",
    )
    .run();
}

#[test]
fn a_token_threshold_needs_the_capture_named() {
    Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .args(["load", "counts.stream", "--users", "1", "--iterations", "1"])
        .args(["--threshold", "p50 tokens/s > 20/s"])
        .stderr(
            "error: `p50 tokens/s > 20/s`: tokens are counted from a capture: name it with `--tokens NAME` (or `tokens = \"NAME\"` under [load]); `items` and `items/s` count the items of the streams\n",
        )
        .status(2)
        .run();
}

#[test]
fn iterations_that_fail_at_once_still_let_the_schedule_end() {
    let output = Test::new()
        .spec(
            "bad.stream",
            r#"
            test "bad url" {
              GET {{base}}/sse/ticker
              expect status 200
            }
            "#,
        )
        .var("base", "notaurl")
        .args(["load", "bad.stream", "--users", "2", "--duration", "1s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    assert!(output.stdout.contains(" passed · "), "{}", output.stdout);
    assert!(output.stdout.contains("0 passed"), "{}", output.stdout);
}

#[test]
fn every_instance_runs_every_test() {
    let counts_a = COUNTS.replace("\"ticker\"", "\"a\"");
    let counts_b = COUNTS.replace("\"ticker\"", "\"b\"");
    let output = Test::new()
        .spec("a.stream", &counts_a)
        .spec("b.stream", &counts_b)
        .var("base", servers::demo())
        .args([
            "load",
            ".",
            "--users",
            "4",
            // Not `--iterations`: they are shared by the instance's users, and on a busy machine
            // the first user can run them all before the second starts.
            "--duration",
            "1s",
            "--instance",
            "2/2",
        ])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    for test in report["tests"].as_array().expect("tests") {
        assert!(
            test["counts"]["iterations"].as_u64() > Some(0),
            "{} ran nothing on instance 2/2",
            test["name"]
        );
    }
}

mod abort;
mod active_users;
mod broken_off;
mod cut_off;
mod dropped;
mod exact_extremes;
mod exchanges;
mod failed_streams;
mod failure_examples;
mod failure_groups;
mod implied;
mod json_units;
mod live_line;
mod merged;
mod no_connection;
mod open_file_errors;
mod requests;
mod schedule;
mod secrets;
mod series;
mod service_exit;
mod settings;
mod slow_rates;
mod start_at;
mod test_thresholds;
mod token_times;
mod wording;
