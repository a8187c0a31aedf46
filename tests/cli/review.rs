//! `streamspec review` shows pending updates as diffs, coloured on a terminal (and when
//! `CLICOLOR_FORCE` asks) and plain under `NO_COLOR`; `run --update=pending` says once when git
//! would see the pending files.

use std::path::Path;
use std::process::Command;

use crate::support::Test;
use crate::update::stable;

const SPEC: &str = r#"
    test "json" {
      GET {{base}}/json
      expect json { "version": 1 }
    }
"#;

const PENDING: &str = r#"
    test "json" {
      GET {{base}}/json
      expect json { "version": 2 }
    }
"#;

#[test]
fn review_shows_a_plain_diff_without_colour() {
    Test::new()
        .spec("a.stream", SPEC)
        .spec("a.stream.new", PENDING)
        .args(["review"])
        .stdout(
            r#"
            --- ./a.stream
            +++ ./a.stream.new
            @@ -1,4 +1,4 @@
             test "json" {
               GET {{base}}/json
            -  expect json { "version": 1 }
            +  expect json { "version": 2 }
             }
            1 update pending: accept with `streamspec accept`, reject with `streamspec reject`
            "#,
        )
        .run();
}

#[test]
fn review_colours_its_diff_when_colour_is_on() {
    Test::new()
        .spec("a.stream", SPEC)
        .spec("a.stream.new", PENDING)
        .args(["review"])
        .without_env("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .stdout(
            "
            \u{1b}[1m--- ./a.stream\u{1b}[0m
            \u{1b}[1m+++ ./a.stream.new\u{1b}[0m
            \u{1b}[34m@@ -1,4 +1,4 @@\u{1b}[0m
             test \"json\" {
               GET {{base}}/json
            \u{1b}[31m-  expect json { \"version\": 1 }\u{1b}[0m
            \u{1b}[32m+  expect json { \"version\": 2 }\u{1b}[0m
             }
            1 update pending: accept with `streamspec accept`, reject with `streamspec reject`
            ",
        )
        .run();
}

/// `git init` in `dir`, with no global or system config that could ignore files.
fn git_init(dir: &Path) {
    let status = Command::new("git")
        .args(["init", "-q", "."])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("run git init");
    assert!(status.success(), "git init failed");
}

/// `--update=pending` of two failing specs in `test`'s directory.
fn update_pending(test: Test) -> Test {
    test.spec("a.stream", SPEC)
        .spec("b.stream", SPEC)
        .args(["run", "--update=pending", "-j", "1", "."])
        .var("base", stable())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status(1)
}

/// The end of the output of [`update_pending`], after the failures.
const PENDING_LINES: &str = "
    Summary 2 tests: 0 passed, 2 failed [TIME]
      FAIL ./a.stream:1: json
      FAIL ./b.stream:1: json
    pending: ./a.stream.new (1 expectation; accept with `streamspec review`)
    pending: ./b.stream.new (1 expectation; accept with `streamspec review`)
";

#[test]
fn pending_updates_in_a_git_work_tree_that_does_not_ignore_them_get_a_hint_once() {
    let test = Test::new();
    git_init(test.path());
    let output = update_pending(test).run_unchecked();
    let expected = crate::support::unindent(PENDING_LINES)
        + "hint: git does not ignore pending updates: add `*.stream.new` to .gitignore\n";
    assert!(
        output.stdout.ends_with(&expected),
        "stdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
}

#[test]
fn pending_updates_that_git_ignores_or_outside_git_get_no_hint() {
    let test = Test::new().file(".gitignore", "*.stream.new\n");
    git_init(test.path());
    let ignored = update_pending(test).run_unchecked();
    let outside = update_pending(Test::new()).run_unchecked();
    for output in [ignored, outside] {
        assert!(
            output
                .stdout
                .ends_with(&crate::support::unindent(PENDING_LINES)),
            "stdout:\n{}\nstderr:\n{}",
            output.stdout,
            output.stderr
        );
    }
}
