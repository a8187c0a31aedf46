//! `streamspec review` shows pending updates as diffs, coloured on a terminal (and when
//! `CLICOLOR_FORCE` asks) and plain under `NO_COLOR`.

use crate::support::Test;

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
