//! Machine-readable reports (`--format`, `--report-*`) and GitHub annotations (secrets in them:
//! report_secrets.rs).
//!
//! Each format is compared with a golden file under tests/golden/reports/ (times redacted) and
//! read back by a real parser: roxmltree for the JUnit XML, Perl's TAP::Parser (what `prove`
//! uses) for TAP, serde_json for every JSON line. Set `UPDATE_GOLDEN=1` to rewrite the golden
//! files from the current output, then review the diff. Where Perl is missing, the TAP::Parser
//! checks are skipped with a note (see `optional_tools`); the rest of each test still runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use regex::Regex;
use serde_json::Value;

use crate::servers;
use crate::support::{Output, Test, VERBOSE_REDACTIONS, redact, unindent};

/// Two spec files: a passing test that aborts (items with their times in `aborted_after`), an
/// assertion failure with a diff, and an error (nothing listens).
const PASSING_AND_FAILING: &str = r#"
    test "three events, then hang up" {
      GET {{base}}/ndjson/events?interval=0ms
      expect ndjson {
        { "event": "start" }
        2 times { { "event": "data" } }
        abort
      }
    }

    test "the third event is off by one" {
      GET {{base}}/ndjson/events?interval=0ms
      expect ndjson {
        { "event": "start" }
        { "event": "data", "value": 42 }
        { "event": "data", "value": 85 }
        { "event": "end" }
        end
      }
    }
"#;

const REFUSED: &str = r#"
    test "nobody listens # here" {
      GET {{nowhere}}/sse/empty
      expect sse { end }
    }
"#;

/// Times in the reports that the default redactions leave alone: XML `time` attributes, the
/// `…_ms` figures of JSON Lines and of TAP's YAML blocks, and the item times inside JSON strings;
/// the figures in JUnit's `<system-out>` are those of `run -v` ([`VERBOSE_REDACTIONS`]).
const REPORT_REDACTIONS: &[(&str, &str)] = &[
    (r#"time="\d+\.\d+""#, r#"time="[TIME]""#),
    (
        r#""(duration_ms|ttfb_ms|first_item_ms|at_ms|spread_ms|min|mean|p50|p95|p99|max)":\d+(?:\.\d+)?"#,
        r#""$1":[MS]"#,
    ),
    (
        r"(?m)^( +(?:- )?)(duration_ms|ttfb_ms|first_item_ms|at_ms|spread_ms|min|mean|p50|p95|p99|max): \d+(?:\.\d+)?$",
        r"$1$2: [MS]",
    ),
    (r"  # \d+(?:\.\d+)?m?s\\n", r"  # [TIME]\n"),
];

pub fn redact_report(text: &str) -> String {
    let mut text = text.to_string();
    for (pattern, replacement) in REPORT_REDACTIONS.iter().chain(VERBOSE_REDACTIONS) {
        let regex = Regex::new(pattern).expect("a valid redaction");
        text = regex.replace_all(&text, *replacement).into_owned();
    }
    text
}

#[test]
fn the_measured_figures_of_json_lines_are_redacted() {
    assert_eq!(
        redact_report(
            r#""ttfb_ms":2.5,"line":5,"branches":3,"spread_ms":0.4,"branch":null,"items":2"#
        ),
        r#""ttfb_ms":[MS],"line":5,"branches":3,"spread_ms":[MS],"branch":null,"items":2"#
    );
}

#[test]
fn the_measured_figures_of_tap_and_junit_are_redacted() {
    assert_eq!(
        redact_report(
            "      ttfb_ms: 2.5\n      line: 5\n        - at_ms: 7\n        max: 0.012\n\
             \x20          ttfb 2ms · first item 3.1ms · duration 1.01s\n"
        ),
        "      ttfb_ms: [MS]\n      line: 5\n        - at_ms: [MS]\n        max: [MS]\n\
         \x20          ttfb [TIME] · first item [TIME] · duration [TIME]\n"
    );
}

/// The specs, the variables, and `run a.stream b.stream` with `args` after it.
fn reporting_run(args: &[&str]) -> Test {
    Test::new()
        .spec("a.stream", PASSING_AND_FAILING)
        .spec("b.stream", REFUSED)
        .args(["run", "a.stream", "b.stream"])
        .args(args.iter().copied())
        .var("base", servers::demo())
        .var("nowhere", servers::refused())
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/reports")
        .join(name)
}

/// Compares `actual` with the golden file `name`, or rewrites it when `UPDATE_GOLDEN` is set.
fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("a golden directory")).expect("mkdir");
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected (golden)", "actual")
            .to_string();
        panic!(
            "{} differs from the output (UPDATE_GOLDEN=1 rewrites it):\n{diff}",
            path.display()
        );
    }
}

/// Runs with `--format format` and returns the redacted stdout; the run must exit 1 and print
/// nothing on stderr.
fn stdout_of(format: &str) -> String {
    let output = reporting_run(&["--format", format]).run_unchecked();
    assert_eq!(output.status, Some(1), "stdout:\n{}", output.stdout);
    assert_eq!(output.stderr, "");
    redact_report(&output.stdout)
}

fn report_file(output: &Output, name: &str) -> String {
    let path = output.dir.path().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read the report {}: {error}", path.display()));
    redact_report(&redact(output.dir.path(), &text))
}

// ─── JUnit ──────────────────────────────────────────────────────────────────────────────────────

/// Reads the report with a real XML parser and checks its structure.
fn check_junit(xml: &str) {
    let document = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("errors"), Some("1"));
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    let names: Vec<_> = suites.iter().map(|s| s.attribute("name")).collect();
    assert_eq!(names, [Some("a.stream"), Some("b.stream")]);
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let summary: Vec<_> = cases
        .iter()
        .map(|case| {
            let outcome = case
                .children()
                .find(|n| n.has_tag_name("failure") || n.has_tag_name("error"));
            (
                case.attribute("classname").unwrap_or_default(),
                case.attribute("name").unwrap_or_default(),
                case.attribute("line").unwrap_or_default(),
                outcome.map(|n| n.tag_name().name()).unwrap_or("passed"),
                outcome
                    .and_then(|n| n.attribute("message"))
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a.stream", "three events, then hang up", "1", "passed", ""),
            (
                "a.stream",
                "the third event is off by one",
                "10",
                "failure",
                "item 3 does not match"
            ),
            (
                "b.stream",
                "nobody listens # here",
                "1",
                "error",
                "could not connect to 127.0.0.1:PORT: Connection refused (os error 111)"
            ),
        ]
    );
    // The element's text is the rendered failure: location, source line, caret, diff.
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|n| n.text())
        .expect("the failure's text");
    assert!(failure.contains(" --> a.stream:15:5\n"), "{failure}");
    assert!(
        failure.contains("     - { \"event\": \"data\", \"value\": 85 }\n"),
        "{failure}"
    );
    assert!(
        failure.contains("     + { \"event\": \"data\", \"value\": 84, \"ts\": 3 }  # [TIME]\n"),
        "{failure}"
    );
    // A test that read streams has their figures in `<system-out>`, as `run -v` shows them; one
    // that read none has no `<system-out>`.
    let system_out = |case: &roxmltree::Node| {
        case.children()
            .find(|n| n.has_tag_name("system-out"))
            .map(|n| n.text().unwrap_or_default().to_string())
    };
    let figures = system_out(&cases[0]).expect("the first test's figures");
    assert!(
        figures.starts_with("         ndjson on line 3: 3 items, 95 bytes, 1 connection\n"),
        "{figures}"
    );
    assert!(
        figures.ends_with(
            "\n             { \"event\": \"data\", \"value\": 84, \"ts\": 3 }  # [TIME]\n"
        ),
        "{figures}"
    );
    let figures = system_out(&cases[1]).expect("the failing test's figures");
    assert!(
        figures.starts_with("         ndjson on line 12: "),
        "{figures}"
    );
    assert_eq!(system_out(&cases[2]), None);
}

#[test]
fn junit_on_stdout() {
    let xml = stdout_of("junit");
    check_junit(&xml);
    assert_golden("junit.xml", &xml);
}

// ─── TAP ────────────────────────────────────────────────────────────────────────────────────────

/// Whether Perl with TAP::Parser and JSON::PP can be run, once for the whole suite: without it
/// the checks of TAP reports by a real parser are skipped (see `optional_tools`).
fn tap_parser_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let works = Command::new("perl")
            .args(["-MTAP::Parser", "-MJSON::PP", "-e1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        let missing = if works {
            vec![]
        } else {
            vec!["Perl with TAP::Parser and JSON::PP (perl, perl-modules)".to_string()]
        };
        crate::optional_tools::available(
            "the TAP reports' checks by TAP::Parser",
            &missing,
            "apt-get install perl",
        )
    })
}

/// What TAP::Parser made of a TAP stream: the plan, each test (number, ok, description, YAML
/// diagnostics) and any parse errors, as JSON from a small Perl program. None where Perl with
/// TAP::Parser is missing and may be skipped.
pub fn parse_tap(tap: &str) -> Option<Value> {
    if !tap_parser_available() {
        return None;
    }
    const PROGRAM: &str = r#"
        use strict; use warnings;
        use TAP::Parser; use JSON::PP;
        my $tap = do { local $/; <STDIN> };
        my $parser = TAP::Parser->new({ tap => $tap });
        my (@tests, $last, $bail_out);
        while (my $result = $parser->next) {
            if ($result->is_bailout) {
                $bail_out = $result->explanation;
            } elsif ($result->is_test) {
                $last = { number => $result->number, ok => ($result->is_ok ? JSON::PP::true : JSON::PP::false),
                          description => $result->description };
                push @tests, $last;
            } elsif ($result->is_yaml) {
                $last->{yaml} = $result->data;
            }
        }
        print JSON::PP->new->canonical->encode({
            version => $parser->version, plan => $parser->plan, tests => \@tests,
            passed => [ $parser->passed ], failed => [ $parser->failed ],
            parse_errors => [ $parser->parse_errors ], bail_out => $bail_out,
            good_plan => ($parser->is_good_plan ? JSON::PP::true : JSON::PP::false),
        });
    "#;
    let child = Command::new("perl")
        .args(["-e", PROGRAM])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => panic!(
            "cannot run `perl` ({error}): the TAP tests read the report with Perl's TAP::Parser; \
             install perl (Debian: `apt-get install perl`, as .ci/run does)"
        ),
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(tap.as_bytes())
            .expect("write the TAP to perl");
    }
    let output = child.wait_with_output().expect("perl runs");
    assert!(
        output.status.success(),
        "perl with TAP::Parser failed (is Debian's perl-modules installed?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("JSON from the perl program"))
}

fn check_tap(tap: &str) {
    let Some(parsed) = parse_tap(tap) else {
        return;
    };
    assert_eq!(parsed["version"], 13);
    assert_eq!(parsed["plan"], "1..3");
    assert_eq!(parsed["parse_errors"], serde_json::json!([]));
    assert_eq!(parsed["bail_out"], Value::Null);
    assert_eq!(parsed["good_plan"], true);
    assert_eq!(parsed["passed"], serde_json::json!([1]));
    assert_eq!(parsed["failed"], serde_json::json!([2, 3]));
    let tests = parsed["tests"].as_array().expect("tests");
    assert_eq!(
        tests[0]["description"],
        "- a.stream: three events, then hang up"
    );
    // Each test that read a stream has its figures, in the same block as its failure.
    let streams = |test: &Value| -> Vec<(Value, Value, Value)> {
        let list = test["yaml"]["streams"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let fields = |s: &Value| (s["kind"].clone(), s["name"].clone(), s["line"].clone());
        list.iter().map(fields).collect()
    };
    assert_eq!(
        streams(&tests[0]),
        [("ndjson".into(), Value::Null, "3".into())]
    );
    let aborted = &tests[0]["yaml"]["streams"][0]["aborted_after"];
    assert_eq!(
        aborted[2]["text"],
        r#"{ "event": "data", "value": 84, "ts": 3 }"#
    );
    assert_eq!(tests[0]["yaml"]["barriers"], serde_json::json!([]));
    assert_eq!(
        streams(&tests[1]),
        [("ndjson".into(), Value::Null, "12".into())]
    );
    assert!(tests[2]["yaml"].get("streams").is_none(), "{}", tests[2]);
    // `#` is escaped, so TAP::Parser does not read `# here` as a directive.
    assert_eq!(
        tests[2]["description"],
        r"- b.stream: nobody listens \# here"
    );
    let failed = &tests[1]["yaml"];
    assert_eq!(failed["message"], "item 3 does not match");
    assert_eq!(failed["severity"], "fail");
    assert_eq!(failed["at"], "a.stream:15:5");
    let diagnostic = failed["diagnostic"].as_str().expect("a diagnostic");
    assert!(diagnostic.starts_with("error: item 3 does not match\n  --> a.stream:15:5\n   |\n"));
    assert!(diagnostic.contains("\n     - { \"event\": \"data\", \"value\": 85 }\n"));
    assert!(diagnostic.ends_with("\n       end\n"), "{diagnostic}");
    let errored = &tests[2]["yaml"];
    assert_eq!(errored["severity"], "error");
    assert_eq!(errored["at"], "b.stream:2:3");
}

#[test]
fn tap_on_stdout() {
    let tap = stdout_of("tap");
    check_tap(&tap);
    assert_golden("report.tap", &tap);
}

#[test]
fn tap_of_an_interrupted_run_bails_out() {
    // A run stopped by Ctrl-C reports the tests that ran, and a TAP consumer sees it stopped.
    let output = Test::new()
        .spec("a.stream", PASSING_AND_FAILING)
        .spec(
            "b.stream",
            r#"
            test "waits" {
              GET {{base}}/bad/stall?after=0
              expect sse { data: _ }
            }
            "#,
        )
        .args(["run", "a.stream", "b.stream", "--format", "tap"])
        .var("base", servers::demo())
        .interrupt_when_stdout_has("not ok 2")
        .run_unchecked();
    assert_eq!(output.status, Some(130), "{output:?}");
    if let Some(parsed) = parse_tap(&output.stdout) {
        assert_eq!(parsed["bail_out"], "the run stopped after 2 of 3 tests");
    }
    assert!(
        output
            .stdout
            .ends_with("  ...\nBail out! the run stopped after 2 of 3 tests\n"),
        "{}",
        output.stdout
    );
}

// ─── JSON Lines ─────────────────────────────────────────────────────────────────────────────────

fn check_json_lines(text: &str) {
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let types: Vec<_> = lines.iter().map(|l| l["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            Some("run_started"),
            Some("test_finished"),
            Some("test_finished"),
            Some("test_finished"),
            Some("run_finished")
        ]
    );
    assert_eq!(
        lines[0],
        serde_json::json!({"type": "run_started", "version": 1, "tests": 3, "files": 2})
    );
    let statuses: Vec<_> = lines[1..4].iter().map(|l| l["status"].as_str()).collect();
    assert_eq!(statuses, [Some("passed"), Some("failed"), Some("error")]);

    // Every observed item carries its receive time.
    let aborted = &lines[1]["streams"][0]["aborted_after"];
    assert_eq!(aborted.as_array().map(Vec::len), Some(3));
    assert!(aborted[0]["at_ms"].is_number(), "{aborted}");
    assert_eq!(
        aborted[2]["text"],
        r#"{ "event": "data", "value": 84, "ts": 3 }"#
    );

    let failure = &lines[2]["failures"][0];
    assert_eq!(failure["class"], "assertion");
    assert_eq!(
        (failure["line"].as_u64(), failure["column"].as_u64()),
        (Some(15), Some(5))
    );
    let diff_lines = failure["diff"]["lines"].as_array().expect("diff lines");
    for line in diff_lines {
        let tag = line["tag"].as_str().expect("a tag");
        let text = line["text"].as_str().expect("a text");
        match (tag, text) {
            ("expected", _) | ("context", "end") => assert!(line["at_ms"].is_null(), "{line}"),
            ("observed" | "context", _) => assert!(line["at_ms"].is_number(), "{line}"),
            _ => panic!("unknown tag in {line}"),
        }
    }
    assert!(
        failure["rendered"]
            .as_str()
            .is_some_and(|r| r.starts_with("error: item 3 does not match\n  --> a.stream:15:5\n"))
    );
    assert_eq!(lines[3]["failures"][0]["class"], "error");

    let finished = &lines[4];
    assert_eq!(
        (
            &finished["tests"],
            &finished["passed"],
            &finished["failed"],
            &finished["errors"],
            &finished["not_run"]
        ),
        (&3.into(), &1.into(), &1.into(), &1.into(), &0.into())
    );
}

#[test]
fn json_lines_on_stdout() {
    // Before redaction: the times are numbers.
    let output = reporting_run(&["--format", "json"]).run_unchecked();
    assert_eq!(output.status, Some(1));
    check_json_lines(&output.stdout);
    assert_golden("report.jsonl", &redact_report(&output.stdout));
}

/// The gap statistics of each stream of a JSON Lines report, in the report's order: min, mean,
/// p50, p95, p99, max, in milliseconds.
fn gap_statistics(report: &str) -> Vec<[f64; 6]> {
    report
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["type"] == "test_finished")
        .flat_map(|line| line["streams"].as_array().cloned().unwrap_or_default())
        .map(|stream| {
            ["min", "mean", "p50", "p95", "p99", "max"]
                .map(|stat| stream["gaps_ms"][stat].as_f64().expect("a gap statistic"))
        })
        .collect()
}

#[test]
fn gap_percentiles_stay_between_the_smallest_and_the_largest_gap() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "one gap" {
              GET {{base}}/sse/ticker?count=2&interval=50ms
              expect sse { 2 times { data: _ }; end }
              expect gaps p99 <= 10s, max <= 10s
            }

            test "many gaps" {
              GET {{base}}/sse/ticker?count=30&interval=3ms
              expect sse { 30 times { data: _ }; end }
            }
            "#,
        )
        .args(["run", "--format", "json", "a.stream"])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{}", output.stdout);
    let gaps = gap_statistics(&output.stdout);
    assert_eq!(gaps.len(), 2, "{}", output.stdout);
    // One gap: every statistic is that gap, the percentiles included.
    let [min, mean, p50, p95, p99, max] = gaps[0];
    assert!(
        [mean, p50, p95, p99, max].iter().all(|&stat| stat == min),
        "{:?}",
        gaps[0]
    );
    // Many: in order, and none outside the smallest and the largest.
    let [min, mean, p50, p95, p99, max] = gaps[1];
    assert!(
        min <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max && min <= mean && mean <= max,
        "{:?}",
        gaps[1]
    );
    assert_eq!(
        redact_report(&output.stdout),
        unindent(
            r#"
            {"type":"run_started","version":1,"tests":2,"files":1}
            {"type":"test_finished","file":"a.stream","line":1,"name":"one gap","status":"passed","duration_ms":[MS],"failures":[],"streams":[{"kind":"sse","name":null,"branch":null,"line":3,"items":2,"bytes":132,"connections":1,"ttfb_ms":[MS],"first_item_ms":[MS],"duration_ms":[MS],"gaps_ms":{"min":[MS],"mean":[MS],"p50":[MS],"p95":[MS],"p99":[MS],"max":[MS]},"reconnect_delays_ms":[],"aborted_after":null}],"barriers":[]}
            {"type":"test_finished","file":"a.stream","line":7,"name":"many gaps","status":"passed","duration_ms":[MS],"failures":[],"streams":[{"kind":"sse","name":null,"branch":null,"line":9,"items":30,"bytes":2022,"connections":1,"ttfb_ms":[MS],"first_item_ms":[MS],"duration_ms":[MS],"gaps_ms":{"min":[MS],"mean":[MS],"p50":[MS],"p95":[MS],"p99":[MS],"max":[MS]},"reconnect_delays_ms":[],"aborted_after":null}],"barriers":[]}
            {"type":"run_finished","tests":2,"passed":2,"failed":0,"errors":0,"not_run":0,"duration_ms":[MS]}
            "#
        )
    );
}

// ─── several at once ────────────────────────────────────────────────────────────────────────────

const HUMAN_REPORT: &str = r#"
    Running 3 tests from 2 files
      PASS [TIME] a.stream: three events, then hang up
      FAIL [TIME] a.stream: the third event is off by one

    error: item 3 does not match
      --> a.stream:15:5
       |
    15 |     { "event": "data", "value": 85 }
       |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.value`: expected 85, found 84
       |
       = diff of expected (-) and observed (+) items:
           { "event": "start", "ts": 1 }  # [TIME]
           { "event": "data", "value": 42, "ts": 2 }  # [TIME]
         - { "event": "data", "value": 85 }
         + { "event": "data", "value": 84, "ts": 3 }  # [TIME]
           { "event": "end", "ts": 4 }  # [TIME]
           end

     ERROR [TIME] b.stream: nobody listens # here

    error: could not connect to 127.0.0.1:PORT: Connection refused (os error 111)
     --> b.stream:2:3
      |
    2 |   GET {{nowhere}}/sse/empty
      |   ^^^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/empty

    Summary 3 tests: 1 passed, 1 failed, 1 error [TIME]
      FAIL a.stream:10: the third event is off by one
     ERROR b.stream:1: nobody listens # here
"#;

#[test]
fn human_on_stdout_and_every_report_file_at_once() {
    let output = reporting_run(&[
        "--report-junit",
        "reports/junit.xml",
        "--report-tap",
        "reports/report.tap",
        "--report-json",
        "reports/deeper/report.jsonl",
    ])
    .stdout(HUMAN_REPORT)
    .status(1)
    .run();
    let xml = report_file(&output, "reports/junit.xml");
    check_junit(&xml);
    assert_golden("junit.xml", &xml);
    let tap = report_file(&output, "reports/report.tap");
    check_tap(&tap);
    assert_golden("report.tap", &tap);
    let json = report_file(&output, "reports/deeper/report.jsonl");
    assert_golden("report.jsonl", &json);
    // Only the reports are left: the JUnit file was written through a temporary file.
    let mut left: Vec<_> = std::fs::read_dir(output.dir.path().join("reports"))
        .expect("the reports directory")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["deeper", "junit.xml", "report.tap"]);
}

#[test]
fn a_report_file_that_cannot_be_written_stops_the_run_before_it_starts() {
    Test::new()
        .spec("a.stream", PASSING_AND_FAILING)
        .file("blocker", "a file, not a directory")
        .args(["run", "a.stream", "--report-tap", "blocker/report.tap"])
        .var("base", servers::demo())
        .stderr("error: cannot write the report `blocker/report.tap`: `blocker` is a file, not a directory\n")
        .status(3)
        .run();
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    Test::new()
        .spec("a.stream", PASSING_AND_FAILING)
        .args(["run", "a.stream", "--format", "xml"])
        .stderr(
            r#"
            error: invalid value 'xml' for '--format <FORMAT>'
              [possible values: human, tap, json, junit]

            For more information, try '--help'.
            "#,
        )
        .status(2)
        .run();
}

// ─── GitHub Actions ─────────────────────────────────────────────────────────────────────────────

#[test]
fn github_actions_get_an_annotation_per_failure() {
    let annotations = [
        "::error file=a.stream,line=15,col=5,title=a.stream%3A the third event is off by one::item 3 does not match%0A  --> a.stream:15:5%0A   |%0A15 |     { \"event\": \"data\", \"value\": 85 }%0A   |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ at `.value`: expected 85, found 84%0A   |%0A   = diff of expected (-) and observed (+) items:%0A       { \"event\": \"start\", \"ts\": 1 }  # [TIME]%0A       { \"event\": \"data\", \"value\": 42, \"ts\": 2 }  # [TIME]%0A     - { \"event\": \"data\", \"value\": 85 }%0A     + { \"event\": \"data\", \"value\": 84, \"ts\": 3 }  # [TIME]%0A       { \"event\": \"end\", \"ts\": 4 }  # [TIME]%0A       end",
        "::error file=b.stream,line=2,col=3,title=b.stream%3A nobody listens # here::could not connect to 127.0.0.1:PORT: Connection refused (os error 111)%0A --> b.stream:2:3%0A  |%0A2 |   GET {{nowhere}}/sse/empty%0A  |   ^^^^^^^^^^^^^^^^^^^^^^^^^ sending this request to http://127.0.0.1:PORT/sse/empty",
    ];
    // With the human report, on standard output after each failing test.
    let expected = crate::support::unindent(HUMAN_REPORT)
        .replace(
            "       end\n\n",
            &format!("       end\n\n{}\n", annotations[0]),
        )
        .replace(
            "/sse/empty\n\nSummary",
            &format!("/sse/empty\n\n{}\nSummary", annotations[1]),
        );
    reporting_run(&[])
        .env("GITHUB_ACTIONS", "true")
        .redact(r"  # \d+(?:\.\d+)?m?s%0A", "  # [TIME]%0A")
        .stdout(&expected)
        .status(1)
        .run();
    // With JSON Lines, on standard error, so that standard output stays JSON.
    let output = reporting_run(&["--format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .redact(r"  # \d+(?:\.\d+)?m?s%0A", "  # [TIME]%0A")
        .run_unchecked();
    assert_eq!(
        output.stderr,
        format!("{}\n{}\n", annotations[0], annotations[1])
    );
    check_json_lines(&output.stdout);
    // Any other value is not GitHub Actions.
    reporting_run(&[])
        .env("GITHUB_ACTIONS", "false")
        .stdout(HUMAN_REPORT)
        .status(1)
        .run();
}

#[test]
fn a_run_that_stops_before_its_tests_still_leaves_whole_reports() {
    let output = Test::new()
        .config(
            r#"
            [[services]]
            name = "db"
            command = ["./no-such-server"]
            "#,
        )
        .spec("a.stream", PASSING_AND_FAILING)
        .args([
            "run",
            "a.stream",
            "--format",
            "tap",
            "--report-junit",
            "junit.xml",
        ])
        .var("base", servers::demo())
        .run_unchecked();
    assert_eq!(output.status, Some(3), "{output:?}");
    assert_eq!(
        output.stdout,
        "TAP version 13\n1..2\nBail out! the run stopped before its tests ran\n"
    );
    if let Some(parsed) = parse_tap(&output.stdout) {
        assert_eq!(
            parsed["bail_out"], "the run stopped before its tests ran",
            "{parsed}"
        );
    }
    let xml = report_file(&output, "junit.xml");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    assert_eq!(document.root_element().attribute("tests"), Some("0"));
}
