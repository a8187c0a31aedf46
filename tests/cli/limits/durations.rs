//! The longest duration, 8760h (365 days): every duration a spec, `streamspec.toml` or a flag
//! gives is at most that, so every deadline the run computes from one can be represented. A
//! longer one is refused before anything is sent; it used to pass `check` and panic the run
//! ("overflow when adding duration to instant").

use crate::servers;
use crate::support::{Test, check_fails};

const TOO_LONG: &str = "is too long: a duration is at most 8760h (365 days)";

#[test]
fn every_duration_in_a_spec_is_at_most_the_maximum() {
    check_fails(
        r#"
        test "long" {
          timeout 99999999999h
          GET http://127.0.0.1:9/
          expect ndjson {
            abort after 5000000000000000h
            first within 8761h
            pace 8761h
            _ within 8761h
            _ after 525601m
            wait 31536000.001s
          }
          expect duration < 8761h
          expect gaps max < 8761h, mean in 1s..8761h
          expect reconnect delay < 8761h
        }

        test "call" {
          grpc http://127.0.0.1:9 a.B/C
          deadline 8761h
        }
        "#,
        &format!(
            r#"
            error: invalid duration
             --> a.stream:2:11
              |
            2 |   timeout 99999999999h
              |           ^^^^^^^^^^^^ `99999999999h` {TOO_LONG}

            error: invalid duration
             --> a.stream:5:17
              |
            5 |     abort after 5000000000000000h
              |                 ^^^^^^^^^^^^^^^^^ `5000000000000000h` {TOO_LONG}

            error: invalid duration
             --> a.stream:6:18
              |
            6 |     first within 8761h
              |                  ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
             --> a.stream:7:10
              |
            7 |     pace 8761h
              |          ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
             --> a.stream:8:14
              |
            8 |     _ within 8761h
              |              ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
             --> a.stream:9:13
              |
            9 |     _ after 525601m
              |             ^^^^^^^ `525601m` {TOO_LONG}

            error: invalid duration
              --> a.stream:10:10
               |
            10 |     wait 31536000.001s
               |          ^^^^^^^^^^^^^ `31536000.001s` {TOO_LONG}

            error: invalid duration
              --> a.stream:12:21
               |
            12 |   expect duration < 8761h
               |                     ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
              --> a.stream:13:21
               |
            13 |   expect gaps max < 8761h, mean in 1s..8761h
               |                     ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
              --> a.stream:13:40
               |
            13 |   expect gaps max < 8761h, mean in 1s..8761h
               |                                        ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
              --> a.stream:14:28
               |
            14 |   expect reconnect delay < 8761h
               |                            ^^^^^ `8761h` {TOO_LONG}

            error: invalid duration
              --> a.stream:19:12
               |
            19 |   deadline 8761h
               |            ^^^^^ `8761h` {TOO_LONG}

            12 errors
            "#
        ),
    );
}

#[test]
fn the_longest_durations_run() {
    // Every bound at the maximum: deadlines a year away are computed and never reached.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a year" {
              timeout 8760h
              GET {{base}}/sse/ticker?count=2&interval=10ms
              expect sse {
                abort after 8760h
                first within 8760h
                data: _ within 8760h
                data: _ within 525600m
                end
              }
              expect duration < 8760h
              expect gaps max < 31536000s
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] a.stream: a year
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .run();
}

#[test]
fn a_wait_and_a_pace_at_the_maximum_end_by_the_tests_timeout() {
    // The events 10ms apart come in reads of their own; 0ms apart, in one read (then the
    // second was taken as already there, and the `wait` passed at the timeout).
    for (step, interval) in [("wait 8760h", 10), ("pace 8760h", 10), ("wait 8760h", 0)] {
        let output = Test::new()
            .spec(
                "a.stream",
                &format!(
                    r#"
                    test "patient" {{
                      timeout 300ms
                      GET {{{{base}}}}/sse/ticker?count=2&interval={interval}ms
                      expect sse {{
                        data: _
                        {step}
                        data: _
                        end
                      }}
                    }}
                    "#
                ),
            )
            .args(["run", "a.stream"])
            .var("base", servers::demo())
            .run_unchecked();
        // A `wait` fails the test at its timeout; a `pace` pauses until then and goes on with
        // the items already received. Neither panics nor outlives the timeout by much.
        assert!(
            matches!(output.status, Some(0 | 1)) && output.stderr.is_empty(),
            "{step}: {output:?}"
        );
        if step.starts_with("wait") {
            assert!(
                output.stdout.contains("the test timed out after 300ms"),
                "{step}: {output:?}"
            );
        }
    }
}

#[test]
fn the_timeout_flag_is_at_most_the_maximum() {
    for value in [
        "9999999999999999999s",
        "8761h",
        "99999999999999999999999999h",
    ] {
        Test::new()
            .args(["run", "--timeout", value])
            .stderr(&format!(
                "
                error: invalid value '{value}' for '--timeout <DURATION>': `{value}` {TOO_LONG}

                For more information, try '--help'.
                "
            ))
            .status(2)
            .run();
    }
}

#[test]
fn durations_in_the_config_are_at_most_the_maximum() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "a" {
              GET http://127.0.0.1:9/
            }
            "#,
        )
        .config(
            r#"
            [defaults]
            timeout = "8761h"

            [[services]]
            name = "api"
            command = ["true"]
            start_timeout = "99999999999h"
            "#,
        )
        .args(["check"])
        .stderr(&format!(
            r#"
            error: `8761h` {TOO_LONG}
             --> ./streamspec.toml:2:11
              |
            2 | timeout = "8761h"
              |           ^^^^^^^ expected a duration

            error: `99999999999h` {TOO_LONG}
             --> ./streamspec.toml:7:17
              |
            7 | start_timeout = "99999999999h"
              |                 ^^^^^^^^^^^^^^ expected a duration

            2 errors
            "#
        ))
        .status(2)
        .run();
}
