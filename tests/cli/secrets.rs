//! Secrets in long values: a server echoes a secret inside texts longer than any report shows
//! whole (an event, a JSON value, a header, a body, an error status's body, a URL), and no part
//! of it may reach any output — stdout in every format, standard error, every report file, the
//! GitHub annotations, the `--update` lines and the pending files it writes. Masking comes first,
//! cutting for display after, so a cut can never leave the start of a secret behind.

use std::collections::HashMap;

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use std::sync::OnceLock;

use crate::servers;
use crate::support::{Output, Test};

/// 46 characters, like an API key; no part of it is in any spec or message.
const SECRET: &str = "sk-live-Q7fR2xW9mK4tZ8pL1vB6nJ3hD5cY0gAeUoTiSs";

/// The server of this file, started once.
fn echo() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| servers::serve(Router::new().route("/{kind}", get(echoed).post(echoed))))
}

/// `/{kind}?pad=N&status=S`: `N` letters, then the token (the `x-token` request header, else the
/// `key` query parameter, else the request body), then more letters,
/// as an SSE event (`sse`), an NDJSON line `{"text": …}` (`ndjson`) or a plain body (`text`);
/// the same text in the `x-echo` response header. `&split=B` sends only the first `B` bytes of
/// the body and then holds the connection open.
async fn echoed(
    axum::extract::Path(kind): axum::extract::Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    request_body: String,
) -> Response {
    let pad: usize = query.get("pad").and_then(|p| p.parse().ok()).unwrap_or(0);
    let token = headers
        .get("x-token")
        .and_then(|v| v.to_str().ok())
        .or(query.get("key").map(String::as_str))
        .unwrap_or(&request_body);
    let text = format!("{}{token}{}", "a".repeat(pad), "z".repeat(200));
    let status = query
        .get("status")
        .and_then(|s| s.parse().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let (content_type, body) = match kind.as_str() {
        "sse" => ("text/event-stream", format!("data: {text}\n\n")),
        "ndjson" => (
            "application/x-ndjson",
            format!("{}\n", serde_json::json!({ "text": text })),
        ),
        _ => ("text/plain", text.clone()),
    };
    let body = match query.get("split").and_then(|b| b.parse::<usize>().ok()) {
        Some(split) => {
            let first = Bytes::from(body.into_bytes()).slice(..split);
            Body::from_stream(
                stream::once(async move { Ok::<_, Infallible>(first) }).chain(stream::pending()),
            )
        }
        None => Body::from(body),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.insert("x-echo", value);
    }
    response
}

/// Each test fails on a long text with the secret across the place where messages cut it (80
/// characters for a value, 200 and 300 for a body's excerpt, 200 for a body that is not JSON, the
/// window around where two long texts differ).
const ECHOES_THE_SECRET: &str = r#"
    test "a long event" {
      GET {{echo}}/sse?pad=50
      header x-token: {{token}}
      expect sse { data: "nope" }
    }

    test "a long event from the query" {
      GET {{echo}}/sse?pad=50&key={{token}}
      expect sse { data: "nope" }
    }

    test "a long event from the request body" {
      POST {{echo}}/sse?pad=50
      body text "{{token}}"
      expect sse { data: "nope" }
    }

    test "a long JSON value" {
      GET {{echo}}/ndjson?pad=60
      header x-token: {{token}}
      expect ndjson { { "text": "nope" } }
    }

    test "a long JSONPath value" {
      GET {{echo}}/ndjson?pad=60
      header x-token: {{token}}
      expect ndjson { $.text == "nope" }
    }

    test "a long header" {
      GET {{echo}}/sse?pad=50
      header x-token: {{token}}
      expect header x-echo == nope
      expect header x-echo ~ /^nope/
    }

    test "a long body" {
      GET {{echo}}/text?pad=270
      header x-token: {{token}}
      expect text "nope"
    }

    test "a long body after an error status" {
      GET {{echo}}/text?pad=270&status=500
      header x-token: {{token}}
      expect status 200
    }

    test "an error body read up to the middle of the secret" {
      GET {{echo}}/text?pad=290&status=500&split=310
      header x-token: {{token}}
      expect status 200
    }

    test "a long body that is not JSON" {
      GET {{echo}}/text?pad=190
      header x-token: {{token}}
      expect json { "a": 1 }
    }

    test "a long error body where a stream was expected" {
      GET {{echo}}/sse?pad=260&status=503
      header x-token: {{token}}
      expect sse { end }
    }

    test "a long label" {
      GET {{echo}}/sse?pad=50
      header x-token: {{token}}
      expect sse { data: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa{{token}}" }
    }

    test "a long value that differs right after the secret" {
      GET {{echo}}/sse?pad=50
      header x-token: {{token}}
      expect sse { data: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa{{token}}zzzY" }
    }

    test "a long URL" {
      GET {{nowhere}}/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?key={{token}}
      expect sse { end }
    }
"#;

/// Everything a run printed and wrote: stdout, stderr, and every file in its directory but
/// the spec.
fn everything_a_run_shows(test: Test, args: &[&str]) -> Vec<(String, String)> {
    let output = test
        .spec("a.stream", ECHOES_THE_SECRET)
        .args(["run", "a.stream"])
        .args(args.iter().copied())
        .var("echo", echo())
        .var("nowhere", servers::refused())
        .env("GITHUB_ACTIONS", "true")
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    everything_shown(&output, &["a.stream"])
}

/// What a run printed and wrote: stdout, stderr, then every file in its directory at any depth
/// (report files, pending updates) but the `specs` the test wrote, named by their paths there.
pub fn everything_shown(output: &Output, specs: &[&str]) -> Vec<(String, String)> {
    let mut shown = vec![
        ("stdout".to_string(), output.stdout.clone()),
        ("stderr".to_string(), output.stderr.clone()),
    ];
    let top = output.dir.path();
    let mut dirs = vec![top.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a directory of the run") {
            let path = entry.expect("a directory entry").path();
            let name = path
                .strip_prefix(top)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                dirs.push(path);
            } else if path.is_file() && !specs.contains(&name.as_str()) {
                let text = std::fs::read_to_string(&path).expect("a written file");
                shown.push((name, text));
            }
        }
    }
    shown
}

/// The first and last 6 characters of the secret are nowhere; the masks are where it was.
fn assert_no_part_of_the_secret(shown: &[(String, String)]) {
    let first = &SECRET[..6];
    let last = &SECRET[SECRET.len() - 6..];
    for (name, text) in shown {
        for part in [first, last] {
            assert!(
                !text.contains(part),
                "`{part}` of the secret shows in {name}:\n{text}"
            );
        }
        assert!(
            !text.contains(|c| ('\u{FDD0}'..='\u{FDEF}').contains(&c)),
            "an excerpt was left uncut in {name}:\n{text}"
        );
    }
    let stdout = &shown[0].1;
    assert!(
        stdout.matches("***").count() >= 12,
        "fewer masks than failures:\n{stdout}"
    );
}

/// Human output with `-v`, GitHub annotations, and the JUnit, TAP and JSON report files.
const EVERY_REPORT: &[&str] = &[
    "--verbose",
    "--report-junit",
    "junit.xml",
    "--report-tap",
    "report.tap",
    "--report-json",
    "report.jsonl",
];

#[test]
fn no_part_of_a_secret_in_a_long_value_reaches_any_report() {
    let secret = format!("token={SECRET}");
    let mut args = vec!["--secret", &secret];
    args.extend(EVERY_REPORT);
    assert_no_part_of_the_secret(&everything_a_run_shows(Test::new(), &args));
}

#[test]
fn no_part_of_a_secret_from_the_config_in_a_long_value_reaches_any_report() {
    let test = Test::new()
        .config(
            r#"
            secrets = ["token"]
            "#,
        )
        .env("STREAMSPEC_VAR_token", SECRET);
    assert_no_part_of_the_secret(&everything_a_run_shows(test, EVERY_REPORT));
}

/// A variable sent in a credential header (`x-token` here; `authorization`, `cookie`,
/// `x-api-key`… too) is a secret though given with a plain `--var`.
#[test]
fn a_variable_sent_as_a_credential_is_masked_as_a_secret() {
    let var = format!("token={SECRET}");
    let mut args = vec!["--var", &var];
    args.extend(EVERY_REPORT);
    assert_no_part_of_the_secret(&everything_a_run_shows(Test::new(), &args));
}

#[test]
fn no_part_of_a_secret_in_a_long_value_reaches_a_machine_format_on_stdout() {
    let secret = format!("token={SECRET}");
    for format in ["json", "tap", "junit"] {
        let shown = everything_a_run_shows(Test::new(), &["--secret", &secret, "--format", format]);
        let first = &SECRET[..6];
        let last = &SECRET[SECRET.len() - 6..];
        for (name, text) in &shown {
            for part in [first, last] {
                assert!(
                    !text.contains(part),
                    "`{part}` of the secret shows in {name} (--format {format}):\n{text}"
                );
            }
        }
    }
}

#[test]
fn no_part_of_a_secret_in_a_long_value_reaches_the_update_or_its_files() {
    let secret = format!("token={SECRET}");
    let shown = everything_a_run_shows(
        Test::new(),
        &["--secret", &secret, "--update=pending", "--verbose"],
    );
    assert_no_part_of_the_secret(&shown);
}

/// A service that prints the secret and exits: its output, shown with the error, is masked.
#[test]
fn a_secret_a_failing_service_printed_is_masked_in_its_error() {
    let output = Test::new()
        .config(
            r#"
            secrets = ["token"]

            [[services]]
            name = "api"
            command = ["sh", "-c", "echo the token is $STREAMSPEC_VAR_token; exit 1"]
            ready = { tcp = "127.0.0.1:1" }
            "#,
        )
        .spec(
            "a.stream",
            r#"
            test "t" {
              GET {{base}}/sse/empty
              expect sse { end }
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("base", servers::demo())
        .env("STREAMSPEC_VAR_token", SECRET)
        .run_unchecked();
    assert_eq!(output.status, Some(3), "{output:?}");
    assert!(
        output.stderr.contains("the token is ***"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains(&SECRET[..6]), "{}", output.stderr);
}

/// A body read in part, up to the middle of a character of two bytes in the secret: the half
/// character is dropped, not shown as `�`, so the start of the secret before it is recognised
/// and masked.
#[test]
fn a_secret_cut_in_the_middle_of_a_character_is_masked() {
    const SECRET_E: &str = "Qx7fR2Lm9k9VbN3éWp8TzAHc4Jd6Rs5Gy2Kf8Vn1Zt4Bw7";
    let cut = 290 + SECRET_E.find('é').unwrap_or_default() + 1;
    let secret = format!("token={SECRET_E}");
    let output = Test::new()
        .spec(
            "a.stream",
            &format!(
                r#"
                test "an error body read up to the middle of a character of the secret" {{
                  POST {{{{echo}}}}/text?pad=290&status=500&split={cut}
                  body text "{{{{token}}}}"
                  expect status 200
                }}
                "#
            ),
        )
        .args(["run", "a.stream", "--secret", &secret, "--verbose"])
        .args([
            "--report-json",
            "report.jsonl",
            "--report-tap",
            "report.tap",
        ])
        .var("echo", echo())
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let shown = everything_shown(&output, &["a.stream"]);
    for (name, text) in &shown {
        for part in [&SECRET_E[..6], "Qx7fR2Lm9k9VbN3"] {
            assert!(!text.contains(part), "`{part}` shows in {name}:\n{text}");
        }
        assert!(
            !text.contains('\u{FFFD}'),
            "a half character in {name}:\n{text}"
        );
    }
    assert!(
        shown[0].1.contains("aaaa***…"),
        "the secret's start is not masked:\n{}",
        shown[0].1
    );
}

/// A token written in the spec (`let`) and sent as a credential is masked too; a header whose
/// name only contains such a word (`x-monkey`) is no credential, and what it sends is shown.
#[test]
fn a_let_sent_as_a_credential_is_masked_and_a_name_that_only_contains_key_is_not_one() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            let t = "LetDefinedToken77"

            test "a token from a let" {
              GET {{base}}/sse/ticker?count=1&interval=10ms&id_prefix={{t}}
              header x-api-key: {{t}}
              expect sse { id: "nope" }
            }

            test "not a credential" {
              GET {{base}}/sse/ticker?count=1&interval=10ms&id_prefix={{m}}
              header x-monkey: {{m}}
              expect sse { id: "nope" }
            }
            "#,
        )
        .var("base", servers::demo())
        .var("m", "banana-split")
        .args(["run", "a.stream"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    assert!(!output.stdout.contains("LetDefined"), "{}", output.stdout);
    assert!(
        output.stdout.contains("found \"***1\""),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("found \"banana-split1\""),
        "{}",
        output.stdout
    );
}
