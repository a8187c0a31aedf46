//! Report options that name the same file, or a file `merge` reads: refused before anything runs,
//! so that no report is lost to another written over it, and no input is overwritten.

use crate::servers;
use crate::support::Test;

const TICKER: &str = r#"
test "ticker" {
  GET {{base}}/sse/ticker?count=2&interval=0ms
  expect sse {
    2 times { data: json { "count": integer } }
    end
  }
}
"#;

#[test]
fn two_reports_of_a_run_in_one_file_are_refused_before_the_run() {
    for (json, shown) in [
        ("same.out", "same.out"),
        ("./same.out", "./same.out"),
        ("a/../same.out", "a/../same.out"),
    ] {
        let output = Test::new()
            .spec("feed.stream", TICKER)
            .var("base", servers::demo())
            .file("a/keep", "")
            .args(["run", "feed.stream", "--report-html", "same.out"])
            .args(["--report-json", json])
            .run_unchecked();
        assert_eq!(
            output.stderr,
            format!(
                "error: --report-json `{shown}` and --report-html `same.out` are the same file: \
                 each report needs a file of its own\n"
            )
        );
        assert_eq!(output.status, Some(3), "{output:?}");
        assert_eq!(output.stdout, "", "the run did not start");
        assert!(!output.dir.path().join("same.out").exists());
    }
    let output = Test::new()
        .spec("feed.stream", TICKER)
        .var("base", servers::demo())
        .args(["run", "feed.stream", "--report-junit", "r.xml"])
        .args(["--report-tap", "./r.xml"])
        .run_unchecked();
    assert_eq!(
        output.stderr,
        "error: --report-junit `r.xml` and --report-tap `./r.xml` are the same file: \
         each report needs a file of its own\n"
    );
    assert_eq!(output.status, Some(3), "{output:?}");
}

#[test]
fn two_reports_of_a_load_in_one_file_are_refused_before_the_load() {
    let output = Test::new()
        .spec("feed.stream", TICKER)
        .var("base", servers::demo())
        .file("a/keep", "")
        .args(["load", "feed.stream", "--users", "1", "--iterations", "1"])
        .args([
            "--report-json",
            "same.out",
            "--report-html",
            "a/../same.out",
        ])
        .run_unchecked();
    assert_eq!(
        output.stderr,
        "error: --report-json `same.out` and --report-html `a/../same.out` are the same file: \
         each report needs a file of its own\n"
    );
    assert_eq!(output.status, Some(3), "{output:?}");
    assert_eq!(output.stdout, "", "the load did not start");
    assert!(!output.dir.path().join("same.out").exists());
}

#[test]
fn a_merge_never_writes_over_one_of_its_inputs_nor_two_reports_in_one_file() {
    let part = Test::new()
        .spec("feed.stream", TICKER)
        .var("base", servers::demo())
        .args(["load", "feed.stream", "--users", "1", "--iterations", "1"])
        .args(["--report-json", "p1.json"])
        .run_unchecked();
    assert_eq!(part.status, Some(0), "{part:?}");
    let json = std::fs::read_to_string(part.dir.path().join("p1.json")).expect("the part");
    for (flag, path) in [("--report-html", "p1.json"), ("--report-json", "./p1.json")] {
        let output = Test::new()
            .file("p1.json", &json)
            .args(["merge", "p1.json", flag, path])
            .run_unchecked();
        assert_eq!(
            output.stderr,
            format!(
                "error: {flag} `{path}` is `p1.json`, one of the reports to merge: \
                 it would be written over\n"
            )
        );
        assert_eq!(output.status, Some(3), "{output:?}");
        assert_eq!(
            std::fs::read_to_string(output.dir.path().join("p1.json")).expect("the input"),
            json
        );
    }
    let output = Test::new()
        .file("p1.json", &json)
        .args(["merge", "p1.json", "--report-json", "m.out"])
        .args(["--report-html", "m.out"])
        .run_unchecked();
    assert_eq!(
        output.stderr,
        "error: --report-json `m.out` and --report-html `m.out` are the same file: \
         each report needs a file of its own\n"
    );
    assert_eq!(output.status, Some(3), "{output:?}");
    assert!(!output.dir.path().join("m.out").exists());
}

/// A report is never written over the specs or the config being run: the run or load is
/// refused before it starts, and the file is left as it was.
#[test]
fn a_report_over_a_spec_or_the_config_is_refused_before_the_run_or_the_load() {
    for (args, option, path, what) in [
        (
            vec!["run", "feed.stream", "--report-json", "feed.stream"],
            "--report-json",
            "feed.stream",
            "run",
        ),
        (
            vec!["run", ".", "--report-junit", "streamspec.toml"],
            "--report-junit",
            "streamspec.toml",
            "run",
        ),
        (
            vec![
                "load",
                "feed.stream",
                "--users",
                "1",
                "--iterations",
                "1",
                "--report-html",
                "./feed.stream",
            ],
            "--report-html",
            "./feed.stream",
            "load",
        ),
    ] {
        let output = Test::new()
            .spec("feed.stream", TICKER)
            .config("[vars]\nunused = \"1\"\n")
            .var("base", servers::demo())
            .args(args)
            .run_unchecked();
        let shown = output
            .stderr
            .replace("./streamspec.toml", "streamspec.toml");
        assert!(
            shown.starts_with(&format!("error: {option} `{path}` is `")),
            "{}",
            output.stderr
        );
        assert!(
            shown.ends_with(&format!(
                "`, a spec or config file of the {what}: it would be written over\n"
            )),
            "{}",
            output.stderr
        );
        assert_eq!(output.status, Some(3), "{output:?}");
        let spec = std::fs::read_to_string(output.dir.path().join("feed.stream")).expect("spec");
        assert!(
            spec.contains("test \"ticker\""),
            "the spec was written over"
        );
        let config =
            std::fs::read_to_string(output.dir.path().join("streamspec.toml")).expect("config");
        assert!(config.contains("[vars]"), "the config was written over");
    }
}
