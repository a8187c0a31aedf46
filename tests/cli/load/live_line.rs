//! The live line on a terminal shows the share of iterations that failed, not only of those
//! that errored: a load whose every iteration misses an expectation says so while it runs.

use crate::servers;
use crate::support::Test;

#[test]
fn the_live_line_shows_the_iterations_that_failed_an_expectation() {
    let output = Test::new()
        .spec(
            "short.stream",
            r#"
            test "too few" {
              GET {{base}}/sse/ticker?count=1&interval=0ms
              expect sse { 2 times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::demo())
        .args([
            "load",
            "short.stream",
            "--users",
            "1",
            "--duration",
            "1500ms",
        ])
        .args(["--think", "100ms"])
        .stderr_on_a_terminal()
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    assert!(
        output.stderr.contains(" · failed 100.0% · "),
        "no failed share in:\n{}",
        output.stderr
    );
}
