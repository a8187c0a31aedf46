//! Ending a load early, and settings that cannot do what they say: a count threshold lost for good
//! under `--abort-on-fail` (the whole load's or a test's own) stops the run at once (not at the
//! next second), an `--abort-grace` longer than the run (given or the default 10s) is warned
//! of, and an `--instance` part with no users is an error.

use crate::servers;
use crate::support::Test;

const DOWN: &str = r#"
test "down" {
  GET {{base}}/sse/ticker
  expect sse { + times { data: _ }; end }
}
"#;

const OK: &str = r#"
test "ok" {
  GET {{base}}/sse/ticker?count=1&interval=0ms
  expect sse { data: _; end }
}
"#;

/// One user of `spec` against a port nobody listens on, for 10 minutes under `--abort-on-fail`
/// (and `args`): the JSON report of the run the abort ended.
fn aborted(spec: &str, args: &[&str]) -> serde_json::Value {
    let output = Test::new()
        .spec("down.stream", spec)
        .var("base", servers::refused())
        .args(["load", "down.stream", "--users", "1", "--duration", "10m"])
        .args(args.iter().copied())
        .args(["--abort-on-fail", "--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    serde_json::from_str(&output.stdout).expect("a JSON report")
}

/// One user of [`OK`] for `duration` with a threshold under `--abort-on-fail` (and `args`).
fn judged_early(duration: &str, args: &[&str]) -> crate::support::Output {
    Test::new()
        .spec("ok.stream", OK)
        .var("base", servers::demo())
        .args(["load", "ok.stream", "--users", "1", "--duration", duration])
        .args(["--threshold", "errors < 50%", "--abort-on-fail"])
        .args(args.iter().copied())
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked()
}

#[test]
fn a_count_threshold_lost_for_good_stops_the_run_as_it_is_lost() {
    let report = aborted(DOWN, &["--threshold", "errors < 5"]);
    // The one user stops after the iteration that lost the threshold.
    assert_eq!(
        report["total"]["counts"]["errored"], 5,
        "{}",
        report["total"]["counts"]
    );
    assert_eq!(
        report["stopped"], "the threshold `errors < 5` failed (--abort-on-fail)",
        "{report}"
    );
}

#[test]
fn a_test_s_own_count_threshold_lost_for_good_stops_the_run_as_it_is_lost() {
    let spec = DOWN.replace(
        "test \"down\" {\n",
        "test \"down\" {\n  threshold errors < 5\n",
    );
    let report = aborted(&spec, &[]);
    // Judged as each of the test's iterations ends, not once a second: the one user stops
    // after the iteration that lost it.
    assert_eq!(
        report["total"]["counts"]["errored"], 5,
        "{}",
        report["total"]["counts"]
    );
    assert_eq!(
        report["stopped"], "the threshold `down.stream: down: errors < 5` failed (--abort-on-fail)",
        "{report}"
    );
}

#[test]
fn an_abort_grace_longer_than_the_run_is_warned_of() {
    let output = judged_early("1s", &["--abort-grace", "30s"]);
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert!(
        output.stderr.starts_with(
            "warning: --abort-grace 30s is longer than the run (1s): the thresholds are judged before the end only once one can no longer pass\n"
        ),
        "{}",
        output.stderr
    );
}

#[test]
fn the_default_abort_grace_longer_than_the_run_is_warned_of() {
    let output = judged_early("2s", &[]);
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert!(
        output.stderr.starts_with(
            "warning: --abort-grace (by default 10s) is longer than the run (2s): the thresholds are judged before the end only once one can no longer pass; give a shorter --abort-grace to judge them sooner\n"
        ),
        "{}",
        output.stderr
    );
}

#[test]
fn an_abort_grace_within_the_run_is_not_warned_of() {
    let output = judged_early("1s", &["--abort-grace", "1s"]);
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    assert!(
        !output.stderr.contains("--abort-grace"),
        "{}",
        output.stderr
    );
}

#[test]
fn an_instance_with_no_users_is_an_error_before_the_run() {
    Test::new()
        .spec("ok.stream", OK)
        .var("base", servers::demo())
        .args(["load", "ok.stream", "--users", "2", "--duration", "1s"])
        .args(["--instance", "3/3"])
        .stderr("error: --instance 3/3 gets no users: users go to the parts in blocks of 1 (one per test), so of 2 users part 3 gets none; give at least 3 users, or fewer parts\n")
        .status(2)
        .run();
}

#[test]
fn an_instance_with_fewer_users_than_tests_says_which_it_leaves_out() {
    // Users go to the parts in blocks of one per test: of 3 users over 2 parts, part 2 gets one,
    // and one of the two tests runs in no user of it (its own thresholds would find nothing).
    let two_tests = format!("{OK}\n{}", OK.replace("test \"ok\"", "test \"other\""));
    let output = Test::new()
        .spec("two.stream", &two_tests)
        .var("base", servers::demo())
        .args(["load", "two.stream", "--users", "3", "--duration", "1s"])
        .args(["--instance", "2/2", "--format", "json"])
        .run_unchecked();
    assert!(
        output.stderr.starts_with(
            "warning: --instance 2/2 gets 1 user for 2 tests: each user runs one test, so 1 of them gets none in this part (give at least 4 users for every part to run every test)\n"
        ),
        "{}",
        output.stderr
    );
    // With two tests, the part that gets none needs a whole block: one user of each.
    let output = Test::new()
        .spec("two.stream", &two_tests)
        .var("base", servers::demo())
        .args(["load", "two.stream", "--users", "2", "--duration", "1s"])
        .args(["--instance", "2/2"])
        .run_unchecked();
    assert_eq!(output.status, Some(2), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("give at least 4 users, or fewer parts"),
        "{}",
        output.stderr
    );
}

#[test]
fn an_open_instance_that_gets_no_arrivals_is_an_error_before_the_run() {
    // 2 arrivals over 2 s go to the parts in blocks of 2 (one per test): part 2 gets none, and
    // ran to `no iteration ended` before.
    let two_tests = format!("{OK}\n{}", OK.replace("test \"ok\"", "test \"other\""));
    Test::new()
        .spec("two.stream", &two_tests)
        .var("base", servers::demo())
        .args(["load", "two.stream", "--rate", "1/s", "--duration", "2s"])
        .args(["--instance", "2/2"])
        .stderr("error: --instance 2/2 gets no arrivals: arrivals go to the parts in blocks of 2 (one per test), so of 2 arrivals part 2 gets none; give at least 4 arrivals (a higher --rate or a longer --duration), or fewer parts\n")
        .status(2)
        .run();
}

#[test]
fn abort_on_fail_without_thresholds_stops_at_the_first_failed_iteration() {
    // Without thresholds the run passes only if every iteration passes: the first that fails
    // has lost it for good (it ran on to the end of its 10 minutes).
    let report = aborted(DOWN, &[]);
    assert_eq!(
        report["total"]["counts"]["errored"], 1,
        "{}",
        report["total"]
    );
    assert_eq!(
        report["stopped"], "the threshold `failures < 1 (implied)` failed (--abort-on-fail)",
        "{report}"
    );
}
