//! A closed-model user whose iteration got no connection waits a moment before its next: it
//! retried a service that was down as fast as the CPU allowed (7,000 times a second each), and
//! the load generator's saturation skewed what it measured.

use crate::servers;
use crate::support::Test;

#[test]
fn users_refused_a_connection_pause_before_they_try_again() {
    let output = Test::new()
        .spec(
            "down.stream",
            "test \"down\" {\n  GET {{base}}/sse/ticker\n  expect sse { + times { data: _ }; end }\n}\n",
        )
        .var("base", servers::refused())
        .args(["load", "down.stream", "--users", "2", "--duration", "1s"])
        .args(["--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let counts = &report["total"]["counts"];
    let iterations = counts["iterations"].as_u64().expect("iterations");
    // 100ms apart for 1 s: at most 11 each (and at least a few on a busy machine).
    assert!((2..=2 * 11).contains(&iterations), "{counts}");
    assert_eq!(counts["errored"].as_u64(), Some(iterations), "{counts}");
}
