//! Secrets in reports: a secret given on the command line or named in the config never shows in
//! any report (human, JUnit, TAP, JSON Lines, GitHub annotations), in any encoding; a secret that
//! names no variable is a warning.

use crate::servers;
use crate::support::Test;

// ─── secrets ────────────────────────────────────────────────────────────────────────────────────

/// A secret with characters that XML, JSON and URLs all escape. Its first part never appears
/// anywhere else, so a search for it finds any form the secret could take.
const SECRET: &str = r#"Sup3r"<&>Secret"#;
const SECRET_MARK: &str = "Sup3r";

/// The server echoes the token (from a header and in the query) in an event, the test fails on
/// it, and a verbose run lists it among the items before an `abort`; a refused request shows it
/// in its URL.
const ECHOES_THE_TOKEN: &str = r#"
    test "the token comes back" {
      GET {{echo}}/echo/sse?events=2&key={{token}}
      header x-token: {{token}}
      expect sse {
        data: json { "n": 1 }
        data: json { "n": 7 }
      }
    }

    test "the token before an abort" {
      GET {{echo}}/echo/sse?events=2&key={{token}}
      header x-token: {{token}}
      expect sse {
        data: json { "n": 1 }
        abort
      }
    }

    test "the token in a refused URL" {
      GET {{nowhere}}/sse/empty?key={{token}}
      expect sse { end }
    }
"#;

/// Every report of a run that knows the secret: stdout (human, verbose, with annotations),
/// and the three report files.
fn reports_with_a_secret(test: Test, args: &[&str]) -> Vec<(String, String)> {
    let output = test
        .spec("a.stream", ECHOES_THE_TOKEN)
        .args([
            "run",
            "a.stream",
            "--verbose",
            "--report-junit",
            "junit.xml",
            "--report-tap",
            "report.tap",
            "--report-json",
            "report.jsonl",
        ])
        .args(args.iter().copied())
        .var("echo", servers::canned())
        .var("nowhere", servers::refused())
        .env("GITHUB_ACTIONS", "true")
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let mut reports = vec![("stdout".to_string(), output.stdout.clone())];
    for name in ["junit.xml", "report.tap", "report.jsonl"] {
        let path = output.dir.path().join(name);
        let text = std::fs::read_to_string(&path).expect("the report file");
        reports.push((name.to_string(), text));
    }
    reports
}

fn assert_no_secret(reports: &[(String, String)]) {
    for (name, text) in reports {
        assert!(
            !text.contains(SECRET_MARK),
            "the secret shows in {name}:\n{text}"
        );
        // Masked where it was: the echoed header, the query, the URL.
        assert!(text.contains("***"), "nothing masked in {name}:\n{text}");
    }
    // The items received before the `abort`, among the figures of JUnit and TAP.
    for (report, masked) in [
        (
            "junit.xml",
            "&quot;token&quot;: &quot;***&quot;, &quot;query&quot;: &quot;events=2&amp;key=***&quot;",
        ),
        (
            "report.tap",
            r#"\"token\": \"***\", \"query\": \"events=2&key=***\""#,
        ),
    ] {
        let (_, text) = reports
            .iter()
            .find(|(name, _)| name == report)
            .expect("the report");
        assert!(text.contains(masked), "no `{masked}` in {report}:\n{text}");
    }
    let stdout = &reports[0].1;
    for masked in [
        // In the items before the `abort` (the diff shows only the `n` of a long item).
        r#"data: json { "n": 1, "last_event_id": null, "token": "***", "query": "events=2&key=***" }"#,
        "sending this request to http://127.0.0.1:PORT/sse/empty?key=***",
        "::error file=a.stream",
    ] {
        assert!(stdout.contains(masked), "no `{masked}` in:\n{stdout}");
    }
}

#[test]
fn a_secret_from_the_command_line_never_shows_in_any_report() {
    let secret = format!("token={SECRET}");
    let reports = reports_with_a_secret(Test::new(), &["--secret", &secret]);
    assert_no_secret(&reports);
}

#[test]
fn a_secret_named_in_the_config_never_shows_in_any_report() {
    let reports = reports_with_a_secret(
        Test::new()
            .config(
                r#"
                secrets = ["token"]
                "#,
            )
            .env("STREAMSPEC_VAR_token", SECRET),
        &[],
    );
    assert_no_secret(&reports);
}

#[test]
fn a_secret_that_names_no_variable_is_a_warning() {
    Test::new()
        .config(
            r#"
            secrets = ["tokn"]

            [vars]
            token = "abc"
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
        .stdout(&crate::support::all_passed(1, &[("a.stream", "t")]))
        .stderr(
            r#"
            warning: secret `tokn` is not set: no variable has that name
             --> ./streamspec.toml:1:12
              |
            1 | secrets = ["tokn"]
              |            ^^^^^^ not a variable
              |
              = help: set it with `--var`, `--secret`, STREAMSPEC_VAR_* or [vars], or fix the name

            "#,
        )
        .run();
}
