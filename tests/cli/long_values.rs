//! Failures on long values: a message shows where an expected and a found text first differ,
//! with the lengths of both and the same window of each around that place, never the whole of
//! either; so does the diff, for an expected line and the item that stands against it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::servers;
use crate::support::Test;

/// A base64 payload of 314,920 bytes (419,896 characters), and the same payload with one byte
/// changed three quarters of the way in: what a server sends for a large `bytes` field.
fn payloads() -> (String, String) {
    let bytes: Vec<u8> = (0..314_920u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut changed = bytes.clone();
    changed[236_190] ^= 0xff;
    (STANDARD.encode(&bytes), STANDARD.encode(&changed))
}

fn fails_with(spec: String, stdout: &str) {
    Test::new()
        .spec("a.stream", &spec)
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .stdout(stdout)
        .status(1)
        .run();
}

#[test]
fn a_long_json_string_shows_where_it_differs() {
    let (expected, found) = payloads();
    fails_with(
        format!(
            r#"
            let expected = "{expected}"

            test "a large bytes field" {{
              POST {{{{base}}}}/echo
              header content-type: application/json
              body text "{{\"data\": \"{found}\"}}"
              expect json {{ "data": "{{{{expected}}}}" }}
            }}
            "#
        ),
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a large bytes field

        error: the body does not match
         --> a.stream:7:15
          |
        7 |   expect json { "data": "{{expected}}" }
          |               ^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.data`: the strings differ at character 314,921 (expected 419,896 characters, found 419,896): expected "…i5KZoKeutbzDytHY3+bt9AAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3E…", found "…i5KZoKeutbzDytHY3+btCwAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3E…"
          |
          = diff of expected (-) and observed (+) items:
            - { "data": "…IikwNz5FTFNaYWhvdn2Ei5KZoKeutbzDytHY3+bt9AAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ4Ofu9QEIDxYdJCsyOUBHTlVcY2pxeH+GjZSb…" }
            + { "data": "…IikwNz5FTFNaYWhvdn2Ei5KZoKeutbzDytHY3+btCwAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ4Ofu9QEIDxYdJCsyOUBHTlVcY2pxeH+GjZSb…" }  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:3: a large bytes field
        "#,
    );
}

#[test]
fn a_long_text_shows_where_it_differs() {
    let (expected, found) = payloads();
    fails_with(
        format!(
            r#"
            let expected = "{expected}"

            test "a large body" {{
              POST {{{{base}}}}/echo
              body text "{found}"
              expect text "{{{{expected}}}}"
            }}
            "#
        ),
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a large body

        error: the body does not match
         --> a.stream:6:15
          |
        6 |   expect text "{{expected}}"
          |               ^^^^^^^^^^^^^^ the texts differ at character 314,921 (expected 419,896 characters, found 419,896): expected "…i5KZoKeutbzDytHY3+bt9AAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3E…", found "…i5KZoKeutbzDytHY3+btCwAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3E…"
          |
          = diff of expected (-) and observed (+) items:
            - "…IikwNz5FTFNaYWhvdn2Ei5KZoKeutbzDytHY3+bt9AAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ4Ofu9QEIDxYdJCsyOUBHTlVcY2pxeH+GjZSb…"
            + "…IikwNz5FTFNaYWhvdn2Ei5KZoKeutbzDytHY3+btCwAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ4Ofu9QEIDxYdJCsyOUBHTlVcY2pxeH+GjZSb…"  # [TIME]

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:3: a large body
        "#,
    );
}

#[test]
fn a_long_line_shows_where_it_differs() {
    let (expected, found) = payloads();
    fails_with(
        format!(
            r#"
            let expected = "{expected}"

            test "a large line" {{
              POST {{{{base}}}}/echo
              body text "first\n{found}\nlast\n"
              expect lines {{
                "first"
                "{{{{expected}}}}"
                "last"
                end
              }}
            }}
            "#
        ),
        r#"
        Running 1 test from 1 file
          FAIL [TIME] a.stream: a large line

        error: item 2 does not match
         --> a.stream:8:5
          |
        8 |     "{{expected}}"
          |     ^^^^^^^^^^^^^^ the texts differ at character 314,921 (expected 419,896 characters, found 419,896): expected "…i5KZoKeutbzDytHY3+bt9AAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3E…", found "…i5KZoKeutbzDytHY3+btCwAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3E…"
          |
          = diff of expected (-) and observed (+) items:
              "first"  # [TIME]
            - "…IikwNz5FTFNaYWhvdn2Ei5KZoKeutbzDytHY3+bt9AAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ4Ofu9QEIDxYdJCsyOUBHTlVcY2pxeH+GjZSb…"
            + "…IikwNz5FTFNaYWhvdn2Ei5KZoKeutbzDytHY3+btCwAHDhUcIyoxOD9GTVRbYmlwd36FjJOaoaivtr3Ey9LZ4Ofu9QEIDxYdJCsyOUBHTlVcY2pxeH+GjZSb…"  # [TIME]
              "last"  # [TIME]
              end

        Summary 1 test: 0 passed, 1 failed [TIME]
          FAIL a.stream:3: a large line
        "#,
    );
}
