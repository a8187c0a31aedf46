//! The timeline chart of a stream on the run page: when each item came (items at one pixel
//! as one mark), the bounds on the next item, the slowest gap, the wait that failed the stream,
//! the waits before reconnecting and the marks (drops, errors, reconnections, aborts,
//! timeouts), with a legend of what it draws and a note of what it left out.

use std::fmt::Write;
use std::time::Duration;

use super::escape::escape;
use super::run::{WIDTH, counted, ms, stall_words, time};
use super::svg::{Chart, format_ms, nice_ticks};
use crate::interp::timeline::{self, Arrival, MarkKind, Timeline};
use crate::outcome::StreamReport;
use crate::report::plural;
use crate::transport::http::format_count;

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

pub(super) fn timeline_chart(stream: &StreamReport, timeline: &Timeline) -> String {
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
pub(super) fn slow_gaps<'a>(
    stream: &StreamReport,
    timeline: &'a Timeline,
) -> Vec<&'a timeline::Gap> {
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
pub(super) fn left_out(timeline: &Timeline) -> String {
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
