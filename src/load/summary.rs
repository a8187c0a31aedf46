//! The summary a load run (or a merge) prints for people: what ran, a table of percentiles per
//! test (and in total), counts, errors by class and when they started, failures by spec line and
//! error class with the first example of the most frequent, the services' CPU and memory (and
//! exit, if one exited), whether the load generator was saturated, and every threshold with its
//! measured value and margin.

use std::fmt::Write;

use super::json::{LoadReport, MetricReport, TestReport};
use super::metrics::{ErrorClass, Metric};
use super::profile::{Model, Profile};
use crate::style::Palette;

/// The first line, printed as the load starts: `load: 2 tests · closed model: 40 users for 15s`.
pub fn header(tests: usize, profile: &Profile, instance: super::profile::Instance) -> String {
    format!(
        "load: {} · {}{}\n",
        crate::report::plural(tests, "test"),
        describe_profile(profile),
        if instance.count > 1 {
            format!(" · instance {instance}")
        } else {
            String::new()
        }
    )
}

/// The summary after the [`header`].
pub fn render(report: &LoadReport, palette: &Palette) -> String {
    let mut out = String::new();
    let total = &report.total;
    let seconds = report.elapsed.as_secs_f64();
    let _ = writeln!(
        out,
        "ran {} · {} ({}) · {} passed · {} failed · goodput {}",
        // Under a second, in milliseconds: a run of 44ms read `ran 0.0s` beside 22.9/s.
        if seconds < 0.95 {
            millis(seconds * 1000.0)
        } else {
            seconds_text(seconds)
        },
        counted(total.counts.iterations, "iteration"),
        rate(total.counts.iterations_in_schedule as f64 / total.rate_seconds.max(1e-9)),
        count(total.counts.passed),
        count(total.counts.failed),
        rate(total.goodput),
    );
    let mut extra = Vec::new();
    if total.counts.interrupted > 0 {
        extra.push(format!(
            "{} cut off at the end (the streams they had open: measured but for their length and item count)",
            counted(total.counts.interrupted, "iteration")
        ));
    }
    if total.counts.dropped > 0 {
        // As errors say when the first came: arrivals dropped from the start and dropped at
        // the peak of a ramp tell different stories.
        let first = total.dropped_first_at_ms.map_or(String::new(), |at| {
            format!(", the first at {}", seconds_text(at as f64 / 1000.0))
        });
        extra.push(format!(
            "{} dropped (--max-users were running){first}",
            counted(total.counts.dropped, "iteration")
        ));
    }
    if !extra.is_empty() {
        let _ = writeln!(out, "{}", extra.join(" · "));
    }
    if let Some(note) = rates_read_low(total) {
        let _ = writeln!(out, "{note}");
    }
    if let Some(stopped) = &report.stopped {
        let _ = writeln!(
            out,
            "{}",
            paint(palette.error, &format!("stopped early: {stopped}"))
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(
            out,
            "{}",
            paint(palette.warning, &format!("warning: {warning}"))
        );
    }
    for test in &report.tests {
        out.push('\n');
        out.push_str(&test_table(test));
    }
    if report.tests.len() > 1 {
        out.push('\n');
        out.push_str(&test_table(total));
    }
    if !total.errors.is_empty() {
        let _ = writeln!(out, "\nerrors");
        let mut errors: Vec<(&ErrorClass, &super::metrics::ErrorTally)> =
            total.errors.iter().collect();
        errors.sort_by_key(|(_, tally)| std::cmp::Reverse(tally.count));
        for (class, tally) in errors {
            let _ = writeln!(
                out,
                "  {:<10} {:>8}  first at {}",
                class.label(),
                count(tally.count),
                seconds_text(tally.first_at.as_secs_f64())
            );
        }
    }
    if !total.failures.is_empty() {
        let _ = writeln!(out, "\nfailures, by the spec line that failed");
        let mut failures = total.failures.clone();
        failures.sort_by_key(|tally| std::cmp::Reverse(tally.count));
        for tally in &failures {
            let _ = writeln!(
                out,
                "  {}× {}: {}",
                count(tally.count),
                tally.at,
                tally.message
            );
        }
        out.push_str(&failure_examples(&failures));
    }
    for service in &report.services {
        // Merged, each instance's service is a process of its own, which that instance
        // started: its figures are its own, not to be added to another machine's.
        let instance = service
            .instance
            .map_or(String::new(), |instance| format!(" (instance {instance})"));
        if service.samples.is_empty() {
            // A service that exited before its first second has nothing to sample; one that
            // ran, and was not sampled, is said to be so rather than left out.
            out.push('\n');
            if service.exited.is_none() || service.not_sampled.is_some() {
                let _ = writeln!(
                    out,
                    "{}",
                    paint(palette.warning, &not_sampled_text(service, &instance))
                );
            }
            if let Some(exited) = &service.exited {
                out.push_str(&exit_line(&service.name, &instance, exited, palette));
            }
            continue;
        }
        let cpus: Vec<f64> = service.samples.iter().map(|s| s.cpu_percent).collect();
        let mean = cpus.iter().sum::<f64>() / cpus.len() as f64;
        let max_cpu = cpus.iter().copied().fold(0.0, f64::max);
        let max_rss = service
            .samples
            .iter()
            .map(|s| s.rss_bytes)
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "\nservice {}{instance}: CPU mean {:.0}% · max {:.0}% · memory max {}",
            service.name,
            mean,
            max_cpu,
            megabytes(max_rss)
        );
        if let Some(why) = &service.not_sampled {
            let _ = writeln!(
                out,
                "  {}",
                paint(
                    palette.warning,
                    &format!("some of its seconds were not sampled: {why}")
                )
            );
        }
        if let Some(exited) = &service.exited {
            out.push_str(&exit_line(&service.name, &instance, exited, palette));
        }
    }
    let client = &report.client;
    let _ = writeln!(
        out,
        "\nload generator: {} · CPU max {:.0}% · timer lag max {}",
        crate::report::plural(client.cpus as usize, "CPU"),
        client.max_cpu_percent,
        millis(client.max_loop_lag_ms)
    );
    for warning in &client.saturation {
        let _ = writeln!(
            out,
            "  {}",
            paint(palette.warning, &format!("warning: {warning}"))
        );
    }
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "\nthresholds");
        let width = report
            .thresholds
            .iter()
            .map(|v| v.label().chars().count())
            .max()
            .unwrap_or(0);
        let texts: Vec<(String, Option<String>)> =
            report.thresholds.iter().map(verdict_texts).collect();
        let measured: Vec<&String> = texts.iter().map(|(measured, _)| measured).collect();
        let measured_width = measured
            .iter()
            .map(|m| m.chars().count())
            .max()
            .unwrap_or(0);
        for (verdict, (measured, margin)) in report.thresholds.iter().zip(&texts) {
            let mark = if verdict.passed {
                paint(palette.pass, "✓")
            } else {
                paint(palette.error, "✗")
            };
            let margin = margin
                .as_ref()
                .map_or(String::new(), |margin| format!("  margin {margin}"));
            let line = format!(
                "  {mark} {:<width$}  {measured:>measured_width$}{margin}",
                verdict.label()
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        for note in super::implied::notes(&report.thresholds) {
            let _ = writeln!(out, "  (implied: {note})");
        }
    } else {
        let dropped = if report.profile.model == super::profile::Model::Open {
            " and no arrival was dropped"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\nno thresholds: the run passes if every iteration passed{dropped}"
        );
    }
    // The verdict, once it is known, where the table of thresholds does not say it: which part
    // of the rule the run broke, or a test none of whose iterations was judged.
    let unsaid: Vec<&str> = report
        .failed_because
        .iter()
        .map(String::as_str)
        .filter(|reason| {
            !reason.starts_with("the threshold `") && !reason.starts_with("stopped early")
        })
        .collect();
    if report.passed == Some(false) && !unsaid.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(palette.error, &format!("FAILED: {}", unsaid.join("; ")))
        );
    }
    out
}

/// When iterations are long beside the schedule, why the rates read below the steady rate:
/// they count the iterations that ended within the schedule, and the first end no sooner than
/// an iteration's length after the start (50 arrivals a second of 1.8 s streams for 4 s read
/// 27.5/s). Counting those that ended after it would let a server slower than the arrivals,
/// its backlog served in the graceful stop, read as fast as they came.
fn rates_read_low(total: &TestReport) -> Option<String> {
    let counts = &total.counts;
    let mean_ms = total.metrics.get(&Metric::Iteration)?.mean;
    let schedule_ms = total.rate_seconds * 1000.0;
    (counts.iterations_in_schedule < counts.iterations && mean_ms >= 0.1 * schedule_ms).then(|| {
        format!(
            "note: rates count the {} that ended within the {} schedule ({} more ended after it); iterations of {} on average are {:.0}% of it, so a longer --duration reads nearer the steady rate",
            counted(counts.iterations_in_schedule, "iteration"),
            seconds_text(total.rate_seconds),
            count(counts.iterations - counts.iterations_in_schedule),
            millis(mean_ms),
            100.0 * mean_ms / schedule_ms
        )
    })
}

/// How many failures (of a spec line and an error class) the summary shows the first example
/// of: the JSON report has every one's.
const EXAMPLES_SHOWN: usize = 3;

/// The first example of each of the most frequent `failures` (sorted so), as `streamspec run`
/// shows it, and where the others' are. Each kind of failure has its own cause, which the
/// example of another does not show.
fn failure_examples(failures: &[super::metrics::FailureTally]) -> String {
    let mut out = String::new();
    let heading = match failures.len() {
        0 => return out,
        1 => "the first".to_string(),
        n if n <= EXAMPLES_SHOWN => "the first of each".to_string(),
        _ => format!("the first of each of the {EXAMPLES_SHOWN} most frequent"),
    };
    let _ = writeln!(out, "\n{heading}, as `streamspec run` shows it:");
    for (index, tally) in failures.iter().take(EXAMPLES_SHOWN).enumerate() {
        if index > 0 {
            out.push('\n');
        }
        for line in tally.example.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let others = match failures.len().saturating_sub(EXAMPLES_SHOWN) {
        0 => return out,
        1 => "the other one".to_string(),
        n => format!("each of the {n} others"),
    };
    let _ = writeln!(
        out,
        "\nthe first of {others}: in the JSON report (`--report-json FILE`)"
    );
    out
}

/// `service demo: not sampled (the open-file limit (ulimit -n 200) was reached)`
/// (`instance`: ` (instance 1/2)` or empty).
pub fn not_sampled_text(service: &super::json::ServiceReport, instance: &str) -> String {
    let why = service
        .not_sampled
        .as_ref()
        .map_or(String::new(), |why| format!(" ({why})"));
    format!("service {}{instance}: not sampled{why}", service.name)
}

/// `service api exited with code 3 at 2.4s`: the errors after it are its doing.
fn exit_line(
    name: &str,
    instance: &str,
    exited: &super::json::ServiceExited,
    palette: &Palette,
) -> String {
    let mut text = format!(
        "{}\n",
        paint(palette.error, &exit_text(name, instance, exited))
    );
    if !exited.output.is_empty() {
        text.push_str("  its output (last 40 lines at most):\n");
        for line in exited.output.lines() {
            let _ = writeln!(text, "    {line}");
        }
    }
    text
}

/// `service api exited with code 3 at 2.4s` (`instance`: ` (instance 1/2)` or empty).
pub fn exit_text(name: &str, instance: &str, exited: &super::json::ServiceExited) -> String {
    format!(
        "service {name}{instance} {} at {}",
        exited.how,
        seconds_text(exited.at_ms as f64 / 1000.0)
    )
}

fn paint(style: anstyle::Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// A threshold's measured value and its signed margin, as the summary and the HTML page show
/// them. The margin of a rate reads in the unit of the measured value: `0.2/s margin 0.18/s`,
/// not `margin 11/m`.
pub fn verdict_texts(verdict: &super::thresholds::Verdict) -> (String, Option<String>) {
    let measured = verdict
        .measured
        .map_or("nothing measured".to_string(), |value| {
            text_apart_from(value, verdict.bound.unwrap_or(value), &verdict.unit)
        });
    let margin = verdict.margin.map(|margin| {
        let text = match verdict.measured {
            Some(value) if verdict.unit == "/s" => rate_as(margin.abs(), value),
            _ => text_apart_from(margin.abs(), 0.0, &verdict.unit),
        };
        signed(text, margin)
    });
    (measured, margin)
}

/// `per_second` in the unit [`rate`] shows `like` in (per second, minute or hour), to two
/// significant digits at least.
fn rate_as(per_second: f64, like: f64) -> String {
    let like = rate(like);
    let (unit, seconds) = if like.ends_with("/m") {
        ("m", 60.0)
    } else if like.ends_with("/h") {
        ("h", 3600.0)
    } else {
        ("s", 1.0)
    };
    let value = per_second * seconds;
    if value >= 100.0 || value == 0.0 {
        return format!("{}/{unit}", count(value.round() as u64));
    }
    let decimals = if value >= 1.0 {
        1
    } else {
        // Two significant digits: as many decimals as the first digit's place, and one more.
        (-value.log10()).floor() as usize + 2
    };
    format!("{}/{unit}", trim_float(value, decimals))
}

fn signed(text: String, value: f64) -> String {
    if value < 0.0 {
        format!("-{text}")
    } else {
        text
    }
}

fn value_text(value: f64, unit: &str) -> String {
    match unit {
        "ms" => millis(value),
        "%" => format!("{}%", trim_float(value, 2)),
        "/s" => rate(value),
        _ => trim_float(value, 1),
    }
}

/// `value` as [`value_text`] shows it, with more decimals when that would read the same as
/// `other` although the two differ: a threshold missed by 0.003/s does not read `5/s` against a
/// bound of `5/s`, nor its margin `-0/s`.
fn text_apart_from(value: f64, other: f64, unit: &str) -> String {
    let text = value_text(value, unit);
    if value == other || text != value_text(other, unit) {
        return text;
    }
    let unit = match unit {
        "ms" | "%" | "/s" => unit,
        _ => "",
    };
    (2..=6)
        .map(|decimals| {
            (
                format!("{}{unit}", trim_float(value, decimals)),
                format!("{}{unit}", trim_float(other, decimals)),
            )
        })
        .find(|(value, other)| value != other)
        .map_or(text, |(value, _)| value)
}

/// One test's table: a row per distribution, then its counts.
fn test_table(test: &TestReport) -> String {
    let mut out = String::new();
    let label_width = 20;
    let _ = write!(out, "{:<label_width$}", test.name);
    if test.name.chars().count() >= label_width {
        let _ = write!(out, "\n{:<label_width$}", "");
    }
    for column in ["p50", "p90", "p95", "p99", "p99.9", "max"] {
        let _ = write!(out, " {column:>9}");
    }
    out.push('\n');
    for metric in Metric::ALL {
        let Some(figures) = test.metrics.get(&metric) else {
            continue;
        };
        let _ = write!(out, "  {:<width$}", metric.label(), width = label_width - 2);
        for value in row(figures) {
            let _ = write!(out, " {:>9}", figure(metric, value));
        }
        out.push('\n');
    }
    let counts = &test.counts;
    let cut_off = if counts.interrupted > 0 {
        format!(" · {} cut off", count(counts.interrupted))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  {} · {} passed · {} failed{cut_off} · {} · {} · {}",
        counted(counts.iterations, "iteration"),
        count(counts.passed),
        count(counts.failed),
        counted(counts.streams, "stream"),
        counted(counts.items, "item"),
        counted(counts.reconnections, "reconnection")
    );
    out
}

fn row(figures: &MetricReport) -> [f64; 6] {
    [
        figures.p50,
        figures.p90,
        figures.p95,
        figures.p99,
        figures.p99_9,
        figures.max,
    ]
}

fn figure(metric: Metric, value: f64) -> String {
    match metric.unit() {
        super::metrics::Unit::Micros => millis(value),
        super::metrics::Unit::Count => trim_float(value, 0),
        super::metrics::Unit::MilliPerSecond => rate(value),
    }
}

/// Milliseconds, to three significant digits or so: `0.42ms`, `12.3ms`, `250ms`, `12.5s`.
pub fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 100.0 {
        format!("{ms:.1}ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// `3.0s`, `2m05s`: how the summary gives a time into the run.
pub fn seconds_text(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = seconds.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// `36.4/s`, `5,972/s`: a decimal only while it says something. A rate below 1/s that is a
/// whole number per minute or per hour reads in that unit (`1/m`, `90/h`, as `--rate` reads
/// them), any other to two significant digits (`0.017/s`): one decimal per second made a
/// goodput of one a minute read `0/s`. Every rate the summary shows, measured or given
/// ([`super::profile::rate_text`]), reads this way.
pub fn rate(per_second: f64) -> String {
    let whole = |value: f64| value >= 1.0 && (value - value.round()).abs() < 1e-6 * value;
    if per_second >= 100.0 {
        return format!("{}/s", count(per_second.round() as u64));
    }
    if per_second >= 1.0 || per_second <= 0.0 || whole(per_second * 10.0) {
        return format!("{}/s", trim_float(per_second, 1));
    }
    for (unit, seconds) in [("m", 60.0), ("h", 3600.0)] {
        let per_unit = per_second * seconds;
        if whole(per_unit) {
            return format!("{}/{unit}", count(per_unit.round() as u64));
        }
    }
    // Two significant digits: as many decimals as the first digit's place, and one more.
    let decimals = (-per_second.log10()).floor().max(0.0) as usize + 2;
    format!("{}/s", trim_float(per_second, decimals))
}

fn trim_float(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `1,540`.
pub fn count(n: u64) -> String {
    crate::transport::http::format_count(usize::try_from(n).unwrap_or(usize::MAX))
}

/// `1 iteration`, `1,540 iterations`: [`crate::report::plural`] with the thousands separated.
pub fn counted(n: u64, noun: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{} {noun}{plural}", count(n))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `closed model: 50 users for 20s`, `open model: 10/s → 200/s over 1m, …`.
pub fn describe_profile(profile: &Profile) -> String {
    let unit = |level: f64| match profile.model {
        Model::Closed => crate::report::plural(level as usize, "user"),
        Model::Open => super::profile::rate_text(level),
    };
    let model = match profile.model {
        Model::Closed => "closed model",
        Model::Open => "open model",
    };
    let mut parts = Vec::new();
    let mut level = profile.start;
    for stage in &profile.stages {
        let duration = crate::duration::format_duration(stage.duration);
        if (stage.target - level).abs() < 1e-9 {
            parts.push(format!("{} for {duration}", unit(stage.target)));
        } else {
            parts.push(format!(
                "{} → {} over {duration}",
                unit(level),
                unit(stage.target)
            ));
        }
        level = stage.target;
    }
    if parts.is_empty() {
        parts.push(unit(profile.start));
    }
    let mut text = format!("{model}: {}", parts.join(", "));
    if let Some(iterations) = profile.iterations {
        text.push_str(&format!(", {} at most", counted(iterations, "iteration")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_below_one_a_second_keeps_its_digits() {
        assert_eq!(rate(1.0 / 60.0), "1/m");
        assert_eq!(rate(0.017), "0.017/s");
        assert_eq!(rate(90.0 / 3600.0), "90/h");
        assert_eq!(rate(0.5), "0.5/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(36.44), "36.4/s");
        assert_eq!(rate(5_972.2), "5,972/s");
    }

    #[test]
    fn a_rate_s_margin_reads_in_the_unit_of_its_value() {
        let texts = |measured: f64, bound: f64| {
            verdict_texts(&super::super::thresholds::Verdict {
                threshold: "goodput > x".to_string(),
                measured: Some(measured),
                unit: "/s".to_string(),
                passed: measured > bound,
                margin: Some(measured - bound),
                bound: Some(bound),
                test: None,
                implied: false,
            })
        };
        let texts = |measured, bound| {
            let (measured, margin) = texts(measured, bound);
            (measured, margin.unwrap_or_default())
        };
        assert_eq!(texts(0.2, 1.0 / 60.0), ("0.2/s".into(), "0.18/s".into()));
        assert_eq!(texts(1.0 / 60.0, 0.2), ("1/m".into(), "-11/m".into()));
        assert_eq!(texts(90.0 / 3600.0, 0.02), ("90/h".into(), "18/h".into()));
        assert_eq!(texts(4.997, 5.0), ("4.997/s".into(), "-0.003/s".into()));
        assert_eq!(texts(350.0, 50.0), ("350/s".into(), "300/s".into()));
        assert_eq!(texts(5.0, 5.0), ("5/s".into(), "0/s".into()));
    }

    #[test]
    fn a_value_near_its_bound_reads_apart_from_it() {
        assert_eq!(text_apart_from(4.997, 5.0, "/s"), "4.997/s");
        assert_eq!(text_apart_from(0.003, 0.0, "/s"), "0.003/s");
        assert_eq!(text_apart_from(4.2, 5.0, "/s"), "4.2/s");
        assert_eq!(text_apart_from(5.0, 5.0, "/s"), "5/s");
        assert_eq!(text_apart_from(99.996, 100.0, "%"), "99.996%");
        assert_eq!(text_apart_from(100.04, 100.0, "ms"), "100.04ms");
    }
}
