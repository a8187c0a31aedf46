//! `--report-html`: what the charts draw where, read back from the SVG as a person reads it —
//! the wait that ended in a timeout shaded and named, the item that failed marked with the
//! items read after it, histogram bars over their values on an axis whose labels say which,
//! percentile labels apart, a load's last partial second as the rate it was, the active users
//! as steps, the time axis ending with the run, a service's exit and dropped arrivals shown,
//! memory in the summary's unit.

use scraper::{ElementRef, Html, Selector};

use crate::html_report::{SLOW_GAP, TICKER, read_page, select, server, text_of};
use crate::servers;
use crate::support::Test;

fn number(element: &ElementRef<'_>, name: &str) -> f64 {
    element
        .value()
        .attr(name)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("a number in `{name}` of {:?}", element.value()))
}

pub fn within(element: &ElementRef<'_>, selector: &str) -> Vec<String> {
    let selector = Selector::parse(selector).expect("a valid selector");
    element.select(&selector).map(|e| text_of(&e)).collect()
}

pub fn elements<'a>(svg: &ElementRef<'a>, selector: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(selector).expect("a valid selector");
    svg.select(&selector).collect()
}

/// The chart whose `aria-label` is `label`.
fn chart<'a>(page: &'a Html, label: &str) -> ElementRef<'a> {
    select(page, "svg.chart")
        .into_iter()
        .find(|svg| svg.value().attr("aria-label") == Some(label))
        .unwrap_or_else(|| panic!("no chart `{label}`"))
}

/// A value as the charts write it (`5.1ms`, `250µs`, `1.5s`, `12`, `3/s`), in the unit the
/// label's suffix names (ms for times).
fn value_of(label: &str) -> f64 {
    let label = label.trim_end_matches("/s");
    for (unit, scale) in [("µs", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)] {
        if let Some(number) = label.strip_suffix(unit)
            && let Ok(value) = number.parse::<f64>()
        {
            return value * scale;
        }
    }
    label
        .parse()
        .unwrap_or_else(|_| panic!("a value in `{label}`"))
}

/// The x axis' labels, as (value, x).
fn x_ticks(svg: &ElementRef<'_>) -> Vec<(f64, f64)> {
    elements(svg, "text.tick[text-anchor=middle]")
        .iter()
        .map(|text| (value_of(&text_of(text)), number(text, "x")))
        .collect()
}

/// How the x axis maps values to pixels, fitted on its labels: linear, or log when the page
/// says so — and every label where that map puts it.
fn x_map(svg: &ElementRef<'_>) -> impl Fn(f64) -> f64 {
    let log = within(svg, "text").iter().any(|text| text == "log scale");
    let ticks: Vec<(f64, f64)> = x_ticks(svg)
        .into_iter()
        // The bar of zeros on a log axis stands apart, labelled `0`.
        .filter(|(value, _)| !log || *value > 0.0)
        .collect();
    assert!(ticks.len() >= 3, "at least three labels: {ticks:?}");
    let at = move |value: f64| if log { value.log10() } else { value };
    let (first, last) = (ticks[0], ticks[ticks.len() - 1]);
    let slope = (last.1 - first.1) / (at(last.0) - at(first.0));
    let map = move |value: f64| first.1 + (at(value) - at(first.0)) * slope;
    for (value, x) in &ticks {
        assert!(
            (map(*value) - x).abs() < 1.0,
            "label {value} at {x}: {ticks:?}"
        );
    }
    map
}

/// Each bar stands over the values its title names, on the axis its labels define.
fn check_bars(svg: &ElementRef<'_>) {
    let map = x_map(svg);
    let bars = elements(svg, "rect.bar");
    assert!(!bars.is_empty());
    let mut previous_right = f64::MIN;
    for bar in bars {
        let title = within(&bar, "title").concat();
        let (left, right) = (number(&bar, "x"), number(&bar, "x") + number(&bar, "width"));
        if title.ends_with(" under 1µs") || title.ends_with(" of 0") {
            continue;
        }
        if let Some((_, range)) = title.split_once(" from ") {
            let (from, to) = range.split_once(" to ").expect("from A to B");
            let (from, to) = (value_of(from), value_of(to));
            assert!(
                (map(from) - left).abs() < 1.5,
                "{title}: {left} for {}",
                map(from)
            );
            assert!(
                (map(to) - right).abs() < 1.5,
                "{title}: {right} for {}",
                map(to)
            );
        } else {
            let (_, value) = title.split_once(" at ").expect("N at V");
            let centre = map(value_of(value));
            assert!(((left + right) / 2.0 - centre).abs() < 1.5, "{title}");
        }
        assert!(left >= previous_right - 0.5, "bars apart: {title}");
        previous_right = right;
    }
}

/// No two percentile labels cover each other (7px a character: more than bold 11px digits take).
fn check_labels_apart(svg: &ElementRef<'_>) {
    let labels: Vec<(f64, f64, f64, String)> = elements(svg, "text.strong")
        .iter()
        .map(|text| {
            let content = text_of(text);
            let width = content.chars().count() as f64 * 6.0;
            let x = number(text, "x");
            let (from, to) = match text.value().attr("text-anchor") {
                Some("end") => (x - width, x),
                Some("middle") => (x - width / 2.0, x + width / 2.0),
                _ => (x, x + width),
            };
            (number(text, "y"), from, to, content)
        })
        .collect();
    assert!(!labels.is_empty());
    for (n, a) in labels.iter().enumerate() {
        for b in &labels[n + 1..] {
            let overlap = (a.0 - b.0).abs() < 10.0 && a.1 < b.2 && b.1 < a.2;
            assert!(!overlap, "labels cover each other: {a:?} and {b:?}");
        }
    }
}

#[test]
fn a_stall_that_ends_in_a_timeout_or_a_broken_bound_is_shaded_and_named_as_such() {
    let spec = r#"
test "the ninth too late" {
  GET {{base}}/slow-gap
  expect sse {
    8 times { data: _ }
    data: "9"  within 100ms
    * times { data: _ }
    end
  }
}

test "stalled" {
  GET {{base}}/stall
  expect sse {
    + times { data: _ }
    end
  }
}
"#;
    let output = Test::new()
        .spec("stall.stream", spec)
        .var("base", server())
        .args([
            "run",
            "stall.stream",
            "--timeout",
            "1s",
            "--report-html",
            "report.html",
        ])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    // A broken bound is named as the bound, not as a timeout (the terminal says "timing bound
    // `within 100ms` broken").
    let cases = [
        (
            0,
            8,
            ": `within 100ms` broken",
            "no item within the bound: `within 100ms` broken",
        ),
        (1, 3, " until timeout", "no item until the timeout"),
    ];
    for (test, items, ending, row) in cases {
        let svg = select(&page, &format!("#test-{test} svg.chart"))[0];
        // Named as the wait it was, the one slow label of the chart.
        let named = within(&svg, "text.slow");
        assert_eq!(named.len(), 1, "{named:?}");
        assert!(
            named[0].starts_with("no item for ") && named[0].ends_with(ending),
            "{named:?}"
        );
        let marks = within(&svg, "text.strong");
        assert!(
            marks[0].starts_with(if test == 0 {
                "`within 100ms` broken at "
            } else {
                "timed out at "
            }),
            "{marks:?}"
        );
        // Shaded from the last item to the timeout's mark.
        let stall = elements(&svg, "rect.stall");
        assert_eq!(stall.len(), 1);
        let (from, to) = (
            number(&stall[0], "x"),
            number(&stall[0], "x") + number(&stall[0], "width"),
        );
        let taken: Vec<f64> = elements(&svg, "line.item:not(.after-failure)")
            .iter()
            .map(|line| number(line, "x1"))
            .collect();
        assert_eq!(taken.len(), items);
        assert!((taken[items - 1] - from).abs() < 1.0, "{taken:?} {from}");
        let timeout = number(&elements(&svg, "line.mark")[0], "x1");
        assert!((timeout - to).abs() < 1.0, "{timeout} {to}");
        // In the list too, after the last item.
        let rows = select(&page, &format!("#test-{test} details.items li"));
        assert_eq!(within(&rows[items], ".text"), [row], "{test}");
        let legend = text_of(&select(&page, &format!("#test-{test} p.legend"))[0]);
        assert!(legend.contains(row), "{legend}");
    }
}

#[test]
fn the_timeline_draws_every_item_read_and_marks_the_one_that_failed() {
    let spec = r#"
test "the fourth is wrong" {
  GET {{demo}}/sse/ticker?count=12&interval=5ms
  expect sse {
    3 times { data: _ }
    data: "nope"
    * times { data: _ }
    end
  }
}
"#;
    let output = Test::new()
        .spec("failed.stream", spec)
        .var("demo", servers::demo())
        .args(["run", "failed.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    let diff = text_of(&select(&page, "pre.failure")[0]);
    // The diff shows what came after the fourth, to the twelfth.
    assert!(diff.contains(r#"data: json { "count": 12, "#), "{diff}");
    let svg = select(&page, "#test-0 svg.chart")[0];
    assert_eq!(
        svg.value().attr("aria-label"),
        Some("timeline of the 4 items of the stream, and 8 read after the failure")
    );
    // The bytes count what was read for the diff too: the item count says so.
    let figures = text_of(&select(&page, "#test-0 .stream p.note")[0]);
    assert!(
        figures.starts_with("4 items (+8 read after the failure) · "),
        "{figures}"
    );
    // Every item the stream sent, the diff's included: those after the failure apart.
    // Items at one pixel are one mark, whose title says how many.
    let items = elements(&svg, "line.item");
    let counted = |marks: &[ElementRef<'_>]| -> usize {
        marks
            .iter()
            .map(|mark| {
                let title = within(mark, "title").concat();
                title
                    .split_once(" items at ")
                    .map_or(1, |(count, _)| count.parse().expect("a count"))
            })
            .sum()
    };
    assert_eq!(counted(&items), 12);
    assert_eq!(counted(&elements(&svg, "line.item.after-failure")), 8);
    // The fourth, marked and named in the failure's colour.
    let failed = elements(&svg, "line.failed-item");
    assert_eq!(failed.len(), 1);
    assert!(
        items
            .iter()
            .any(|item| (number(&failed[0], "x1") - number(item, "x1")).abs() <= 1.0)
    );
    assert_eq!(within(&svg, "text.failed"), ["item 4 failed"]);
    let legend = text_of(&select(&page, "#test-0 p.legend")[0]);
    assert!(
        legend.contains("item 4: failed its expectation"),
        "{legend}"
    );
    assert!(
        legend.contains("8 items read after the failure"),
        "{legend}"
    );
    let rows = select(&page, "#test-0 details.items li");
    assert_eq!(rows.len(), 12);
    assert!(rows[3].value().classes().any(|class| class == "failed"));
    assert!(
        rows[4..]
            .iter()
            .all(|row| row.value().classes().any(|class| class == "after-failure"))
    );
}

#[test]
fn a_histogram_of_a_few_close_values_has_an_honest_axis() {
    // Seven gaps of about 5ms: a bar or two.
    let output = Test::new()
        .spec("gaps.stream", SLOW_GAP)
        .var("base", server())
        .args(["run", "gaps.stream", "--report-html", "report.html"])
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let (_, page) = read_page(&output, "report.html");
    for test in 0..2 {
        let histogram = select(&page, &format!("#test-{test} svg.chart"))[1];
        check_bars(&histogram);
        check_labels_apart(&histogram);
    }
}

/// A load report of `TICKER`, as JSON, to make pages from with `merge`.
fn load_json() -> serde_json::Value {
    let output = Test::new()
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--users",
            "1",
            "--iterations",
            "6",
            "--report-json",
            "load.json",
        ])
        .run_unchecked();
    assert_eq!(output.status, Some(0), "{output:?}");
    let text = std::fs::read_to_string(output.dir.path().join("load.json")).expect("the JSON");
    serde_json::from_str(&text).expect("JSON")
}

fn merged_page(report: &serde_json::Value) -> (crate::support::Output, Html) {
    let merged = Test::new()
        .file("part.json", report.to_string())
        .args(["merge", "part.json", "--report-html", "merged.html"])
        .run_unchecked();
    assert_eq!(merged.status, Some(0), "{merged:?}");
    let (_, page) = read_page(&merged, "merged.html");
    (merged, page)
}

#[test]
fn load_histograms_have_honest_axes_and_percentile_labels_apart() {
    let mut report = load_json();
    // Connection times as a run measured them: p50 6ms, p95 10ms and p99 11ms near the top.
    let mut connect = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
    for (micros, count) in [
        (100, 1),
        (1_500, 2),
        (2_500, 7),
        (4_000, 7),
        (6_000, 20),
        (10_000, 1),
        (11_000, 2),
    ] {
        connect.record_n(micros, count).expect("recorded");
    }
    report["tests"][0]["metrics"]["connect"]["histogram"] =
        streamspec::load::json::encode(&connect).into();
    let (_, page) = merged_page(&report);
    for label in [
        "histogram of connect",
        "histogram of items per stream",
        "histogram of ttfb",
    ] {
        let svg = chart(&page, label);
        check_bars(&svg);
        check_labels_apart(&svg);
    }
}

#[test]
fn load_charts_show_the_run_as_it_was_with_a_service_exit_and_dropped_arrivals() {
    let mut report = load_json();
    // Three full seconds at 1,000 items/s, then 400 items in the 0.4s the run had left.
    let second = report["series"][0].clone();
    let start = second["t"].as_u64().expect("a time");
    let figures = [
        (1000, 10, 10, 0, 0),
        (1000, 10, 8, 2, 5),
        (1000, 10, 10, 0, 0),
        (400, 4, 4, 0, 0),
    ];
    report["series"] = figures
        .iter()
        .enumerate()
        .map(|(n, &(items, iterations, passed, errors, dropped))| {
            let mut second = second.clone();
            second["t"] = (start + n as u64).into();
            second["items"] = items.into();
            second["iterations"] = iterations.into();
            second["passed"] = passed.into();
            second["errors"] = errors.into();
            second["dropped"] = dropped.into();
            second["active"] = if n == 3 { 0 } else { 10 }.into();
            second
        })
        .collect();
    report["elapsed"] = 3400.into();
    report["services"] = serde_json::json!([{
        "name": "api",
        "instance": null,
        "samples": (0..4u64)
            .map(|n| serde_json::json!({"t": start + n, "cpu_percent": 50.0, "rss_bytes": 1_500_000_000u64}))
            .collect::<Vec<_>>(),
        "exited": {"how": "exited with code 3", "at_ms": 2400},
    }]);
    let (merged, page) = merged_page(&report);
    let rates = chart(&page, "items per second over time");
    let iterations = chart(
        &page,
        "iterations, failures and errors per second over time",
    );
    // The last 0.4 s as the 1,000 items/s it was, not a drop to 400.
    let points: Vec<(f64, f64)> = elements(&rates, "polyline.s1")[0]
        .value()
        .attr("points")
        .expect("points")
        .split(' ')
        .map(|point| {
            let (x, y) = point.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect();
    assert_eq!(points.len(), 4);
    assert!(
        points.iter().all(|(_, y)| (y - points[0].1).abs() < 1.0),
        "{points:?}"
    );
    let notes: Vec<String> = select(&page, "#over-time p.note")
        .iter()
        .map(|note| text_of(note))
        .collect();
    assert!(
        notes.contains(
            &"the run's last second lasted 400ms: its rates are per second of that".to_string()
        ),
        "{notes:?}"
    );
    // Dropped arrivals with the errors.
    assert_eq!(elements(&iterations, "polyline.dropped").len(), 1);
    assert!(within(&iterations, "text").contains(&"dropped/s (right)".to_string()));
    for svg in select(&page, "#over-time svg.chart") {
        // The time axis ends where the run did.
        let ticks = x_ticks(&svg);
        let last_tick = ticks.iter().map(|(value, _)| *value).fold(0.0, f64::max);
        assert!(last_tick <= 3400.0, "{ticks:?}");
        let axis_end = elements(&svg, "line.axis")
            .iter()
            .filter(|line| number(line, "y1") == number(line, "y2"))
            .map(|line| number(line, "x2"))
            .fold(0.0, f64::max);
        let map = x_map(&svg);
        assert!((map(3400.0) - axis_end).abs() < 1.0, "{axis_end}");
        // The service's exit, marked where it happened.
        let exit = elements(&svg, "line.exit");
        assert_eq!(exit.len(), 1);
        assert!((number(&exit[0], "x1") - map(2400.0)).abs() < 1.0);
        assert_eq!(within(&svg, "text.exit"), ["api exited with code 3"]);
        // The active users, a step at a time.
        for users in elements(&svg, "path.users-area") {
            let corners: Vec<(f64, f64)> = users
                .value()
                .attr("d")
                .expect("a path")
                .split(['M', 'L', 'Z'])
                .filter_map(|point| point.trim().split_once(','))
                .map(|(x, y)| (x.parse().expect("x"), y.parse().expect("y")))
                .collect();
            for pair in corners.windows(2) {
                let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
                assert!(
                    (x1 - x2).abs() < 0.05 || (y1 - y2).abs() < 0.05,
                    "a slope: {pair:?}"
                );
            }
        }
    }
    let exited = text_of(&select(&page, "p.note.exited")[0]);
    assert_eq!(
        exited,
        "service api (instance 1/1) exited with code 3 at 2.4s"
    );
    assert!(merged.stdout.contains(&exited), "{}", merged.stdout);
    // Memory in the summary's unit.
    let memory = chart(&page, "CPU and memory of api (instance 1/1)");
    let labels = within(&memory, "text.users");
    assert!(
        labels.iter().any(|label| label.ends_with(" MB")),
        "{labels:?}"
    );
    assert!(!page.html().contains("MiB"));
    assert!(
        merged.stdout.contains("memory max 1500.0 MB"),
        "{}",
        merged.stdout
    );
}

#[test]
fn legends_sit_above_the_plot_where_no_line_or_label_runs_through_them() {
    let mut report = load_json();
    let start = report["series"][0]["t"].as_u64().expect("a time");
    report["services"] = serde_json::json!([{
        "name": "demo",
        "instance": null,
        "samples": (0..2u64)
            .map(|n| serde_json::json!({"t": start + n, "cpu_percent": 5.0, "rss_bytes": 30_000_000u64}))
            .collect::<Vec<_>>(),
        "exited": {"how": "exited with code 124", "at_ms": 100},
    }]);
    let (_, page) = merged_page(&report);
    let charts = select(&page, "#over-time svg.chart, #services svg.chart");
    assert!(charts.len() >= 3, "{}", charts.len());
    for svg in charts {
        // The plot's top: where the left axis ends.
        let plot_top = elements(&svg, "line.axis")
            .iter()
            .filter(|line| number(line, "x1") == number(line, "x2"))
            .map(|line| number(line, "y1").min(number(line, "y2")))
            .fold(f64::MAX, f64::min);
        let legends = elements(&svg, "rect.legend");
        assert!(!legends.is_empty());
        for legend in legends {
            assert!(
                number(&legend, "y") + number(&legend, "height") <= plot_top,
                "a legend inside the plot (top {plot_top}): {:?}",
                legend.value()
            );
        }
        for label in elements(&svg, "text.exit") {
            assert!(
                number(&label, "y") - 10.0 >= plot_top,
                "{:?}",
                label.value()
            );
        }
    }
}

#[test]
fn the_load_page_counts_errors_and_failures_as_the_terminal_summary_does() {
    let mut report = load_json();
    // `merge` adds the tests' figures up into the total.
    let total = &mut report["tests"][0];
    total["counts"]["failed"] = 7171.into();
    total["counts"]["errored"] = 6179.into();
    total["errors"] = serde_json::json!({
        "refused": {"count": 6174, "first_at": 3045},
        "reset": {"count": 5, "first_at": 2996},
        "timeout": {"count": 9, "first_at": 1000},
    });
    let failure = |at: &str, count: u64| serde_json::json!({"at": at, "message": "m", "count": count, "example": "e"});
    total["failures"] = serde_json::json!([
        failure("./a.stream:2:3", 5),
        failure("./b.stream:5:5", 992),
        failure("./c.stream:1:1", 3082),
    ]);
    let merged = Test::new()
        .file("part.json", report.to_string())
        .args(["merge", "part.json", "--report-html", "merged.html"])
        .run_unchecked();
    assert_eq!(merged.status, Some(1), "{merged:?}");
    let (_, page) = read_page(&merged, "merged.html");
    let labels: Vec<String> = select(&page, "#summary .figure .label")
        .iter()
        .map(|label| text_of(label))
        .collect();
    assert_eq!(
        labels[2..5],
        ["passed", "failed (errors included)", "of them errors"],
        "{labels:?}"
    );
    let column = |table: &str, n: usize| -> Vec<String> {
        select(&page, &format!("table.{table} tbody tr"))
            .iter()
            .map(|row| within(row, "td")[n - 1].clone())
            .collect()
    };
    // As the terminal lists them: the most frequent first, times as it writes them.
    assert_eq!(column("errors", 1), ["refused", "timeout", "reset"]);
    assert_eq!(column("errors", 3), ["3.0s", "1.0s", "3.0s"]);
    assert!(merged.stdout.contains("first at 3.0s"), "{}", merged.stdout);
    assert_eq!(
        column("failures", 1),
        ["./c.stream:1:1", "./b.stream:5:5", "./a.stream:2:3"]
    );
}

#[test]
fn memory_is_told_from_cpu_and_warnings_look_like_warnings() {
    let mut report = load_json();
    let start = report["series"][0]["t"].as_u64().expect("a time");
    report["services"] = serde_json::json!([{
        "name": "api",
        "instance": null,
        "samples": (0..2u64)
            .map(|n| serde_json::json!({"t": start + n, "cpu_percent": 5.0, "rss_bytes": 30_000_000u64}))
            .collect::<Vec<_>>(),
        "exited": null,
    }]);
    report["client"]["saturation"] = serde_json::json!(["CPU at 100% from 1.0s"]);
    let (_, page) = merged_page(&report);
    let memory = chart(&page, "CPU and memory of api (instance 1/1)");
    // Dashed, under an axis that says what it is.
    assert_eq!(elements(&memory, "polyline.memory.dashed").len(), 1);
    assert_eq!(within(&memory, "text.axis-name"), ["CPU", "memory"]);
    let warnings: Vec<String> = select(&page, "p.note.warning")
        .iter()
        .map(|note| text_of(note))
        .collect();
    assert_eq!(warnings, ["SATURATED: instance 1/1: CPU at 100% from 1.0s"]);
    // The active users' swatch has an edge, seen on a dark page too.
    assert!(page.html().contains("rect.legend.users-area { stroke:"));
}

#[test]
fn an_open_load_draws_its_offered_rate_apart_from_the_items_and_a_threshold_on_its_metric() {
    let output = Test::new()
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--rate",
            "20/s",
            "--duration",
            "2s",
        ])
        .args(["--threshold", "p99 gap < 2ms", "--report-html", "load.html"])
        .run_unchecked();
    // The gaps of 1ms may pass the threshold or not on a busy machine: either way it is drawn.
    assert!(matches!(output.status, Some(0 | 1)), "{output:?}");
    let (_, page) = read_page(&output, "load.html");
    // Items and iterations each on a chart of their own: one would lie flat beside the other.
    let items = chart(&page, "items per second over time");
    assert_eq!(elements(&items, "polyline.s4").len(), 0);
    let iterations = chart(
        &page,
        "iterations, failures and errors per second over time",
    );
    assert_eq!(elements(&iterations, "polyline.s1:not(.offered)").len(), 0);
    // The schedule's 20/s, drawn as offered.
    let offered = elements(&iterations, "polyline.offered");
    assert_eq!(offered.len(), 1);
    assert!(within(&iterations, "text").contains(&"offered arrivals/s".to_string()));
    let y_of_20 = elements(&iterations, "text.tick[text-anchor=end]")
        .iter()
        .find(|text| text_of(text) == "20/s")
        .map(|text| number(text, "y") - 4.0)
        .expect("a 20/s tick");
    for point in offered[0]
        .value()
        .attr("points")
        .expect("points")
        .split(' ')
    {
        let (_, y) = point.split_once(',').expect("x,y");
        let y: f64 = y.parse().expect("y");
        assert!((y - y_of_20).abs() < 1.0, "{point} vs {y_of_20}");
    }
    // The threshold's bound on the gap chart, named.
    let gaps = chart(
        &page,
        "Gap between items: p50 and p99 over time, with the active users",
    );
    assert_eq!(elements(&gaps, "line.threshold").len(), 1);
    assert_eq!(within(&gaps, "text.threshold"), ["p99 gap < 2ms"]);
    let ttfb = chart(&page, "TTFB: p50 and p99 over time, with the active users");
    assert!(elements(&ttfb, "line.threshold").is_empty());
    // A bound far above the values does not flatten them: it is named at the top.
    let output = Test::new()
        .spec("ticker.stream", TICKER)
        .var("base", servers::demo())
        .args([
            "load",
            "ticker.stream",
            "--rate",
            "20/s",
            "--duration",
            "1s",
        ])
        .args(["--threshold", "p99 gap < 1h", "--report-html", "load.html"])
        .run_unchecked();
    let (_, page) = read_page(&output, "load.html");
    let gaps = chart(
        &page,
        "Gap between items: p50 and p99 over time, with the active users",
    );
    assert!(elements(&gaps, "line.threshold").is_empty());
    assert_eq!(within(&gaps, "text.threshold"), ["↑ p99 gap < 1h"]);
}
