//! `streamspec merge` of parts that do not belong together, of parts that judged different
//! thresholds, and of parts that did not run together: a merge either judges the whole load or
//! says why it cannot, and warns of figures that are less than they seem.

use std::path::Path;

use crate::servers;
use crate::support::Test;

const TICKER: &str = r#"
test "ticker" {
  GET {{base}}/sse/ticker?count=2&interval=0ms
  expect sse {
    2 times { data: json { "count": integer } }
    end
  }
}
"#;

/// Runs part `part` of two of a load of `spec` (named `name`), writing its report to `into`.
fn run_part(name: &str, spec: &str, part: &str, thresholds: &[&str], into: &Path) {
    let mut test = Test::new()
        .spec(name, spec)
        .var("base", servers::demo())
        .args(["load", name, "--users", "2", "--iterations", "4"])
        .args(["--instance", part])
        .args(["--report-json", into.to_str().expect("a UTF-8 path")]);
    for threshold in thresholds {
        test = test.args(["--threshold", threshold]);
    }
    let part = test.run_unchecked();
    assert!(into.exists(), "{}", part.stderr);
}

#[test]
fn parts_that_ran_other_tests_are_not_merged() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    run_part("feed.stream", TICKER, "1/2", &[], &dir.join("one.json"));
    let other = TICKER.replace("\"ticker\"", "\"another ticker\"");
    run_part("feed.stream", &other, "2/2", &[], &dir.join("two.json"));
    test.args(["merge", "one.json", "two.json"])
        .stderr(
            "error: two.json ran other tests than one.json: they are parts of different loads\n",
        )
        .status(2)
        .run();
}

#[test]
fn a_threshold_of_any_part_is_judged_on_the_whole() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    run_part(
        "feed.stream",
        TICKER,
        "1/2",
        &["errors < 1%"],
        &dir.join("one.json"),
    );
    run_part(
        "feed.stream",
        TICKER,
        "2/2",
        &["iterations > 1000"],
        &dir.join("two.json"),
    );
    test.args(["merge", "one.json", "two.json"])
        .redact(r"(?s)\A.*\nthresholds\n", "[summary]\nthresholds\n")
        .stdout(
            "[summary]
thresholds
  ✓ errors < 1%          0%  margin 1%
  ✗ iterations > 1000     4  margin -997
  ✓ unmet < 1 (implied)   0  margin 0
  (implied: a threshold allows errors, not answers that came and were wrong; `failures < 1%` would allow some of both)
",
        )
        // Said, as each part's own verdict was on its own thresholds.
        .stderr(
            "warning: the parts were not run with the same thresholds: `errors < 1%` (not 2/2); `iterations > 1000` (not 1/2); each is judged on the whole\n",
        )
        .status(1)
        .run();
}

/// Runs part `part` of a one-second load of [`TICKER`], writing its report to `into`, and
/// returns the report.
fn run_timed_part(part: &str, into: &Path) -> serde_json::Value {
    let output = Test::new()
        .spec("feed.stream", TICKER)
        .var("base", servers::demo())
        .args(["load", "feed.stream", "--users", "2", "--duration", "1s"])
        .args(["--instance", part])
        .args(["--report-json", into.to_str().expect("a UTF-8 path")])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let text = std::fs::read_to_string(into).expect("the part's report");
    serde_json::from_str(&text).expect("a JSON report")
}

#[test]
fn parts_run_one_after_another_are_warned_of_and_the_time_ran_is_the_rates() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    // One after the other: the second starts after the first's whole second.
    let one = run_timed_part("1/2", &dir.join("one.json"));
    let two = run_timed_part("2/2", &dir.join("two.json"));
    let merged = Test::new()
        .file("one.json", one.to_string())
        .file("two.json", two.to_string())
        .args(["merge", "one.json", "two.json", "--format", "json"])
        .run_unchecked();
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    let report: serde_json::Value = serde_json::from_str(&merged.stdout).expect("a JSON report");
    // The load ran as long as its longest part, which is what its rates are per: not from the
    // first part's start to the last one's end.
    let longest = std::cmp::max(one["elapsed"].as_u64(), two["elapsed"].as_u64());
    assert!(longest.is_some(), "{one}");
    assert_eq!(report["elapsed"].as_u64(), longest, "{report}");
    let warnings = report["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{report}");
    // A merged report says what it was merged from.
    assert_eq!(
        report["merged_from"],
        serde_json::json!(["one.json (1/2)", "two.json (2/2)"]),
        "{report}"
    );
    assert!(
        merged.stderr.starts_with(&format!(
            "warning: {}\n",
            warnings[0].as_str().expect("a warning")
        )),
        "{}",
        merged.stderr
    );

    let seconds = r"\d+\.\ds";
    test.args(["merge", "one.json", "two.json"])
        .redact(seconds, "[S]")
        .redact(r"(?s)\n\n.*", "\n[the rest]\n")
        .redact(r"\d[\d,]*(\.\d+)?(/s)?", "[N]")
        .stdout(
            "load: [N] test · closed model: [N] users for [N]s
merged from [N] reports (instances [N]/[N] [N]/[N])
ran [S] · [N] iterations ([N]) · [N] passed · [N] failed · goodput [N]
warning: the parts did not run together: instance [N]/[N] started [S] after [N]/[N] (they ran over [S] in all); the merged rates and series, and the time it ran, assume they ran side by side (start every part with one --start-at, far enough ahead)
[the rest]
",
        )
        .stderr(
            "warning: the parts did not run together: instance [N]/[N] started [S] after [N]/[N] (they ran over [S] in all); the merged rates and series, and the time it ran, assume they ran side by side (start every part with one --start-at, far enough ahead)\n",
        )
        .run();
}

#[test]
fn parts_that_started_within_a_second_of_each_other_ran_together() {
    let test = Test::new();
    let dir = test.path().to_path_buf();
    let one = run_timed_part("1/2", &dir.join("one.json"));
    let mut two = run_timed_part("2/2", &dir.join("two.json"));
    // As if started 900 ms after the first, as parts given one --start-at on machines whose
    // clocks are that far apart.
    let shift = |value: &serde_json::Value, by: i64| {
        serde_json::json!(value.as_i64().expect("a number") + by)
    };
    let start = one["started_at_unix_ms"].as_i64().expect("a start");
    let moved = start + 900 - two["started_at_unix_ms"].as_i64().expect("a start");
    two["started_at_unix_ms"] = shift(&two["started_at_unix_ms"], moved);
    for second in two["series"].as_array_mut().expect("a series") {
        second["t"] = shift(&second["t"], moved.div_euclid(1000));
    }
    std::fs::write(dir.join("two.json"), two.to_string()).expect("written");
    let merged = test
        .args(["merge", "one.json", "two.json", "--format", "json"])
        .run_unchecked();
    assert_eq!(merged.status, Some(0), "{}", merged.stderr);
    assert_eq!(merged.stderr, "");
    let report: serde_json::Value = serde_json::from_str(&merged.stdout).expect("a JSON report");
    assert!(report.get("warnings").is_none(), "{report}");
}
