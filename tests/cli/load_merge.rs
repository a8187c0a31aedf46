//! `streamspec merge` of parts that do not belong together, and of parts that judged different
//! thresholds: a merge either judges the whole load or says why it cannot.

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
  ✓ errors < 1%        0%  margin 1%
  ✗ iterations > 1000   4  margin -997
",
        )
        .status(1)
        .run();
}
