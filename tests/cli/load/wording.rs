//! The words of a load's output agree with their numbers: `1 iteration`, `1 test gets none`;
//! and a count threshold's margin says how far the count is from passing.

use crate::servers;
use crate::support::Test;

/// One event, then the end: one item per iteration.
const ONE_ITEM: &str = r#"
test "one item" {
  GET {{base}}/sse/ticker?count=1&interval=0ms
  expect sse { data: _; end }
}
"#;

#[test]
fn one_iteration_of_one_stream_is_said_in_the_singular() {
    Test::new()
        .spec("one.stream", ONE_ITEM)
        .var("base", servers::demo())
        .args(["load", "one.stream", "--users", "1", "--iterations", "1"])
        .redact(
            r"^ran \d+(\.\d+)?(?:ms|s) · 1 iteration(s?) \([^)]*\)",
            "ran [T] · 1 iteration$2 ([RATE])",
        )
        .redact(r"goodput .*$", "goodput [RATE]")
        .redact(
            r"^(  (connect|ttfb|first item|stream duration|iteration)) .*$",
            "$1 [figures]",
        )
        .redact(r"^load generator: .*$", "load generator: [N]")
        .redact(r"^  warning: .*\n", "")
        .kill_after(std::time::Duration::from_secs(60))
        .stdout(
            "load: 1 test · closed model: 1 user, 1 iteration at most
ran [T] · 1 iteration ([RATE]) · 1 passed · 0 failed · goodput [RATE]

one.stream: one item
                           p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  first item [figures]
  stream duration [figures]
  items per stream           1         1         1         1         1         1
  iteration [figures]
  1 iteration · 1 passed · 0 failed · 1 stream · 1 item · 0 reconnections

load generator: [N]

no thresholds: the run passes if every iteration passed
",
        )
        .run();
}

#[test]
fn one_test_left_without_a_user_gets_none() {
    Test::new()
        .spec("one.stream", ONE_ITEM)
        .spec("two.stream", &ONE_ITEM.replace("one item", "another item"))
        .var("base", servers::demo())
        .args(["load", "one.stream", "two.stream", "--users", "1"])
        .args(["--iterations", "1", "--format", "json"])
        .redact(r"(?s)\A\{.*\}\n\z", "[REPORT]\n")
        .kill_after(std::time::Duration::from_secs(60))
        .stdout("[REPORT]\n")
        .stderr(
            "warning: 2 tests but at most 1 user: each user runs one test, so 1 test gets none\n",
        )
        .run();
}

#[test]
fn a_count_at_a_strict_bound_misses_it_by_one() {
    // Five iterations, each refused: `errors < 5` fails at 5, the most that passes being 4.
    Test::new()
        .spec(
            "down.stream",
            "test \"down\" {\n  GET {{base}}/health\n  expect status 200\n}\n",
        )
        .var("base", servers::refused())
        .args(["load", "down.stream", "--users", "1", "--iterations", "5"])
        .args(["--threshold", "errors < 5", "--threshold", "errors <= 5"])
        .args([
            "--threshold",
            "errors < 20",
            "--threshold",
            "iterations > 5",
        ])
        .redact(r"(?s)\A.*\nthresholds\n", "[...]\nthresholds\n")
        .kill_after(std::time::Duration::from_secs(60))
        .stdout(
            "[...]
thresholds
  ✗ errors < 5           5  margin -1
  ✓ errors <= 5          5  margin 0
  ✓ errors < 20          5  margin 14
  ✗ iterations > 5       5  margin -1
  ✓ unmet < 1 (implied)  0  margin 0
  (implied: a threshold allows errors, not answers that came and were wrong; `failures < 1%` would allow some of both)
",
        )
        .status(1)
        .run();
}
