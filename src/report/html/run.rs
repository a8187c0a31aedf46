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
use super::svg::{Chart, format_ms, nice_ticks};
use crate::interp::timeline::{self, Arrival, MarkKind, Timeline};
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

const WIDTH: f64 = 1000.0;

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
fn counted(n: u64, word: &str) -> String {
    let count = format_count(n as usize);
    if n == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// What the timeline chart spans, in milliseconds since the request: to the stream's end, its
/// last arrival and mark, and the bounds not far past them.
fn chart_end(stream: &StreamReport, timeline: &Timeline) -> f64 {
    let last_bucket = timeline
        .buckets
        .iter()
        .rposition(|&count| count > 0)
        .map_or(0.0, |index| ms(timeline.bucket_width) * (index + 1) as f64);
    let mut end = [
        stream.duration.map_or(0.0, ms),
        timeline.listed.last().map_or(0.0, |arrival| ms(arrival.at)),
        last_bucket.min(stream.duration.map_or(f64::MAX, ms)),
    ]
    .into_iter()
    .chain(timeline.marks.iter().map(|mark| ms(mark.at)))
    .fold(0.0, f64::max);
    // A bound far past what happened (`first within 30s` met at once) would squash the rest.
    for bound in &timeline.bounds {
        let by = ms(bound.by);
        if by <= end * 3.0 || end == 0.0 {
            end = end.max(by);
        }
    }
    (end * 1.02).max(1.0)
}

fn timeline_chart(stream: &StreamReport, timeline: &Timeline) -> String {
    let end = chart_end(stream, timeline);
    let mut chart = Chart::new(
        WIDTH,
        150.0,
        (0.0, end),
        (0.0, 1.0),
        &timeline_label(timeline),
    );
    let (top, bottom) = (chart.plot_top() + 16.0, chart.plot_bottom());
    let x = chart.x;
    // Bounds in a lane above the items: from the item before to when the next had to come.
    let lane = top - 12.0;
    let mut labelled_until = f64::MIN;
    for bound in &timeline.bounds {
        let (from, by) = (x.at(ms(bound.from)), x.at(ms(bound.by)));
        let title = format!(
            "{}: from {} to {}",
            bound.label,
            time(bound.from),
            time(bound.by)
        );
        chart.rect(from, lane, by - from, 5.0, "bound", Some(&title));
        if by < x.to {
            chart.line(by, lane - 2.0, by, bottom, "bound-end");
        }
        // Named where there is room (bounds one after the other would write over each other).
        if by - from >= 120.0 && labelled_until <= from {
            chart.text(from + 2.0, lane - 3.0, "start", "tick", &bound.label);
            labelled_until = by;
        }
    }
    if !timeline.bounds.is_empty() {
        chart.text(x.from - 6.0, lane + 5.0, "end", "tick", "bounds");
    }
    // The slowest gap shaded and named; none when no gap stands out (a steady stream has no slow gap to point at). A wait that ended
    // in a timeout is where the stream failed: always shaded and named.
    let slow = slow_gaps(stream, timeline);
    let shade = |chart: &mut Chart, gap: &timeline::Gap, class: &str, title: &str| {
        let (from, to) = (
            x.at(ms(gap.at.saturating_sub(gap.length))),
            x.at(ms(gap.at)),
        );
        chart.rect(
            from,
            top,
            (to - from).max(2.0),
            bottom - top,
            class,
            Some(title),
        );
        ((from + to) / 2.0).clamp(x.from + 80.0, x.to - 80.0)
    };
    for gap in &slow {
        let title = format!(
            "gap of {} before the item at {}",
            time(gap.length),
            time(gap.at)
        );
        shade(&mut chart, gap, "slow-gap", &title);
    }
    let stall_label = timeline.stall.map(|stall| {
        let text = match &timeline.stall_bound {
            Some(bound) => format!("no item for {}: `{bound}` broken", time(stall.length)),
            None => format!("no item for {} until timeout", time(stall.length)),
        };
        let middle = shade(&mut chart, &stall, "slow-gap stall", &text);
        chart.text(middle, top + 12.0, "middle", "slow", &text);
        (middle, text)
    });
    // Named the slowest only when it is longer than the wait that timed out.
    if let Some(gap) = slow
        .first()
        .filter(|gap| timeline.stall.is_none_or(|stall| gap.length > stall.length))
    {
        let (from, to) = (
            x.at(ms(gap.at.saturating_sub(gap.length))),
            x.at(ms(gap.at)),
        );
        let middle = ((from + to) / 2.0).clamp(x.from + 80.0, x.to - 80.0);
        let text = format!("slowest gap {}", time(gap.length));
        // Under the stall's label where the two would meet.
        let row = match &stall_label {
            Some((at, other))
                if (at - middle).abs() * 2.0 < (other.len() + text.len()) as f64 * 7.0 =>
            {
                1.0
            }
            _ => 0.0,
        };
        chart.text(middle, top + 12.0 + 12.0 * row, "middle", "slow", &text);
    }
    // Every arrival counted, when not every one is listed: how many came when.
    if timeline.unlisted > 0 {
        let most = timeline.buckets.iter().copied().max().unwrap_or(0).max(1) as f64;
        let width = ms(timeline.bucket_width);
        for (index, &count) in timeline.buckets.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (from, to) = (x.at(width * index as f64), x.at(width * (index + 1) as f64));
            let height = (bottom - top) * 0.45 * (count as f64 / most);
            let title = format!(
                "{} from {} to {}",
                plural(count as usize, "item"),
                format_ms(width * index as f64),
                format_ms(width * (index + 1) as f64)
            );
            chart.rect(
                from,
                bottom - height,
                (to - from).max(1.0),
                height,
                "density",
                Some(&title),
            );
        }
    }
    // Each listed item, a mark at its arrival; those read after the failure (for the diff)
    // paler, and the one that failed in the failure's colour, named.
    // Items at the same pixel are one mark, which says how many (a flood of a thousand items
    // in a millisecond is one line, not a thousand at the same place).
    let (mark_top, mark_bottom) = (top + (bottom - top) * 0.2, bottom - (bottom - top) * 0.5);
    for column in pixel_columns(&timeline.listed, |at| x.at(ms(at))) {
        let class = if column.after_failure {
            "item after-failure"
        } else {
            "item"
        };
        let title = if column.count == 1 {
            format!("item at {}", time(column.first))
        } else if column.first == column.last {
            format!("{} items at {}", column.count, time(column.first))
        } else {
            format!(
                "{} items at {}–{}",
                column.count,
                time(column.first),
                time(column.last)
            )
        };
        chart.vertical_titled(column.x, mark_top, mark_bottom, class, &title);
    }
    if let Some(failed) = timeline.failed_item {
        let at = x.at(ms(failed.at));
        chart.line(at, top - 2.0, at, bottom, "failed-item");
        let text = format!("item {} failed", failed.number);
        let (x_text, anchor) = if at > x.to - 90.0 {
            (at - 4.0, "end")
        } else {
            (at + 4.0, "start")
        };
        chart.text(x_text, mark_bottom + 14.0, anchor, "failed", &text);
    }
    // The waits before reconnecting (the server's `retry`): no gap between items, shaded apart.
    for wait in &timeline.reconnect_waits {
        let (from, to) = (
            x.at(ms(wait.at.saturating_sub(wait.length))),
            x.at(ms(wait.at)),
        );
        let title = format!(
            "waited {} before reconnecting at {}",
            time(wait.length),
            time(wait.at)
        );
        chart.rect(
            from,
            top,
            (to - from).max(2.0),
            bottom - top,
            "reconnect-wait",
            Some(&title),
        );
    }
    for mark in &timeline.marks {
        let at = x.at(ms(mark.at));
        chart.line(at, top - 2.0, at, bottom, "mark");
        let label = match mark.kind {
            MarkKind::TimedOut => format!("timed out at {}", time(mark.at)),
            MarkKind::BoundBroken => match &timeline.stall_bound {
                Some(bound) => format!("`{bound}` broken at {}", time(mark.at)),
                None => format!("bound broken at {}", time(mark.at)),
            },
            kind => kind.label().to_string(),
        };
        // Left of a mark near the right edge, where the label would run off the chart.
        if at > x.to - 110.0 {
            chart.text(at - 3.0, bottom - 4.0, "end", "strong", &label);
        } else {
            chart.text(at + 3.0, bottom - 4.0, "start", "strong", &label);
        }
    }
    let ticks: Vec<(f64, String)> = nice_ticks(0.0, end, 10)
        .into_iter()
        .map(|tick| (tick, format_ms(tick)))
        .collect();
    chart.x_axis(&ticks);
    chart.text(
        x.from - 6.0,
        (mark_top + mark_bottom) / 2.0 + 4.0,
        "end",
        "tick",
        "items",
    );
    let mut out = chart.finish();
    out.push_str(&legend(timeline, !slow.is_empty()));
    out
}

/// Arrivals that fall on one pixel column (and are alike in being read after the failure or
/// not): one mark.
struct Column {
    x: f64,
    count: usize,
    first: Duration,
    last: Duration,
    after_failure: bool,
}

fn pixel_columns(arrivals: &[Arrival], x: impl Fn(Duration) -> f64) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    for arrival in arrivals {
        let at = x(arrival.at).round();
        match columns.last_mut() {
            Some(column) if column.x == at && column.after_failure == arrival.after_failure => {
                column.count += 1;
                column.last = arrival.at;
            }
            _ => columns.push(Column {
                x: at,
                count: 1,
                first: arrival.at,
                last: arrival.at,
                after_failure: arrival.after_failure,
            }),
        }
    }
    columns
}

fn timeline_label(timeline: &Timeline) -> String {
    let taken = timeline.arrivals() - timeline.after_failure;
    let mut label = format!(
        "timeline of the {} items of the stream",
        format_count(taken as usize)
    );
    if timeline.after_failure > 0 {
        let _ = write!(
            label,
            ", and {} read after the failure",
            timeline.after_failure
        );
    }
    label
}

/// What the timeline's marks and shades mean, for those it draws.
fn legend(timeline: &Timeline, slow_gaps: bool) -> String {
    let mut entries = vec![("item", "an item, at its arrival".to_string())];
    if let Some(failed) = timeline.failed_item {
        entries.push((
            "failed-item",
            format!("item {}: failed its expectation", failed.number),
        ));
    }
    if timeline.after_failure > 0 {
        entries.push((
            "after-failure",
            format!(
                "{} read after the failure, for the diff (not in the figures above)",
                plural(timeline.after_failure as usize, "item")
            ),
        ));
    }
    if timeline.stall.is_some() {
        entries.push(("stall", stall_words(timeline)));
    }
    if slow_gaps {
        entries.push(("slow-gap", "the slowest gap".to_string()));
    }
    if !timeline.reconnect_waits.is_empty() {
        entries.push((
            "reconnect-wait",
            "the wait before reconnecting (not a gap between items)".to_string(),
        ));
    }
    // Each kind of mark drawn, once, in the order they came.
    let mut kinds: Vec<MarkKind> = Vec::new();
    for mark in &timeline.marks {
        if !kinds.contains(&mark.kind) {
            kinds.push(mark.kind);
        }
    }
    for kind in kinds {
        let text = match kind {
            MarkKind::Reconnect => "reconnect: a new connection",
            MarkKind::Disconnect => "disconnect: the client closed the connection",
            MarkKind::Abort => "abort: the client gave up the stream",
            MarkKind::TimedOut => "timed out: the test's time ran out",
            MarkKind::BoundBroken => "a time bound broken",
            MarkKind::Dropped => "dropped: the connection broke",
            MarkKind::Error => "error: what came could not be read",
        };
        entries.push(("mark", text.to_string()));
    }
    if !timeline.bounds.is_empty() {
        entries.push(("bound", "when the next item had to come".to_string()));
    }
    let mut out = String::from("<p class=\"legend\">");
    for (class, text) in entries {
        let _ = write!(
            out,
            "<span class=\"key\"><span class=\"swatch {class}\"></span>{}</span>",
            escape(&text)
        );
    }
    out.push_str("</p>\n");
    out
}

/// The gap worth a look: the slowest, when it is at least twice the median and at least half
/// as long as the wait that failed the stream, if there was one. Only that one: slow gaps side
/// by side would be shaded as one block, read as one gap of their sum.
fn slow_gaps<'a>(stream: &StreamReport, timeline: &'a Timeline) -> Vec<&'a timeline::Gap> {
    let Some(slowest) = timeline.slowest.first() else {
        return Vec::new();
    };
    let longest = timeline
        .stall
        .map_or(slowest.length, |stall| stall.length.max(slowest.length));
    let median = stream.gaps.map_or(Duration::ZERO, |gaps| gaps[2]);
    timeline
        .slowest
        .iter()
        .take(1)
        .filter(|gap| {
            !gap.length.is_zero() && gap.length >= median * 2 && gap.length * 2 >= longest
        })
        .collect()
}

/// What the timeline leaves out, said under it.
fn left_out(timeline: &Timeline) -> String {
    let mut notes = Vec::new();
    if timeline.unlisted > 0 {
        notes.push(format!(
            "{} marked one by one, {} more counted by time (the shaded bars)",
            counted(timeline.listed.len() as u64, "item"),
            format_count(timeline.unlisted as usize)
        ));
    }
    if timeline.left_out_marks > 0 {
        notes.push(format!(
            "the first {} marks and bounds drawn, {} more left out",
            timeline::MARKS,
            timeline.left_out_marks
        ));
    }
    if notes.is_empty() {
        return String::new();
    }
    format!("<p class=\"note\">{}</p>\n", escape(&notes.join("; ")))
}

fn gap_histogram(stream: &StreamReport, timeline: &Timeline) -> String {
    // Gaps all under the microsecond they are measured in: a chart of one bar at 0 says less.
    if timeline.gap_values.iter().all(|&(micros, _)| micros == 0) {
        let total: u64 = timeline.gap_values.iter().map(|(_, count)| count).sum();
        return format!(
            "<p class=\"note\">all {} gaps 0 (the items came in one read)</p>\n",
            format_count(total as usize)
        );
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
fn stall_words(timeline: &Timeline) -> String {
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
