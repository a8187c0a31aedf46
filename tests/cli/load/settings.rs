//! Settings of a load that cannot work, refused before the load starts: a `--tokens` capture no
//! test makes, options that do not go together (on the command line, under `[load]`, or one of
//! each), and `[load]` values of the wrong type; and how command-line stages replace the
//! config's profile.

use super::COUNTS;
use crate::servers;
use crate::support::Test;

const CHAT: &str = r#"
test "chat" {
  POST {{base}}/v1/chat/completions
  body json { "model": "m", "stream": true, "messages": [] }
  expect sse {
    8 times { data: json { "choices": [{ "delta": { "content": string -> token } }] } }
    data: json { "choices": [{ "finish_reason": "stop" }] }
    data: "[DONE]"
    end
  }
}
"#;

#[test]
fn tokens_from_a_capture_no_test_makes_are_refused_before_the_load() {
    Test::new()
        .spec("chat.stream", CHAT)
        .var("base", servers::demo())
        .args(["load", "chat.stream", "--users", "1", "--iterations", "1"])
        .args(["--tokens", "tokn"])
        .stderr("error: --tokens tokn: none of the load's tests captures `tokn`; did you mean `token`?\n")
        .status(2)
        .run();
    Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .config(
            r#"
            [load]
            users = 1
            iterations = 1
            tokens = "token"
            "#,
        )
        .args(["load", "."])
        .stderr(
            "error: `tokens = \"token\"`: none of the load's tests captures `token` (tokens are counted from a capture such as `-> token`)
 --> ./streamspec.toml:4:10
  |
4 | tokens = \"token\"
  |          ^^^^^^^ no test captures this

",
        )
        .status(2)
        .run();
}

#[test]
fn options_of_the_other_model_are_refused() {
    for (args, message) in [
        (
            &["--rate", "5/s", "--duration", "1s", "--think", "1s"][..],
            "error: --rate and --think cannot go together: a pause between a user's iterations is for the closed model (users); in the open model each iteration starts when it is due\n",
        ),
        (
            &[
                "--rate",
                "5/s",
                "--duration",
                "1s",
                "--max-new-users",
                "10/s",
            ],
            "error: --rate and --max-new-users cannot go together: how fast users start is for the closed model (users); in the open model the rate says how fast iterations start\n",
        ),
        (
            &["--users", "2", "--duration", "1s", "--max-users", "10"],
            "error: --max-users caps the open model (rate), and this load is closed (users): its users are the most iterations at once\n",
        ),
        (
            &["--users", "2", "--stage", "1s:4", "--iterations", "5"],
            "error: --stage and --iterations cannot go together: a staged load ends with its last stage\n",
        ),
    ] {
        Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .args(["load", "counts.stream"])
            .args(args.iter().copied())
            .stderr(message)
            .status(2)
            .run();
    }
}

#[test]
fn an_option_and_a_config_key_that_do_not_go_together_are_named_as_written() {
    Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .config(
            r#"
            [load]
            rate = "5/s"
            duration = "1s"
            "#,
        )
        .args(["load", ".", "--think", "1s"])
        .stderr("error: `rate` under [load] and --think cannot go together: a pause between a user's iterations is for the closed model (users); in the open model each iteration starts when it is due\n")
        .status(2)
        .run();
}

#[test]
fn config_keys_that_do_not_go_together_are_refused_where_written() {
    Test::new()
        .spec("a.stream", "test \"a\" {\n  GET {{base}}/health\n}\n")
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:1"

            [load]
            rate = "5/s"
            think = "1s"
            stages = ["1s:5"]
            iterations = 10
            "#,
        )
        .args(["check", "."])
        .stderr(
            "error: `think` cannot go with `rate` in [load]: a pause between a user's iterations is for the closed model (users); in the open model each iteration starts when it is due
 --> ./streamspec.toml:6:1
  |
6 | think = \"1s\"
  | ^^^^^ conflicts with `rate`

error: `iterations` cannot go with `stages` in [load]: a staged load ends with its last stage
 --> ./streamspec.toml:8:1
  |
8 | iterations = 10
  | ^^^^^^^^^^ conflicts with `stages`

2 errors
",
        )
        .status(2)
        .run();
}

#[test]
fn the_command_line_model_leaves_out_the_config_keys_of_the_other() {
    // The config's closed model comes with a think time; `--rate` chooses the open model, and
    // the think time goes with the config's model.
    let output = Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .config(
            r#"
            [load]
            users = 2
            think = "1s"
            duration = "1m"
            "#,
        )
        .args(["load", ".", "--rate", "50/s", "--iterations", "3"])
        .args(["--format", "json"])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stderr);
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    assert_eq!(report["profile"]["model"], "open");
    assert_eq!(report["profile"]["think"]["min"], 0.0);
}

#[test]
fn command_line_stages_replace_the_config_profile() {
    for (config, args, model, start) in [
        // The config's level is not where the command line's stages start…
        (
            "users = 40\nduration = \"1m\"",
            &["--stage", "1s:2"][..],
            "closed",
            0.0,
        ),
        // …but the command line's own level is…
        (
            "users = 40\nduration = \"1m\"",
            &["--users", "1", "--stage", "1s:2"],
            "closed",
            1.0,
        ),
        // …and the config's model stays, its stages moving the rate.
        (
            "rate = \"40/s\"\nduration = \"1m\"",
            &["--stage", "1s:20"],
            "open",
            0.0,
        ),
    ] {
        let output = Test::new()
            .spec("counts.stream", COUNTS)
            .var("base", servers::demo())
            .config(&format!("[load]\n{config}\n"))
            .args(["load", "."])
            .args(args.iter().copied())
            .args(["--graceful-stop", "5s", "--format", "json"])
            .run_unchecked();
        assert_eq!(output.status, Some(0), "{args:?}: {}", output.stderr);
        let report: serde_json::Value =
            serde_json::from_str(&output.stdout).expect("a JSON report");
        let profile = &report["profile"];
        assert_eq!(profile["model"], model, "{args:?}: {profile}");
        assert_eq!(profile["start"], start, "{args:?}: {profile}");
        assert_eq!(
            profile["stages"].as_array().map(Vec::len),
            Some(1),
            "{profile}"
        );
    }
}

#[test]
fn an_abort_grace_needs_abort_on_fail() {
    let output = Test::new()
        .spec("counts.stream", COUNTS)
        .var("base", servers::demo())
        .args(["load", "counts.stream", "--users", "1", "--iterations", "1"])
        .args(["--abort-grace", "5s"])
        .run_unchecked();
    assert_eq!(output.status, Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains("--abort-on-fail"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_load_setting_of_the_wrong_type_says_what_it_expects() {
    Test::new()
        .spec("a.stream", "test \"a\" {\n  GET {{base}}/health\n}\n")
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:1"

            [load]
            users = 2.5
            duration = 15
            think = 1
            max_new_users = [1]
            graceful_stop = true
            thresholds = "errors < 1%"
            tokens = 3
            "#,
        )
        .args(["check", "."])
        .stderr(
            "error: `users` must be a whole number of users, like 40, not a float
 --> ./streamspec.toml:5:9
  |
5 | users = 2.5
  |         ^^^ expected a number of users

error: `duration` must be a duration, like \"15s\" or \"5m\", not an integer
 --> ./streamspec.toml:6:12
  |
6 | duration = 15
  |            ^^ expected a duration

error: `think` must be a pause, like \"1s\" or \"500ms..2s\", not an integer
 --> ./streamspec.toml:7:9
  |
7 | think = 1
  |         ^ expected a pause

error: `max_new_users` must be a rate of new users, like \"100/s\", not an array
 --> ./streamspec.toml:8:17
  |
8 | max_new_users = [1]
  |                 ^^^ expected a rate

error: `graceful_stop` must be a duration, like \"30s\", not a boolean
 --> ./streamspec.toml:9:17
  |
9 | graceful_stop = true
  |                 ^^^^ expected a duration

error: `thresholds` must be an array of thresholds, like [\"errors < 1%\", \"p99 gap < 100ms\"], not a string
  --> ./streamspec.toml:10:14
   |
10 | thresholds = \"errors < 1%\"
   |              ^^^^^^^^^^^^^ expected an array of thresholds

error: `tokens` must be the name of a capture, like \"token\", not an integer
  --> ./streamspec.toml:11:10
   |
11 | tokens = 3
   |          ^ expected a capture's name

7 errors
",
        )
        .status(2)
        .run();
}

/// A config whose `[load]` asks what its tests do not give: a capture none makes, a threshold
/// on gaps where no test reads a stream.
const ASKS_TOO_MUCH: &str = r#"
[load]
users = 1
iterations = 1
tokens = "token"
thresholds = ["p99 gap < 1s", "errors < 1%"]
"#;

const HEALTH: &str = r#"
test "health" {
  GET {{base}}/health
  expect status 200
}
"#;

#[test]
fn check_reports_what_the_configs_load_asks_that_its_tests_do_not_give() {
    Test::new()
        .spec("health.stream", HEALTH)
        .var("base", "http://127.0.0.1:9")
        .config(ASKS_TOO_MUCH)
        .args(["check", "."])
        .stderr(
            "error: `tokens = \"token\"`: none of the load's tests captures `token` (tokens are counted from a capture such as `-> token`)
 --> ./streamspec.toml:4:10
  |
4 | tokens = \"token\"
  |          ^^^^^^^ no test captures this

error: `p99 gap < 1s`: none of the load's tests reads a stream (an `expect sse`, `expect ndjson`, `expect messages`… block), so there is no gap to measure
 --> ./streamspec.toml:5:15
  |
5 | thresholds = [\"p99 gap < 1s\", \"errors < 1%\"]
  |               ^^^^^^^^^^^^^^ the tests do not produce this

2 errors
",
        )
        .status(2)
        .run();
}

#[test]
fn tests_chosen_by_name_leave_out_what_the_config_asks_of_others_and_say_so() {
    // The config's token capture and gap threshold are for the stream test; `--filter health`
    // chooses a test that gives neither: they are left out of this load, with a warning.
    let output = Test::new()
        .spec("health.stream", HEALTH)
        .spec("chat.stream", CHAT)
        .var("base", servers::demo())
        .config(ASKS_TOO_MUCH)
        .args(["load", ".", "--filter", "health", "--format", "json"])
        .run_unchecked();
    assert_eq!(
        output.status,
        Some(0),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&output.stdout).expect("a JSON report");
    assert_eq!(report["total"]["counts"]["passed"], 1, "{report}");
    // The threshold the test gives is kept.
    assert_eq!(
        report["thresholds"][0]["threshold"], "errors < 1%",
        "{report}"
    );
    // And beside it, the implied rule that no answer came wrong.
    assert_eq!(
        report["thresholds"][1]["threshold"], "unmet < 1",
        "{report}"
    );
    assert_eq!(
        report["thresholds"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert_eq!(
        output.stderr,
            "warning: `tokens = \"token\"`: none of the load's tests captures `token` (tokens are counted from a capture such as `-> token`)
 --> ./streamspec.toml:4:10
  |
4 | tokens = \"token\"
  |          ^^^^^^^ no test captures this
  |
  = note: left out of this load: --filter, --tag or --skip-tag chose tests that do not give it

warning: `p99 gap < 1s`: none of the load's tests reads a stream (an `expect sse`, `expect ndjson`, `expect messages`… block), so there is no gap to measure
 --> ./streamspec.toml:5:15
  |
5 | thresholds = [\"p99 gap < 1s\", \"errors < 1%\"]
  |               ^^^^^^^^^^^^^^ the tests do not produce this
  |
  = note: left out of this load: --filter, --tag or --skip-tag chose tests that do not give it

"
    );
}
