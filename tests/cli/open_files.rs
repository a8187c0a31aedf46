//! The open-file limit (`ulimit -n`): streamspec raises its soft limit to the hard limit, runs no
//! more tests at once than the limit has room for (saying so when that is fewer than `-j`), and
//! at a limit too low to start, says so rather than panicking.

use crate::servers;
use crate::support::{Test, all_passed};

/// How many spec files [`many_reconnecting_specs`] writes: more tests holding a connection at
/// once than a limit of 64 files has room for.
const SPECS: usize = 100;

/// [`SPECS`] files, each with a test that holds its stream open while it disconnects and
/// reconnects twice (three connections, one after the other).
fn many_reconnecting_specs() -> (Test, Vec<(String, String)>) {
    let mut test = Test::new();
    let mut tests = Vec::new();
    for i in 0..SPECS {
        let file = format!("t{i:03}.stream");
        let name = format!("reconnects {i}");
        test = test.spec(
            &file,
            &format!(
                r#"
                test "{name}" {{
                  GET {{{{base}}}}/sse/ticker?count=100&interval=20ms
                  expect sse {{
                    id: "1"
                    disconnect
                    reconnect
                    id: "2"
                    disconnect
                    reconnect
                    id: "3"
                  }}
                  expect connections == 3
                }}
                "#
            ),
        );
        // As the run shows a file found under `.`.
        tests.push((format!("./{file}"), name));
    }
    (test.var("base", servers::demo()), tests)
}

fn all_of(tests: &[(String, String)]) -> String {
    let tests: Vec<(&str, &str)> = tests
        .iter()
        .map(|(file, name)| (file.as_str(), name.as_str()))
        .collect();
    all_passed(SPECS, &tests)
}

#[test]
fn jobs_beyond_the_open_file_limit_are_reduced_to_fit_it() {
    // Soft and hard limit alike: raising cannot help. Each test's connections are bounded (one
    // after the other), so those that run at once fit, and every test passes.
    let (test, tests) = many_reconnecting_specs();
    test.args(["run", "-j", "1000", "."])
        .open_file_limit(64, 64)
        // How many fit depends on the files the run has open when it counts.
        .redact(r"reduced to \d+:", "reduced to [JOBS]:")
        .stdout(&all_of(&tests))
        .stderr(
            "note: -j 1000 reduced to [JOBS]: the open-file limit (ulimit -n) is 64, and each \
             running test may need 4 open files",
        )
        .run();
}

#[test]
fn a_low_soft_limit_is_raised_to_the_hard_limit() {
    // At the soft limit of 64, a hundred connections at once would fail with "Too many open
    // files"; at the hard limit of 1024 they fit, and `-j 100` is not reduced.
    let (test, tests) = many_reconnecting_specs();
    test.args(["run", "-j", "100", "."])
        .open_file_limit(64, 1024)
        .stdout(&all_of(&tests))
        .run();
}

#[test]
fn a_limit_too_low_to_start_is_a_clear_error() {
    // At this limit the async runtime could start but not set up its signal handling (a panic).
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "t" {
              GET {{base}}/health
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .open_file_limit(7, 7)
        // Those inherited from the test harness, at least standard input, output and error.
        .redact(r"and \d+ files are open", "and [N] files are open")
        .stderr(
            "error: the open-file limit (ulimit -n) is 7, and [N] files are open already: \
             streamspec needs room for 8 more to start",
        )
        .status(3)
        .run();
}

#[test]
fn services_get_the_limit_streamspec_was_started_with() {
    // Raised for streamspec's own connections; a service started by hand would have the lower
    // soft limit, and programs that use `select` break above 1024.
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect text "ok"
            }
            "#,
        )
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{p}}"

            [[services]]
            name = "demo"
            ports = ["p"]
            command = ["sh", "-c", """
                ulimit -Sn > limit.txt
                ulimit -Hn >> limit.txt
                exec "$0" demo --listen 127.0.0.1:{{p}}
            """, "{{streamspec}}"]
            ready = { http = "http://127.0.0.1:{{p}}/health" }
            "#,
        )
        .args(["run"])
        .open_file_limit(64, 1024)
        .stdout(&all_passed(1, &[("./a.stream", "health")]))
        .run();
    let limits = std::fs::read_to_string(output.dir.path().join("limit.txt"))
        .expect("the service wrote its limits");
    assert_eq!(limits, "64\n1024\n");
}

#[test]
fn a_load_of_more_users_than_the_open_file_limit_says_so_before_it_starts() {
    // 200 users at once cannot each hold a connection under a hard limit of 128: the errors
    // past it would be the load generator's, and the run says so before they come.
    Test::new()
        .spec(
            "health.stream",
            "test \"health\" {\n  GET {{base}}/health\n  expect status 200\n}\n",
        )
        .var("base", servers::demo())
        .args([
            "load",
            "health.stream",
            "--users",
            "200",
            "--iterations",
            "1",
        ])
        .args(["--format", "json"])
        .open_file_limit(128, 128)
        .redact(r"(?s)\A\{.*\}\n\z", "[REPORT]\n")
        .stdout("[REPORT]\n")
        .stderr(
            "warning: 200 users need at least 240 open files (a connection each) and the \
             open-file limit (ulimit -n) is 128: the connections past it fail as `open files` \
             errors, the load generator's and not the service's; raise the hard limit (as root: \
             `ulimit -Hn`, or `LimitNOFILE=` for a systemd unit)\n",
        )
        .run();
}
