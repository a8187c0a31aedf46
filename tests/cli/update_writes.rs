//! How `run --update` and `accept` write spec files: never over a change made since the run,
//! never half-written, never from a stream that could not be read whole, and what could not be
//! written is reported as not updated.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

use crate::servers;
use crate::support::{BIN, Test, unindent};
use crate::update::stable;

pub const TWO_TESTS: &str = r#"
    test "one" {
      GET {{base}}/json
      expect json { "version": 10 }
    }

    test "two" {
      GET {{base}}/text
      expect text "v1"
    }
    "#;

const BOTH_FIXED: &str = r#"
    test "one" {
      GET {{base}}/json
      expect json { "version": 2 }
    }

    test "two" {
      GET {{base}}/text
      expect text "ok v2"
    }
    "#;

/// Two `--update` runs on one file at the same time, each fixing a different test: whichever
/// writes second waits for the first and applies its fix to the file the first wrote, so both
/// land. Run a number of times, as which one writes first is up to the scheduler.
#[test]
fn two_updates_of_one_file_at_once_both_land() {
    const PAIRS: usize = 10;
    for pair in 1..=PAIRS {
        let test = Test::new().spec("a.stream", TWO_TESTS);
        let children = ["one", "two"].map(|name| {
            Command::new(BIN)
                .args(["run", "--update=in-place", "--filter", name, "a.stream"])
                .arg("--var")
                .arg(format!("base={}", stable()))
                .current_dir(test.path())
                .env("NO_COLOR", "1")
                .env_remove("CI")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start streamspec")
        });
        let outputs = wait_all(children, Duration::from_secs(20));
        let written = std::fs::read_to_string(test.path().join("a.stream")).expect("the spec");
        let shown: Vec<String> = outputs
            .iter()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .collect();
        assert_eq!(
            written,
            unindent(BOTH_FIXED),
            "pair {pair} of {PAIRS}: {shown:#?}"
        );
        for (output, stdout) in outputs.iter().zip(&shown) {
            assert_eq!(output.status.code(), Some(0), "pair {pair}: {stdout}");
            assert!(
                stdout.ends_with("updated: a.stream (1 expectation)\n"),
                "pair {pair}: {stdout}"
            );
        }
    }
}

/// Waits for the children to exit and collects their output; kills them and fails past
/// `timeout`.
pub fn wait_all<const N: usize>(
    children: [Child; N],
    timeout: Duration,
) -> Vec<std::process::Output> {
    let (sender, receiver) = mpsc::channel();
    let mut pids = Vec::new();
    for (index, child) in children.into_iter().enumerate() {
        pids.push(child.id());
        let sender = sender.clone();
        std::thread::spawn(move || {
            let _ = sender.send((index, child.wait_with_output()));
        });
    }
    let deadline = std::time::Instant::now() + timeout;
    let mut outputs: Vec<Option<std::process::Output>> = (0..N).map(|_| None).collect();
    for _ in 0..N {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match receiver.recv_timeout(left) {
            Ok((index, output)) => outputs[index] = Some(output.expect("wait for streamspec")),
            Err(_) => {
                for (index, pid) in pids.iter().enumerate() {
                    if outputs[index].is_none() {
                        // SAFETY: kill(2) on our own child, which its waiting thread has not
                        // reaped yet (it has not sent its output).
                        unsafe {
                            libc::kill(*pid as libc::pid_t, libc::SIGKILL);
                        }
                    }
                }
                panic!("streamspec was still running after {timeout:?} and was killed");
            }
        }
    }
    outputs.into_iter().flatten().collect()
}

/// `accept` on a spec that is a symbolic link writes the file it points to; the link stays.
#[test]
fn accept_writes_through_a_symlinked_spec() {
    let test = Test::new().spec("specs/a.stream", TWO_TESTS);
    let dir = test.path().to_path_buf();
    std::os::unix::fs::symlink("specs/a.stream", dir.join("a.stream")).expect("link the spec");
    let output = test
        .args(["run", "--update=pending", "a.stream"])
        .var("base", stable())
        .run_unchecked();
    assert!(dir.join("a.stream.new").exists(), "{}", output.stdout);
    let accept = Command::new(BIN)
        .args(["accept", "a.stream"])
        .current_dir(&dir)
        .output()
        .expect("run accept");
    assert_eq!(
        String::from_utf8_lossy(&accept.stdout),
        "accepted: a.stream.new\n",
        "{}",
        String::from_utf8_lossy(&accept.stderr)
    );
    let link = std::fs::symlink_metadata(dir.join("a.stream")).expect("the link");
    assert!(link.file_type().is_symlink(), "the spec is still a link");
    let target = std::fs::read_to_string(dir.join("specs/a.stream")).expect("the target");
    assert_eq!(target, unindent(BOTH_FIXED));
    assert!(!dir.join("a.stream.new").exists());
}

/// What `--update` prints when it cannot write the spec (`reason`): the test's line says `FAIL`,
/// not `UPDATE` (the write is tried before the line is printed), the summary lists it as failed,
/// and the run exits 1.
fn not_written(reason: &str) -> String {
    format!(
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: json

        error: the body does not match
         --> a.stream:3:15
          |
        3 |   expect json {{ "version": 1 }}
          |               ^^^^^^^^^^^^^^^^ at `.version`: expected 1, found 2
          |
          = diff of expected (-) and observed (+) items:
            - {{ "version": 1 }}
            + {{ "version": 2, "name": "x" }}  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:1: json
        not updated: a.stream: {reason}
        "#
    )
}

const ONE_TEST: &str = r#"
    test "json" {
      GET {{base}}/json
      expect json { "version": 1 }
    }
    "#;

/// A read-only spec is not written, and the run does not count it as updated.
#[test]
fn a_read_only_spec_is_not_counted_as_updated() {
    let test = Test::new().spec("a.stream", ONE_TEST);
    let path = test.path().join("a.stream");
    let mut permissions = std::fs::metadata(&path).expect("the spec").permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&path, permissions).expect("make it read-only");
    let output = test
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", stable())
        .stdout(&not_written("the file is read-only"))
        .status(1)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, unindent(ONE_TEST));
}

/// A write that fails part-way, as on a full disk (here a file size limit), leaves the spec as
/// it was and is not counted as an update.
#[test]
fn a_write_that_fails_as_on_a_full_disk_is_not_counted_as_updated() {
    let output = Test::new()
        .spec("a.stream", ONE_TEST)
        .file_size_limit(16)
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", stable())
        .stdout(&not_written(
            "cannot write it: File too large (os error 27)",
        ))
        .status(1)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, unindent(ONE_TEST));
    let stray: Vec<_> = std::fs::read_dir(output.dir.path())
        .expect("the directory")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(stray, ["a.stream"], "no temporary file is left behind");
}

#[test]
fn an_expectation_changed_since_the_run_is_not_overwritten() {
    let test = Test::new();
    let path = test.path().join("a.stream");
    let output = test
        .spec(
            "a.stream",
            r#"
            test "touched" {
              GET {{base}}/touch?path={{path}}
              expect sse {
                data: json { "n": 9 }
              }
            }
            "#,
        )
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", stable())
        .var("path", path.display().to_string())
        .run_unchecked();
    assert_eq!(output.status, Some(1));
    assert!(
        output
            .stdout
            .starts_with("Running 1 test from 1 file\n  FAIL [TIME] a.stream: touched\n")
            && output.stdout.ends_with(
                "Summary 1 test: 0 passed, 1 failed [TIME]\n  FAIL a.stream:1: touched\n\
             not updated: a.stream:4: the spec changed there since the run\n"
            ),
        "{}",
        output.stdout
    );
    let text = std::fs::read_to_string(&path).expect("the spec");
    assert!(
        text.contains("\"n\": 8"),
        "the other change is kept: {text}"
    );
}

#[test]
fn accepting_a_pending_update_older_than_the_spec_is_refused() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "json" {
              GET {{base}}/json
              expect json { "version": 1 }
            }
            "#,
        )
        .args(["run", "--update=pending", "a.stream"])
        .var("base", stable())
        .run_unchecked();
    let spec = output.dir.path().join("a.stream");
    let pending = output.dir.path().join("a.stream.new");
    let written = std::fs::metadata(&pending)
        .and_then(|m| m.modified())
        .expect("the pending file");
    let edited = std::fs::OpenOptions::new()
        .append(true)
        .open(&spec)
        .expect("open the spec");
    edited
        .set_modified(written + std::time::Duration::from_secs(2))
        .expect("set the spec's time");
    let accept = std::process::Command::new(crate::support::BIN)
        .args(["accept", "a.stream"])
        .current_dir(output.dir.path())
        .output()
        .expect("run accept");
    let stderr = String::from_utf8_lossy(&accept.stderr);
    assert_eq!(accept.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed after its pending update was written"),
        "{stderr}"
    );
    assert!(pending.exists(), "the pending file stays for review");
}

/// SSE streams with an event of 2,000 bytes: alone, or after a small one.
fn oversized() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let huge = format!("data: {}\n\n", "x".repeat(2000));
        let after_small = format!("data: a\n\n{huge}");
        let sse =
            |body: String| move || async move { ([(CONTENT_TYPE, "text/event-stream")], body) };
        servers::serve(
            Router::new()
                .route("/huge", get(sse(huge)))
                .route("/small-then-huge", get(sse(after_small))),
        )
    })
}

/// An item larger than `--max-item-size` fails the test when `--update` records the stream
/// (an empty block) or reads it on after a failure, as it would in any run; nothing is written
/// from such a stream.
#[test]
fn an_item_over_the_size_limit_fails_the_update_and_nothing_is_written() {
    let spec = r#"
        test "recorded" {
          GET {{base}}/huge
          expect sse { }
        }

        test "read on" {
          GET {{base}}/small-then-huge
          expect sse {
            data: "b"
            end
          }
        }
        "#;
    let output = Test::new()
        .spec("a.stream", spec)
        .args(["run", "--update=in-place", "--max-item-size", "1KiB", "-j", "1", "a.stream"])
        .var("base", oversized())
        .stdout(
            r#"
            Running 2 tests from 1 file
             ERROR [TIME] a.stream: recorded

            error: item 1 is larger than the maximum item size of 1 KiB
             --> a.stream:3:10
              |
            3 |   expect sse { }
              |          ^^^ reading this `sse` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

             ERROR [TIME] a.stream: read on

            error: item 2 is larger than the maximum item size of 1 KiB
             --> a.stream:8:10
              |
            8 |   expect sse {
              |          ^^^ reading this `sse` stream
              |
              = help: streamspec holds one item in memory at a time; raise the limit with --max-item-size

            Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
             ERROR a.stream:1: recorded
             ERROR a.stream:6: read on
            not updated: a.stream:3: the stream could not be read whole (see the error), so nothing from it was written
            not updated: a.stream:8: the stream could not be read whole (see the error), so nothing from it was written
            "#,
        )
        .status(1)
        .run();
    let left = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(left, unindent(spec));
}

/// `--update=pending` on [`TWO_TESTS`] in `dir`, for the tests `filter` names.
fn update_pending(dir: &std::path::Path, filter: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["run", "--update=pending", "--filter", filter, "a.stream"])
        .arg("--var")
        .arg(format!("base={}", stable()))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .expect("run streamspec")
}

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read the file back")
}

/// `--update=pending` adds to the pending file an earlier run left: the fixes of both runs are
/// in it, and the spec is left alone.
#[test]
fn a_pending_file_gathers_the_fixes_of_every_run() {
    let test = Test::new().spec("a.stream", TWO_TESTS);
    let dir = test.path();
    for filter in ["one", "two"] {
        let output = update_pending(dir, filter);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.ends_with(
                "pending: a.stream.new (1 expectation; accept with `streamspec review`)\n"
            ),
            "{filter}: {stdout}"
        );
    }
    assert_eq!(read(dir, "a.stream.new"), unindent(BOTH_FIXED));
    assert_eq!(
        read(dir, "a.stream"),
        unindent(TWO_TESTS),
        "the spec is left alone"
    );
}

/// An expectation that a pending file fixed already, fixed again: the newer observation
/// replaces the older one, and the earlier fixes of other tests stay.
#[test]
fn a_newer_fix_of_a_pending_expectation_replaces_the_older_one() {
    let earlier = unindent(TWO_TESTS)
        .replace("\"version\": 10", "\"version\": 7,\n  \"name\": \"old\"")
        .replace("\"v1\"", "\"v0\"");
    let test = Test::new()
        .spec("a.stream", TWO_TESTS)
        .file("a.stream.new", &earlier);
    let dir = test.path();
    let output = update_pending(dir, "one");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        read(dir, "a.stream.new"),
        unindent(TWO_TESTS)
            .replace("\"version\": 10", "\"version\": 2")
            .replace("\"v1\"", "\"v0\"")
    );
}

/// A pending file older than its spec (the spec was edited since, and `accept` would refuse
/// it) is not built on: the run writes a new one from the spec.
#[test]
fn a_pending_file_older_than_its_spec_is_replaced() {
    let test = Test::new().spec("a.stream", TWO_TESTS).file(
        "a.stream.new",
        unindent(TWO_TESTS).replace("\"v1\"", "\"v0\""),
    );
    let dir = test.path();
    let spec_time = std::fs::metadata(dir.join("a.stream"))
        .and_then(|m| m.modified())
        .expect("the spec's time");
    std::fs::File::options()
        .append(true)
        .open(dir.join("a.stream.new"))
        .and_then(|file| file.set_modified(spec_time - Duration::from_secs(60)))
        .expect("age the pending file");
    update_pending(dir, "one");
    assert_eq!(
        read(dir, "a.stream.new"),
        unindent(TWO_TESTS).replace("\"version\": 10", "\"version\": 2")
    );
}

/// Copies the file `?from=` over `?to=` while the test runs (as another `--update` of the spec
/// writing first would), then serves the JSON of `stable()`'s `/json`.
fn copying() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let copy = |Query(query): Query<std::collections::HashMap<String, String>>| async move {
            if let (Some(from), Some(to)) = (query.get("from"), query.get("to")) {
                let _ = std::fs::copy(from, to);
            }
            (
                [(CONTENT_TYPE, "application/json")],
                "{\"version\":2,\"name\":\"x\"}",
            )
        };
        servers::serve(Router::new().route("/json", get(copy)))
    })
}

/// Another update wrote the very fix this run makes while it ran: the fix is there, and the
/// test is updated (not refused as a change since the run).
#[test]
fn a_fix_another_update_wrote_first_is_not_refused() {
    let spec = r#"
        test "json" {
          GET {{base}}/json?from={{dir}}/fixed.stream&to={{dir}}/a.stream
          expect json { "version": 1 }
        }
        "#;
    let fixed = unindent(spec).replace("\"version\": 1", "\"version\": 2");
    let test = Test::new()
        .spec("a.stream", spec)
        .file("fixed.stream", &fixed);
    let dir = test.path().display().to_string();
    let output = test
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", copying())
        .var("dir", dir)
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stdout);
    assert!(
        output
            .stdout
            .starts_with("Running 1 test from 1 file\nUPDATE [TIME] a.stream: json\n")
            && output.stdout.ends_with(
                "Summary 1 test: 0 passed, 0 failed, 1 updated [TIME]\n\
                 updated: a.stream (1 expectation)\n"
            ),
        "{}",
        output.stdout
    );
    assert_eq!(read(output.dir.path(), "a.stream"), fixed);
}
