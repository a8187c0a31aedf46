//! The nesting limit: a spec at the limit is checked, formatted and run like any other (in a
//! debug build, on the main thread and on the runtime's worker threads), while one beyond it is a
//! spec error at the bracket that crosses the limit, never a crash.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};

use crate::servers::serve;
use crate::support::Test;

/// The documented nesting limit: `{ }` and `[ ]` open at once, the test's own braces included.
const MAX_NESTING: usize = 64;

/// `open` `depth` times, one per line, then `inner`, then `close` as many times.
fn nest(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let mut text = String::new();
    for _ in 0..depth {
        text.push_str(open);
        text.push('\n');
    }
    text.push_str(inner);
    for _ in 0..depth {
        text.push_str(close);
    }
    text
}

/// JSON objects `{"a": … 1 …}` nested `depth` deep, on one line: what a server sends.
fn deep_object(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// JSON arrays `[[…[1]…]]` nested `depth` deep, on one line.
fn deep_array(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// A server answering `GET /` with these NDJSON lines and `POST /echo` with the request body
/// as one NDJSON line.
fn ndjson_server(lines: &[String]) -> String {
    const NDJSON: [(axum::http::HeaderName, &str); 1] = [(CONTENT_TYPE, "application/x-ndjson")];
    let body = lines
        .iter()
        .map(|line| format!("{line}\n"))
        .collect::<String>();
    serve(
        Router::new()
            .route("/", get(move || async move { (NDJSON, body) }))
            .route(
                "/echo",
                post(|body: String| async move { (NDJSON, format!("{body}\n")) }),
            ),
    )
}

/// A test of one `expect ndjson` block holding `entries` (levels 1 and 2 are the test's and the
/// block's braces).
fn ndjson_test(entries: &str) -> String {
    format!("test \"deep\" {{\n  GET {{{{base}}}}/\n  expect ndjson {{\n{entries}\n  }}\n}}\n")
}

/// The error for a spec whose level 65 opens on `line`, `source`, at `column`.
fn too_deep(line: usize, column: usize, source: &str) -> String {
    let gutter = " ".repeat(line.to_string().len());
    let indent = " ".repeat(column - 1);
    format!(
        "error: nested too deeply: at most {MAX_NESTING} levels of `{{ }}` and `[ ]` may be open at once\n\
         {gutter}--> a.stream:{line}:{column}\n\
         {gutter} |\n\
         {line} | {source}\n\
         {gutter} | {indent}^ level {}\n\n",
        MAX_NESTING + 1
    )
}

/// `check`, `fmt` and `run` all refuse `spec` with `stderr` (a nesting error), exit 2.
fn refused_by_every_command(spec: &str, stderr: &str) {
    Test::new()
        .file("a.stream", spec)
        .args(["check", "a.stream"])
        .stderr(stderr)
        .status(2)
        .run();
    Test::new()
        .file("a.stream", spec)
        .args(["fmt", "a.stream"])
        .stderr(stderr)
        .status(2)
        .run();
    Test::new()
        .file("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", "http://127.0.0.1:9")
        .stderr(&format!(
            "{stderr}no tests were run: fix the errors above first\n"
        ))
        .status(2)
        .run();
}

/// `check` passes `spec`, `fmt --check` finds it formatted or formats it, and `run` against
/// `base` passes it.
fn accepted_by_every_command(spec: &str, base: &str) {
    Test::new()
        .file("a.stream", spec)
        .args(["check", "a.stream"])
        .var("base", base)
        .stdout("checked 1 test in 1 file: no problems")
        .run();
    let formatted = Test::new()
        .file("a.stream", spec)
        .args(["fmt", "a.stream"])
        .run_unchecked();
    assert_eq!(
        formatted.status,
        Some(0),
        "fmt failed:\n{}",
        formatted.stderr
    );
    // The formatted spec means the same: it checks and runs too.
    let spec = std::fs::read_to_string(formatted.dir.path().join("a.stream")).expect("read back");
    Test::new()
        .file("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(
            "
            Running 1 test from 1 file
              PASS [TIME] a.stream: deep
            Summary 1 test: 1 passed, 0 failed [TIME]
            ",
        )
        .run();
}

#[test]
fn json_objects_nested_beyond_the_limit_are_a_spec_error_where_they_cross_it() {
    // Deep enough, this overflowed the stack (exit 134) or stopped the parser with "stack limit
    // reached" before there was a limit. The test's and the block's braces are levels 1 and 2,
    // so level 65 is the 63rd object, on line 3 + 63.
    let spec = ndjson_test(&nest(r#"{"a":"#, "1", "}", 1500));
    refused_by_every_command(&spec, &too_deep(66, 1, r#"{"a":"#));
}

#[test]
fn json_arrays_nested_beyond_the_limit_are_a_spec_error_where_they_cross_it() {
    let spec = ndjson_test(&nest("[", "1", "]", 2000));
    refused_by_every_command(&spec, &too_deep(66, 1, "["));
}

#[test]
fn repetitions_nested_beyond_the_limit_are_a_spec_error_where_they_cross_it() {
    let spec = ndjson_test(&nest("1 times {", "_", " }", 1100));
    refused_by_every_command(&spec, &too_deep(66, 9, "1 times {"));
}

#[test]
fn nesting_in_a_request_body_counts_from_the_test_braces() {
    let spec = format!(
        "test \"deep\" {{\n  POST {{{{base}}}}/echo\n  body json {}\n}}\n",
        nest(r#"{"a":"#, "1", "}", 5000)
    );
    refused_by_every_command(&spec, &too_deep(66, 1, r#"{"a":"#));
}

#[test]
fn json_objects_at_the_limit_check_format_and_run() {
    // Levels 3 to 64: 62 objects, matched against an item just as deep.
    let depth = MAX_NESTING - 2;
    let base = ndjson_server(&[deep_object(depth)]);
    let spec = ndjson_test(&format!("{}\nend", nest(r#"{"a":"#, "1", "}", depth)));
    accepted_by_every_command(&spec, &base);
}

#[test]
fn json_arrays_at_the_limit_check_format_and_run() {
    let depth = MAX_NESTING - 2;
    let base = ndjson_server(&[deep_array(depth)]);
    let spec = ndjson_test(&format!("{}\nend", nest("[", "1", "]", depth)));
    accepted_by_every_command(&spec, &base);
}

#[test]
fn repetitions_at_the_limit_check_format_and_run() {
    // 61 repetitions and the item's object inside the innermost one: levels 3 to 64.
    let base = ndjson_server(&[r#"{"n": 1}"#.to_string()]);
    let spec = ndjson_test(&format!(
        "{}\nend",
        nest("1 times {", r#"{ "n": 1 }"#, " }", MAX_NESTING - 3)
    ));
    accepted_by_every_command(&spec, &base);
}

#[test]
fn until_loops_at_the_limit_check_format_and_run() {
    // Each loop ends at its own `{"stop": true}`, the innermost first.
    let loops = MAX_NESTING - 3;
    let mut lines = vec![r#"{"n": 1}"#.to_string()];
    lines.extend(std::iter::repeat_n(r#"{"stop": true}"#.to_string(), loops));
    let base = ndjson_server(&lines);
    let spec = ndjson_test(&format!(
        "{}\nend",
        nest(r#"until { "stop": true } {"#, r#"{ "n": 1 }"#, " }", loops)
    ));
    accepted_by_every_command(&spec, &base);
}

#[test]
fn a_request_body_at_the_limit_checks_formats_and_runs() {
    // The body's 63 objects are levels 2 to 64; the server echoes it back as an item, which a
    // pattern of 62 objects (levels 3 to 64) matches, its innermost value being an object.
    let body = nest(r#"{"a":"#, "1", "}", MAX_NESTING - 1);
    let pattern = nest(r#"{"a":"#, "object", "}", MAX_NESTING - 2);
    let base = ndjson_server(&[]);
    let spec = format!(
        "test \"deep\" {{\n  POST {{{{base}}}}/echo\n  body json {body}\n  expect ndjson {{\n{pattern}\nend\n  }}\n}}\n"
    );
    accepted_by_every_command(&spec, &base);
}

#[test]
fn an_update_never_writes_a_spec_nested_beyond_the_limit() {
    // The server's item nests 70 deep: written into the block, it would open level 72.
    let base = ndjson_server(&[deep_object(70)]);
    let spec = ndjson_test(r#"{ "b": 1 }"#);
    let output = Test::new()
        .file("a.stream", &spec)
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", &base)
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    assert!(
        output.stdout.contains("  FAIL [TIME] a.stream: deep\n")
            && output.stdout.ends_with(
                "not updated: a.stream:4: the updated spec would not be valid: nested too deeply: \
                 at most 64 levels of `{ }` and `[ ]` may be open at once\n"
            ),
        "{}",
        output.stdout
    );
    let text = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(text, spec);
}

/// Of two tests of one file, the one whose fix would nest too deeply is not written and says
/// `FAIL`; the other's fix is written and says `UPDATE`.
#[test]
fn a_fix_nested_beyond_the_limit_keeps_no_other_test_from_being_updated() {
    let base = ndjson_server(&[deep_object(70)]);
    let shallow = "\ntest \"shallow\" {\n  POST {{base}}/echo\n  body json { \"a\": 1 }\n  \
                   expect ndjson {\n    { \"a\": 2 }\n  }\n}\n";
    let spec = ndjson_test(r#"{ "b": 1 }"#) + shallow;
    let output = Test::new()
        .file("a.stream", &spec)
        .args(["run", "--update=in-place", "-j", "1", "a.stream"])
        .var("base", &base)
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    assert!(
        output.stdout.contains("  FAIL [TIME] a.stream: deep\n")
            && output.stdout.contains("UPDATE [TIME] a.stream: shallow\n")
            && output.stdout.ends_with(
                "updated: a.stream (1 expectation)\n\
                 not updated: a.stream:4: the updated spec would not be valid: nested too deeply: \
                 at most 64 levels of `{ }` and `[ ]` may be open at once\n"
            ),
        "{}",
        output.stdout
    );
    let text = std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec");
    assert_eq!(text, spec.replace(r#"{ "a": 2 }"#, r#"{ "a": 1 }"#));
}

#[test]
fn a_failure_at_the_limit_is_reported_and_updated() {
    // The innermost value differs: the diff renders both sides 62 levels deep, and `--update`
    // rewrites the pattern from the item without going past the limit.
    let depth = MAX_NESTING - 2;
    let base = ndjson_server(&[deep_object(depth)]);
    let spec = ndjson_test(&format!("{}\nend", nest(r#"{"a":"#, "2", "}", depth)));
    let failed = Test::new()
        .file("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("base", &base)
        .run_unchecked();
    assert_eq!(failed.status, Some(1), "{failed:?}");
    assert!(
        failed.stdout.contains("error: item 1 does not match") && failed.stderr.is_empty(),
        "{failed:?}"
    );
    let updated = Test::new()
        .file("a.stream", &spec)
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", &base)
        .run_unchecked();
    assert!(
        updated
            .stdout
            .ends_with("updated: a.stream (1 expectation)\n")
            && updated.stderr.is_empty(),
        "{updated:?}"
    );
    let spec = std::fs::read_to_string(updated.dir.path().join("a.stream")).expect("read back");
    accepted_by_every_command(&spec, &base);
}

/// Brackets in URLs and header values are text, not nesting: a file of many tests that each
/// leave some open there is as flat as any other.
#[test]
fn brackets_left_open_in_urls_and_header_values_do_not_add_up_across_tests() {
    let spec = (0..MAX_NESTING + 1)
        .map(|n| {
            format!(
                "test \"t{n}\" {{\n  GET {{{{base}}}}/?filter[{{=a\n  header x-range: [{{\n  expect status 404\n}}\n\n"
            )
        })
        .collect::<String>();
    Test::new()
        .file("a.stream", spec.trim_end())
        .args(["check", "a.stream"])
        .var("base", "http://127.0.0.1:9")
        .stdout(&format!(
            "checked {} tests in 1 file: no problems",
            MAX_NESTING + 1
        ))
        .run();
}
