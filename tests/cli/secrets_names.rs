//! A secret in a spec file's path or in a test's name is masked wherever a run shows them: the
//! progress line on a terminal, the human report (`-v`), TAP, JSON Lines, JUnit, the GitHub
//! annotations, the report files, the warnings before the run and the `--update` lines.

use crate::secrets::everything_shown;
use crate::servers;
use crate::support::Test;

const SECRET: &str = "Zq9XkR2vLm8TtYw4PbN7";

const SPEC_PATH: &str = "keys/Zq9XkR2vLm8TtYw4PbN7.stream";

/// Tests named after the secret, in a file named after it: one fails, one passes, one draws a
/// warning before the run (a block that expects nothing).
const SPEC: &str = r#"
    test "named after Zq9XkR2vLm8TtYw4PbN7, failing" {
      GET {{base}}/sse/empty
      expect sse { data: "nope" }
    }

    test "named after Zq9XkR2vLm8TtYw4PbN7, passing" {
      GET {{base}}/sse/empty
      expect sse { end }
    }

    test "named after Zq9XkR2vLm8TtYw4PbN7, expecting nothing" {
      GET {{base}}/sse/empty
      expect sse { }
    }
"#;

/// The first and last 6 characters of the secret are nowhere; masks are.
fn assert_no_part_of_the_secret(shown: &[(String, String)]) {
    for (name, text) in shown {
        for part in [&SECRET[..6], &SECRET[SECRET.len() - 6..]] {
            assert!(!text.contains(part), "`{part}` shows in {name}:\n{text}");
        }
    }
}

#[test]
fn a_secret_in_a_file_name_or_a_test_name_is_masked_in_every_report_and_the_progress_line() {
    let secret = format!("key={SECRET}");
    let output = Test::new()
        .spec(SPEC_PATH, SPEC)
        .args(["run", "keys", "--secret", &secret, "--verbose"])
        .args(["--report-junit", "junit.xml", "--report-tap", "report.tap"])
        .args(["--report-json", "report.jsonl"])
        .var("base", servers::demo())
        .env("GITHUB_ACTIONS", "true")
        .stderr_on_a_terminal()
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    assert!(
        output.stderr.contains("1 running") && output.stderr.contains("keys/***.stream: "),
        "no progress line:\n{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("warning: this block expects nothing"),
        "no warning:\n{}",
        output.stderr
    );
    assert!(
        output
            .stdout
            .contains("FAIL [TIME] keys/***.stream: named after ***, failing"),
        "{}",
        output.stdout
    );
    assert_no_part_of_the_secret(&everything_shown(&output, &[SPEC_PATH]));
}

#[test]
fn a_secret_in_a_file_name_or_a_test_name_is_masked_in_the_update_lines() {
    let secret = format!("key={SECRET}");
    let output = Test::new()
        .spec(SPEC_PATH, SPEC)
        .args(["run", "keys", "--secret", &secret, "--update=pending"])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    assert!(
        output.stdout.contains("keys/***.stream.new"),
        "{}",
        output.stdout
    );
    let pending = format!("{SPEC_PATH}.new");
    assert_no_part_of_the_secret(&everything_shown(&output, &[SPEC_PATH, &pending]));
}
