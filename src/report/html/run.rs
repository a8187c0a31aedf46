//! The HTML report of a spec run (`run --report-html`): the summary, then a section per test
//! with its status, where it is, its failures as the terminal shows them, and per stream a
//! timeline of the arrivals (bounds, the slowest gap, reconnections, aborts and timeouts
//! marked), a histogram of the gaps with p50, p95 and p99, and the items in a list to unfold.
//! The outcomes come masked (see [`crate::report::redact`]).

use std::fmt::Write;
use std::time::Duration;

use super::escape::escape;
use super::histogram;
use super::page;
use super::svg::format_ms;
use super::timeline_chart::{left_out, slow_gaps, timeline_chart};
use crate::interp::timeline::{self, Arrival, Timeline};
use crate::outcome::{StreamReport, TestOutcome};
use crate::report::{Status, Summary, human, plural, status};
use crate::style::Palette;
use crate::transport::http::format_count;

/// Items listed in the whole report, every stream's together: past it, streams list none (the
/// failed and erroring tests' streams claim theirs first).
/// At 240 characters an item (up to about 1.3 KB once escaped) the list stays within a few MB.
pub const LISTED_IN_ALL: usize = 5_000;
/// Streams drawn in the whole report, the failed and erroring tests' first: past it, a stream
/// shows its figures only.
pub const CHARTS_IN_ALL: usize = 300;

/// Bytes of charts in the whole report: past it, a stream shows its figures only. A chart of
/// a thousand items spread over every pixel is about 120 KB; most are a few KB.
pub const CHART_BYTES_IN_ALL: usize = 8 * 1024 * 1024;

pub(super) const WIDTH: f64 = 1000.0;

/// What the report may still list and draw.
struct Budget {
    items: usize,
    charts: usize,
    chart_bytes: usize,
}

/// The page for a finished run.
pub fn render(summary: &Summary, outcomes: &[TestOutcome]) -> String {
    let mut body = String::new();
    let verdict = if summary.failed == 0 && summary.errors == 0 {
        "pass"
    } else {
        "fail"
    };
    let mut figures = vec![
        ("tests", summary.tests().to_string(), ""),
        ("passed", summary.passed.to_string(), "pass"),
        (
            "failed",
            summary.failed.to_string(),
            if summary.failed > 0 { "fail" } else { "" },
        ),
        (
            "errors",
            summary.errors.to_string(),
            if summary.errors > 0 { "error" } else { "" },
        ),
    ];
    if summary.updated > 0 {
        figures.push(("updated", summary.updated.to_string(), ""));
    }
    figures.push(("duration", time(summary.duration), ""));
    body.push_str(&format!(
        "<section class=\"summary {verdict}\" id=\"summary\">"
    ));
    body.push_str(&page::figures(&figures));
    body.push_str(&index(outcomes));
    body.push_str("</section>\n");
    let mut budget = Budget {
        items: LISTED_IN_ALL,
        charts: CHARTS_IN_ALL,
        chart_bytes: CHART_BYTES_IN_ALL,
    };
    // The failed and erroring tests have first claim on what the page may draw and list: a
    // failure after many passing tests keeps its charts and items. Shown in run order still.
    let mut sections = vec![String::new(); outcomes.len()];
    let (failed, passed): (Vec<_>, Vec<_>) = outcomes
        .iter()
        .enumerate()
        .partition(|(_, outcome)| !outcome.passed());
    for (number, outcome) in failed.into_iter().chain(passed) {
        sections[number] = test_section(number, outcome, &mut budget);
    }
    body.push_str(&sections.concat());
    page::document("streamspec run", &body)
}

/// The page for a run that ended before any test was reported (what went wrong is on the
/// terminal, where the run printed it).
pub fn render_unfinished() -> String {
    page::document(
        "streamspec run",
        "<section class=\"summary fail\" id=\"summary\"><p>The run ended before its tests \
         were reported: see its output for why (a service that did not start, say).</p></section>\n",
    )
}

fn badge(outcome: &TestOutcome) -> String {
    match status(outcome) {
        Status::Passed => page::badge("PASS", "pass"),
        Status::Failed => page::badge("FAIL", "fail"),
        Status::Error => page::badge("ERROR", "error"),
    }
}

/// Each test, a line: its status and a link to its section; the failed ones in view, the
/// passed ones folded.
fn index(outcomes: &[TestOutcome]) -> String {
    let line = |(n, outcome): (usize, &TestOutcome)| {
        format!(
            "<li>{}<a href=\"#test-{n}\">{}: {}</a></li>",
            badge(outcome),
            escape(&outcome.file.path.display().to_string()),
            escape(&outcome.name)
        )
    };
    let failed: String = outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| !outcome.passed())
        .map(line)
        .collect();
    let passed: Vec<String> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| outcome.passed())
        .map(line)
        .collect();
    let mut out = String::from("<nav class=\"tests\">");
    if !failed.is_empty() {
        let _ = write!(out, "<ul class=\"failed\">{failed}</ul>");
    }
    if !passed.is_empty() {
        let _ = write!(
            out,
            "<details><summary>{} passed</summary><ul>{}</ul></details>",
            plural(passed.len(), "test"),
            passed.concat()
        );
    }
    out.push_str("</nav>\n");
    out
}

fn test_section(number: usize, outcome: &TestOutcome, budget: &mut Budget) -> String {
    let line = outcome.file.line_col(outcome.span.start).line;
    let mut out = format!(
        "<section class=\"test\" id=\"test-{number}\">\n<h2>{}{}</h2>\n<p class=\"note mono\">{}:{line} · {}</p>\n",
        badge(outcome),
        escape(&outcome.name),
        escape(&outcome.file.path.display().to_string()),
        time(outcome.duration)
    );
    for failure in &outcome.failures {
        let text = human::render_failure(outcome, failure, &Palette::colored());
        let _ = writeln!(
            out,
            "<pre class=\"terminal failure\">{}</pre>",
            super::terminal::to_html(&text)
        );
    }
    for (index, stream) in outcome.streams.iter().enumerate() {
        out.push_str(&stream_section(number, index, outcome, stream, budget));
    }
    for barrier in &outcome.barriers {
        let text = human::render_barrier(outcome, barrier, &Palette::plain());
        let _ = writeln!(out, "<p class=\"note mono\">{}</p>", escape(text.trim()));
    }
    out.push_str("</section>\n");
    out
}

fn stream_section(
    test: usize,
    index: usize,
    outcome: &TestOutcome,
    stream: &StreamReport,
    budget: &mut Budget,
) -> String {
    let line = outcome.file.line_col(stream.span.start).line;
    let what = match &stream.name {
        Some(name) => format!("{} {name}", stream.kind),
        None => stream.kind.to_string(),
    };
    let branch = stream
        .branch
        .as_ref()
        .map(|branch| format!(" (branch {branch})"))
        .unwrap_or_default();
    let mut out = format!(
        "<div class=\"stream\" id=\"test-{test}-stream-{index}\">\n<h3>{} on line {line}{}</h3>\n",
        escape(&what),
        escape(&branch)
    );
    let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&figures(stream)));
    let Some(timeline) = &stream.timeline else {
        out.push_str("</div>\n");
        return out;
    };
    let charts = (budget.charts > 0).then(|| {
        let mut charts = timeline_chart(stream, timeline);
        charts.push_str(&left_out(timeline));
        if !timeline.gap_values.is_empty() {
            charts.push_str(&gap_histogram(stream, timeline));
        }
        charts
    });
    match charts {
        Some(charts) if charts.len() <= budget.chart_bytes => {
            budget.charts -= 1;
            budget.chart_bytes -= charts.len();
            out.push_str(&charts);
        }
        Some(_) => {
            let _ = writeln!(
                out,
                "<p class=\"note\">no charts: the report's charts reached {} MiB, the failed tests' drawn first</p>",
                CHART_BYTES_IN_ALL / (1024 * 1024)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "<p class=\"note\">no charts: the report draws {CHARTS_IN_ALL} streams, the failed ones first</p>"
            );
        }
    }
    out.push_str(&item_list(stream, timeline, budget));
    out.push_str("</div>\n");
    out
}

/// The stream's figures on one line, as `run -v` gives them.
fn figures(stream: &StreamReport) -> String {
    let mut parts = vec![
        // The bytes are counted as read, those of the items read for the diff with them.
        match stream
            .timeline
            .as_ref()
            .map_or(0, |timeline| timeline.after_failure)
        {
            0 => counted(stream.items, "item"),
            after => format!(
                "{} (+{} read after the failure)",
                counted(stream.items, "item"),
                format_count(after as usize)
            ),
        },
        counted(stream.bytes, "byte"),
        plural(stream.connections as usize, "connection"),
    ];
    match stream.ttfb {
        Some(ttfb) => parts.push(format!("ttfb {}", time(ttfb))),
        None => parts.push("no response headers".to_string()),
    }
    if let Some(first) = stream.first_item {
        parts.push(format!("first item {}", time(first)));
    }
    if let Some(duration) = stream.duration {
        parts.push(format!("duration {}", time(duration)));
    }
    if let Some([min, mean, p50, p95, p99, max]) = stream.gaps {
        parts.push(format!(
            // The waits before reconnecting are no gaps between items (see `record_reconnect`).
            "gaps{} min {} · mean {} · p50 {} · p95 {} · p99 {} · max {}",
            if stream.connections > 1 {
                " within a connection"
            } else {
                ""
            },
            time(min),
            time(mean),
            time(p50),
            time(p95),
            time(p99),
            time(max)
        ));
    }
    parts.join(" · ")
}

/// A measured time as the page writes it everywhere (figures, labels, titles, the histogram's
/// axis and percentiles), to three significant digits: `4.2µs`, `752µs`, `20.7ms`, `1.5s` (the
/// terminal's `0.00ms` would hide a 4µs mean), and zero with a unit, `0µs`.
pub fn time(duration: Duration) -> String {
    time_ms(ms(duration))
}

/// [`time`] of a value in milliseconds.
fn time_ms(ms: f64) -> String {
    if ms == 0.0 {
        "0µs".to_string()
    } else {
        format_ms(ms)
    }
}

/// `3,000 items`, `84,786 bytes`: a count with thousands separators.
pub(super) fn counted(n: u64, word: &str) -> String {
    let count = format_count(n as usize);
    if n == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

pub(super) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn gap_histogram(stream: &StreamReport, timeline: &Timeline) -> String {
    // Gaps all under the microsecond they are measured in: a chart of one bar at 0 says less.
    if timeline.gap_values.iter().all(|&(micros, _)| micros == 0) {
        let total: u64 = timeline.gap_values.iter().map(|(_, count)| count).sum();
        return if total == 1 {
            "<p class=\"note\">its one gap 0 (the items came in one read)</p>\n".to_string()
        } else {
            format!(
                "<p class=\"note\">all {} gaps 0 (the items came in one read)</p>\n",
                format_count(total as usize)
            )
        };
    }
    let values: Vec<(f64, u64)> = timeline
        .gap_values
        .iter()
        .map(|&(micros, count)| (micros as f64 / 1000.0, count))
        .collect();
    let total: u64 = values.iter().map(|(_, count)| count).sum();
    let percentiles: Vec<(&str, f64)> = match stream.gaps {
        Some([_, _, p50, p95, p99, _]) => {
            vec![("p50", ms(p50)), ("p95", ms(p95)), ("p99", ms(p99))]
        }
        None => Vec::new(),
    };
    histogram::chart(&histogram::Histogram {
        values: &values,
        whole: false,
        format: time_ms,
        // Gaps are measured in microseconds.
        resolution: 0.001,
        zero: "under 1µs",
        percentiles: &percentiles,
        label: &format!(
            "histogram of the {} gaps between items",
            format_count(total as usize)
        ),
    })
}

/// The items with their times and the gap before each, to unfold; the ones after the
/// slowest gap tinted.
fn item_list(stream: &StreamReport, timeline: &Timeline, budget: &mut Budget) -> String {
    let slow = slow_gaps(stream, timeline);
    let listed = timeline.listed.len().min(budget.items);
    budget.items -= listed;
    let mut summary = counted(timeline.arrivals(), "item");
    let not_listed = timeline.arrivals() - listed as u64;
    if not_listed > 0 {
        let why = if listed < timeline.listed.len() {
            format!(
                "the report lists at most {LISTED_IN_ALL} items in all, the failed tests' first"
            )
        } else {
            format!("a stream lists its first {}", timeline::LISTED)
        };
        let _ = write!(summary, " ({listed} listed, {not_listed} left out: {why})");
    }
    if timeline.texts_not_kept > 0 {
        let _ = write!(
            summary,
            "; the texts of {} not kept: the run's item texts reached {} MiB",
            plural(timeline.texts_not_kept as usize, "item"),
            timeline::TEXT_BYTES_IN_ALL / (1024 * 1024)
        );
    }
    if listed == 0 {
        return format!("<p class=\"note\">{}</p>\n", escape(&summary));
    }
    let mut out = format!(
        "<details class=\"items\"><summary>{}</summary>\n<ol class=\"items\">",
        escape(&summary)
    );
    let mut previous: Option<Duration> = None;
    let mut stall = timeline.stall;
    for (
        number,
        Arrival {
            at,
            text,
            after_failure,
        },
    ) in timeline.listed.iter().take(listed).enumerate()
    {
        // The wait that timed out, in its place: before what was read after it.
        if *after_failure && let Some(stall) = stall.take() {
            out.push_str(&stall_row(stall, timeline));
        }
        let slow = previous.is_some() && slow.iter().any(|gap| gap.at == *at);
        let gap = previous
            .map(|previous| format!("+{}", time(at.saturating_sub(previous))))
            .unwrap_or_default();
        let text = match text {
            Some(text) => escape(text),
            None => "<span class=\"muted\">(text not kept)</span>".to_string(),
        };
        let failed = timeline
            .failed_item
            .is_some_and(|failed| failed.number == number as u64 + 1);
        let class = match (slow, failed, *after_failure) {
            (_, true, _) => " class=\"failed\"",
            (_, _, true) => " class=\"after-failure\"",
            (true, ..) => " class=\"slow\"",
            _ => "",
        };
        let _ = write!(
            out,
            "<li{class}><span class=\"n\">{}</span><span class=\"at mono\">{}</span><span class=\"at mono\">{}</span><span class=\"text mono\">{text}</span></li>",
            number + 1,
            time(*at),
            gap,
        );
        previous = Some(*at);
    }
    if let Some(stall) = stall {
        out.push_str(&stall_row(stall, timeline));
    }
    out.push_str("</ol></details>\n");
    out
}

/// What the wait that failed the stream was: one that timed out, or one that broke a bound.
pub(super) fn stall_words(timeline: &Timeline) -> String {
    match &timeline.stall_bound {
        Some(bound) => format!("no item within the bound: `{bound}` broken"),
        None => "no item until the timeout".to_string(),
    }
}

/// The list's row for the wait that failed the stream.
fn stall_row(stall: timeline::Gap, timeline: &Timeline) -> String {
    format!(
        "<li class=\"stall\"><span class=\"n\"></span><span class=\"at mono\">{}</span><span class=\"at mono\">+{}</span><span class=\"text\">{}</span></li>",
        time(stall.at),
        time(stall.length),
        escape(&stall_words(timeline))
    )
}
