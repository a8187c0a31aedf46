//! The command line itself: exit codes, variables from `--var`, the environment and the config,
//! `--timeout`, and services from `streamspec.toml`.

use crate::servers;
use crate::support::Test;

#[test]
fn no_tests_found() {
    Test::new()
        .file("README.md", "no specs here")
        .args(["run"])
        .stderr("error: no .stream files found in `.`")
        .status(4)
        .run();
    Test::new()
        .file("empty/.keep", "")
        .args(["check", "empty"])
        .stderr("error: no .stream files found in `empty`")
        .status(4)
        .run();
}

#[test]
fn absolute_paths_are_shown_as_given() {
    let test = Test::new().spec(
        "specs/a.stream",
        r#"
        test "fails" {
          GET {{base}}/sse/empty
          expect sse {
            data: _
          }
        }
        "#,
    );
    let specs = test.path().join("specs").display().to_string();
    test.args(["run", &specs])
        .var("base", servers::demo())
        .status(1)
        .stdout(
            "
            Running 1 test from 1 file
              FAIL [TIME] [TEMP]/specs/a.stream: fails

            error: the stream ended before any item
             --> [TEMP]/specs/a.stream:4:5
              |
            4 |     data: _
              |     ^^^^^^^ still expected `data: _`
              |
              = diff of expected (-) and observed (+) items:
                - data: _
                + end

            Summary 1 test: 0 passed, 1 failed [TIME]
              FAIL [TEMP]/specs/a.stream:1: fails
            ",
        )
        .run();
}

#[test]
fn a_path_that_does_not_exist() {
    Test::new()
        .args(["run", "missing"])
        .stderr("error: cannot read `missing`: No such file or directory (os error 2)")
        .status(2)
        .run();
}

#[test]
fn unknown_flag() {
    Test::new()
        .args(["run", "--bogus"])
        .stderr(
            "
            error: unexpected argument '--bogus' found

              tip: to pass '--bogus' as a value, use '-- --bogus'

            Usage: streamspec run [OPTIONS] [PATHS]...

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
}

#[test]
fn bad_flag_values() {
    Test::new()
        .args(["run", "--timeout", "5"])
        .stderr(
            "
            error: invalid value '5' for '--timeout <DURATION>': `5` is not a duration: write a number and a unit (ms, s, m or h) with no space, like `500ms`, `20s`, `1.5s` or `2m`

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
    Test::new()
        .args(["check", "--var", "1x=2"])
        .stderr(
            "
            error: invalid value '1x=2' for '--var <NAME=VALUE>': `1x` is not a variable name

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
}

#[test]
fn version() {
    Test::new()
        .args(["--version"])
        .stdout(&format!(
            "streamspec {}\n\
             transports: sse, ndjson, lines, chunks, json, text (HTTP/1.1 and HTTP/2, TLS by \
             rustls), grpc (server reflection, .proto files, descriptor sets), ws and wss \
             (WebSocket, by tungstenite)",
            env!("CARGO_PKG_VERSION")
        ))
        .run();
    // `-V` stays one line, for scripts that read the version.
    Test::new()
        .args(["-V"])
        .stdout(&format!("streamspec {}", env!("CARGO_PKG_VERSION")))
        .run();
}

/// A spec that passes only when `base` is the demo and `count` is `expected`: the `let`s are
/// defaults that would fail.
fn vars_spec(expected: u32) -> String {
    format!(
        r#"
        let base = "http://127.0.0.1:1"
        let count = 1

        test "ticks" {{
          GET {{{{base}}}}/sse/ticker?count={{{{count}}}}&interval=0ms
          expect sse {{ ...; data: json {{ "count": {expected} }}; end }}
          expect count == {expected}
        }}
        "#
    )
}

fn ticks_passed() -> &'static str {
    "
    Running 1 test from 1 file
      PASS [TIME] ./a.stream: ticks
    Summary 1 test: 1 passed, 0 failed [TIME]
    "
}

#[test]
fn var_overrides_let() {
    Test::new()
        .spec("a.stream", &vars_spec(2))
        .args(["run"])
        .var("base", servers::demo())
        .var("count", "2")
        .stdout(ticks_passed())
        .run();
}

#[test]
fn environment_variables_override_let() {
    Test::new()
        .spec("a.stream", &vars_spec(3))
        .args(["run"])
        .env("STREAMSPEC_VAR_base", servers::demo())
        .env("STREAMSPEC_VAR_count", "3")
        .stdout(ticks_passed())
        .run();
}

#[test]
fn var_overrides_the_environment_which_overrides_the_config() {
    Test::new()
        .spec("specs/a.stream", &vars_spec(2))
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:2"
            count = "5"
            "#,
        )
        .args(["run", "specs/a.stream"])
        .env("STREAMSPEC_VAR_base", servers::demo())
        .env("STREAMSPEC_VAR_count", "4")
        .var("count", "2")
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] specs/a.stream: ticks
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .run();
}

#[test]
fn config_vars_override_let() {
    Test::new()
        .spec("a.stream", &vars_spec(3))
        .config(&format!(
            r#"
            [vars]
            base = "{}"
            count = 3
            "#,
            servers::demo()
        ))
        .args(["run"])
        .stdout(ticks_passed())
        .run();
}

#[test]
fn the_config_above_the_working_directory_applies() {
    Test::new()
        .spec("specs/sse/a.stream", &vars_spec(3))
        .config(&format!(
            r#"
            [vars]
            base = "{}"
            count = 3
            "#,
            servers::demo()
        ))
        .current_dir("specs/sse")
        .args(["run"])
        .stdout(ticks_passed())
        .run();
}

const SILENT_SPEC: &str = r#"
    test "silence" {
      GET {{base}}/bad/silent
      expect sse { end }
    }
"#;

fn silence_timed_out_after(timeout: &str) -> String {
    format!(
        "
        Running 1 test from 1 file
         ERROR [TIME] ./a.stream: silence

        error: no response within {timeout} (the test's timeout)
         --> ./a.stream:2:3
          |
        2 |   GET {{{{base}}}}/bad/silent
          |   ^^^^^^^^^^^^^^^^^^^^^^^ waiting for the response to this request
          |
          = note: the server at http://127.0.0.1:PORT/bad/silent accepted nothing, or sent no response head

        Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
         ERROR ./a.stream:1: silence
        "
    )
}

#[test]
fn timeout_flag() {
    Test::new()
        .spec("a.stream", SILENT_SPEC)
        .args(["run", "--timeout", "300ms"])
        .var("base", servers::demo())
        .stdout(&silence_timed_out_after("300ms"))
        .status(1)
        .run();
}

#[test]
fn timeout_from_the_config() {
    Test::new()
        .spec("a.stream", SILENT_SPEC)
        .config(
            r#"
            [defaults]
            timeout = "0.25s"
            "#,
        )
        .args(["run"])
        .var("base", servers::demo())
        .stdout(&silence_timed_out_after("250ms"))
        .status(1)
        .run();
}

#[test]
fn timeout_flag_beats_the_config_and_the_test_beats_both() {
    Test::new()
        .spec("a.stream", SILENT_SPEC)
        .config(
            r#"
            [defaults]
            timeout = "1h"
            "#,
        )
        .args(["run", "--timeout", "200ms"])
        .var("base", servers::demo())
        .stdout(&silence_timed_out_after("200ms"))
        .status(1)
        .run();
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "silence" {
              timeout 150ms
              GET {{base}}/bad/silent
              expect sse { end }
            }
            "#,
        )
        .args(["run", "--timeout", "1h"])
        .var("base", servers::demo())
        .stdout(
            "
            Running 1 test from 1 file
             ERROR [TIME] ./a.stream: silence

            error: no response within 150ms (the test's timeout)
             --> ./a.stream:3:3
              |
            3 |   GET {{base}}/bad/silent
              |   ^^^^^^^^^^^^^^^^^^^^^^^ waiting for the response to this request
              |
              = note: the server at http://127.0.0.1:PORT/bad/silent accepted nothing, or sent no response head

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR ./a.stream:1: silence
            ",
        )
        .status(1)
        .run();
}

/// The exit codes `--help` lists (of streamspec, `run`, `load` and `merge`).
const HELP_EXIT_CODES: &str = "
Exit codes:
  0        every test passed (check: no problems)
  1        a test failed, or a load did (a threshold failed, or without thresholds an
           iteration); decode: the input is not a valid stream; fmt --check: a file is not
           formatted
  2        usage or spec error: a bad flag, a syntax error, a failed static check
  3        setup or output failed: a service from streamspec.toml did not start, a report or the
           output could not be written in full, the HTTP client could not be set up, demo could
           not listen, or the open-file limit is too low to start
  4        no .stream files under the given paths, or no test that --filter/--tag select
  128 + N  stopped by signal N (the services were stopped): 130 Ctrl-C, 143 SIGTERM
";

#[test]
fn the_help_lists_every_exit_code_and_3_is_not_only_a_service() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["load", "--help"],
        &["merge", "--help"],
    ] {
        let output = Test::new().args(args.iter().copied()).run_unchecked();
        assert_eq!(output.status, Some(0), "{}", output.stderr);
        assert!(
            output.stdout.ends_with(HELP_EXIT_CODES),
            "{args:?}:\n{}",
            output.stdout
        );
    }
}

#[test]
fn the_help_lists_the_codes_of_the_readme_s_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|line| *line != "### Exit codes")
        .skip_while(|line| !line.starts_with("| code |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('|').nth(1).map(str::trim))
        .collect();
    assert_eq!(table, ["0", "1", "2", "3", "4", "128 + N"]);
    let listed: Vec<&str> = HELP_EXIT_CODES
        .lines()
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.trim().split("  ").next())
        .collect();
    assert_eq!(listed, table);
}

#[test]
fn the_help_says_the_timeout_flag_beats_the_config() {
    let output = Test::new().args(["run", "--help"]).run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let entry: Vec<&str> = output
        .stdout
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("--timeout"))
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(
        entry.join("\n"),
        "      --timeout <DURATION>\n          Per-test timeout of the tests that set none; overrides `[defaults] timeout` in streamspec.toml (default 30s)"
    );
}

const HEALTH_SPEC: &str = r#"
    test "health" {
      GET {{base}}/health
      expect text "ok"
    }
"#;

#[test]
fn a_service_from_the_config() {
    Test::new()
        .spec("a.stream", HEALTH_SPEC)
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{demo_port}}"

            [[services]]
            name = "demo"
            ports = ["demo_port"]
            command = ["{{streamspec}}", "demo", "--listen", "127.0.0.1:{{demo_port}}"]
            ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
            start_timeout = "30s"
            "#,
        )
        .args(["run"])
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] ./a.stream: health
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .run();
}

#[test]
fn a_service_that_exits_before_it_is_ready() {
    Test::new()
        .spec("a.stream", HEALTH_SPEC)
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{port}}"

            [[services]]
            name = "api"
            ports = ["port"]
            command = ["sh", "-c", "echo starting on port {{port}} >&2; echo cannot open the database >&2; exit 3"]
            ready = { tcp = "127.0.0.1:{{port}}" }
            "#,
        )
        .args(["run"])
        .redact(r"port \d+", "port PORT")
        .stdout("Running 1 test from 1 file")
        .stderr(
            "
            error: service `api` exited with code 3 before it was ready
             --> ./streamspec.toml:4:1
              |
            4 | [[services]]
              | ^^^^^^^^^^^^ service `api`
              |
              = note: its output (last 40 lines at most):
                starting on port PORT
                cannot open the database

            ",
        )
        .status(3)
        .run();
}

#[test]
fn a_service_that_is_never_ready() {
    Test::new()
        .spec("a.stream", HEALTH_SPEC)
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{port}}"

            [[services]]
            name = "api"
            ports = ["port"]
            command = ["sh", "-c", "echo warming up >&2; exec sleep 60"]
            ready = { tcp = "127.0.0.1:{{port}}" }
            start_timeout = "2s"
            "#,
        )
        .args(["run"])
        .stdout("Running 1 test from 1 file")
        .stderr(
            "
            error: service `api` was not ready within 2s
             --> ./streamspec.toml:4:1
              |
            4 | [[services]]
              | ^^^^^^^^^^^^ service `api`
              |
              = note: the last probe said: connecting to 127.0.0.1:PORT: Connection refused (os error 111)
              = note: its output (last 40 lines at most):
                warming up

            ",
        )
        .status(3)
        .run();
}

#[test]
fn a_service_whose_program_does_not_exist() {
    Test::new()
        .spec("a.stream", HEALTH_SPEC)
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{port}}"

            [[services]]
            name = "api"
            ports = ["port"]
            command = ["./no-such-server", "--port", "{{port}}"]
            "#,
        )
        .args(["run"])
        .stdout("Running 1 test from 1 file")
        .stderr(
            "
            error: cannot start service `api`: program `./no-such-server` not found
             --> ./streamspec.toml:4:1
              |
            4 | [[services]]
              | ^^^^^^^^^^^^ service `api`

            ",
        )
        .status(3)
        .run();
}

#[test]
fn an_invalid_config() {
    Test::new()
        .spec("a.stream", HEALTH_SPEC)
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{prot}}"

            [defaults]
            timeout = "fast"

            [[services]]
            name = "api"
            ports = ["port"]
            command = ["true"]
            "#,
        )
        .args(["run"])
        .stderr(
            r#"
            error: unknown variable `prot`
             --> ./streamspec.toml:2:26
              |
            2 | base = "http://127.0.0.1:{{prot}}"
              |                          ^^^^^^^^ not a variable or port
              |
              = help: did you mean `port`?

            error: `fast` is not a duration: write a number and a unit (ms, s, m or h) with no space, like `500ms`, `20s`, `1.5s` or `2m`
             --> ./streamspec.toml:5:11
              |
            5 | timeout = "fast"
              |           ^^^^^^ expected a duration

            2 errors
            no tests were run: fix the errors above first
            "#,
        )
        .status(2)
        .run();
}

/// Whether a process is gone: no such pid, or a zombie waiting for a parent to reap it (a
/// service whose parent exited is handed to pid 1, which may never reap it).
fn is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// A spec directory whose demo service writes its pid to `demo.pid` and, when stopped with
/// SIGTERM, writes `stopped.txt`; its second test waits on a silent endpoint.
fn interruptible() -> Test {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect text "ok"
            }

            test "silence" {
              GET {{base}}/bad/silent
              expect sse { end }
            }
            "#,
        )
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{demo_port}}"

            [[services]]
            name = "demo"
            ports = ["demo_port"]
            command = ["sh", "-c", """
                echo $$ > demo.pid
                trap 'echo stopped > stopped.txt; exit 0' TERM
                "$0" demo --listen 127.0.0.1:{{demo_port}} &
                wait
            """, "{{streamspec}}"]
            ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
            "#,
        )
        .args(["run"])
        // The first test passed, so the service is up and the second test is waiting.
        .interrupt_when_stdout_has("PASS")
        .stdout(
            "
            Running 2 tests from 1 file
              PASS [TIME] ./a.stream: health
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .stderr("interrupted: 1 of 2 tests ran")
        .status(130)
}

#[test]
fn ctrl_c_stops_the_run_and_its_services() {
    let output = interruptible().run();
    let pid = std::fs::read_to_string(output.dir.path().join("demo.pid"))
        .expect("the service wrote its pid");
    assert!(
        is_gone(pid.trim()),
        "the demo service (pid {pid}) outlived the interrupted run"
    );
}

#[test]
fn ctrl_c_stops_services_gracefully() {
    let output = interruptible().run();
    assert!(
        output.dir.path().join("stopped.txt").exists(),
        "the demo service got no SIGTERM"
    );
}

#[test]
fn services_are_stopped_gracefully_at_the_end_of_a_run() {
    let output = interruptible()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect text "ok"
            }
            "#,
        )
        .interrupt_when_stdout_has("this never appears")
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] ./a.stream: health
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .stderr("")
        .status(0)
        .run();
    assert!(
        output.dir.path().join("stopped.txt").exists(),
        "the demo service got no SIGTERM"
    );
}
