//! Connections the load generator could not open for want of file descriptors (`open files`
//! errors, its own limit) are not connections the service failed: they count as errors, but not
//! in `connections succeeded`. A service it could not sample for want of them is said to be.

use crate::servers;
use crate::support::Test;

#[test]
fn connections_the_load_generator_could_not_open_do_not_count_against_the_service() {
    // 300 users at once under a limit of 128 files: some connections cannot be opened. Every one
    // the load generator did open, the demo answered.
    let output = Test::new()
        .spec(
            "health.stream",
            "test \"health\" {\n  GET {{base}}/health\n  expect status 200\n}\n",
        )
        .var("base", servers::demo())
        .args([
            "load",
            "health.stream",
            "--users",
            "300",
            "--iterations",
            "300",
        ])
        .args([
            "--threshold",
            "connections succeeded > 99%",
            "--format",
            "json",
        ])
        .open_file_limit(128, 128)
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    let report: serde_json::Value = serde_json::from_str(&output.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {output:?}"));
    let total = &report["total"];
    let counts = &total["counts"];
    let files = total["errors"]["files"]["count"].as_u64().unwrap_or(0);
    assert!(files > 0, "no `open files` error to count: {total}");
    assert_eq!(
        total["errors"].as_object().map(|errors| errors.len()),
        Some(1),
        "errors of other classes: {total}"
    );
    assert_eq!(counts["failed"].as_u64(), Some(files), "{counts}");
    // Attempted: those opened, each answered.
    assert_eq!(counts["connections"], counts["passed"], "{counts}");
    assert_eq!(counts["connections_failed"], 0, "{counts}");
    let verdict = &report["thresholds"][0];
    assert_eq!(
        (&verdict["measured"], &verdict["passed"]),
        (&serde_json::json!(100.0), &serde_json::json!(true)),
        "{verdict}"
    );
    // Yet the iterations that got no connection failed: no threshold says some may.
    let implied = &report["thresholds"][1];
    assert_eq!(
        (
            &implied["threshold"],
            &implied["implied"],
            &implied["passed"]
        ),
        (
            &serde_json::json!("failures < 1"),
            &serde_json::json!(true),
            &serde_json::json!(false)
        ),
        "{implied}"
    );
    assert_eq!(output.status, Some(1), "{}", output.stderr);
}

#[test]
fn a_service_not_sampled_for_want_of_files_is_said_to_be_and_why() {
    // The demo as the service of streamspec.toml; 300 users hold a stream open each, under a
    // limit of 128 files: reading /proc finds no file descriptor free while they run.
    let config = format!(
        r#"
        [vars]
        base = "http://127.0.0.1:{{{{port}}}}"

        [[services]]
        name = "demo"
        ports = ["port", "grpc"]
        command = ["{bin}", "demo", "--listen", "127.0.0.1:{{{{port}}}}", "--grpc-listen", "127.0.0.1:{{{{grpc}}}}"]
        ready = {{ http = "http://127.0.0.1:{{{{port}}}}/health" }}
        start_timeout = "10s"
        "#,
        bin = crate::support::BIN,
    );
    let output = Test::new()
        .config(&config)
        .spec(
            "long.stream",
            "test \"long\" {\n  GET {{base}}/sse/ticker?count=1000&interval=100ms\n  expect sse { + times { data: _ }; end }\n}\n",
        )
        .args(["load", "long.stream", "--users", "300", "--duration", "2s"])
        .args(["--graceful-stop", "0s", "--report-json", "load.json"])
        .open_file_limit(128, 128)
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    let text = std::fs::read_to_string(output.dir.path().join("load.json"))
        .unwrap_or_else(|_| panic!("a JSON report: {output:?}"));
    let report: serde_json::Value = serde_json::from_str(&text).expect("a JSON report");
    let service = &report["services"][0];
    let why = "the open-file limit (ulimit -n 128) was reached";
    assert_eq!(service["not_sampled"], why, "{service}\n{}", output.stderr);
    // Seconds sampled after the streams were cut off, at the end, or none.
    let expected = if service["samples"].as_array().is_some_and(Vec::is_empty) {
        format!("\nservice demo: not sampled ({why})\n")
    } else {
        format!("\n  some of its seconds were not sampled: {why}\n")
    };
    assert!(output.stdout.contains(&expected), "{}", output.stdout);
}
