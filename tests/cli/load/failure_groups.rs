//! Failures of a load grouped by the spec line that failed and by their error class: one line
//! that fails in two ways (its service reset some connections, then exited) is two groups, each
//! with its own count, message and example, in the summary and in the JSON report.

use crate::servers::{self, read_request_head};
use crate::support::Test;

/// A raw TCP server that reads the request head of its first `hang_ups` connections and closes
/// each without a word of answer (a `reset`), then stops listening: every later connection is
/// `refused`. It stops listening before it closes the last connection it hangs up on, so a user
/// whose iterations run one after the other is refused from the next one on.
fn hangs_up_then_exits(hang_ups: usize) -> String {
    let (listener, url) = servers::bind();
    servers::runtime().spawn(async move {
        for served in 1..=hang_ups {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            read_request_head(&mut socket).await;
            if served == hang_ups {
                drop(listener);
                drop(socket);
                return;
            }
        }
    });
    url
}

const SPEC: &str = r#"
test "down" {
  GET {{base}}/sse/ticker
  expect sse { + times { data: _ }; end }
}
"#;

/// One user, five iterations one after the other: two reset, then three refused.
fn load(base: String) -> Test {
    Test::new()
        .spec("down.stream", SPEC)
        .var("base", base)
        .args(["load", "down.stream", "--users", "1", "--iterations", "5"])
        .kill_after(std::time::Duration::from_secs(60))
}

#[test]
fn a_spec_line_that_fails_in_two_ways_is_two_groups_each_with_its_own_message() {
    load(hangs_up_then_exits(2))
        .redact(r"^ran .*$", "ran [T] · 5 iterations · 0 passed · 5 failed")
        .redact(r"^(  iteration) .*$", "$1 [figures]")
        .redact(r"first at \d+(\.\d+)?s", "first at [T]")
        .redact(r"^load generator: .*$", "load generator: [N]")
        .redact(r"^  warning: .*\n", "")
        .stdout(
            "load: 1 test · closed model: 1 user, 5 iterations at most
ran [T] · 5 iterations · 0 passed · 5 failed

down.stream: down          p50       p90       p95       p99     p99.9       max
  iteration [figures]
  5 iterations · 0 passed · 5 failed · 0 streams · 0 items · 0 reconnections

errors
  refused           3  first at [T]
  reset             2  first at [T]

failures, by the spec line that failed
  3× down.stream:2:3: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
  2× down.stream:2:3: the request to 127.0.0.1:PORT failed: connection closed before message completed

the first of each, as `streamspec run` shows it:
  error: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
   --> down.stream:2:3
    |
  2 |   GET {{base}}/sse/ticker
    |   ^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/ticker

  error: the request to 127.0.0.1:PORT failed: connection closed before message completed
   --> down.stream:2:3
    |
  2 |   GET {{base}}/sse/ticker
    |   ^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/ticker

load generator: [N]

no thresholds: the run passes if every iteration passed
FAILED: 5 iterations failed
",
        )
        .status(1)
        .run();
}

#[test]
fn the_json_report_gives_each_group_its_class_count_and_example() {
    let output = load(hangs_up_then_exits(2))
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let failures = report["total"]["failures"]
        .as_array()
        .unwrap_or_else(|| panic!("failures: {report}"));
    let groups: Vec<(&str, &str, u64, bool, bool)> = failures
        .iter()
        .map(|failure| {
            let message = failure["message"].as_str().unwrap_or_default();
            let example = failure["example"].as_str().unwrap_or_default();
            (
                failure["at"].as_str().unwrap_or_default(),
                failure["class"].as_str().unwrap_or_default(),
                failure["count"].as_u64().unwrap_or_default(),
                message.contains("Connection refused"),
                example.contains(message),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("down.stream:2:3", "refused", 3, true, true),
            ("down.stream:2:3", "reset", 2, false, true),
        ],
        "{failures:#?}"
    );
}

#[test]
fn the_html_page_gives_each_group_its_example_under_its_class() {
    let output = load(hangs_up_then_exits(2))
        .args(["--report-html", "load.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let page = std::fs::read_to_string(output.dir.path().join("load.html")).expect("the page");
    let examples: Vec<&str> = page
        .lines()
        .filter_map(|line| line.strip_prefix("<details><summary>"))
        .filter_map(|line| line.split_once(" — the first, as `streamspec run` shows it"))
        .map(|(group, _)| group)
        .collect();
    assert_eq!(
        examples,
        ["down.stream:2:3 (refused)", "down.stream:2:3 (reset)"],
        "{page}"
    );
}

#[test]
fn the_html_page_shows_a_body_in_a_failure_example_cut_as_the_terminal_shows_it() {
    // A 404's body is quoted in the example, marked to be cut where it is shown: the page cuts
    // it too, rather than showing the marks (`\u{fdd0}300\u{fdd2}no endpoint …`).
    let output = Test::new()
        .spec(
            "missing.stream",
            "test \"missing\" {\n  GET {{base}}/no/such/route\n  expect status 200\n}\n",
        )
        .var("base", servers::demo())
        .args([
            "load",
            "missing.stream",
            "--users",
            "1",
            "--iterations",
            "1",
        ])
        .args(["--report-html", "load.html"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let page = std::fs::read_to_string(output.dir.path().join("load.html")).expect("the page");
    assert!(page.contains("expected status 200"), "{page}");
    assert!(!page.contains("\\u{fdd"), "{page}");
}
