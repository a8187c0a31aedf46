//! The HTML report of a load (`load --report-html`, `merge --report-html`), made from the same
//! [`LoadReport`] as the JSON one: the summary's figures, the thresholds with their margins,
//! the latency percentiles over time with the active users behind them, items/s and errors/s
//! over time, the histograms, errors by class and failures by spec line, and each service's
//! CPU and memory when they were sampled. A long run's series is averaged into at most
//! [`POINTS`] points, so an hour's soak makes a file of a few hundred KiB.

use std::fmt::Write;
use std::path::Path;

use hdrhistogram::Histogram;

use super::escape::escape;
use super::page;
use super::svg::{Chart, Scale, format_count, format_ms, nice_ticks};
use crate::load::json::{self, LoadReport, SecondReport};
use crate::load::metrics::{Metric, Unit};
use crate::output::errln;
use crate::report::plural;
use crate::report::redact::Secrets;
use crate::style::Palette;

/// Points a series is drawn with at most: a longer run's seconds are averaged in windows.
pub const POINTS: usize = 600;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 200.0;

/// The page for a load report, every text in it masked by `secrets`.
pub fn render(report: &LoadReport, secrets: &Secrets) -> String {
    let report = masked(report, secrets);
    let report = &report;
    let mut body = String::new();
    body.push_str(&summary(report, secrets));
    body.push_str(&thresholds(report));
    let (series, window) = downsample(&report.series);
    if !series.is_empty() {
        body.push_str("<section id=\"over-time\"><h2>Over time</h2>\n");
        if window > 1 {
            let _ = writeln!(
                body,
                "<p class=\"note\">{} seconds, drawn as {} points: each the mean of {window} seconds (p99: the highest of them)</p>",
                report.series.len(),
                series.len()
            );
        }
        for (title, p50, p99) in [
            (
                "TTFB",
                latency(&series, |s| s.ttfb_p50_ms),
                latency(&series, |s| s.ttfb_p99_ms),
            ),
            (
                "First item",
                latency(&series, |s| s.first_item_p50_ms),
                latency(&series, |s| s.first_item_p99_ms),
            ),
            (
                "Gap between items",
                latency(&series, |s| s.gap_p50_ms),
                latency(&series, |s| s.gap_p99_ms),
            ),
        ] {
            if p99.iter().all(|(_, v)| v.is_none()) {
                continue;
            }
            let _ = writeln!(body, "<h3>{title}: p50 and p99, with the active users</h3>");
            body.push_str(&latency_chart(title, &series, &p50, &p99));
        }
        body.push_str("<h3>Items/s and errors/s</h3>\n");
        body.push_str(&rates_chart(&series));
        body.push_str("</section>\n");
    }
    body.push_str(&histograms(report));
    body.push_str(&tests_table(report));
    body.push_str(&errors(report));
    body.push_str(&services(report));
    page::document("streamspec load", &body)
}

/// A copy of the report with every text masked: the names, the failures and their examples.
fn masked(report: &LoadReport, secrets: &Secrets) -> LoadReport {
    let mut report = report.clone();
    if secrets.is_empty() {
        return report;
    }
    for test in report.tests.iter_mut().chain([&mut report.total]) {
        test.name = secrets.redact(&test.name);
        for failure in &mut test.failures {
            failure.at = secrets.redact(&failure.at);
            failure.message = secrets.redact(&failure.message);
            failure.example = secrets.redact(&failure.example);
        }
    }
    for verdict in &mut report.thresholds {
        verdict.threshold = secrets.redact(&verdict.threshold);
    }
    report.stopped = report.stopped.as_deref().map(|text| secrets.redact(text));
    for service in &mut report.services {
        service.name = secrets.redact(&service.name);
    }
    report
}

fn summary(report: &LoadReport, secrets: &Secrets) -> String {
    let total = &report.total;
    let counts = &total.counts;
    let passed = if report.thresholds.is_empty() {
        counts.iterations > 0 && counts.failed == 0
    } else {
        report.thresholds.iter().all(|verdict| verdict.passed)
    } && report.stopped.is_none();
    let mut out = format!(
        "<section class=\"summary\" id=\"summary\">\n<p class=\"note mono\">{}</p>\n",
        escape(
            crate::load::summary::header(report.tests.len(), &report.profile, report.instance)
                .trim()
        )
    );
    let mut figures = vec![
        (
            "verdict",
            if passed { "passed" } else { "failed" }.to_string(),
            if passed { "pass" } else { "fail" },
        ),
        ("iterations", counts.iterations.to_string(), ""),
        ("passed", counts.passed.to_string(), "pass"),
        (
            "failed",
            counts.failed.to_string(),
            if counts.failed > 0 { "fail" } else { "" },
        ),
        (
            "errors",
            counts.errored.to_string(),
            if counts.errored > 0 { "error" } else { "" },
        ),
        ("goodput", format!("{}/s", format_count(total.goodput)), ""),
        ("items", counts.items.to_string(), ""),
        (
            "duration",
            format_ms(report.elapsed.as_secs_f64() * 1000.0),
            "",
        ),
    ];
    if counts.dropped > 0 {
        figures.push(("dropped", counts.dropped.to_string(), "fail"));
    }
    out.push_str(&page::figures(&figures));
    if let Some(stopped) = &report.stopped {
        let _ = writeln!(
            out,
            "<p class=\"note\">stopped early: {}</p>",
            escape(stopped)
        );
    }
    for saturation in &report.client.saturation {
        let _ = writeln!(
            out,
            "<p class=\"note\">SATURATED: {}</p>",
            escape(saturation)
        );
    }
    // Every figure, as the terminal summary gives it.
    let text = secrets.redact(&crate::load::summary::render(report, &Palette::colored()));
    let _ = writeln!(
        out,
        "<details><summary>the summary as the terminal shows it</summary><pre class=\"terminal\">{}</pre></details>",
        super::terminal::to_html(&text)
    );
    out.push_str("</section>\n");
    out
}

fn thresholds(report: &LoadReport) -> String {
    if report.thresholds.is_empty() {
        return String::new();
    }
    let number = |value: f64, unit: &str| match unit {
        "ms" => format_ms(value),
        "" => format_count(value),
        unit => format!("{}{unit}", format_count(value)),
    };
    let rows: Vec<(Vec<String>, &str)> = report
        .thresholds
        .iter()
        .map(|verdict| {
            let measured = verdict
                .measured
                .map_or("nothing measured".to_string(), |value| {
                    number(value, &verdict.unit)
                });
            let margin = verdict.margin.map_or(String::new(), |margin| {
                let sign = if margin >= 0.0 { "+" } else { "−" };
                format!("{sign}{}", number(margin.abs(), &verdict.unit))
            });
            (
                vec![
                    verdict.threshold.clone(),
                    measured,
                    margin,
                    if verdict.passed { "passed" } else { "FAILED" }.to_string(),
                ],
                if verdict.passed { "pass" } else { "fail" },
            )
        })
        .collect();
    format!(
        "<section id=\"thresholds\"><h2>Thresholds</h2>\n{}</section>\n",
        page::table(
            "thresholds",
            &["threshold", "measured", "margin", "verdict"],
            &rows
        )
    )
}

/// The series, averaged in windows when it has more than [`POINTS`] seconds, and the window.
fn downsample(series: &[SecondReport]) -> (Vec<SecondReport>, usize) {
    let window = series.len().div_ceil(POINTS).max(1);
    if window == 1 {
        return (series.to_vec(), 1);
    }
    let points = series
        .chunks(window)
        .map(|chunk| {
            let n = chunk.len() as u64;
            let mean = |value: fn(&SecondReport) -> u64| chunk.iter().map(value).sum::<u64>() / n;
            let mean_of = |value: fn(&SecondReport) -> Option<f64>| {
                let values: Vec<f64> = chunk.iter().filter_map(value).collect();
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
            };
            let max_of = |value: fn(&SecondReport) -> Option<f64>| {
                chunk.iter().filter_map(value).reduce(f64::max)
            };
            SecondReport {
                t: chunk[0].t,
                active: chunk.iter().map(|s| s.active).max().unwrap_or(0),
                iterations: mean(|s| s.iterations),
                passed: mean(|s| s.passed),
                errors: mean(|s| s.errors),
                dropped: mean(|s| s.dropped),
                items: mean(|s| s.items),
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
        })
        .collect();
    (points, window)
}

/// Seconds since the first of the series, and the value.
type Points = Vec<(f64, Option<f64>)>;

fn latency(series: &[SecondReport], value: fn(&SecondReport) -> Option<f64>) -> Points {
    let start = series.first().map_or(0, |s| s.t);
    series
        .iter()
        .map(|s| ((s.t - start) as f64, value(s)))
        .collect()
}

fn time_range(series: &[SecondReport]) -> (f64, f64) {
    let start = series.first().map_or(0, |s| s.t);
    let end = series.last().map_or(0, |s| s.t);
    (0.0, ((end - start) as f64 + 1.0).max(1.0))
}

fn time_ticks(end: f64) -> Vec<(f64, String)> {
    nice_ticks(0.0, end, 10)
        .into_iter()
        .map(|tick| (tick, format_ms(tick * 1000.0)))
        .collect()
}

fn value_ticks(hi: f64, format: fn(f64) -> String) -> Vec<(f64, String)> {
    nice_ticks(0.0, hi, 4)
        .into_iter()
        .map(|tick| (tick, format(tick)))
        .collect()
}

/// The active users as a grey area behind the lines, on a scale of its own (labelled right).
fn users_behind(chart: &mut Chart, series: &[SecondReport]) {
    let start = series.first().map_or(0, |s| s.t);
    let most = series.iter().map(|s| s.active).max().unwrap_or(0).max(1) as f64;
    let scale = Scale::new(0.0, most * 1.1, chart.plot_bottom(), chart.plot_top());
    let points: Vec<(f64, f64)> = series
        .iter()
        .map(|s| ((s.t - start) as f64, s.active as f64))
        .collect();
    chart.area(&points, &scale, "users-area");
    let ticks: Vec<(f64, String)> = nice_ticks(0.0, most, 3)
        .into_iter()
        .map(|tick| (tick, format!("{} users", format_count(tick))))
        .collect();
    chart.right_axis(&scale, &ticks, "users");
}

fn latency_chart(title: &str, series: &[SecondReport], p50: &Points, p99: &Points) -> String {
    let highest = p99
        .iter()
        .chain(p50)
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max)
        .max(0.001);
    let mut chart = Chart::new(
        WIDTH,
        HEIGHT,
        time_range(series),
        (0.0, highest * 1.1),
        &format!("{title}: p50 and p99 over time, with the active users"),
    );
    users_behind(&mut chart, series);
    chart.y_axis(&value_ticks(highest * 1.1, format_ms));
    chart.polyline(p50, None, "s1");
    chart.polyline(p99, None, "s3");
    chart.legend(0, "s1", "p50");
    chart.legend(1, "s3", "p99");
    chart.legend(2, "users-area", "active users");
    chart.x_axis(&time_ticks(time_range(series).1));
    chart.finish()
}

fn rates_chart(series: &[SecondReport]) -> String {
    let items = latency(series, |s| Some(s.items as f64));
    let iterations = latency(series, |s| Some(s.iterations as f64));
    let errors = latency(series, |s| Some(s.errors as f64));
    let failed = latency(series, |s| {
        Some(s.iterations.saturating_sub(s.passed) as f64)
    });
    let highest = items
        .iter()
        .chain(&iterations)
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max)
        .max(1.0);
    let mut chart = Chart::new(
        WIDTH,
        HEIGHT,
        time_range(series),
        (0.0, highest * 1.1),
        "items, iterations, failures and errors per second over time",
    );
    chart.y_axis(&value_ticks(highest * 1.1, |v| {
        format!("{}/s", format_count(v))
    }));
    chart.polyline(&items, None, "s1");
    chart.polyline(&iterations, None, "s4");
    // Errors and failures on a scale of their own (labelled right): a few errors among many
    // items would lie flat at zero on the items' scale.
    let most_errors = failed
        .iter()
        .chain(&errors)
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
    let ticks: Vec<(f64, String)> = nice_ticks(0.0, most_errors, 3)
        .into_iter()
        .map(|tick| (tick, format!("{}/s", format_count(tick))))
        .collect();
    chart.right_axis(&scale, &ticks, "users");
    chart.legend(0, "s1", "items/s");
    chart.legend(1, "s4", "iterations/s");
    chart.legend(2, "s3", "failed/s (right)");
    chart.legend(3, "sfail", "errors/s (right)");
    chart.x_axis(&time_ticks(time_range(series).1));
    chart.finish()
}

/// Each metric's histogram over the whole run, in quarter-decade bins, p50/p95/p99 marked.
fn histograms(report: &LoadReport) -> String {
    let mut out = String::from("<section id=\"histograms\"><h2>Histograms</h2>\n");
    for (metric, figures) in &report.total.metrics {
        let Ok(histogram) = json::decode(&figures.histogram) else {
            continue;
        };
        if histogram.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<h3>{} <span class=\"muted\">({} values; p50 {} · p95 {} · p99 {} · max {})</span></h3>",
            escape(metric.label()),
            figures.count,
            shown(*metric, figures.p50),
            shown(*metric, figures.p95),
            shown(*metric, figures.p99),
            shown(*metric, figures.max),
        );
        out.push_str(&histogram_chart(*metric, &histogram, figures));
    }
    out.push_str("</section>\n");
    out
}

/// A figure in the metric's shown unit, as text.
fn shown(metric: Metric, value: f64) -> String {
    match metric.unit() {
        Unit::Micros => format_ms(value),
        Unit::Count => format_count(value),
        Unit::MilliPerSecond => format!("{}/s", format_count(value)),
    }
}

const BINS_PER_DECADE: f64 = 4.0;

fn bin_of(recorded: u64) -> i32 {
    ((recorded.max(1) as f64).log10() * BINS_PER_DECADE).floor() as i32
}

fn histogram_chart(
    metric: Metric,
    histogram: &Histogram<u64>,
    figures: &json::MetricReport,
) -> String {
    let mut bins: Vec<(i32, u64)> = Vec::new();
    for value in histogram.iter_recorded() {
        let bin = bin_of(value.value_iterated_to());
        match bins.last_mut() {
            Some((last, count)) if *last == bin => *count += value.count_at_value(),
            _ => bins.push((bin, value.count_at_value())),
        }
    }
    let first = bins.first().map_or(0, |(bin, _)| *bin);
    let last = bins.last().map_or(0, |(bin, _)| *bin);
    let most = bins.iter().map(|(_, count)| *count).max().unwrap_or(1) as f64;
    let mut chart = Chart::new(
        WIDTH,
        150.0,
        (f64::from(first), f64::from(last) + 1.0),
        (0.0, most * 1.15),
        &format!("histogram of {}", metric.label()),
    );
    let unshown = |recorded: f64| json::shown(metric, recorded);
    for (bin, count) in &bins {
        let (left, right) = (
            chart.x.at(f64::from(*bin)),
            chart.x.at(f64::from(*bin) + 1.0),
        );
        let y = chart.y.at(*count as f64);
        let from = 10f64.powf(f64::from(*bin) / BINS_PER_DECADE);
        let to = 10f64.powf(f64::from(*bin + 1) / BINS_PER_DECADE);
        let title = format!(
            "{count} from {} to {}",
            shown(metric, unshown(from)),
            shown(metric, unshown(to))
        );
        let bottom = chart.plot_bottom();
        let y = y.min(bottom - 3.0);
        chart.rect(
            left + 1.0,
            y,
            right - left - 2.0,
            bottom - y,
            "bar",
            Some(&title),
        );
    }
    // Percentiles: shown values back to recorded ones, placed on the bins' scale.
    let recorded_per_shown = json::shown(metric, 1000.0) / 1000.0;
    let mut placed: Vec<f64> = Vec::new();
    for (name, value) in [
        ("p50", figures.p50),
        ("p95", figures.p95),
        ("p99", figures.p99),
    ] {
        let recorded = (value / recorded_per_shown).max(1.0);
        let at = chart.x.at(recorded.log10() * BINS_PER_DECADE);
        let row = placed.iter().filter(|x| (*x - at).abs() < 90.0).count();
        placed.push(at);
        chart.marker(at, row, &format!("{name} {}", shown(metric, value)));
    }
    let ticks = super::run::log_ticks(f64::from(first), f64::from(last) + 1.0, |recorded| {
        shown(metric, unshown(recorded))
    });
    chart.x_axis(&ticks);
    chart.y_axis(&value_ticks(most, format_count));
    chart.finish()
}

fn tests_table(report: &LoadReport) -> String {
    let p99 = |test: &json::TestReport, metric: Metric| {
        test.metrics
            .get(&metric)
            .map_or(String::new(), |figures| shown(metric, figures.p99))
    };
    let rows: Vec<(Vec<String>, &str)> = report
        .tests
        .iter()
        .chain([&report.total])
        .map(|test| {
            let counts = &test.counts;
            (
                vec![
                    test.name.clone(),
                    counts.iterations.to_string(),
                    counts.passed.to_string(),
                    counts.failed.to_string(),
                    counts.errored.to_string(),
                    format!("{}/s", format_count(test.goodput)),
                    p99(test, Metric::Ttfb),
                    p99(test, Metric::FirstItem),
                    p99(test, Metric::Gap),
                ],
                if counts.failed > 0 { "fail" } else { "" },
            )
        })
        .collect();
    format!(
        "<section id=\"tests\"><h2>Tests</h2>\n{}</section>\n",
        page::table(
            "tests",
            &[
                "test",
                "iterations",
                "passed",
                "failed",
                "errors",
                "goodput",
                "p99 ttfb",
                "p99 first item",
                "p99 gap"
            ],
            &rows
        )
    )
}

fn errors(report: &LoadReport) -> String {
    let total = &report.total;
    if total.errors.is_empty() && total.failures.is_empty() {
        return String::new();
    }
    let mut out = String::from("<section id=\"errors\"><h2>Errors and failures</h2>\n");
    if !total.errors.is_empty() {
        let rows: Vec<(Vec<String>, &str)> = total
            .errors
            .iter()
            .map(|(class, tally)| {
                (
                    vec![
                        class.label().to_string(),
                        tally.count.to_string(),
                        format_ms(tally.first_at.as_secs_f64() * 1000.0),
                    ],
                    "fail",
                )
            })
            .collect();
        out.push_str("<h3>Errors by class</h3>\n");
        out.push_str(&page::table(
            "errors",
            &["class", "count", "first at"],
            &rows,
        ));
    }
    if !total.failures.is_empty() {
        out.push_str("<h3>Failures by spec line</h3>\n");
        let rows: Vec<(Vec<String>, &str)> = total
            .failures
            .iter()
            .map(|tally| {
                (
                    vec![
                        tally.at.clone(),
                        tally.message.clone(),
                        tally.count.to_string(),
                    ],
                    "fail",
                )
            })
            .collect();
        out.push_str(&page::table(
            "failures",
            &["where", "failure", "count"],
            &rows,
        ));
        for tally in &total.failures {
            let _ = writeln!(
                out,
                "<details><summary>{} — the first, as `streamspec run` shows it</summary><pre class=\"terminal\">{}</pre></details>",
                escape(&tally.at),
                escape(&tally.example)
            );
        }
    }
    out.push_str("</section>\n");
    out
}

fn services(report: &LoadReport) -> String {
    if report
        .services
        .iter()
        .all(|service| service.samples.is_empty())
    {
        return String::new();
    }
    let mut out = String::from("<section id=\"services\"><h2>Services</h2>\n");
    for service in &report.services {
        let Some(first) = service.samples.first() else {
            continue;
        };
        let name = match service.instance {
            Some(instance) => format!("{} (instance {instance})", service.name),
            None => service.name.clone(),
        };
        let _ = writeln!(out, "<h3>{}: CPU and memory</h3>", escape(&name));
        let step = service.samples.len().div_ceil(POINTS).max(1);
        let samples: Vec<_> = service.samples.iter().step_by(step).collect();
        let end = samples.last().map_or(1.0, |s| (s.t - first.t) as f64 + 1.0);
        let cpu: Points = samples
            .iter()
            .map(|s| ((s.t - first.t) as f64, Some(s.cpu_percent)))
            .collect();
        let most_cpu = cpu
            .iter()
            .filter_map(|(_, v)| *v)
            .fold(0.0, f64::max)
            .max(1.0);
        let mut chart = Chart::new(
            WIDTH,
            HEIGHT,
            (0.0, end),
            (0.0, most_cpu * 1.1),
            &format!("CPU and memory of {name}"),
        );
        chart.y_axis(&value_ticks(most_cpu * 1.1, |v| {
            format!("{}%", format_count(v))
        }));
        let most_rss = samples
            .iter()
            .map(|s| s.rss_bytes)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mib = 1024.0 * 1024.0;
        let scale = Scale::new(
            0.0,
            most_rss / mib * 1.1,
            chart.plot_bottom(),
            chart.plot_top(),
        );
        let rss: Points = samples
            .iter()
            .map(|s| ((s.t - first.t) as f64, Some(s.rss_bytes as f64 / mib)))
            .collect();
        chart.polyline(&cpu, None, "s1");
        chart.polyline(&rss, Some(&scale), "s2");
        let ticks: Vec<(f64, String)> = nice_ticks(0.0, most_rss / mib, 3)
            .into_iter()
            .map(|tick| (tick, format!("{} MiB", format_count(tick))))
            .collect();
        chart.right_axis(&scale, &ticks, "users");
        chart.legend(0, "s1", "CPU (100% = a core)");
        chart.legend(1, "s2", "memory (RSS, right)");
        chart.x_axis(&time_ticks(end));
        out.push_str(&chart.finish());
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">the load generator: {} · CPU at most {}% · timer late by at most {}</p>",
        plural(report.client.cpus as usize, "CPU"),
        format_count(report.client.max_cpu_percent),
        format_ms(report.client.max_loop_lag_ms)
    );
    out.push_str("</section>\n");
    out
}

/// Whether the report can be written at `path`, known before the load rather than after it
/// (the file is left empty).
pub fn check_writable(path: &Path) -> Result<(), String> {
    std::fs::write(path, "").map_err(|error| cannot_write(path, &error))
}

/// Writes the page for `report` to `path` when one is asked for, and returns the exit code:
/// `code`, or 3 (with the reason on standard error) when the file cannot be written.
pub fn write_for(report: &LoadReport, path: Option<&Path>, secrets: &Secrets, code: i32) -> i32 {
    let Some(path) = path else {
        return code;
    };
    match std::fs::write(path, render(report, secrets)) {
        Ok(()) => code,
        Err(error) => {
            errln!("error: {}", cannot_write(path, &error));
            crate::exit_code::SETUP_FAILED
        }
    }
}

fn cannot_write(path: &Path, error: &std::io::Error) -> String {
    format!("cannot write the report `{}`: {error}", path.display())
}
