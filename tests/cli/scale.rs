//! Running at scale: `--jobs`, ordered output, `--fail-fast`, `--filter`, `--tag`/`--skip-tag`,
//! `--shard`, `--repeat`, no progress line when piped, and `completions`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use tokio::sync::watch;

use crate::servers;
use crate::support::{Test, all_passed};

/// Who has arrived at each named meeting.
type Meetings = Arc<Mutex<HashMap<String, Arc<watch::Sender<u32>>>>>;

/// A server for scheduling tests:
///
/// - `GET /meet?name=N&parties=P&wait=MS` answers `together` once P requests to meeting N are
///   waiting at the same time, or `alone` after MS milliseconds without them (and the request
///   leaves the meeting). Two tests that both get `together` ran at the same time; no clock
///   needs to agree.
/// - `GET /flaky?name=N` fails (500) every second request of each name, the first passing.
fn scheduling_server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let meetings: Meetings = Arc::default();
        let flaky: Arc<Mutex<HashMap<String, Arc<AtomicU32>>>> = Arc::default();
        let router = Router::new()
            .route(
                "/meet",
                get(
                    |State(meetings): State<Meetings>,
                     Query(query): Query<HashMap<String, String>>| async move {
                        let name = query.get("name").cloned().unwrap_or_default();
                        let parties: u32 = query
                            .get("parties")
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(2);
                        let wait: u64 = query
                            .get("wait")
                            .and_then(|w| w.parse().ok())
                            .unwrap_or(10_000);
                        let meeting = Arc::clone(
                            meetings
                                .lock()
                                .expect("the meetings lock")
                                .entry(name)
                                .or_insert_with(|| Arc::new(watch::channel(0).0)),
                        );
                        let mut arrivals = meeting.subscribe();
                        meeting.send_modify(|n| *n += 1);
                        let met = tokio::time::timeout(
                            Duration::from_millis(wait),
                            arrivals.wait_for(|n| *n >= parties),
                        )
                        .await;
                        match met {
                            Ok(Ok(_)) => "together",
                            _ => {
                                meeting.send_modify(|n| *n -= 1);
                                "alone"
                            }
                        }
                    },
                ),
            )
            .with_state(meetings)
            .route(
                "/flaky",
                get(
                    move |Query(query): Query<HashMap<String, String>>| async move {
                        let name = query.get("name").cloned().unwrap_or_default();
                        let count = Arc::clone(
                            flaky
                                .lock()
                                .expect("the flaky lock")
                                .entry(name)
                                .or_default(),
                        );
                        if count.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                            (StatusCode::OK, "ok")
                        } else {
                            (StatusCode::INTERNAL_SERVER_ERROR, "oops")
                        }
                    },
                ),
            );
        servers::serve(router)
    })
}

/// A name no other test uses, for a meeting or a flaky counter.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Two tests that pass only when both are waiting at the server at the same time.
fn meeting_specs(wait_ms: u32) -> String {
    let name = unique("meeting");
    format!(
        r#"
        test "first" {{
          GET {{{{base}}}}/meet?name={name}&parties=2&wait={wait_ms}
          expect text "together"
        }}

        test "second" {{
          GET {{{{base}}}}/meet?name={name}&parties=2&wait={wait_ms}
          expect text "together"
        }}
        "#
    )
}

#[test]
fn jobs_run_tests_at_the_same_time() {
    // Each would wait up to 15 s alone; together they answer at once.
    Test::new()
        .spec("a.stream", &meeting_specs(15_000))
        .args(["run", "-j", "2", "a.stream"])
        .var("base", scheduling_server())
        .stdout(&all_passed(
            1,
            &[("a.stream", "first"), ("a.stream", "second")],
        ))
        .run();
}

#[test]
fn one_job_runs_one_test_at_a_time() {
    Test::new()
        .spec("a.stream", &meeting_specs(200))
        .args(["run", "--jobs", "1", "a.stream"])
        .var("base", scheduling_server())
        .stdout(
            r#"
            Running 2 tests from 1 file
              FAIL [TIME] a.stream: first

            error: the body does not match
             --> a.stream:3:15
              |
            3 |   expect text "together"
              |               ^^^^^^^^^^ expected "together", found "alone"
              |
              = diff of expected (-) and observed (+) items:
                - "together"
                + "alone"  # [TIME]

              FAIL [TIME] a.stream: second

            error: the body does not match
             --> a.stream:8:15
              |
            8 |   expect text "together"
              |               ^^^^^^^^^^ expected "together", found "alone"
              |
              = diff of expected (-) and observed (+) items:
                - "together"
                + "alone"  # [TIME]

            Summary 2 tests: 0 passed, 2 failed [TIME]
              FAIL a.stream:1: first
              FAIL a.stream:6: second
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn a_serial_test_runs_alone() {
    // With two jobs these two would meet; `@serial` keeps them apart, so each waits alone.
    let name = unique("serial");
    Test::new()
        .spec(
            "a.stream",
            &format!(
                r#"
                test "needs the server to itself" @serial {{
                  GET {{{{base}}}}/meet?name={name}&parties=2&wait=300
                  expect text "alone"
                }}

                test "another" {{
                  GET {{{{base}}}}/meet?name={name}&parties=2&wait=300
                  expect text "alone"
                }}
                "#
            ),
        )
        .args(["run", "-j", "2", "a.stream"])
        .var("base", scheduling_server())
        .stdout(&all_passed(
            1,
            &[
                ("a.stream", "needs the server to itself"),
                ("a.stream", "another"),
            ],
        ))
        .run();
}

/// Tests that finish in the opposite order to the one they are written in, some failing with
/// several lines of output.
const OUT_OF_ORDER: &str = r#"
    test "slowest, passes" {
      GET {{base}}/sse/ticker?count=4&interval=150ms
      expect sse { 4 times { data: _ }; end }
    }

    test "slow, fails" {
      GET {{base}}/sse/ticker?count=3&interval=100ms
      expect sse { 2 times { data: _ }; end }
    }

    test "quick, fails" {
      GET {{base}}/health
      expect text "not ok"
    }

    test "quickest, passes" {
      GET {{base}}/health
      expect text "ok"
    }
    "#;

#[test]
fn parallel_output_is_in_spec_order_and_never_interleaved() {
    let run = |jobs: &str| {
        Test::new()
            .spec("a.stream", OUT_OF_ORDER)
            .args(["run", "-j", jobs, "a.stream"])
            .var("base", servers::demo())
            .redact(r#""timestamp": \d+"#, r#""timestamp": [UNIX_MS]"#)
            .run_unchecked()
    };
    let one = run("1");
    let four = run("4");
    assert_eq!(one.status, Some(1));
    assert_eq!(four.status, Some(1));
    assert_eq!(four.stderr, "");
    assert_eq!(one.stdout, four.stdout, "-j 1 and -j 4 print the same");
    let lines: Vec<&str> = four
        .stdout
        .lines()
        .filter(|line| line.starts_with("  PASS") || line.starts_with("  FAIL [TIME]"))
        .collect();
    assert_eq!(
        lines,
        [
            "  PASS [TIME] a.stream: slowest, passes",
            "  FAIL [TIME] a.stream: slow, fails",
            "  FAIL [TIME] a.stream: quick, fails",
            "  PASS [TIME] a.stream: quickest, passes",
        ]
    );
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "fails" {
              GET {{base}}/health
              expect status 500
            }

            test "never runs" {
              GET {{base}}/health
              expect status 200
            }

            test "nor this" {
              GET {{base}}/health
              expect status 200
            }
            "#,
        )
        .args(["run", "-j", "1", "--fail-fast", "a.stream"])
        .var("base", servers::demo())
        .stdout(
            "
            Running 3 tests from 1 file
              FAIL [TIME] a.stream: fails

            error: expected status 500, got 200 OK
             --> a.stream:3:17
              |
            3 |   expect status 500
              |                 ^^^ the server answered 200
              |
              = note: the body began: ok

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL a.stream:1: fails
            ",
        )
        .stderr("stopped at the first failure (--fail-fast): 2 tests not run")
        .status(1)
        .run();
}

#[test]
fn fail_fast_lets_the_running_tests_finish() {
    // Both meet at the server, so both were running when the first failed; the second is not
    // cancelled. (A third test could start in the moment between the second finishing and the
    // first failing, so there is none: what fail-fast leaves out is tested with `-j 1` above.)
    let name = unique("fail-fast");
    Test::new()
        .spec(
            "a.stream",
            &format!(
                r#"
                test "fails once both run" {{
                  GET {{{{base}}}}/meet?name={name}&parties=2&wait=15000
                  expect text "apart"
                }}

                test "passes once both run" {{
                  GET {{{{base}}}}/meet?name={name}&parties=2&wait=15000
                  expect text "together"
                }}
                "#
            ),
        )
        .args(["run", "-j", "2", "--fail-fast", "a.stream"])
        .var("base", scheduling_server())
        .stdout(
            r#"
            Running 2 tests from 1 file
              FAIL [TIME] a.stream: fails once both run

            error: the body does not match
             --> a.stream:3:15
              |
            3 |   expect text "apart"
              |               ^^^^^^^ expected "apart", found "together"
              |
              = diff of expected (-) and observed (+) items:
                - "apart"
                + "together"  # [TIME]

              PASS [TIME] a.stream: passes once both run
            Summary 2 tests: 1 passed, 1 failed [TIME]
              FAIL a.stream:1: fails once both run
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn fail_fast_reports_every_run_that_finished() {
    // Two jobs, each test twice: the first runs of both tests start together (the second run of
    // the first test waits for its first), and the second test fails when they meet. Which
    // finishes first is up to the machine, so what is checked is that every run is either
    // reported or counted as not run.
    let name = unique("fail-fast-repeat");
    let output = Test::new()
        .spec(
            "a.stream",
            &format!(
                r#"
                test "meets" {{
                  GET {{{{base}}}}/meet?name={name}&parties=2&wait=15000
                  expect text "together"
                }}

                test "fails on meeting" {{
                  GET {{{{base}}}}/meet?name={name}&parties=2&wait=15000
                  expect text "apart"
                }}
                "#
            ),
        )
        .args(["run", "-j", "2", "--repeat", "2", "--fail-fast", "a.stream"])
        .var("base", scheduling_server())
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stdout);
    let reported = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("  PASS [TIME]") || line.starts_with("  FAIL [TIME]"))
        .count();
    let not_run: usize = output
        .stderr
        .strip_prefix("stopped at the first failure (--fail-fast): ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert_eq!(
        reported + not_run,
        4,
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert!(
        output
            .stdout
            .contains("  FAIL [TIME] a.stream: fails on meeting (run 1 of 2)\n"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains(&format!("Summary {reported} tests: ")),
        "{}",
        output.stdout
    );
}

/// Two files, five tests, some tagged.
fn tagged() -> Test {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" @smoke {
              GET {{base}}/health
              expect text "ok"
            }

            test "ticker" @sse @slow {
              GET {{base}}/sse/ticker?count=2&interval=10ms
              expect sse { 2 times { data: _ }; end }
            }

            test "empty" @sse {
              GET {{base}}/sse/empty
              expect sse { end }
            }
            "#,
        )
        .spec(
            "b.stream",
            r#"
            test "health again" @smoke {
              GET {{base}}/health
              expect status 200
            }

            test "ndjson" {
              GET {{base}}/ndjson/events
              expect status 200
            }
            "#,
        )
        .var("base", servers::demo())
}

#[test]
fn filter_selects_by_name_and_by_file() {
    tagged()
        .args(["run", "--filter", "health", "."])
        .stdout(&all_passed(
            2,
            &[("./a.stream", "health"), ("./b.stream", "health again")],
        ))
        .run();
    tagged()
        .args(["run", "--filter", "b.stream: nd", "--filter", "empty", "."])
        .stdout(&all_passed(
            2,
            &[("./a.stream", "empty"), ("./b.stream", "ndjson")],
        ))
        .run();
}

#[test]
fn tags_select_and_skip_tags_leave_out() {
    tagged()
        .args(["run", "--tag", "sse", "--skip-tag", "@slow", "."])
        .stdout(&all_passed(1, &[("./a.stream", "empty")]))
        .run();
    tagged()
        .args(["run", "--tag", "smoke", "--tag", "slow", "."])
        .stdout(&all_passed(
            2,
            &[
                ("./a.stream", "health"),
                ("./a.stream", "ticker"),
                ("./b.stream", "health again"),
            ],
        ))
        .run();
}

#[test]
fn nothing_selected_is_no_tests() {
    tagged()
        .args(["run", "--tag", "smok", "."])
        .stderr(
            "
            error: no test matches --tag `smok` (of 5 tests found)
              = help: no test has the tag `smok`; did you mean `smoke`?

            ",
        )
        .status(4)
        .run();
    tagged()
        .args(["run", "--filter", "nothing", "."])
        .stderr("error: no test matches --filter `nothing` (of 5 tests found)")
        .status(4)
        .run();
}

/// The `file: name` of every test a run passed.
fn passed(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  PASS [TIME] "))
        .map(str::to_string)
        .collect()
}

#[test]
fn shards_run_every_test_exactly_once() {
    let everything = passed(&tagged().args(["run", "."]).run_unchecked().stdout);
    assert_eq!(everything.len(), 5);
    for count in 1..=3 {
        let mut union = Vec::new();
        for index in 1..=count {
            let output = tagged()
                .args(["run", "--shard", &format!("{index}/{count}"), "."])
                .run_unchecked();
            assert_eq!(output.status, Some(0), "{}", output.stdout);
            union.extend(passed(&output.stdout));
        }
        union.sort();
        let mut expected = everything.clone();
        expected.sort();
        assert_eq!(union, expected, "the union of {count} shards");
    }
    // Shards split what the filters chose.
    tagged()
        .args(["run", "--tag", "smoke", "--shard", "2/2", "."])
        .stdout(&all_passed(1, &[("./b.stream", "health again")]))
        .run();
}

#[test]
fn a_shard_with_no_tests_passes() {
    tagged()
        .args(["run", "--tag", "smoke", "--shard", "3/3", "."])
        .stderr("shard 3/3 has no tests: 2 tests selected, split among 3 shards")
        .run();
}

#[test]
fn a_malformed_shard_is_a_usage_error() {
    for (shard, message) in [
        ("0/2", "there is no shard 0 of 2: K goes from 1 to 2"),
        ("3/2", "there is no shard 3 of 2: K goes from 1 to 2"),
        ("1/0", "`1/0` has no shards: N must be at least 1"),
        ("x", "expected K/N, such as `1/4`, got `x`"),
        ("1/2/3", "expected K/N, such as `1/4`, got `1/2/3`"),
    ] {
        Test::new()
            .args(["run", "--shard", shard, "."])
            .stderr(&format!(
                "
                error: invalid value '{shard}' for '--shard <K/N>': {message}

                For more information, try '--help'.
                "
            ))
            .status(2)
            .run();
    }
}

#[test]
fn zero_jobs_or_repeats_are_usage_errors() {
    Test::new()
        .args(["run", "-j", "0", "."])
        .stderr(
            "
            error: invalid value '0' for '--jobs <N>': must be at least 1

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
    Test::new()
        .args(["run", "--repeat", "0", "."])
        .stderr(
            "
            error: invalid value '0' for '--repeat <N>': must be at least 1

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
}

#[test]
fn repeat_runs_each_test_and_names_the_run() {
    tagged()
        .args(["run", "--repeat", "3", "-j", "2", "--filter", "health", "."])
        .stdout(&all_passed(
            2,
            &[
                ("./a.stream", "health (run 1 of 3)"),
                ("./a.stream", "health (run 2 of 3)"),
                ("./a.stream", "health (run 3 of 3)"),
                ("./b.stream", "health again (run 1 of 3)"),
                ("./b.stream", "health again (run 2 of 3)"),
                ("./b.stream", "health again (run 3 of 3)"),
            ],
        ))
        .run();
}

#[test]
fn repeat_shows_flaky_tests() {
    let name = unique("flaky");
    Test::new()
        .spec(
            "a.stream",
            &format!(
                r#"
                test "sometimes" {{
                  GET {{{{base}}}}/flaky?name={name}
                  expect status 200
                }}
                "#
            ),
        )
        .args(["run", "--repeat", "3", "a.stream"])
        .var("base", scheduling_server())
        .stdout(
            "
            Running 3 tests from 1 file
              PASS [TIME] a.stream: sometimes (run 1 of 3)
              FAIL [TIME] a.stream: sometimes (run 2 of 3)

            error: expected status 200, got 500 Internal Server Error
             --> a.stream:3:17
              |
            3 |   expect status 200
              |                 ^^^ the server answered 500
              |
              = note: the body began: oops

              PASS [TIME] a.stream: sometimes (run 3 of 3)
            Summary 3 tests: 2 passed, 1 failed [TIME]
              FAIL a.stream:1: sometimes (run 2 of 3)
             FLAKY a.stream:1: sometimes failed 1 of 3 runs
            ",
        )
        .status(1)
        .run();
}

#[test]
fn no_progress_line_when_piped() {
    // Long enough for the line's once-a-second redraw: standard error stays empty.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a second and a half" {
              GET {{base}}/sse/ticker?count=4&interval=500ms
              expect sse { 4 times { data: _ }; end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout(&all_passed(1, &[("a.stream", "a second and a half")]))
        .stderr("")
        .run();
}

#[test]
fn timings_break_the_run_down() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
            }
            "#,
        )
        .args(["run", "--timings", "a.stream"])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    for phase in ["load (parse, check)", "reporting", "streamspec CPU: total"] {
        assert!(output.stderr.contains(phase), "{}", output.stderr);
    }
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "_streamspec()"),
        ("zsh", "#compdef streamspec"),
        ("fish", "complete -c streamspec"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[streamspec]"),
    ] {
        let output = Test::new().args(["completions", shell]).run_unchecked();
        assert_eq!(output.status, Some(0), "{shell}: {}", output.stderr);
        assert!(
            output.stdout.contains(marker),
            "{shell}:\n{}",
            output.stdout
        );
        assert!(output.stdout.contains("shard"), "{shell} completes --shard");
    }
    Test::new()
        .args(["completions", "tcsh"])
        .stderr(
            "
            error: invalid value 'tcsh' for '<SHELL>'
              [possible values: bash, elvish, fish, powershell, zsh]

              tip: a similar value exists: 'zsh'

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
}
