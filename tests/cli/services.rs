//! The services of `streamspec.toml` as the run sees them: when a readiness URL counts as ready,
//! and a service that exits while the tests run, named by the tests it fails.
//!
//! The services are real processes: this test binary, run again as the small HTTP server of
//! `test_service` (`GET /ok`, `/health` answering `$HEALTH_STATUS`, `/exit?code=N`, `/kill`),
//! started by the run.

use crate::support::Test;
use crate::test_service;

/// The config that starts the test service as `api`, with `ready` and its environment as given.
/// It has 10 s to get ready (a process may start slowly on a busy machine).
fn config(ready: &str, env: &str) -> String {
    config_with_timeout(ready, env, "10s")
}

/// The config for a service that never gets ready: long enough for it to start on a busy machine
/// and answer the probe, which the error then shows.
fn never_ready_config(ready: &str, env: &str) -> String {
    config_with_timeout(ready, env, "5s")
}

fn config_with_timeout(ready: &str, env: &str, start_timeout: &str) -> String {
    let port = format!(r#"{} = "{{{{port}}}}""#, test_service::PORT);
    let env = [port.as_str(), env]
        .into_iter()
        .filter(|entry| !entry.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
        [vars]
        base = "http://127.0.0.1:{{{{port}}}}"

        [[services]]
        name = "api"
        ports = ["port"]
        command = {command}
        env = {{ {env} }}
        ready = {ready}
        start_timeout = "{start_timeout}"
        "#,
        command = test_service::command(),
    )
}

const OK_SPEC: &str = r#"
    test "ok" {
      GET {{base}}/ok
      expect text "ok"
    }
"#;

// ─── Readiness ─────────────────────────────────────────────────────────────────────────────────

#[test]
fn a_readiness_url_that_answers_404_is_not_ready() {
    Test::new()
        .config(&never_ready_config(
            r#"{ http = "http://127.0.0.1:{{port}}/health" }"#,
            r#"HEALTH_STATUS = "404""#,
        ))
        .spec("a.stream", OK_SPEC)
        .args(["run"])
        .stdout("Running 1 test from 1 file")
        .stderr(
            r#"
            error: service `api` was not ready within 5s
             --> ./streamspec.toml:4:1
              |
            4 | [[services]]
              | ^^^^^^^^^^^^ service `api`
              |
              = note: the last probe said: GET http://127.0.0.1:PORT/health answered 404 Not Found
              = help: a readiness URL must answer 2xx or 3xx; to count this answer as ready, add `status = 404` to `ready`
              = note: its output (last 40 lines at most):
                serving

            "#,
        )
        .status(3)
        .run();
}

#[test]
fn the_status_that_counts_as_ready_can_be_set() {
    for status in ["404", r#""4xx""#, r#"[200, 404]"#] {
        Test::new()
            .config(&config(
                &format!(
                    r#"{{ http = "http://127.0.0.1:{{{{port}}}}/health", status = {status} }}"#
                ),
                r#"HEALTH_STATUS = "404""#,
            ))
            .spec("a.stream", OK_SPEC)
            .args(["run"])
            .stdout(
                "
                Running 1 test from 1 file
                  PASS [TIME] ./a.stream: ok
                Summary 1 test: 1 passed, 0 failed [TIME]
                ",
            )
            .run();
    }
}

#[test]
fn a_readiness_status_it_never_answers_is_reported_with_the_status_seen() {
    Test::new()
        .config(&never_ready_config(
            r#"{ http = "http://127.0.0.1:{{port}}/health", status = 204 }"#,
            "",
        ))
        .spec("a.stream", OK_SPEC)
        .args(["run"])
        .stdout("Running 1 test from 1 file")
        .stderr(
            r#"
            error: service `api` was not ready within 5s
             --> ./streamspec.toml:4:1
              |
            4 | [[services]]
              | ^^^^^^^^^^^^ service `api`
              |
              = note: the last probe said: GET http://127.0.0.1:PORT/health answered 200 OK
              = help: `ready` waits for 204; to count this answer as ready, add 200 to its `status`
              = note: its output (last 40 lines at most):
                serving

            "#,
        )
        .status(3)
        .run();
}

// ─── A service that exits during the run ──────────────────────────────────────────────────────

#[test]
fn a_service_that_exits_during_the_run_is_named_by_the_tests_it_fails() {
    Test::new()
        .config(&config(
            r#"{ http = "http://127.0.0.1:{{port}}/health" }"#,
            "",
        ))
        .spec(
            "a.stream",
            r#"
            test "before" {
              GET {{base}}/ok
              expect text "ok"
            }

            test "the service exits" {
              GET {{base}}/exit?code=3
              expect status 200
            }

            test "after" {
              GET {{base}}/ok
              expect text "ok"
            }

            test "after, again" {
              GET {{base}}/ok
              expect text "ok"
            }
            "#,
        )
        .args(["run", "-j", "1"])
        .stdout(
            r#"
            Running 4 tests from 1 file
              PASS [TIME] ./a.stream: before
             ERROR [TIME] ./a.stream: the service exits

            error: service `api` exited with code 3 during the run (after test `./a.stream: before`)
              = note: `api` is the service at ./streamspec.toml:4:1
              = note: its output (last 40 lines at most):
                serving
                fatal: lost the database connection

            error: the request to 127.0.0.1:PORT failed: connection closed before message completed
             --> ./a.stream:7:3
              |
            7 |   GET {{base}}/exit?code=3
              |   ^^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/exit?code=3

             ERROR [TIME] ./a.stream: after

            error: service `api` exited with code 3 during the run (after test `./a.stream: before`); its output is shown under `./a.stream: the service exits`

            error: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
              --> ./a.stream:12:3
               |
            12 |   GET {{base}}/ok
               |   ^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/ok

             ERROR [TIME] ./a.stream: after, again

            error: service `api` exited with code 3 during the run (after test `./a.stream: before`); its output is shown under `./a.stream: the service exits`

            error: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
              --> ./a.stream:17:3
               |
            17 |   GET {{base}}/ok
               |   ^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/ok

            Summary 4 tests: 1 passed, 0 failed, 3 errors [TIME]
             ERROR ./a.stream:6: the service exits
             ERROR ./a.stream:11: after
             ERROR ./a.stream:16: after, again
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn a_service_killed_by_a_signal_during_the_run_is_named_with_the_signal() {
    Test::new()
        .config(&config(
            r#"{ http = "http://127.0.0.1:{{port}}/health" }"#,
            "",
        ))
        .spec(
            "a.stream",
            r#"
            test "the service is killed" {
              GET {{base}}/kill
              expect status 200
            }
            "#,
        )
        .args(["run"])
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] ./a.stream: the service is killed

            error: service `api` was killed by signal 9 (SIGKILL) during the run (before any test passed)
              = note: `api` is the service at ./streamspec.toml:4:1
              = note: its output (last 40 lines at most):
                serving

            error: the request to 127.0.0.1:PORT failed: connection closed before message completed
             --> ./a.stream:2:3
              |
            2 |   GET {{base}}/kill
              |   ^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/kill

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR ./a.stream:1: the service is killed
            "#,
        )
        .status(1)
        .run();
}
