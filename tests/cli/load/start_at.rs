//! `--start-at`: a start ahead is announced on standard error (also when it is not a terminal),
//! one more than a day ahead (a time in milliseconds, say) is refused, and one that has passed
//! starts at once, saying so.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::servers;
use crate::support::Test;

const ONE: &str = r#"
test "one" {
  GET {{base}}/sse/ticker?count=1&interval=0ms
  expect sse { data: _; end }
}
"#;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn load_starting_at(start_at: &str) -> Test {
    Test::new()
        .spec("one.stream", ONE)
        .var("base", servers::demo())
        .args(["load", "one.stream", "--users", "1", "--iterations", "1"])
        .args(["--start-at", start_at])
        .kill_after(Duration::from_secs(60))
}

#[test]
fn a_start_ahead_says_when_the_load_will_start() {
    let start = unix_now() + 3;
    let output = load_starting_at(&start.to_string()).run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let pattern = regex::Regex::new(r"^waiting until \d\d:\d\d:\d\d UTC \(in [1-3]s\) to start…$")
        .expect("a regex");
    assert!(
        output.stderr.lines().any(|line| pattern.is_match(line)),
        "{}",
        output.stderr
    );
}

#[test]
fn a_start_more_than_a_day_ahead_is_refused_as_perhaps_milliseconds() {
    let millis = (unix_now() + 60) * 1000;
    let output = load_starting_at(&millis.to_string()).run_unchecked();
    assert_eq!(
        output.status,
        Some(2),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert!(
        output.stderr.starts_with(&format!(
            "error: --start-at {millis} is more than 24 hours ahead"
        )) && output.stderr.contains("milliseconds"),
        "{}",
        output.stderr
    );
    assert_eq!(output.stdout, "", "the load did not start");
}

#[test]
fn a_start_that_has_passed_starts_at_once_and_says_so() {
    let output = load_starting_at("2026-01-01T00:00:00Z").run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert!(
        output.stderr.contains(
            "note: --start-at 2026-01-01T00:00:00Z has passed: starting now, on this instance's own clock"
        ),
        "{}",
        output.stderr
    );
}
