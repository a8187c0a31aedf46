//! What `run --update` reports of a fix is true: a spec file's fixes are written once its tests
//! have run, before their lines are printed, so a test shown as `UPDATE` (and counted updated)
//! is in the file — also when the run is stopped early by a signal or `--fail-fast`, and when
//! several runs of one test (`--repeat`) fix the same expectation.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::servers;
use crate::support::{BIN, Test, redact, unindent};
use crate::update::stable;
use crate::update_writes::{TWO_TESTS, wait_all};

/// Far more than these runs need: a hang fails the test rather than the suite.
const QUICKLY: Duration = Duration::from_secs(20);

/// What a run that updated only the test "one" of [`TWO_TESTS`], then stopped, prints, with
/// the run's header.
fn one_updated(running: &str) -> String {
    format!(
        r#"
        {running}
        UPDATE [TIME] a.stream: one

        error: the body does not match
         --> a.stream:3:15
          |
        3 |   expect json {{ "version": 10 }}
          |               ^^^^^^^^^^^^^^^^^ at `.version`: expected 10, found 2
          |
          = diff of expected (-) and observed (+) items:
            - {{ "version": 10 }}
            + {{ "version": 2, "name": "x" }}  # [TIME]

        Summary 1 test: 0 passed, 0 failed, 1 updated [TIME]
        updated: a.stream (1 expectation)
        "#
    )
}

/// [`TWO_TESTS`] with only the first test's fix written.
const ONE_FIXED: &str = r#"
    test "one" {
      GET {{base}}/json
      expect json { "version": 2 }
    }

    test "two" {
      GET {{base}}/text
      expect text "v1"
    }
    "#;

/// A test "one" of [`TWO_TESTS`], then a test "waits" that does not end (at `{{held}}/wait`).
const ONE_THEN_WAITS: &str = r#"
    test "one" {
      GET {{base}}/json
      expect json { "version": 10 }
    }

    test "waits" {
      timeout 2m
      GET {{held}}/wait
      expect status 200
    }
    "#;

/// A server whose `/wait` says on the returned channel that a request came, then never answers
/// (until the client goes).
fn holding_server() -> (String, mpsc::Receiver<()>) {
    let (sender, receiver) = mpsc::channel();
    let sender = Arc::new(Mutex::new(sender));
    let wait = |State(sender): State<Arc<Mutex<mpsc::Sender<()>>>>| async move {
        if let Ok(sender) = sender.lock() {
            let _ = sender.send(());
        }
        std::future::pending::<StatusCode>().await
    };
    let url = servers::serve(Router::new().route("/wait", get(wait)).with_state(sender));
    (url, receiver)
}

/// A run stopped by a signal while the last test of a spec runs: the tests of that spec that
/// finished are written, then reported (`UPDATE`), and what was written stays.
#[test]
fn a_run_interrupted_before_a_spec_ends_writes_what_finished_and_says_so() {
    let (held, requested) = holding_server();
    let test = Test::new().spec("a.stream", ONE_THEN_WAITS);
    let child = Command::new(BIN)
        .args(["run", "--update=in-place", "-j", "1", "a.stream"])
        .args(["--var", &format!("base={}", stable())])
        .args(["--var", &format!("held={held}")])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start streamspec");
    let pid = child.id();
    // With `-j 1`, "waits" starts once "one" has finished: its request says so.
    let started = requested.recv_timeout(QUICKLY);
    // SAFETY: kill(2) on our own child, not reaped yet (it is waited for below).
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
    }
    started.expect("the test \"waits\" started");
    let output = wait_all([child], QUICKLY).remove(0);
    let stdout = redact(test.path(), &String::from_utf8_lossy(&output.stdout));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        unindent(&one_updated("Running 2 tests from 1 file")),
        "{stderr}"
    );
    assert_eq!(stderr, "interrupted: 1 of 2 tests ran\n");
    let left = std::fs::read_to_string(test.path().join("a.stream")).expect("the spec");
    assert_eq!(
        left,
        unindent(ONE_THEN_WAITS).replace("\"version\": 10", "\"version\": 2")
    );
}

/// A spec whose tests have all run is written and reported at once, while the next spec's
/// tests still run; a signal then stops the run, and what was written stays.
#[test]
fn a_spec_is_written_and_reported_once_its_tests_have_run() {
    let (held, _requested) = holding_server();
    let (one, waits) = unindent(ONE_THEN_WAITS)
        .split_once("\ntest \"waits\"")
        .map(|(one, waits)| (one.to_string(), format!("test \"waits\"{waits}")))
        .expect("two tests");
    let output = Test::new()
        .file("a.stream", &one)
        .file("b.stream", &waits)
        .args([
            "run",
            "--update=in-place",
            "-j",
            "1",
            "a.stream",
            "b.stream",
        ])
        .var("base", stable())
        .var("held", held)
        .interrupt_when_stdout_has("UPDATE")
        .stdout(&one_updated("Running 2 tests from 2 files"))
        .stderr("interrupted: 1 of 2 tests ran")
        .status(130)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, one.replace("\"version\": 10", "\"version\": 2"));
}

/// `--fail-fast` stops after the first failure; the fix of that test is written, then its line
/// says `UPDATE`, and the fix stays.
#[test]
fn a_run_stopped_by_fail_fast_writes_what_finished_and_says_so() {
    let output = Test::new()
        .spec("a.stream", TWO_TESTS)
        .args([
            "run",
            "--update=in-place",
            "--fail-fast",
            "-j",
            "1",
            "a.stream",
        ])
        .var("base", stable())
        .stdout(&one_updated("Running 2 tests from 1 file"))
        .stderr("stopped at the first failure (--fail-fast): 1 test not run")
        .status(1)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, unindent(ONE_FIXED));
}

/// Runs of one test (`--repeat`) fix the same expectation: it is written once, and every run
/// that fixed it is updated.
#[test]
fn runs_fixing_one_expectation_write_it_once() {
    let output = Test::new()
        .spec(
            "a.stream",
            ONE_FIXED
                .replace("\"version\": 2", "\"version\": 10")
                .as_str(),
        )
        .args([
            "run",
            "--update=in-place",
            "--repeat",
            "3",
            "--filter",
            "one",
            "a.stream",
        ])
        .var("base", stable())
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stdout);
    for run in 1..=3 {
        let line = format!("UPDATE [TIME] a.stream: one (run {run} of 3)\n");
        assert!(output.stdout.contains(&line), "{line}{}", output.stdout);
    }
    assert!(
        output.stdout.ends_with(
            "Summary 3 tests: 0 passed, 0 failed, 3 updated [TIME]\n\
             updated: a.stream (1 expectation)\n"
        ),
        "{}",
        output.stdout
    );
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, unindent(ONE_FIXED));
}
