//! `streamspec decode`: a captured SSE or NDJSON stream read from standard input or a file,
//! byte by byte, and printed as the items it holds.

use crate::support::Test;

/// A captured SSE stream with every rule the decoder follows: a comment, CRLF and LF, an event
/// type, two data lines, an `id` that persists and one reset by a bare `id`, `retry`, and an
/// event cut short at the end of the input.
const SSE_CAPTURE: &str = ": comment\r\nid: 1\r\nevent: tick\r\ndata: a\r\ndata: b\r\n\r\n\
                           data: {\"x\":1}\n\nretry: 5\nid\ndata: c\n\ndata: cut short";

const SSE_DECODED: &str = r#"
    {"event":"tick","data":"a\nb","id":"1"}
    {"event":"message","data":"{\"x\":1}","id":"1"}
    {"event":"message","data":"c","id":""}
"#;

const SSE_NOTE: &str = "note: the input ended in the middle of an item; 15 bytes were discarded";

/// NDJSON with a blank line, CRLF, scalars, and a last line without its line ending.
const NDJSON_CAPTURE: &str = "{\"a\":1}\n\n[1,2]\r\n\"x\"\n{\"b\":{\"c\":null}}";

const NDJSON_DECODED: &str = r#"
    {"a":1}
    [1,2]
    "x"
    {"b":{"c":null}}
"#;

#[test]
fn decode_sse_from_stdin_byte_by_byte() {
    Test::new()
        .args(["decode", "sse", "--chunk-size", "1"])
        .stdin(SSE_CAPTURE)
        .stdout(SSE_DECODED)
        .stderr(SSE_NOTE)
        .run();
}

#[test]
fn decode_sse_from_a_file() {
    Test::new()
        .file("capture.sse", SSE_CAPTURE)
        .args(["decode", "sse", "capture.sse"])
        .stdout(SSE_DECODED)
        .stderr(SSE_NOTE)
        .run();
}

#[test]
fn decode_ndjson_from_stdin_byte_by_byte() {
    Test::new()
        .args(["decode", "ndjson", "--chunk-size", "1"])
        .stdin(NDJSON_CAPTURE)
        .stdout(NDJSON_DECODED)
        .run();
}

#[test]
fn decode_ndjson_from_a_file() {
    Test::new()
        .file("capture.ndjson", NDJSON_CAPTURE)
        .args(["decode", "ndjson", "capture.ndjson", "--chunk-size", "3"])
        .stdout(NDJSON_DECODED)
        .run();
}

#[test]
fn decode_stops_at_a_line_that_is_not_json() {
    Test::new()
        .args(["decode", "ndjson"])
        .stdin("{\"a\":1}\nnot json\n{\"a\":3}\n")
        .stdout(r#"{"a":1}"#)
        .stderr(
            "error: the input is not a valid stream: line 2 is not valid JSON (expected ident at line 1 column 2): not json",
        )
        .status(1)
        .run();
}

/// The line is quoted cut to 200 characters, as in a run's report.
#[test]
fn decode_cuts_a_long_line_that_is_not_json() {
    let line = format!("not json {}", "x".repeat(300));
    Test::new()
        .args(["decode", "ndjson"])
        .stdin(format!("{line}\n"))
        .stderr(&format!(
            "error: the input is not a valid stream: line 1 is not valid JSON (expected ident at line 1 column 2): {}…",
            &line[..200]
        ))
        .status(1)
        .run();
}

#[test]
fn decode_a_missing_file() {
    Test::new()
        .args(["decode", "sse", "missing.sse"])
        .stderr("error: cannot read `missing.sse`: No such file or directory (os error 2)")
        .status(2)
        .run();
}

#[test]
fn decode_an_unknown_format() {
    Test::new()
        .args(["decode", "xml"])
        .stderr(
            "
            error: invalid value 'xml' for '<FORMAT>'
              [possible values: sse, ndjson]

            For more information, try '--help'.
            ",
        )
        .status(2)
        .run();
}
