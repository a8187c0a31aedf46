//! Measured rates below 1/s in the summary and in thresholds: in the unit they are whole in
//! (`40/m`), or to two significant digits, as the open model's levels are given; never `0/s`.

use crate::servers;
use crate::support::Test;

#[test]
fn a_goodput_below_one_a_second_reads_in_the_unit_it_is_whole_in() {
    // Arrivals at 0 and 1.5 s of a 3-second schedule: 2 iterations in 3 s, 40 a minute.
    Test::new()
        .spec(
            "health.stream",
            "test \"health\" {\n  GET {{base}}/health\n  expect status 200\n}\n",
        )
        .var("base", servers::demo())
        .args([
            "load",
            "health.stream",
            "--rate",
            "40/m",
            "--duration",
            "3s",
        ])
        .args([
            "--threshold",
            "goodput > 1/s",
            "--threshold",
            "goodput >= 0.5/s",
        ])
        .args(["--threshold", "iterations < 0.4/s"])
        .redact(r"^ran \d+(\.\d+)?s ", "ran [T] ")
        .redact(
            r"^(  (connect|ttfb|iteration|start delay)) .*$",
            "$1 [figures]",
        )
        .redact(r"^load generator: .*$", "load generator: [N]")
        .redact(r"^  warning: .*\n", "")
        .kill_after(std::time::Duration::from_secs(60))
        .stdout(
            "load: 1 test · open model: 40/m for 3s
ran [T] · 2 iterations (40/m) · 2 passed · 0 failed · goodput 40/m

health.stream: health
                           p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  iteration [figures]
  start delay [figures]
  2 iterations · 2 passed · 0 failed · 0 streams · 0 items · 0 reconnections

load generator: [N]

thresholds
  ✗ goodput > 1/s           40/m  margin -20/m
  ✓ goodput >= 0.5/s        40/m  margin 10/m
  ✗ iterations < 0.4/s      40/m  margin -16/m
  ✓ failures < 1 (implied)     0  margin 0
  ✓ dropped < 1 (implied)      0  margin 0
  (implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)
  (implied: no threshold says how many arrivals may be dropped; `dropped < 10` would allow some)
",
        )
        .status(1)
        .run();
}

#[test]
fn rates_of_iterations_long_beside_the_schedule_say_why_they_read_low() {
    // 0.4 s streams arriving 10 a second for 1 s: those that arrived in its last 0.4 s end
    // after it, and the rates, of those that ended within it, read below the 10/s offered.
    let output = Test::new()
        .spec(
            "ticks.stream",
            "test \"ticks\" {\n  GET {{base}}/sse/ticker?count=5&interval=100ms\n  expect sse { 5 times { data: _ }; end }\n}\n",
        )
        .var("base", servers::demo())
        .args(["load", "ticks.stream", "--rate", "10/s", "--duration", "1s"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let note = output
        .stdout
        .lines()
        .find(|line| line.starts_with("note: rates count the "))
        .unwrap_or_else(|| panic!("no note on the rates in:\n{}", output.stdout));
    assert!(
        note.contains(" that ended within the 1.0s schedule (")
            && note.ends_with("so a longer --duration reads nearer the steady rate"),
        "{note}"
    );
}
