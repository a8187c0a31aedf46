//! A service of `streamspec.toml` that exits while the load runs: the summary and the JSON
//! report say which, how and when, beside its CPU and memory.

use crate::support::Test;
use crate::test_service;

/// The test service as `api`, ready when `/health` answers.
fn config() -> String {
    format!(
        r#"
        [vars]
        base = "http://127.0.0.1:{{{{port}}}}"

        [[services]]
        name = "api"
        ports = ["port"]
        command = {command}
        env = {{ {port} = "{{{{port}}}}" }}
        ready = {{ http = "http://127.0.0.1:{{{{port}}}}/health" }}
        start_timeout = "10s"
        "#,
        command = test_service::command(),
        port = test_service::PORT,
    )
}

/// The first iteration makes the service exit with code 3; the second finds nobody listening.
const EXITS: &str = r#"
test "exit" {
  GET {{base}}/exit?code=3
  expect status 200
}
"#;

#[test]
fn the_summary_says_when_and_how_a_service_exited_during_the_load() {
    let output = Test::new()
        .config(&config())
        .spec("a.stream", EXITS)
        .args(["load", "a.stream", "--users", "1", "--iterations", "2"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let line = output
        .stdout
        .lines()
        .find(|line| line.starts_with("service api exited"))
        .unwrap_or_else(|| panic!("no exit line in:\n{}", output.stdout));
    let at = line
        .strip_prefix("service api exited with code 3 at ")
        .and_then(|rest| rest.strip_suffix('s'))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(at.parse::<f64>().is_ok(), "{line}");
    // What it said last, often why it exited, under it (as `run` shows it).
    let after: Vec<&str> = output
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("service api exited"))
        .skip(1)
        .take(3)
        .collect();
    assert_eq!(
        after,
        [
            "  its output (last 40 lines at most):",
            "    serving",
            "    fatal: lost the database connection"
        ],
        "{}",
        output.stdout
    );
}

#[test]
fn the_json_report_gives_the_service_exit() {
    let output = Test::new()
        .config(&config())
        .spec("a.stream", EXITS)
        .args(["load", "a.stream", "--users", "1", "--iterations", "2"])
        .args(["--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(1),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    let service = &report["services"][0];
    assert_eq!(service["name"], "api", "{service}");
    assert_eq!(service["exited"]["how"], "exited with code 3", "{service}");
    assert_eq!(
        service["exited"]["output"], "serving\nfatal: lost the database connection\n",
        "{service}"
    );
    let at = service["exited"]["at_ms"].as_u64().expect("at_ms");
    assert!(
        at <= report["elapsed"].as_u64().expect("elapsed"),
        "{report}"
    );
}

/// A service that `timeout` ends after 2 seconds of a 4-second load (its process lingers a
/// moment as a zombie, which holds no memory and uses no CPU).
const ENDS_AFTER_2S: &str = r#"
[[services]]
name = "sleeper"
command = ["sh", "-c", "exec timeout 2 sleep 30"]
"#;

#[test]
fn a_service_s_samples_end_when_it_exits_and_none_reads_zero() {
    let output = Test::new()
        .config(ENDS_AFTER_2S)
        .spec("a.stream", crate::html_report::TICKER)
        .var("base", crate::servers::demo())
        .args(["load", "a.stream", "--users", "1", "--duration", "4s"])
        .args(["--think", "100ms", "--format", "json"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    let report: serde_json::Value = serde_json::from_str(&output.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {output:?}"));
    let service = &report["services"][0];
    assert_eq!(
        service["exited"]["how"], "exited with code 124",
        "{service}"
    );
    let at_ms = service["exited"]["at_ms"].as_u64().expect("at_ms");
    let samples = service["samples"].as_array().expect("samples");
    // A sample is taken at the end of its second: none after the exit's second.
    assert!(
        samples.len() as u64 <= at_ms / 1000 + 1,
        "samples after the exit at {at_ms}ms: {service}"
    );
    assert!(
        samples.iter().all(|sample| sample["rss_bytes"] != 0),
        "a dead service read as 0 bytes: {service}"
    );
}
