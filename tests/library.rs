//! The library API (`streamspec::Specs`, `run_dir`, `assert_specs_pass`) as a downstream crate's
//! `cargo test` uses it: specs in a temporary directory, run against the demo service served in
//! this process, or against the demo its `streamspec.toml` starts with the real binary.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use streamspec::{RunError, Specs};
use tempfile::TempDir;

/// The demo service on 127.0.0.1 and a port the system chose, served on a runtime of its own.
fn demo() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime for the demo");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let _ = axum::serve(listener, streamspec::demo::router().into_make_service()).await;
            });
        });
        url
    })
}

/// A temporary directory holding these files.
fn specs(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, text) in files {
        std::fs::write(dir.path().join(path), text).expect("write a spec");
    }
    dir
}

/// The text with the directory, measured times and ports made stable.
fn redact(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "[TEMP]");
    let text = Regex::new(r"\[ *\d+\.\d{3}s\]")
        .expect("a regex")
        .replace_all(&text, "[TIME]");
    let text = Regex::new(r"  # \d+(?:\.\d+)?m?s\n")
        .expect("a regex")
        .replace_all(&text, "  # [TIME]\n");
    let text = Regex::new(r#""timestamp": \d+"#)
        .expect("a regex")
        .replace_all(&text, r#""timestamp": [UNIX_MS]"#);
    Regex::new(r"127\.0\.0\.1:\d+")
        .expect("a regex")
        .replace_all(&text, "127.0.0.1:PORT")
        .into_owned()
}

const PASSING: &str = r#"test "health" {
  GET {{base}}/health
  expect text "ok"
}

test "three ticks" @sse {
  GET {{base}}/sse/ticker?count=3&interval=10ms
  expect sse { 3 times { data: json { "count": integer } }; end }
}
"#;

const FAILING: &str = r#"test "health" {
  GET {{base}}/health
  expect status 201
}

test "two ticks where three come" {
  GET {{base}}/sse/ticker?count=3&interval=0ms
  expect sse {
    2 times { id: _ }
    end
  }
}
"#;

#[test]
fn passing_specs_give_a_passing_report() {
    let dir = specs(&[("a.stream", PASSING)]);
    let report = Specs::new(dir.path())
        .var("base", demo())
        .run()
        .expect("the specs run");
    assert!(report.passed());
    assert_eq!(report.outcomes().len(), 2);
    assert_eq!(report.failure_message(), None);
    assert_eq!(
        redact(report.output(), dir.path()),
        "Running 2 tests from 1 file\n\
         \x20 PASS [TIME] [TEMP]/a.stream: health\n\
         \x20 PASS [TIME] [TEMP]/a.stream: three ticks\n\
         Summary 2 tests: 2 passed, 0 failed [TIME]\n"
    );
    Specs::new(dir.path()).var("base", demo()).assert_pass();
}

#[test]
fn a_failing_run_panics_with_every_failure() {
    let dir = specs(&[("a.stream", FAILING), ("b.stream", PASSING)]);
    let panic = std::panic::catch_unwind(|| {
        Specs::new(dir.path()).var("base", demo()).assert_pass();
    })
    .expect_err("a failing run panics");
    let message = panic
        .downcast_ref::<String>()
        .expect("the panic message is a String");
    assert_eq!(
        redact(message, dir.path()),
        r#"2 of 4 streamspec tests failed:

FAIL [TEMP]/a.stream:1: health

error: expected status 201, got 200 OK
 --> [TEMP]/a.stream:3:17
  |
3 |   expect status 201
  |                 ^^^ the server answered 200
  |
  = note: the body began: ok

FAIL [TEMP]/a.stream:6: two ticks where three come

error: expected the stream to end, but item 3 arrived
  --> [TEMP]/a.stream:10:5
   |
10 |     end
   |     ^^^ expected the stream to end here
   |
   = diff of expected (-) and observed (+) items:
       id: "1"  event: "message"  data: json { "count": 1, "timestamp": [UNIX_MS] }  # [TIME]
       id: "2"  event: "message"  data: json { "count": 2, "timestamp": [UNIX_MS] }  # [TIME]
     + id: "3"  event: "message"  data: json { "count": 3, "timestamp": [UNIX_MS] }  # [TIME]
       end"#
    );
}

#[test]
fn only_the_selected_tests_run() {
    let dir = specs(&[("a.stream", FAILING), ("b.stream", PASSING)]);
    let report = Specs::new(dir.path())
        .var("base", demo())
        .tag("sse")
        .run()
        .expect("the specs run");
    let names: Vec<&str> = report.outcomes().iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["three ticks"]);
    let report = Specs::new(dir.path())
        .var("base", demo())
        .filter("b.stream")
        .jobs(1)
        .repeat(2)
        .run()
        .expect("the specs run");
    let names: Vec<&str> = report.outcomes().iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "health (run 1 of 2)",
            "health (run 2 of 2)",
            "three ticks (run 1 of 2)",
            "three ticks (run 2 of 2)"
        ]
    );
}

#[test]
fn services_are_started_with_the_streamspec_executable() {
    let dir = specs(&[
        ("a.stream", PASSING),
        (
            "streamspec.toml",
            r#"
[vars]
base = "http://127.0.0.1:{{demo_port}}"

[[services]]
name = "demo"
ports = ["demo_port", "grpc_port"]
command = ["{{streamspec}}", "demo", "--listen", "127.0.0.1:{{demo_port}}",
           "--grpc-listen", "127.0.0.1:{{grpc_port}}"]
ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
"#,
        ),
    ]);
    let report = Specs::new(dir.path())
        .streamspec_exe(env!("CARGO_BIN_EXE_streamspec"))
        .run()
        .expect("the demo starts");
    assert!(report.passed(), "{}", report.output());

    let error = Specs::new(dir.path())
        .streamspec_exe(dir.path().join("no-such-streamspec"))
        .run()
        .expect_err("no executable, no demo");
    let RunError::Setup(text) = &error else {
        panic!("not a setup error: {error:?}");
    };
    assert!(
        text.contains("`demo`") && text.contains("no-such-streamspec"),
        "{text}"
    );
}

#[test]
fn spec_errors_and_empty_selections_are_errors_not_panics() {
    let dir = specs(&[(
        "a.stream",
        "test \"x\" {\n  GET {{base}}/health\n  expcet status 200\n}\n",
    )]);
    let error = Specs::new(dir.path())
        .var("base", demo())
        .run()
        .expect_err("a spec error");
    assert!(
        matches!(&error, RunError::Specs(text) if text.contains("a.stream:3:3")),
        "{error}"
    );

    let dir = specs(&[("a.stream", PASSING)]);
    let error = Specs::new(dir.path())
        .var("base", demo())
        .tag("nothing-has-this")
        .run()
        .expect_err("nothing selected");
    assert_eq!(
        error.to_string(),
        "no tests to run:\nerror: no test matches --tag `nothing-has-this` (of 2 tests found)"
    );
}

#[tokio::test]
async fn the_blocking_run_works_inside_an_async_runtime() {
    let dir = specs(&[("a.stream", PASSING)]);
    let report = streamspec::Specs::new(dir.path())
        .var("base", demo())
        .run()
        .expect("the specs run");
    assert!(report.passed());
    let report = Specs::new(dir.path())
        .var("base", demo())
        .run_async()
        .await
        .expect("the specs run");
    assert!(report.passed());
}
