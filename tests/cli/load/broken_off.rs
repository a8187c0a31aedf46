//! A connection the server closes before any answer is an error of class `reset` (the
//! connection broke off), with the transport's message.

use crate::servers;
use crate::support::Test;

#[test]
fn a_connection_closed_before_any_answer_is_counted_as_reset() {
    Test::new()
        .spec(
            "hangs_up.stream",
            r#"
            test "hangs up" {
              GET {{base}}/sse/ticker
              expect sse { + times { data: _ }; end }
            }
            "#,
        )
        .var("base", servers::hang_up())
        .args(["load", "hangs_up.stream", "--users", "1", "--iterations", "3"])
        .redact(r"^ran \d+(\.\d+)?(ms|s) · 3 iterations \([^)]*\)", "ran [T] · 3 iterations ([RATE])")
        .redact(r"goodput .*$", "goodput [RATE]")
        .redact(r"^(  iteration) .*$", "$1 [figures]")
        .redact(r"first at \d+(\.\d+)?s", "first at [T]")
        .redact(r"^load generator: .*$", "load generator: [N]")
        .redact(r"^  warning: .*\n", "")
        .kill_after(std::time::Duration::from_secs(60))
        .stdout(
            "load: 1 test · closed model: 1 user, 3 iterations at most
ran [T] · 3 iterations ([RATE]) · 0 passed · 3 failed · goodput [RATE]

hangs_up.stream: hangs up
                           p50       p90       p95       p99     p99.9       max
  iteration [figures]
  3 iterations · 0 passed · 3 failed · 0 streams · 0 items · 0 reconnections

errors
  reset             3  first at [T]

failures, by the spec line that failed
  3× hangs_up.stream:2:3: the request to 127.0.0.1:PORT failed: connection closed before message completed

the first, as `streamspec run` shows it:
  error: the request to 127.0.0.1:PORT failed: connection closed before message completed
   --> hangs_up.stream:2:3
    |
  2 |   GET {{base}}/sse/ticker
    |   ^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/ticker

load generator: [N]

no thresholds: the run passes if every iteration passed
FAILED: 3 iterations failed
",
        )
        .status(1)
        .run();
}
