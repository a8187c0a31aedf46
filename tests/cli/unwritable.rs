//! Output that cannot be written: a report file or standard output on a full disk ends the
//! command with exit code 3 and an error saying which output and why, never with a report cut
//! short passing for the whole, nor with a panic. A reader that closed the pipe (`| head`) is not
//! an error: the rest of the output is dropped quietly and the exit code is the command's own.
//!
//! A full disk is `/dev/full` (every write fails with ENOSPC), or for files that must be created,
//! a file size limit of 0 (`ulimit -f 0`: every write fails with EFBIG).

use crate::servers;
use crate::support::{Test, all_passed};

const PASSING: &str = r#"
    test "health" {
      GET {{base}}/health
      expect text "ok"
    }
    "#;

fn passing_run(args: &[&str]) -> Test {
    Test::new()
        .spec("a.stream", PASSING)
        .args(["run", "a.stream"])
        .args(args.iter().copied())
        .var("base", servers::demo())
}

fn one_passed() -> String {
    all_passed(1, &[("a.stream", "health")])
}

#[test]
fn a_json_report_on_a_full_disk_is_an_error() {
    passing_run(&["--report-json", "/dev/full"])
        .stdout(&one_passed())
        .stderr("error: cannot write the report `/dev/full`: No space left on device (os error 28)")
        .status(3)
        .run();
}

#[test]
fn a_tap_report_on_a_full_disk_is_an_error() {
    passing_run(&["--report-tap", "/dev/full"])
        .stdout(&one_passed())
        .stderr("error: cannot write the report `/dev/full`: No space left on device (os error 28)")
        .status(3)
        .run();
}

#[test]
fn report_files_that_cannot_grow_are_errors_and_no_partial_junit_replaces_the_old() {
    let output = passing_run(&[
        "--report-junit",
        "reports/junit.xml",
        "--report-tap",
        "reports/report.tap",
        "--report-json",
        "reports/report.jsonl",
    ])
    .file("reports/junit.xml", "the previous report")
    .file_size_limit(0)
    .stdout(&one_passed())
    .stderr(
        "
        error: cannot write the report `reports/junit.xml`: File too large (os error 27)
        error: cannot write the report `reports/report.tap`: File too large (os error 27)
        error: cannot write the report `reports/report.jsonl`: File too large (os error 27)
        ",
    )
    .status(3)
    .run();
    let junit = std::fs::read_to_string(output.dir.path().join("reports/junit.xml"))
        .expect("the previous report");
    assert_eq!(junit, "the previous report");
    // Nor is the temporary file left behind.
    let left = std::fs::read_dir(output.dir.path().join("reports"))
        .expect("the reports directory")
        .count();
    assert_eq!(left, 3);
}

#[test]
fn the_human_report_on_a_full_stdout_is_an_error() {
    passing_run(&[])
        .stdout_to("/dev/full")
        .stderr(
            "error: cannot write the report on standard output: No space left on device (os error 28)",
        )
        .status(3)
        .run();
}

#[test]
fn every_format_on_a_full_stdout_is_an_error() {
    for format in ["tap", "json", "junit"] {
        passing_run(&["--format", format])
            .stdout_to("/dev/full")
            .stderr(
                "error: cannot write the report on standard output: No space left on device (os error 28)",
            )
            .status(3)
            .run();
    }
}

#[test]
fn a_failing_run_with_an_unwritable_report_exits_3() {
    // The report is what CI reads: losing it matters more than the failure it would show.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "fails" {
              GET {{base}}/health
              expect text "not ok"
            }
            "#,
        )
        .args(["run", "a.stream", "--report-json", "/dev/full"])
        .var("base", servers::demo())
        .stdout_to("/dev/null")
        .stderr("error: cannot write the report `/dev/full`: No space left on device (os error 28)")
        .status(3)
        .run();
}

/// A spec with no variables, not in the canonical layout, a pending update of it, and a
/// captured stream.
fn spec_and_pending_update() -> Test {
    Test::new()
        .file("a.stream", "test \"t\" {\n    GET http://127.0.0.1:1/\n}\n")
        .file(
            "a.stream.new",
            "test \"t\" {\n  GET http://127.0.0.1:2/\n}\n",
        )
        .file("events.sse", "data: one\n\ndata: two\n\n")
}

#[test]
fn every_command_on_a_full_stdout_is_an_error() {
    for args in [
        &["check", "a.stream"][..],
        &["fmt", "--check", "a.stream"],
        &["review"],
        &["decode", "sse", "events.sse"],
        &["completions", "bash"],
        &["--help"],
    ] {
        spec_and_pending_update()
            .args(args.iter().copied())
            .stdout_to("/dev/full")
            .stderr("error: cannot write standard output: No space left on device (os error 28)")
            .status(3)
            .run();
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly_and_keeps_the_exit_code() {
    // `streamspec run | head -1`: the run goes on, and its tests decide the exit code.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "fails" {
              GET {{base}}/health
              expect text "not ok"
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout_to_a_closed_pipe()
        .status(1)
        .run();
    for (args, status) in [
        (&["check", "a.stream"][..], 0),
        (&["fmt", "--check", "a.stream"], 1),
        (&["review"], 0),
        (&["decode", "sse", "events.sse"], 0),
        (&["completions", "bash"], 0),
        (&["--help"], 0),
    ] {
        spec_and_pending_update()
            .args(args.iter().copied())
            .stdout_to_a_closed_pipe()
            .status(status)
            .run();
    }
}

#[test]
fn github_annotations_on_a_full_stderr_are_an_error() {
    // With a machine format on standard output the annotations go to standard error, and they
    // are what a pull request shows of the failures: losing them is losing a report. Standard
    // error cannot say so itself; the exit code does.
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "fails" {
              GET {{base}}/health
              expect text "not ok"
            }
            "#,
        )
        .args(["run", "a.stream", "--format", "json"])
        .var("base", servers::demo())
        .env("GITHUB_ACTIONS", "true")
        .stdout_to("/dev/null")
        .stderr_to("/dev/full")
        .status(3)
        .run();
}
