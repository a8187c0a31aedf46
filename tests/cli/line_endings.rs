//! Specs whose lines end with CR or CRLF rather than LF: they run like any other, their errors
//! point at their lines, and `run --update`, pending updates and `fmt` keep their line endings.

use crate::servers;
use crate::support::{Test, unindent};

/// `text` unindented, with every line ending `ending`.
fn with_endings(text: &str, ending: &str) -> String {
    unindent(text).replace('\n', ending)
}

/// The exact errors `check` prints for a spec, whatever its line endings.
#[test]
fn errors_in_a_cr_or_crlf_spec_point_at_its_lines() {
    let syntax = r#"
        test "a" {
          GET http://example.invalid/
          expcet status 200
        }

        test "b" {
          GET http://example.invalid/
          expect sse { evnt: "tick" }
        }
        "#;
    let unchecked = r#"
        # comment
        test "c" {
          GET {{nowhere}}/x   # where?
        }
        "#;
    for ending in ["\r", "\r\n"] {
        Test::new()
            .file("a.stream", with_endings(syntax, ending))
            .file("b.stream", with_endings(unchecked, ending))
            .args(["check", "a.stream", "b.stream"])
            .stderr(
                r#"
                error: unknown keyword `expcet`
                 --> a.stream:3:3
                  |
                3 |   expcet status 200
                  |   ^^^^^^
                  |
                  = help: did you mean `expect`?

                error: unknown keyword `evnt`
                 --> a.stream:8:16
                  |
                8 |   expect sse { evnt: "tick" }
                  |                ^^^^
                  |
                  = help: did you mean `event`?

                error: variable `nowhere` is not defined
                 --> b.stream:3:7
                  |
                3 |   GET {{nowhere}}/x   # where?
                  |       ^^^^^^^^^^^ undefined variable
                  |
                  = help: set it with `let nowhere = …`, `--var nowhere=…`, the environment variable `STREAMSPEC_VAR_nowhere`, or `[vars]` in streamspec.toml

                3 errors
                "#,
            )
            .status(2)
            .run();
    }
}

const BEFORE: &str = r#"
    # the events
    test "events" {
      GET {{base}}/ndjson/events?interval=0ms
      expect status 201   # a wrong status
      expect ndjson {
        { "event": "start" }   # matched: stays
        # a comment line stays
        { "event": "nope" }
        end
      }
    }
    "#;

const AFTER: &str = r#"
    # the events
    test "events" {
      GET {{base}}/ndjson/events?interval=0ms
      expect status 200   # a wrong status
      expect ndjson {
        { "event": "start" }   # matched: stays
        # a comment line stays
        { "event": "data" }
        { "event": "data" }
        { "event": "end" }
        end
      }
    }
    "#;

/// `--update` on a spec with CR or CRLF line endings rewrites it as it would the LF spec, and
/// every line it writes ends as the file's lines do; the result passes, and is formatted.
#[test]
fn update_rewrites_a_cr_or_crlf_spec_and_keeps_its_line_endings() {
    for ending in ["\r", "\r\n"] {
        let output = Test::new()
            .file("a.stream", with_endings(BEFORE, ending))
            .args(["run", "--update=in-place", "a.stream"])
            .var("base", servers::demo())
            .run_unchecked();
        let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("spec");
        assert_eq!(
            written,
            with_endings(AFTER, ending),
            "{ending:?}; stdout:\n{}",
            output.stdout
        );
        assert_eq!(output.status, Some(0), "{}", output.stdout);
        Test::new()
            .file("a.stream", &written)
            .args(["run", "a.stream"])
            .var("base", servers::demo())
            .stdout(
                "
                Running 1 test from 1 file
                  PASS [TIME] a.stream: events
                Summary 1 test: 1 passed, 0 failed [TIME]
                ",
            )
            .run();
        Test::new()
            .file("a.stream", &written)
            .args(["fmt", "--check", "a.stream"])
            .run();
    }
}

/// A pending update is written in its spec's line endings, and `accept` keeps them.
#[test]
fn a_pending_update_keeps_the_specs_line_endings() {
    let output = Test::new()
        .file("a.stream", with_endings(BEFORE, "\r\n"))
        .args(["run", "--update=pending", "a.stream"])
        .var("base", servers::demo())
        .run_unchecked();
    let dir = output.dir.path();
    let pending = std::fs::read_to_string(dir.join("a.stream.new")).expect("the pending file");
    assert_eq!(pending, with_endings(AFTER, "\r\n"), "{}", output.stdout);
    let accept = std::process::Command::new(crate::support::BIN)
        .args(["accept", "a.stream"])
        .current_dir(dir)
        .output()
        .expect("run accept");
    assert!(accept.status.success(), "{accept:?}");
    let accepted = std::fs::read_to_string(dir.join("a.stream")).expect("the spec");
    assert_eq!(accepted, with_endings(AFTER, "\r\n"));
}

const UNFORMATTED: &str = r#"
    test "t"   @x {
        GET http://x/   # the request
        expect   sse {
            data: _


            end
        }
    }
    "#;

const FORMATTED: &str = r#"
    test "t" @x {
      GET http://x/     # the request
      expect sse {
        data: _

        end
      }
    }
    "#;

/// `fmt` formats a CR or CRLF spec as it would the LF one, in the file's line endings.
#[test]
fn fmt_formats_a_cr_or_crlf_spec_in_its_line_endings() {
    for ending in ["\r", "\r\n"] {
        let output = Test::new()
            .file("a.stream", with_endings(UNFORMATTED, ending))
            .args(["fmt", "a.stream"])
            .stdout("formatted a.stream")
            .run();
        let written = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("spec");
        assert_eq!(written, with_endings(FORMATTED, ending), "{ending:?}");
    }
}

/// The diff `fmt --check` and `review` print of [`UNFORMATTED`] to [`FORMATTED`], between the
/// names of `old` and `new`: each line ends with LF only (a context line that is blank is a
/// single space).
fn diff_of_formatting(old: &str, new: &str) -> String {
    let lines = [
        &format!("--- {old}"),
        &format!("+++ {new}"),
        "@@ -1,9 +1,8 @@",
        r#"-test "t"   @x {"#,
        "-    GET http://x/   # the request",
        "-    expect   sse {",
        "-        data: _",
        "-",
        r#"+test "t" @x {"#,
        "+  GET http://x/     # the request",
        "+  expect sse {",
        "+    data: _",
        " ",
        "-        end",
        "-    }",
        "+    end",
        "+  }",
        " }",
    ];
    lines.map(|line| format!("{line}\n")).concat()
}

/// Runs streamspec in `dir` and returns what it printed on standard output, byte for byte (the
/// support module trims line ends, which would hide a CR).
fn raw_stdout(dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(crate::support::BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run streamspec");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `fmt --check` and `review` show each line of a CR or CRLF spec on a line of its own, as
/// they show an LF spec's: their diffs end every line with LF alone, whatever the file's endings.
#[test]
fn diffs_of_a_cr_or_crlf_spec_show_each_line_on_its_own() {
    for ending in ["\r", "\r\n"] {
        let test = Test::new()
            .file("a.stream", with_endings(UNFORMATTED, ending))
            .file("b.stream", with_endings(UNFORMATTED, ending))
            .file("b.stream.new", with_endings(FORMATTED, ending));
        let dir = test.path().to_path_buf();
        assert_eq!(
            raw_stdout(&dir, &["fmt", "--check", "a.stream"]),
            diff_of_formatting("a.stream", "a.stream (formatted)"),
            "{ending:?}"
        );
        assert_eq!(
            raw_stdout(&dir, &["review", "b.stream"]),
            diff_of_formatting("b.stream", "b.stream.new")
                + "1 update pending: accept with `streamspec accept`, reject with `streamspec reject`\n",
            "{ending:?}"
        );
    }
}
