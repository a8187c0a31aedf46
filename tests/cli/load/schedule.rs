//! How long a load lasts and what its rates are per: the schedule (`--duration`, `--stage`) in
//! both models, whenever the last arrival or iteration ends, and the open model's levels as
//! the header gives them.

use crate::servers;
use crate::support::Test;

/// An iteration that takes a few milliseconds: each ends long before the next arrival.
const HEALTH: &str = r#"
test "health" {
  GET {{base}}/health
  expect status 200
}
"#;

/// The time the run took and the timing rows are redacted; the rates stay, as they are the
/// iterations that ended within the schedule over its length, not timings.
fn load(args: &[&str]) -> Test {
    Test::new()
        .spec("health.stream", HEALTH)
        .var("base", servers::demo())
        .args(["load", "health.stream"])
        .args(args.iter().copied())
        .redact(r"^ran \d+(\.\d+)?s ", "ran [T] ")
        .redact(
            r"^(  (connect|ttfb|iteration|start delay)) .*$",
            "$1 [figures]",
        )
        .redact(r"^load generator: .*$", "load generator: [N]")
        .redact(r"^  warning: .*\n", "")
        .kill_after(std::time::Duration::from_secs(60))
}

/// What a run of `iterations` that all passed prints, `rate` being both the iteration rate and
/// the goodput, under the header `profile`.
fn passed(profile: &str, iterations: &str, rate: &str, thresholds: &str) -> String {
    format!(
        "load: 1 test · {profile}
ran [T] · {iterations} ({rate}) · {passed} passed · 0 failed · goodput {rate}

health.stream: health
                           p50       p90       p95       p99     p99.9       max
  connect [figures]
  ttfb [figures]
  iteration [figures]
  start delay [figures]
  {iterations} · {passed} passed · 0 failed · 0 streams · 0 items · 0 reconnections

load generator: [N]

{thresholds}",
        passed = iterations.split(' ').next().unwrap_or_default(),
    )
}

#[test]
fn an_open_load_lasts_its_duration_and_its_rates_are_per_second_of_it() {
    // Arrivals at 0, 0.5 … 2.5 s: the last ends near 2.5 s, yet the schedule is 3 s.
    load(&["--rate", "2/s", "--duration", "3s"])
        .args(["--threshold", "goodput <= 2/s"])
        .stdout(&passed(
            "open model: 2/s for 3s",
            "6 iterations",
            "2/s",
            "thresholds\n  ✓ goodput <= 2/s          2/s  margin 0/s\n  ✓ failures < 1 (implied)    0  margin 0\n  ✓ dropped < 1 (implied)     0  margin 0\n  (implied: no threshold says how many iterations may fail; `failures < 1%` would allow some)\n  (implied: no threshold says how many arrivals may be dropped; `dropped < 10` would allow some)\n",
        ))
        .run();
}

#[test]
fn an_open_ramp_lasts_its_stages() {
    // 1/s → 3/s over 2 s: arrivals where the rate's integral (t + t²/2) is whole, at 0, 0.73,
    // 1.24 and 1.65 s (the 4th would be at the stage's end); the run lasts the stage's 2 s.
    load(&["--rate", "1/s", "--stage", "2s:3/s"])
        .stdout(&passed(
            "open model: 1/s → 3/s over 2s",
            "4 iterations",
            "2/s",
            "no thresholds: the run passes if every iteration passed and no arrival was dropped\n",
        ))
        .run();
}

#[test]
fn a_rate_below_one_a_second_is_shown_as_given_and_lasts_the_duration() {
    // One arrival, at the start: one iteration in 2 s.
    load(&["--rate", "1/m", "--duration", "2s"])
        .stdout(&passed(
            "open model: 1/m for 2s",
            "1 iteration",
            "0.5/s",
            "no thresholds: the run passes if every iteration passed and no arrival was dropped\n",
        ))
        .run();
}

#[test]
fn a_closed_load_lasts_its_duration_too() {
    let output = Test::new()
        .spec("health.stream", HEALTH)
        .var("base", servers::demo())
        .args(["load", "health.stream", "--users", "1", "--duration", "2s"])
        .args(["--think", "700ms", "--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let elapsed = report["elapsed"].as_u64().expect("elapsed");
    assert!(elapsed >= 2_000, "the run took {elapsed} ms");
    assert_eq!(report["total"]["rate_seconds"], 2.0, "{}", report["total"]);
}
