//! A load masks the secrets the config names (`secrets = [...]`), as `run` does: in the summary,
//! the JSON report and the HTML page, though their values are only known once the config's
//! variables are worked out (after its services chose their ports).

use crate::servers;
use crate::support::Test;

const SECRET: &str = "sk-CONFIG-SECRET-7351";

#[test]
fn the_secrets_a_config_names_are_masked_in_every_report_of_a_load() {
    // The demo puts `id_prefix` in each event's id: the failure's example diff quotes it.
    let output = Test::new()
        .spec(
            "leak.stream",
            r#"
            test "ids" {
              GET {{base}}/sse/ticker?count=2&interval=10ms&id_prefix={{token}}
              expect sse {
                id: "nope"
              }
            }
            "#,
        )
        .config(&format!(
            "secrets = [\"token\"]\n\n[vars]\ntoken = \"{SECRET}\"\n"
        ))
        .var("base", servers::demo())
        .args(["load", ".", "--users", "1", "--iterations", "3"])
        .args(["--report-json", "load.json", "--report-html", "load.html"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    assert!(
        output.stdout.contains("found \"***1\""),
        "{}",
        output.stdout
    );
    for (name, text) in [
        ("stdout", output.stdout.clone()),
        ("stderr", output.stderr.clone()),
        (
            "load.json",
            std::fs::read_to_string(output.dir.path().join("load.json")).expect("a JSON report"),
        ),
        (
            "load.html",
            std::fs::read_to_string(output.dir.path().join("load.html")).expect("an HTML page"),
        ),
    ] {
        assert!(!text.contains(SECRET), "the secret is in {name}:\n{text}");
    }
}
