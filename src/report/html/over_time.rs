//! The load page's charts over time: the p50 and p99 of the head, the first item and the gaps
//! with the active users behind them, and items, iterations, failures, errors and dropped
//! arrivals per second; a service's exit marked on each. Each point stands for the seconds it
//! covers, as they were: a last second cut short by the end of the run is a rate per second of
//! what it lasted (or left out when too short to be one, which the page says), the active users
//! are drawn as the steps they are, and the time axis ends where the run did. A long run's
//! series is averaged into at most [`POINTS`] points.

use std::fmt::Write;

use super::escape::escape;
use super::svg::{Chart, Scale, format_count, format_ms, nice_ticks};
use crate::load::json::{LoadReport, SecondReport};
use crate::load::metrics::Metric;
use crate::load::profile::Model;
use crate::load::thresholds::{Measure, Threshold};

/// Points a series is drawn with at most: a longer run's seconds are averaged in windows.
pub const POINTS: usize = 600;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 200.0;

/// A last second shorter than this is left out of the rates: a handful of items in a
/// twentieth of a second would read as a rate the run never had.
const SHORTEST_SECOND: f64 = 0.2;

/// What a point of the charts stands for: the seconds from `at` (since the run's start), `span`
/// long, with their counts added up and their latencies averaged (p99: the highest).
struct Point {
    at: f64,
    span: f64,
    second: SecondReport,
}

impl Point {
    fn middle(&self) -> f64 {
        self.at + self.span / 2.0
    }

    fn rate(&self, count: u64) -> f64 {
        count as f64 / self.span
    }
}

/// The series as points, and what the page says about how they were made.
struct Series {
    points: Vec<Point>,
    /// Where the run ended, in seconds since its start: the time axis' end.
    end: f64,
    notes: Vec<String>,
    /// A last second too short for a rate: its points are drawn without rates.
    last_without_rates: bool,
}

fn series(report: &LoadReport) -> Series {
    let seconds = &report.series;
    let window = seconds.len().div_ceil(POINTS).max(1);
    let mut notes = Vec::new();
    if window > 1 {
        notes.push(format!(
            "{} seconds, drawn as {} points: each the mean of {window} seconds (p99: the highest of them)",
            seconds.len(),
            seconds.len().div_ceil(window)
        ));
    }
    let (Some(first), Some(last)) = (seconds.first(), seconds.last()) else {
        return Series {
            points: Vec::new(),
            end: 1.0,
            notes,
            last_without_rates: false,
        };
    };
    // The last second ends with the run, as often as not before a second is up.
    let into_last = report.elapsed.as_secs_f64() - last.t.saturating_sub(first.t) as f64;
    let last_span = if into_last > 0.0 && into_last < 1.0 {
        into_last
    } else {
        1.0
    };
    let points: Vec<Point> = seconds
        .chunks(window)
        .map(|chunk| {
            let at = chunk[0].t.saturating_sub(first.t) as f64;
            let ends_the_run = chunk.last().is_some_and(|s| s.t == last.t);
            let span = if ends_the_run {
                (chunk.len() - 1) as f64 + last_span
            } else {
                chunk.len() as f64
            };
            Point {
                at,
                span,
                second: combined(chunk),
            }
        })
        .collect();
    let end = points.last().map_or(1.0, |p| p.at + p.span);
    let last_without_rates = window == 1 && last_span < SHORTEST_SECOND && points.len() > 1;
    if last_span < 1.0 {
        notes.push(if last_without_rates {
            format!(
                "the run's last {} (after its last full second) is left out of the rates: too short for one",
                format_ms(last_span * 1000.0)
            )
        } else {
            format!(
                "the run's last second lasted {}: its rates are per second of that",
                format_ms(last_span * 1000.0)
            )
        });
    }
    Series {
        points,
        end,
        notes,
        last_without_rates,
    }
}

/// Seconds as one: counts added, latencies averaged (p99: the highest), the most users.
fn combined(chunk: &[SecondReport]) -> SecondReport {
    if let [only] = chunk {
        return only.clone();
    }
    let sum = |value: fn(&SecondReport) -> u64| chunk.iter().map(value).sum::<u64>();
    let mean_of = |value: fn(&SecondReport) -> Option<f64>| {
        let values: Vec<f64> = chunk.iter().filter_map(value).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let max_of =
        |value: fn(&SecondReport) -> Option<f64>| chunk.iter().filter_map(value).reduce(f64::max);
    SecondReport {
        t: chunk[0].t,
        active: chunk.iter().map(|s| s.active).max().unwrap_or(0),
        iterations: sum(|s| s.iterations),
        passed: sum(|s| s.passed),
        errors: sum(|s| s.errors),
        dropped: sum(|s| s.dropped),
        items: sum(|s| s.items),
        ttfb_p50_ms: mean_of(|s| s.ttfb_p50_ms),
        ttfb_p99_ms: max_of(|s| s.ttfb_p99_ms),
        first_item_p50_ms: mean_of(|s| s.first_item_p50_ms),
        first_item_p99_ms: max_of(|s| s.first_item_p99_ms),
        gap_p50_ms: mean_of(|s| s.gap_p50_ms),
        gap_p99_ms: max_of(|s| s.gap_p99_ms),
        histograms: Default::default(),
        client_cpu_percent: max_of(|s| s.client_cpu_percent),
        loop_lag_ms: max_of(|s| s.loop_lag_ms),
    }
}

/// A service's exit: when (seconds since the start) and what to call it.
pub struct Exit {
    pub at: f64,
    pub label: String,
}

/// The section: a chart per latency, then the rates; `exits` marked on each.
pub fn section(report: &LoadReport, exits: &[Exit]) -> String {
    let series = series(report);
    if series.points.is_empty() {
        return String::new();
    }
    let mut body = String::from("<section id=\"over-time\"><h2>Over time</h2>\n");
    // As the JSON series: a stream longer than a second is seen all along, not when it ends.
    body.push_str("<p class=\"note\">each second's latencies are those measured in it</p>\n");
    for note in &series.notes {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    type Latency = fn(&SecondReport) -> Option<f64>;
    let latencies: [(&str, Metric, Latency, Latency); 3] = [
        ("TTFB", Metric::Ttfb, |s| s.ttfb_p50_ms, |s| s.ttfb_p99_ms),
        (
            "First item",
            Metric::FirstItem,
            |s| s.first_item_p50_ms,
            |s| s.first_item_p99_ms,
        ),
        (
            "Gap between items",
            Metric::Gap,
            |s| s.gap_p50_ms,
            |s| s.gap_p99_ms,
        ),
    ];
    for (title, metric, p50, p99) in latencies {
        if series.points.iter().all(|p| p99(&p.second).is_none()) {
            continue;
        }
        let _ = writeln!(body, "<h3>{title}: p50 and p99, with the active users</h3>");
        let bounds = bounds_of(report, metric);
        body.push_str(&latency_chart(title, &series, p50, p99, &bounds, exits));
    }
    body.push_str("<h3>Items/s</h3>\n");
    body.push_str(&items_chart(&series, exits));
    body.push_str("<h3>Iterations/s, failed/s and errors/s</h3>\n");
    body.push_str(&iterations_chart(report, &series, exits));
    body.push_str("</section>\n");
    body
}

/// The bounds of the report's thresholds on a statistic of `metric` (in ms), each with the
/// threshold as written: drawn on that metric's chart.
fn bounds_of(report: &LoadReport, metric: Metric) -> Vec<(f64, String)> {
    report
        .thresholds
        .iter()
        // A test's own judge its figures, not the whole load's these charts draw.
        .filter(|verdict| verdict.test.is_none())
        .filter_map(|verdict| {
            let threshold = Threshold::parse(&verdict.threshold).ok()?;
            match threshold.measure {
                Measure::Distribution(of, _) if of == metric => {
                    Some((threshold.bound, verdict.threshold.clone()))
                }
                _ => None,
            }
        })
        .collect()
}

/// How far above the highest value a threshold's bound may be and still stretch the chart to it.
const BOUND_IN_VIEW: f64 = 3.0;

/// A threshold's bound: a dashed line across the plot, labelled with the threshold; one above
/// the chart's scale only named at its top (`↑ p99 gap < 1s`).
fn draw_bounds(chart: &mut Chart, bounds: &[(f64, String)]) {
    for (row, (bound, text)) in bounds.iter().enumerate() {
        let (from, to) = (chart.x.from, chart.x.to);
        if *bound <= chart.y.hi {
            let y = chart.y.at(*bound);
            chart.line(from, y, to, y, "bound-end threshold");
            chart.text(to - 4.0, y - 4.0, "end", "threshold", text);
        } else {
            let y = chart.plot_top() + 12.0 + 12.0 * row as f64;
            chart.text(to - 4.0, y, "end", "threshold", &format!("↑ {text}"));
        }
    }
}

/// The points of one figure: at each point's middle, `None` breaking the line.
fn line(points: &[Point], value: impl Fn(&Point) -> Option<f64>) -> Vec<(f64, Option<f64>)> {
    points.iter().map(|p| (p.middle(), value(p))).collect()
}

/// Steps of the time axis from a second up, in seconds: round on a clock (a step of 500 s
/// would read 8.33m, 16.7m…).
const CLOCK_STEPS: [f64; 16] = [
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    4.0 * 3600.0,
    12.0 * 3600.0,
];

/// About 10 ticks from 0 to `end` seconds, at a step round on a clock.
pub fn time_ticks(end: f64) -> Vec<(f64, String)> {
    let rough = end / 10.0;
    let Some(step) = CLOCK_STEPS
        .iter()
        .copied()
        .find(|step| *step >= rough && rough >= 1.0)
    else {
        // Under 10 seconds: decimal steps; beyond 5 days: hours by 1, 2, 5 × a power of ten.
        return nice_ticks(0.0, end, 10)
            .into_iter()
            .map(|tick| (tick, format_ms(tick * 1000.0)))
            .collect();
    };
    // Every label in one unit, the step's: `15s … 150s`, `10m … 60m`, `2h … 24h`.
    let (unit, name) = match step {
        s if s < 60.0 => (1.0, "s"),
        s if s < 3600.0 => (60.0, "m"),
        _ => (3600.0, "h"),
    };
    (0..=(end / step).floor() as u64)
        .take(100)
        .map(|n| {
            let tick = n as f64 * step;
            let label = if n == 0 {
                "0".to_string()
            } else {
                format!("{}{name}", tick / unit)
            };
            (tick, label)
        })
        .collect()
}

pub fn value_ticks(hi: f64, format: fn(f64) -> String) -> Vec<(f64, String)> {
    nice_ticks(0.0, hi, 4)
        .into_iter()
        .map(|tick| (tick, format(tick)))
        .collect()
}

/// The active users as a grey area behind the lines, on a scale of its own (labelled right):
/// a step per point, since the count holds until it changes.
fn users_behind(chart: &mut Chart, points: &[Point]) {
    let most = points
        .iter()
        .map(|p| p.second.active)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let scale = Scale::new(0.0, most * 1.1, chart.plot_bottom(), chart.plot_top());
    let steps: Vec<(f64, f64, f64)> = points
        .iter()
        .map(|p| (p.at, p.at + p.span, p.second.active as f64))
        .collect();
    chart.steps(&steps, &scale, "users-area");
    let ticks: Vec<(f64, String)> = nice_ticks(0.0, most, 3)
        .into_iter()
        .map(|tick| (tick, format!("{} users", format_count(tick))))
        .collect();
    chart.right_axis(&scale, &ticks, "users");
}

/// Each service's exit, a line across the chart with what it was.
pub fn mark_exits(chart: &mut Chart, exits: &[Exit]) {
    for (row, exit) in exits.iter().enumerate() {
        let at = chart.x.at(exit.at);
        let (top, bottom) = (chart.plot_top(), chart.plot_bottom());
        chart.line(at, top, at, bottom, "exit");
        let y = top + 24.0 + 12.0 * row as f64;
        if at > chart.x.to - 160.0 {
            chart.text(at - 4.0, y, "end", "exit", &exit.label);
        } else {
            chart.text(at + 4.0, y, "start", "exit", &exit.label);
        }
    }
}

fn latency_chart(
    title: &str,
    series: &Series,
    p50: fn(&SecondReport) -> Option<f64>,
    p99: fn(&SecondReport) -> Option<f64>,
    bounds: &[(f64, String)],
    exits: &[Exit],
) -> String {
    let p50 = line(&series.points, |p| p50(&p.second));
    let p99 = line(&series.points, |p| p99(&p.second));
    let highest = p99
        .iter()
        .chain(&p50)
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max)
        .max(0.001);
    // A bound not far above the lines is in the chart; one far above would flatten them, and
    // is named at the chart's top instead.
    let highest = bounds
        .iter()
        .map(|(bound, _)| *bound)
        .filter(|bound| *bound <= highest * BOUND_IN_VIEW)
        .fold(highest, f64::max);
    let mut chart = Chart::new(
        WIDTH,
        HEIGHT,
        (0.0, series.end),
        (0.0, highest * 1.1),
        &format!("{title}: p50 and p99 over time, with the active users"),
    )
    .with_legend_row();
    users_behind(&mut chart, &series.points);
    chart.y_axis(&value_ticks(highest * 1.1, format_ms));
    chart.polyline(&p50, None, "s1");
    chart.polyline(&p99, None, "s3");
    draw_bounds(&mut chart, bounds);
    mark_exits(&mut chart, exits);
    chart.legend(0, "s1", "p50");
    chart.legend(1, "s3", "p99");
    chart.legend(2, "users-area", "active users");
    chart.x_axis(&time_ticks(series.end));
    chart.finish()
}

/// The points that have rates: all, or all but a last second too short for one.
fn rate_points(series: &Series) -> &[Point] {
    match series.points.split_last() {
        Some((_, before)) if series.last_without_rates => before,
        _ => &series.points[..],
    }
}

fn rate(points: &[Point], count: fn(&SecondReport) -> u64) -> Vec<(f64, Option<f64>)> {
    line(points, move |p| Some(p.rate(count(&p.second))))
}

/// The highest of a line's values, at least 1 (a scale of a run with nothing to draw).
fn highest(line: &[(f64, Option<f64>)]) -> f64 {
    line.iter()
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max)
        .max(1.0)
}

/// A chart of rates per second over the run, its left scale a tenth above `highest`.
fn rate_chart(series: &Series, highest: f64, title: &str) -> Chart {
    let mut chart = Chart::new(
        WIDTH,
        HEIGHT,
        (0.0, series.end),
        (0.0, highest * 1.1),
        title,
    )
    .with_legend_row();
    chart.y_axis(&value_ticks(highest * 1.1, |v| {
        format!("{}/s", format_count(v))
    }));
    chart
}

/// Items per second: a chart of their own, being many times the iterations.
fn items_chart(series: &Series, exits: &[Exit]) -> String {
    let items = rate(rate_points(series), |s| s.items);
    let mut chart = rate_chart(series, highest(&items), "items per second over time");
    chart.polyline(&items, None, "s1");
    mark_exits(&mut chart, exits);
    chart.legend(0, "s1", "items/s");
    chart.x_axis(&time_ticks(series.end));
    chart.finish()
}

/// Iterations per second, with the arrival rate offered where the model is open; failed,
/// errors and dropped arrivals on a scale of their own.
fn iterations_chart(report: &LoadReport, series: &Series, exits: &[Exit]) -> String {
    let points = rate_points(series);
    let iterations = rate(points, |s| s.iterations);
    let errors = rate(points, |s| s.errors);
    let failed = rate(points, |s| s.iterations.saturating_sub(s.passed));
    let dropped = rate(points, |s| s.dropped);
    let any_dropped = series.points.iter().any(|p| p.second.dropped > 0);
    // The schedule's rate, this instance's share of it, while the schedule lasts.
    let offered: Option<Vec<(f64, Option<f64>)>> =
        (report.profile.model == Model::Open && !report.profile.stages.is_empty()).then(|| {
            let end = report.profile.duration().as_secs_f64();
            let share = report.instance.count.max(1) as f64;
            let mut at: Vec<f64> = points.iter().map(|p| p.at).collect();
            at.push(end.min(series.end));
            at.into_iter()
                .filter(|t| *t <= end)
                .map(|t| {
                    let level = report
                        .profile
                        .level_at(std::time::Duration::from_secs_f64(t));
                    (t, Some(level / share))
                })
                .collect()
        });
    let with_offered: Vec<(f64, Option<f64>)> = iterations
        .iter()
        .chain(offered.iter().flatten())
        .copied()
        .collect();
    let mut chart = rate_chart(
        series,
        highest(&with_offered),
        "iterations, failures and errors per second over time",
    );
    chart.polyline(&iterations, None, "s4");
    if let Some(offered) = &offered {
        chart.polyline(offered, None, "s1 dashed offered");
    }
    // Errors, failures and dropped arrivals on a scale of their own (labelled right): a few
    // errors among many iterations would lie flat at zero on the iterations' scale.
    let most_errors = failed
        .iter()
        .chain(&errors)
        .chain(if any_dropped { &dropped[..] } else { &[] })
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max)
        .max(1.0);
    let scale = Scale::new(
        0.0,
        most_errors * 1.1,
        chart.plot_bottom(),
        chart.plot_top(),
    );
    chart.polyline(&failed, Some(&scale), "s3 dashed");
    chart.polyline(&errors, Some(&scale), "sfail");
    if any_dropped {
        chart.polyline(&dropped, Some(&scale), "s2 dropped");
    }
    let ticks: Vec<(f64, String)> = nice_ticks(0.0, most_errors, 3)
        .into_iter()
        .map(|tick| (tick, format!("{}/s", format_count(tick))))
        .collect();
    chart.right_axis(&scale, &ticks, "users");
    mark_exits(&mut chart, exits);
    let mut legends = vec![("s4", "iterations/s")];
    if offered.is_some() {
        legends.push(("s1", "offered arrivals/s"));
    }
    legends.push(("s3", "failed/s (right)"));
    legends.push(("sfail", "errors/s (right)"));
    if any_dropped {
        legends.push(("s2", "dropped/s (right)"));
    }
    for (n, (class, label)) in legends.into_iter().enumerate() {
        chart.legend(n, class, label);
    }
    chart.x_axis(&time_ticks(series.end));
    chart.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(end: f64) -> Vec<String> {
        time_ticks(end)
            .into_iter()
            .map(|(_, label)| label)
            .collect()
    }

    #[test]
    fn time_ticks_are_round_on_a_clock() {
        assert_eq!(
            labels(3600.0),
            ["0", "10m", "20m", "30m", "40m", "50m", "60m"]
        );
        assert_eq!(labels(6.054), ["0", "1s", "2s", "3s", "4s", "5s", "6s"]);
        assert_eq!(labels(150.0)[..3], ["0", "15s", "30s"]);
        assert_eq!(labels(150.0).last().map(String::as_str), Some("150s"));
        assert_eq!(labels(86_400.0)[..3], ["0", "4h", "8h"]);
        assert_eq!(labels(0.5)[..3], ["0", "50ms", "100ms"]);
    }
}
