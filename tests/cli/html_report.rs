//! `--report-html`: the page of a spec run (a section per test, a timeline and a histogram of
//! the gaps per stream, the failure as the terminal shows it, the items listed), of a load and
//! of a merge (charts, the thresholds table), checked by parsing it as a browser would; hostile
//! item text shown as text; secrets masked; bounded size; a path that cannot be written. The
//! pages are also opened in headless Chromium, when it is installed (see `browser`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use scraper::{Html, Selector};

use crate::servers;
use crate::support::{Output, Test};

/// A body of `pieces`, each sent `delay` after the one before it.
pub fn paced(content_type: &'static str, pieces: Vec<(Duration, Vec<u8>)>) -> Response {
    let frames = stream::unfold(pieces.into_iter(), |mut pieces| async move {
        let (delay, bytes) = pieces.next()?;
        tokio::time::sleep(delay).await;
        Some((Ok::<_, Infallible>(Bytes::from(bytes)), pieces))
    });
    let mut response = Response::new(Body::from_stream(frames));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The servers of these tests, started once.
pub fn server() -> &'static str {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        servers::serve(
            Router::new()
                // Twelve events 5 ms apart, but 400 ms before the ninth: the slow gap a person
                // should find on the page.
                .route(
                    "/slow-gap",
                    get(|| async {
                        let pieces = (1..=12)
                            .map(|n| {
                                let delay = if n == 9 { 400 } else { 5 };
                                (
                                    Duration::from_millis(delay),
                                    format!("data: {n}\n\n").into_bytes(),
                                )
                            })
                            .collect();
                        paced("text/event-stream", pieces)
                    }),
                )
                // Events a page must show as text: markup, a script, control characters,
                // a secret, then invalid UTF-8 (an error, whose note shows it with U+FFFD).
                .route(
                    "/hostile",
                    get(|| async {
                        let data: Vec<&[u8]> = vec![
                            b"<script>document.title='pwned'</script>",
                            b"<img src=x onerror=alert(1)>",
                            b"</li></ol></details><h1>injected</h1>",
                            b"\x1b[31mred\x1b[0m and a NUL \x00 and DEL \x7f",
                            b"secret s3cr3t-t0ken-value inside",
                            b"bad bytes \xff\xfe here",
                        ];
                        let events = data
                            .into_iter()
                            .map(|data| {
                                let event = [b"data: ", data, b"\n\n"].concat();
                                (Duration::ZERO, event)
                            })
                            .collect();
                        paced("text/event-stream", events)
                    }),
                )
                // Three events, then nothing for a long while: a stream that stalls.
                .route(
                    "/stall",
                    get(|| async {
                        let mut pieces: Vec<(Duration, Vec<u8>)> = (1..=3)
                            .map(|n| {
                                (
                                    Duration::from_millis(5),
                                    format!("data: {n}\n\n").into_bytes(),
                                )
                            })
                            .collect();
                        pieces.push((Duration::from_secs(60), b"data: 4\n\n".to_vec()));
                        paced("text/event-stream", pieces)
                    }),
                )
                // A few huge lines, then many.
                .route(
                    "/many",
                    get(|| async {
                        let mut body = Vec::new();
                        let huge = format!("{}\n", "h".repeat(1_000_000));
                        for _ in 0..5 {
                            body.extend_from_slice(huge.as_bytes());
                        }
                        for n in 0..50_000 {
                            body.extend_from_slice(format!("line {n}\n").as_bytes());
                        }
                        paced("text/plain", vec![(Duration::ZERO, body)])
                    }),
                ),
        )
    })
}

pub fn select<'a>(page: &'a Html, selector: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = Selector::parse(selector).expect("a valid selector");
    page.select(&selector).collect()
}

pub fn text_of(element: &scraper::ElementRef<'_>) -> String {
    element.text().collect()
}

pub fn read_page(output: &Output, name: &str) -> (String, Html) {
    let text =
        std::fs::read_to_string(output.dir.path().join(name)).expect("the report was written");
    let page = Html::parse_document(&text);
    (text, page)
}

pub const SLOW_GAP: &str = r#"
test "every event in time" {
  GET {{base}}/slow-gap
  expect sse {
    first within 1s
    11 times { data: _ }
    data: "12"  within 2s
    end
  }
}

test "a gap too slow" {
  GET {{base}}/slow-gap
  expect sse {
    8 times { data: _ }
    data: "9"  within 100ms
    * times { data: _ }
    end
  }
}
"#;

#[test]
fn a_run_report_has_a_section_per_test_with_a_timeline_and_a_histogram_per_stream() {
    let test = Test::new()
        .spec("gaps.stream", SLOW_GAP)
        .var("base", server())
        .args(["run", "gaps.stream", "--report-html", "out/report.html"]);
    let output = test.run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (text, page) = read_page(&output, "out/report.html");
    assert!(text.starts_with("<!DOCTYPE html>"));
    // No script, nothing fetched: the page works from an artifact opened offline.
    assert!(select(&page, "script, link, iframe, img, object").is_empty());
    assert!(!text.contains("http://") || !text.contains("src=\"http"));
    let figures: Vec<String> = select(&page, "#summary .figure")
        .iter()
        .map(|figure| text_of(figure))
        .collect();
    assert_eq!(figures[..4], ["2tests", "1passed", "1failed", "0errors"]);
    let tests = select(&page, "section.test");
    assert_eq!(tests.len(), 2);
    let heading = |n: usize| text_of(&select(&page, &format!("#test-{n} h2"))[0]);
    assert_eq!(heading(0), "PASSevery event in time");
    assert_eq!(heading(1), "FAILa gap too slow");
    assert_eq!(
        text_of(&select(&page, "#test-1 p.note")[0])
            .split(" · ")
            .next(),
        Some("gaps.stream:11")
    );
    for n in 0..2 {
        assert_eq!(select(&page, &format!("#test-{n} .stream")).len(), 1);
    }
    // A timeline, then the histogram of the gaps.
    let labels = |n: usize| -> Vec<String> {
        select(&page, &format!("#test-{n} .stream svg.chart"))
            .iter()
            .map(|chart| chart.value().attr("aria-label").unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        labels(0),
        [
            "timeline of the 12 items of the stream",
            "histogram of the 11 gaps between items"
        ]
    );
    // Each item a mark; the slowest gap shaded and named; p50, p95, p99 on the histogram.
    assert_eq!(select(&page, "#test-0 svg .item").len(), 12);
    let slow = text_of(&select(&page, "#test-0 svg text.slow")[0]);
    assert!(slow.starts_with("slowest gap "), "{slow}");
    // Each label's names (`p95/p99 400ms` names two).
    let labels_in = |n: usize| -> Vec<String> {
        select(&page, &format!("#test-{n} svg text.strong"))
            .iter()
            .map(|label| text_of(label))
            .flat_map(|label| {
                let names = label.split(' ').next().unwrap_or("").to_string();
                names.split('/').map(str::to_string).collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(labels_in(0), ["p50", "p95", "p99"]);
    // The items, folded, with their times; the one after the slow gap tinted.
    let items = select(&page, "#test-0 details.items li");
    assert_eq!(items.len(), 12);
    assert_eq!(
        text_of(&select(&page, "#test-0 details.items li .text")[8]),
        "data: \"9\""
    );
    let tinted: Vec<usize> = (0..12)
        .filter(|&n| items[n].value().classes().any(|class| class == "slow"))
        .collect();
    assert!(tinted.contains(&8), "{tinted:?}");
    // The failing test read 8 items, then gave up waiting for the 9th: marked where it did;
    // what it read after that, for the diff, is drawn apart.
    let charts = labels(1);
    assert!(
        charts[0].starts_with("timeline of the 8 items of the stream, and "),
        "{charts:?}"
    );
    assert_eq!(charts[1], "histogram of the 7 gaps between items");
    assert_eq!(labels_in(1), ["`within", "p50", "p95", "p99"]);
    // The bounds the spec set, drawn where they apply.
    let bounds = select(&page, "#test-0 svg rect.bound");
    assert_eq!(bounds.len(), 2, "first within 1s, and within 2s");
    assert_eq!(select(&page, "#test-1 svg rect.bound").len(), 1);
    // The failure as the terminal shows it, in colour.
    let failure = &select(&page, "#test-1 pre.failure")[0];
    let failure_text = text_of(failure);
    assert!(
        failure_text.starts_with("error: timing bound `within 100ms` broken"),
        "{failure_text}"
    );
    assert!(failure_text.contains("gaps.stream:15:23"), "{failure_text}");
    assert!(failure_text.contains('^'), "{failure_text}");
    assert!(!select(&page, "#test-1 pre.failure span.t-red").is_empty());
    assert!(!select(&page, "#test-1 pre.failure span.t-green").is_empty());
    assert!(select(&page, "#test-0 pre.failure").is_empty());
}

#[test]
fn hostile_item_text_is_shown_as_text_and_secrets_are_masked() {
    let test = Test::new()
        .spec(
            "hostile.stream",
            r#"
            test "hostile" {
              GET {{base}}/hostile
              expect sse {
                + times { data: _ }
                end
              }
            }
            "#,
        )
        .var("base", server())
        .args([
            "run",
            "hostile.stream",
            "--secret",
            "token=s3cr3t-t0ken-value",
            "--report-html",
            "report.html",
        ]);
    let output = test.run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (text, page) = read_page(&output, "report.html");
    // Nothing the server sent became markup.
    assert_eq!(
        select(&page, "script, img, h1").len(),
        1,
        "only the page's own h1"
    );
    assert_eq!(text_of(&select(&page, "h1")[0]), "streamspec run");
    assert_eq!(select(&page, "section.test").len(), 1);
    let items: Vec<String> = select(&page, "details.items li .text")
        .iter()
        .map(|item| text_of(item))
        .collect();
    assert_eq!(
        items,
        [
            r#"data: "<script>document.title='pwned'</script>""#,
            r#"data: "<img src=x onerror=alert(1)>""#,
            r#"data: "</li></ol></details><h1>injected</h1>""#,
            // Escaped by the spec line; DEL, which it leaves, by the page.
            r#"data: "\u001b[31mred\u001b[0m and a NUL \u0000 and DEL \u{7f}""#,
            r#"data: "secret *** inside""#,
        ]
    );
    let failure = text_of(&select(&page, "pre.failure")[0]);
    assert!(
        failure.contains("data: \"bad bytes \u{FFFD}\u{FFFD} here\""),
        "{failure}"
    );
    assert!(!text.contains("s3cr3t"));
    assert!(!text.contains('\u{1b}') && !text.contains('\u{0}'));
}

#[test]
fn a_stream_of_many_and_huge_items_keeps_the_report_small_and_says_what_it_left_out() {
    let test = Test::new()
        .spec(
            "many.stream",
            r#"
            test "many" {
              GET {{base}}/many
              expect lines {
                + times { _ }
                end
              }
            }
            "#,
        )
        .var("base", server())
        .kill_after(Duration::from_secs(60))
        .args(["run", "many.stream", "--report-html", "report.html"]);
    let output = test.run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let (text, page) = read_page(&output, "report.html");
    assert!(text.len() < 600_000, "{} bytes", text.len());
    let summary = text_of(&select(&page, "details.items summary")[0]);
    assert_eq!(
        summary,
        "50,005 items (1000 listed, 49005 left out: a stream lists its first 1000)"
    );
    assert_eq!(select(&page, "details.items li").len(), 1000);
    // A huge item is listed cut, and says so.
    let first = text_of(&select(&page, "details.items li .text")[0]);
    assert!(
        first.chars().count() < 300 && first.starts_with("\"hhh") && first.ends_with('…'),
        "{first}"
    );
    let notes: Vec<String> = select(&page, ".stream p.note")
        .iter()
        .map(|note| text_of(note))
        .collect();
    assert!(
        notes.contains(
            &"1,000 items marked one by one, 49,005 more counted by time (the shaded bars)"
                .to_string()
        ),
        "{notes:?}"
    );
}

#[test]
fn a_run_report_that_cannot_be_written_is_an_error_before_the_run() {
    Test::new()
        .spec("gaps.stream", SLOW_GAP)
        .var("base", server())
        .file("taken", "a file, not a directory")
        .args(["run", "gaps.stream", "--report-html", "taken/report.html"])
        .stderr("error: cannot write the report `taken/report.html`: `taken` is a file, not a directory")
        .status(3)
        .run();
    let output = Test::new()
        .spec("gaps.stream", SLOW_GAP)
        .var("base", server())
        .args(["run", "gaps.stream", "--report-html", "/dev/full"])
        .run_unchecked();
    assert_eq!(
        output.stderr,
        "error: cannot write the report `/dev/full`: No space left on device (os error 28)\n"
    );
    assert_eq!(output.status, Some(3));
}

/// The load test of these tests: as many items as the iteration's number.
pub const TICKER: &str = r#"
test "ticker" {
  GET {{base}}/sse/ticker?count={{iteration}}&interval=1ms
  expect status 200
  expect sse {
    + times { data: json { "count": integer } }
    end
  }
}
"#;

/// The ids of the page's charts, by what they show (their `aria-label`s).
fn chart_labels(page: &Html) -> Vec<String> {
    select(page, "svg.chart")
        .iter()
        .map(|chart| chart.value().attr("aria-label").unwrap_or("").to_string())
        .collect()
}

fn check_load_page(page: &Html) {
    let figures: Vec<String> = select(page, "#summary .figure .label")
        .iter()
        .map(|label| text_of(label))
        .collect();
    assert_eq!(
        figures,
        [
            "verdict",
            "iterations",
            "passed",
            "failed (errors included)",
            "of them errors",
            "goodput",
            "items",
            "duration"
        ]
    );
    let rows: Vec<Vec<String>> = select(page, "table.thresholds tbody tr")
        .iter()
        .map(|row| {
            Selector::parse("td")
                .map(|td| row.select(&td).map(|cell| text_of(&cell)).collect())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], "p99 gap < 10s");
    assert!(rows[0][2].starts_with('+'), "a margin: {:?}", rows[0]);
    assert_eq!(rows[0][3], "passed");
    assert_eq!(rows[1][0], "iterations > 1000");
    assert_eq!(rows[1][3], "FAILED");
    // No threshold allows failures: every iteration must pass still.
    assert_eq!(rows[2][0], "failures < 1 (implied)");
    assert_eq!(rows[2][3], "passed");
    let labels = chart_labels(page);
    for wanted in [
        "TTFB: p50 and p99 over time, with the active users",
        "First item: p50 and p99 over time, with the active users",
        "Gap between items: p50 and p99 over time, with the active users",
        "items per second over time",
        "iterations, failures and errors per second over time",
        "histogram of ttfb",
        "histogram of gap",
        "histogram of items per stream",
    ] {
        assert!(
            labels.iter().any(|label| label == wanted),
            "{wanted}: {labels:?}"
        );
    }
    assert_eq!(select(page, "#tests table.tests tbody tr").len(), 2);
    assert!(select(page, "script, link, img").is_empty());
}

#[test]
fn a_load_report_and_a_merged_one_have_the_charts_and_the_thresholds_table() {
    let test = Test::new()
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--users",
            "2",
            "--iterations",
            "6",
            "--threshold",
            "p99 gap < 10s",
            "--threshold",
            "iterations > 1000",
            "--report-html",
            "load.html",
            "--report-json",
            "load.json",
        ]);
    let output = test.run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "load.html");
    check_load_page(&page);
    // `merge` makes the same page from the instances' JSON reports.
    let json = std::fs::read_to_string(output.dir.path().join("load.json")).expect("the JSON");
    let merged = Test::new()
        .file("load.json", json)
        .args(["merge", "load.json", "--report-html", "merged.html"])
        .run_unchecked();
    assert_eq!(merged.status, Some(1), "{merged:?}");
    let (_, page) = read_page(&merged, "merged.html");
    check_load_page(&page);
}

#[test]
fn an_hour_of_load_makes_a_page_of_bounded_size() {
    let output = Test::new()
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--users",
            "1",
            "--iterations",
            "3",
            "--report-json",
            "load.json",
        ])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    // The run's seconds, repeated to an hour, each with its histograms.
    let text = std::fs::read_to_string(output.dir.path().join("load.json")).expect("the JSON");
    let mut report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let second = report["series"][0].clone();
    let start = second["t"].as_u64().expect("a time");
    report["series"] = (0..3600u64)
        .map(|n| {
            let mut second = second.clone();
            second["t"] = (start + n).into();
            second["active"] = (n % 500).into();
            second
        })
        .collect();
    report["services"] = serde_json::json!([{
        "name": "api",
        "instance": null,
        "samples": (0..3600u64)
            .map(|n| serde_json::json!({"t": start + n, "cpu_percent": 50.0, "rss_bytes": 1u64 << 30}))
            .collect::<Vec<_>>(),
    }]);
    let merged = Test::new()
        .file("soak.json", report.to_string())
        .args(["merge", "soak.json", "--report-html", "soak.html"])
        .run_unchecked();
    assert_eq!(merged.status, Some(0), "{merged:?}");
    let (text, page) = read_page(&merged, "soak.html");
    assert!(text.len() < 1_000_000, "{} bytes", text.len());
    let notes: Vec<String> = select(&page, "#over-time p.note")
        .iter()
        .map(|note| text_of(note))
        .collect();
    assert_eq!(
        notes,
        [
            "each second's latencies are those measured in it",
            "3600 seconds, drawn as 600 points: each the mean of 6 seconds (p99: the highest of them)"
        ]
    );
    assert!(
        chart_labels(&page)
            .iter()
            .any(|label| label == "CPU and memory of api (instance 1/1)")
    );
}

#[test]
fn every_report_file_gets_its_missing_directories_and_one_that_cannot_be_made_stops_the_load() {
    // As `run` makes them for its reports, `load` and `merge` make theirs.
    let output = Test::new()
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--users",
            "1",
            "--iterations",
            "1",
            "--report-html",
            "no/such/dir/load.html",
            "--report-json",
            "other/dir/load.json",
        ])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let (_, page) = read_page(&output, "no/such/dir/load.html");
    assert_eq!(select(&page, "#summary").len(), 1);
    let json = std::fs::read_to_string(output.dir.path().join("other/dir/load.json"))
        .expect("the JSON report");
    let merged = Test::new()
        .file("load.json", &json)
        .args([
            "merge",
            "load.json",
            "--report-json",
            "m/merged.json",
            "--report-html",
            "n/merged.html",
        ])
        .run_unchecked();
    assert_eq!(merged.status, Some(0), "{merged:?}");
    assert!(merged.dir.path().join("m/merged.json").is_file());
    assert!(merged.dir.path().join("n/merged.html").is_file());
    // A file where a directory should be: the load does not start.
    for flag in ["--report-html", "--report-json"] {
        let output = Test::new()
            .spec("ticker.stream", TICKER)
            .var("base", servers::demo())
            .file("taken", "a file, not a directory")
            .args([
                "load",
                "ticker.stream",
                "--users",
                "1",
                "--iterations",
                "1",
                flag,
                "taken/load.out",
            ])
            .run_unchecked();
        assert_eq!(output.status, Some(3), "{output:?}");
        assert!(
            output.stderr.starts_with("error: cannot write ")
                && output.stderr.contains("taken/load.out")
                && output.stderr.contains("`taken` is a file, not a directory")
                && output.stdout.is_empty(),
            "{output:?}"
        );
    }
}

#[test]
fn a_threshold_given_twice_is_one_verdict_in_every_report() {
    let test = Test::new()
        .config(
            r#"
            [load]
            thresholds = ["p99 gap < 10s", "iterations > 1000"]
            "#,
        )
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--users",
            "1",
            "--iterations",
            "2",
            "--threshold",
            "p99 gap < 10s",
            "--threshold",
            "gap p99 < 10 s",
            "--report-html",
            "load.html",
            "--report-json",
            "load.json",
        ]);
    let output = test.run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let verdicts = |stdout: &str| {
        stdout
            .lines()
            .filter(|line| line.trim_start().starts_with(['✓', '✗']))
            .count()
    };
    // The two given, and the implied `failures < 1`.
    assert_eq!(verdicts(&output.stdout), 3, "{}", output.stdout);
    let json = std::fs::read_to_string(output.dir.path().join("load.json")).expect("the JSON");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["thresholds"].as_array().map(Vec::len), Some(3));
    let (_, page) = read_page(&output, "load.html");
    assert_eq!(select(&page, "table.thresholds tbody tr").len(), 3);
    // Merged, with the threshold given again on the command line: once still.
    let merged = Test::new()
        .file("a.json", &json)
        .args([
            "merge",
            "a.json",
            "--threshold",
            "p99 gap < 10s",
            "--threshold",
            "p99 gap < 10 s",
            "--report-html",
            "merged.html",
        ])
        .run_unchecked();
    assert_eq!(verdicts(&merged.stdout), 2, "{}", merged.stdout);
    let (_, page) = read_page(&merged, "merged.html");
    assert_eq!(select(&page, "table.thresholds tbody tr").len(), 2);
}

#[test]
fn the_timeline_marks_reconnections_disconnects_aborts_and_a_broken_bound() {
    let test = Test::new()
        .spec(
            "marks.stream",
            r#"
            test "refreshed" {
              GET {{demo}}/sse/ticker?count=6&interval=5ms
              expect sse {
                id: "1"  data: _
                id: "2"  data: _
                disconnect
                reconnect
                id: "3"  data: _
                abort
              }
            }

            test "an optional item too late" {
              GET {{base}}/slow-gap
              expect sse {
                + times { data: _  within 100ms }
                end
              }
            }
            "#,
        )
        .var("demo", servers::demo())
        .var("base", server())
        .args(["run", "marks.stream", "--report-html", "report.html"]);
    let output = test.run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    let marks: Vec<String> = select(&page, "#test-0 svg text.strong")
        .iter()
        .map(|label| text_of(label))
        .filter(|label| !label.starts_with('p'))
        .collect();
    assert_eq!(marks, ["disconnect", "reconnect", "abort"]);
    assert_eq!(select(&page, "#test-0 svg line.mark").len(), 3);
    // The bound on the first item (required: waited for), and the one the 9th item broke (an
    // optional one, which nothing waited for): from the 8th, 100ms long.
    let bounds: Vec<String> = select(&page, "#test-1 svg rect.bound title")
        .iter()
        .map(|title| text_of(title))
        .collect();
    assert_eq!(bounds.len(), 2, "{bounds:?}");
    assert_eq!(bounds[0], "within 100ms: from 0µs to 100ms");
    assert!(bounds[1].starts_with("within 100ms: from "), "{bounds:?}");
}

#[test]
fn a_run_whose_service_did_not_start_leaves_a_page_saying_so() {
    let output = Test::new()
        .config(
            r#"
            [[services]]
            name = "api"
            command = ["/nonexistent/streamspec-service"]
            "#,
        )
        .spec("a.stream", SLOW_GAP)
        .var("base", server())
        .args(["run", ".", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(3), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    assert_eq!(
        text_of(&select(&page, "#summary p")[0]),
        "The run ended before its tests were reported: see its output for why (a service that \
         did not start, say)."
    );
}

#[test]
fn a_load_page_s_verdict_is_the_exit_code_s_with_why_it_failed() {
    // Every stream stalls until the end cuts it off: no threshold judges what its items
    // measured, so the run fails, though the one threshold holds.
    let output = Test::new()
        .spec(
            "stall.stream",
            "test \"stalled\" {\n  GET {{base}}/bad/stall?after=2\n  expect sse { 5 times { data: _ }; end }\n}\n",
        )
        .var("base", servers::demo())
        .args(["load", "stall.stream", "--users", "2", "--duration", "1s"])
        .args(["--graceful-stop", "100ms", "--threshold", "p99 ttfb < 5s"])
        .args(["--report-html", "load.html"])
        .kill_after(std::time::Duration::from_secs(60))
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{}", output.stderr);
    let (_, page) = read_page(&output, "load.html");
    let verdict: Vec<String> = select(&page, ".figure .value")
        .iter()
        .map(text_of)
        .take(1)
        .collect();
    assert_eq!(verdict, ["failed"]);
    let why: Vec<String> = select(&page, "p.note.fail").iter().map(text_of).collect();
    assert_eq!(
        why,
        [
            "failed: stall.stream: stalled: no iteration ended (the end of the run cut off 2 iterations), so none was judged"
        ]
    );
}
