//! The HTML report of a load (`load --report-html`, `merge --report-html`), made from the same
//! [`LoadReport`] as the JSON one: the summary's figures, the thresholds with their margins,
//! the latency percentiles over time with the active users behind them, items/s and errors/s
//! over time, the histograms, errors by class and failures by spec line, and each service's
//! CPU and memory when they were sampled, a service's exit. A long run's series is averaged into
//! at most [`over_time::POINTS`] points, so an hour's soak makes a file of a few hundred KiB.

use std::fmt::Write;
use std::path::Path;

use hdrhistogram::Histogram;

use super::escape::escape;
use super::over_time::{self, time_ticks, value_ticks};
use super::page;
use super::svg::{Chart, Scale, format_count, format_ms, nice_ticks};
use crate::load::json::{self, LoadReport};
use crate::load::metrics::{Metric, Unit};
use crate::output::errln;
use crate::report::plural;
use crate::report::redact::Secrets;
use crate::style::Palette;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 200.0;

/// The page for a load report, every text in it masked by `secrets`.
pub fn render(report: &LoadReport, secrets: &Secrets) -> String {
    let report = masked(report, secrets);
    let report = &report;
    let mut body = String::new();
    body.push_str(&summary(report, secrets));
    body.push_str(&thresholds(report));
    body.push_str(&exits_note(report));
    body.push_str(&over_time::section(report, &exits(report)));
    body.push_str(&histograms(report));
    body.push_str(&tests_table(report));
    body.push_str(&errors(report));
    body.push_str(&services(report));
    page::document("streamspec load", &body)
}

/// A copy of the report with every text masked: the names, the failures and their examples.
/// Masking also cuts the long texts a message holds whole to what it shows (see
/// [`crate::excerpt`]): it is done with no secret too.
fn masked(report: &LoadReport, secrets: &Secrets) -> LoadReport {
    let mut report = report.clone();
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
        verdict.test = verdict.test.as_deref().map(|test| secrets.redact(test));
    }
    report.stopped = report.stopped.as_deref().map(|text| secrets.redact(text));
    for service in &mut report.services {
        service.name = secrets.redact(&service.name);
        if let Some(exited) = &mut service.exited {
            exited.output = secrets.redact(&exited.output);
        }
    }
    report
}

fn summary(report: &LoadReport, secrets: &Secrets) -> String {
    let total = &report.total;
    let counts = &total.counts;
    // The verdict the exit code gave; a report written before it was kept, worked out again.
    let passed = report
        .passed
        .unwrap_or_else(|| crate::load::verdict::judge(report).passed);
    let mut out = format!(
        "<section class=\"summary\" id=\"summary\">\n<p class=\"note mono\">{}</p>\n",
        escape(
            crate::load::summary::header(report.tests.len(), &report.profile, report.instance)
                .trim()
        )
    );
    let mut figures = vec![
        // A run stopped by a signal has no verdict: what it measured is partial, not failed.
        match &report.stopped {
            Some(stopped) if stopped.starts_with("interrupted") => {
                ("verdict", "interrupted".to_string(), "error")
            }
            _ => (
                "verdict",
                if passed { "passed" } else { "failed" }.to_string(),
                if passed { "pass" } else { "fail" },
            ),
        },
        (
            "iterations",
            crate::load::summary::count(counts.iterations),
            "",
        ),
        ("passed", crate::load::summary::count(counts.passed), "pass"),
        // As the terminal summary counts them: an iteration with an error has failed, and the
        // errors are some of the failed.
        (
            "failed (errors included)",
            crate::load::summary::count(counts.failed),
            if counts.failed > 0 { "fail" } else { "" },
        ),
        (
            "of them errors",
            crate::load::summary::count(counts.errored),
            if counts.errored > 0 { "error" } else { "" },
        ),
        ("goodput", crate::load::summary::rate(total.goodput), ""),
        ("items", crate::load::summary::count(counts.items), ""),
        (
            "duration",
            format_ms(report.elapsed.as_secs_f64() * 1000.0),
            "",
        ),
    ];
    if counts.dropped > 0 {
        figures.push((
            "dropped",
            crate::load::summary::count(counts.dropped),
            "fail",
        ));
    }
    out.push_str(&page::figures(&figures));
    if !report.failed_because.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note fail\">failed: {}</p>",
            escape(&secrets.redact(&report.failed_because.join("; ")))
        );
    }
    if let Some(stopped) = &report.stopped {
        let _ = writeln!(
            out,
            "<p class=\"note\">stopped early: {}</p>",
            escape(stopped)
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(
            out,
            "<p class=\"note warning\">warning: {}</p>",
            escape(warning)
        );
    }
    for saturation in &report.client.saturation {
        let _ = writeln!(
            out,
            "<p class=\"note warning saturated\">SATURATED: {}</p>",
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
    let rows: Vec<(Vec<String>, &str)> = report
        .thresholds
        .iter()
        .map(|verdict| {
            // As the terminal's summary reads them.
            let (measured, margin) = crate::load::summary::verdict_texts(verdict);
            let margin = margin.map_or(String::new(), |margin| match margin.strip_prefix('-') {
                Some(lost) => format!("−{lost}"),
                None => format!("+{margin}"),
            });
            (
                vec![
                    verdict.label(),
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

/// Each service that exited while the load ran, where the time charts mark it.
fn exits(report: &LoadReport) -> Vec<over_time::Exit> {
    report
        .services
        .iter()
        .filter_map(|service| {
            let exited = service.exited.as_ref()?;
            Some(over_time::Exit {
                at: exited.at_ms as f64 / 1000.0,
                label: format!("{} {}", service.name, exited.how),
            })
        })
        .collect()
}

/// The services that exited while the load ran, said as the terminal summary says it: the
/// errors after it are its doing.
fn exits_note(report: &LoadReport) -> String {
    let mut out = String::new();
    for service in &report.services {
        if let Some(exited) = &service.exited {
            let instance = service
                .instance
                .map_or(String::new(), |instance| format!(" (instance {instance})"));
            let _ = writeln!(
                out,
                "<p class=\"note exited\">{}</p>",
                escape(&crate::load::summary::exit_text(
                    &service.name,
                    &instance,
                    exited
                ))
            );
        }
    }
    out
}

/// Each metric's histogram over the whole run, p50/p95/p99 marked.
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

fn histogram_chart(
    metric: Metric,
    histogram: &Histogram<u64>,
    figures: &json::MetricReport,
) -> String {
    let values: Vec<(f64, u64)> = histogram
        .iter_recorded()
        .map(|value| {
            // At the lowest of the values each stands for, where the exact ones fell.
            let lowest = histogram.lowest_equivalent(value.value_iterated_to());
            (json::shown(metric, lowest as f64), value.count_at_value())
        })
        .collect();
    let format = match metric.unit() {
        Unit::Micros => format_ms,
        Unit::Count => format_count,
        Unit::MilliPerSecond => |value| format!("{}/s", format_count(value)),
    };
    super::histogram::chart(&super::histogram::Histogram {
        values: &values,
        whole: metric.unit() == Unit::Count,
        format,
        // What the histogram records: microseconds, a count, thousandths per second.
        resolution: json::shown(metric, 1.0),
        zero: if metric.unit() == Unit::Micros {
            "under 1µs"
        } else {
            "of 0"
        },
        percentiles: &[
            ("p50", figures.p50),
            ("p95", figures.p95),
            ("p99", figures.p99),
        ],
        label: &format!("histogram of {}", metric.label()),
    })
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
                    crate::load::summary::count(counts.iterations),
                    crate::load::summary::count(counts.passed),
                    crate::load::summary::count(counts.failed),
                    crate::load::summary::count(counts.errored),
                    crate::load::summary::rate(test.goodput),
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
                "of them errors",
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
        // In the terminal summary's order (the most frequent first) and words.
        let mut errors: Vec<_> = total.errors.iter().collect();
        errors.sort_by_key(|(_, tally)| std::cmp::Reverse(tally.count));
        let rows: Vec<(Vec<String>, &str)> = errors
            .into_iter()
            .map(|(class, tally)| {
                (
                    vec![
                        class.label().to_string(),
                        tally.count.to_string(),
                        crate::load::summary::seconds_text(tally.first_at.as_secs_f64()),
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
        let mut failures: Vec<_> = total.failures.iter().collect();
        failures.sort_by_key(|tally| std::cmp::Reverse(tally.count));
        let rows: Vec<(Vec<String>, &str)> = failures
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
        for tally in &failures {
            // A line that failed in two ways has two examples: the class tells them apart.
            let class = tally
                .class
                .map_or(String::new(), |class| format!(" ({})", class.label()));
            let _ = writeln!(
                out,
                "<details><summary>{}{} — the first, as `streamspec run` shows it</summary><pre class=\"terminal\">{}</pre></details>",
                escape(&tally.at),
                escape(&class),
                escape(&tally.example)
            );
        }
    }
    out.push_str("</section>\n");
    out
}

fn services(report: &LoadReport) -> String {
    // As the terminal summary: a service that ran without being sampled is said to be, not
    // left out (one that exited before its first second had nothing to sample).
    let unsampled = |service: &crate::load::json::ServiceReport| {
        service.samples.is_empty() && (service.exited.is_none() || service.not_sampled.is_some())
    };
    if report
        .services
        .iter()
        .all(|service| service.samples.is_empty() && !unsampled(service))
    {
        return String::new();
    }
    let mut out = String::from("<section id=\"services\"><h2>Services</h2>\n");
    for service in &report.services {
        let instance = service
            .instance
            .map_or(String::new(), |instance| format!(" (instance {instance})"));
        if unsampled(service) {
            let _ = writeln!(
                out,
                "<p class=\"note warning\">{}</p>",
                escape(&crate::load::summary::not_sampled_text(service, &instance))
            );
        }
        let Some(first) = service.samples.first() else {
            continue;
        };
        let name = format!("{}{instance}", service.name);
        let _ = writeln!(out, "<h3>{}: CPU and memory</h3>", escape(&name));
        let step = service.samples.len().div_ceil(over_time::POINTS).max(1);
        let samples: Vec<_> = service.samples.iter().step_by(step).collect();
        // Each sample is of a second, drawn at its middle; the axis ends with the run, as the
        // other time charts' do.
        let at = |t: u64| t.saturating_sub(first.t) as f64 + 0.5;
        let end = samples
            .last()
            .map_or(1.0, |s| at(s.t))
            .max(report.elapsed.as_secs_f64());
        let cpu: Vec<(f64, Option<f64>)> = samples
            .iter()
            .map(|s| (at(s.t), Some(s.cpu_percent)))
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
        )
        .with_legend_row();
        chart.y_axis(&value_ticks(most_cpu * 1.1, |v| {
            format!("{}%", format_count(v))
        }));
        let most_rss = samples
            .iter()
            .map(|s| s.rss_bytes)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        // In MB, as the terminal summary gives the memory.
        let mb = 1e6;
        let scale = Scale::new(
            0.0,
            most_rss / mb * 1.1,
            chart.plot_bottom(),
            chart.plot_top(),
        );
        let rss: Vec<(f64, Option<f64>)> = samples
            .iter()
            .map(|s| (at(s.t), Some(s.rss_bytes as f64 / mb)))
            .collect();
        chart.polyline(&cpu, None, "s1");
        // Dashed, on an axis of its own (right): told from the CPU without its colour.
        chart.polyline(&rss, Some(&scale), "s2 dashed memory");
        over_time::mark_exits(&mut chart, &exits(report));
        let ticks: Vec<(f64, String)> = nice_ticks(0.0, most_rss / mb, 3)
            .into_iter()
            .map(|tick| (tick, format!("{} MB", format_count(tick))))
            .collect();
        chart.right_axis(&scale, &ticks, "users");
        // Each axis named at its top.
        let top = chart.plot_top() - 4.0;
        chart.text(chart.x.from, top, "end", "tick axis-name", "CPU");
        chart.text(chart.x.to + 6.0, top, "start", "tick axis-name", "memory");
        chart.legend(0, "s1", "CPU (100% = a core)");
        chart.legend(1, "s2", "memory (RSS, right)");
        chart.x_axis(&time_ticks(end));
        out.push_str(&chart.finish());
        if let Some(why) = &service.not_sampled {
            let _ = writeln!(
                out,
                "<p class=\"note warning\">some of its seconds were not sampled: {}</p>",
                escape(why)
            );
        }
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

/// Whether the report can be written at `path` (its directories created), known before the
/// load rather than after it (the file is left empty).
pub fn check_writable(path: &Path) -> Result<(), String> {
    crate::report::file::write_whole(path, "").map_err(|error| cannot_write(path, &error))
}

/// Writes the page for `report` to `path` when one is asked for, and returns the exit code:
/// `code`, or 3 (with the reason on standard error) when the file cannot be written.
pub fn write_for(report: &LoadReport, path: Option<&Path>, secrets: &Secrets, code: i32) -> i32 {
    let Some(path) = path else {
        return code;
    };
    match crate::report::file::write_whole(path, render(report, secrets)) {
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
