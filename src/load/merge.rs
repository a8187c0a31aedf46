//! `streamspec merge`: the reports of the N instances of one load (`--instance K/N`) made into
//! the report of the whole: counts summed, histograms merged (never averaged), the exact min and
//! max of each metric the least and greatest of the parts' and its mean weighted by their counts,
//! the time series joined second by second on the wall clock, and the thresholds judged again on
//! the merged totals.

use std::collections::BTreeMap;
use std::time::Duration;

use super::json::{self, LoadReport, SecondReport, TestReport, encode, shown};
use super::metrics::{Measured, Metric, Stat};
use super::profile::Instance;
use super::thresholds::Threshold;

/// Merges `reports` (each with the file it came from, for messages). `thresholds`: to judge
/// instead of the reports' own.
pub fn merge(
    reports: &[(String, LoadReport)],
    thresholds: Option<&[Threshold]>,
) -> Result<LoadReport, String> {
    let Some((first_file, first)) = reports.first() else {
        return Err("no reports to merge".to_string());
    };
    let count = first.instance.count;
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    for (file, report) in reports {
        if report.streamspec_load != json::FORMAT {
            return Err(format!(
                "{file} is a report of format {}; this streamspec reads format {}",
                report.streamspec_load,
                json::FORMAT
            ));
        }
        if report.instance.count != count {
            return Err(format!(
                "{file} is instance {} but {first_file} is instance {}: they are parts of different loads",
                report.instance, first.instance
            ));
        }
        if report.profile != first.profile {
            return Err(format!(
                "{file} ran another profile than {first_file}: they are parts of different loads"
            ));
        }
        let names = |report: &LoadReport| -> Vec<String> {
            report.tests.iter().map(|test| test.name.clone()).collect()
        };
        if names(report) != names(first) {
            return Err(format!(
                "{file} ran other tests than {first_file}: they are parts of different loads"
            ));
        }
        if let Some(other) = seen.insert(report.instance.index, file) {
            return Err(format!(
                "{file} and {other} are both instance {}",
                report.instance
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|index| !seen.contains_key(index))
        .map(|index| format!("{index}/{count}"))
        .collect();

    let started = reports
        .iter()
        .map(|(_, r)| r.started_at_unix_ms)
        .min()
        .unwrap_or(0);
    let ended = reports
        .iter()
        .map(|(_, r)| r.started_at_unix_ms + r.elapsed.as_millis() as u64)
        .max()
        .unwrap_or(started);
    // The parts are taken to have run side by side (as `--start-at` starts them): the load ran
    // as long as its longest part, and its rates are per second of the longest schedule. The
    // span from the first start to the last end would be of parts run one after another, whose
    // rates per that span would not be the load's either: such parts are warned of instead.
    let elapsed = reports
        .iter()
        .map(|(_, r)| r.elapsed)
        .max()
        .unwrap_or_default();
    let rate_span = reports
        .iter()
        .map(|(_, r)| r.total.rate_seconds)
        .filter(|seconds| *seconds > 0.0)
        .reduce(f64::max)
        .map_or(elapsed, Duration::from_secs_f64);
    let mut warnings: Vec<String> = out_of_step(reports, ended - started).into_iter().collect();

    // Tests by name, in the first report's order, then any others.
    let mut names: Vec<String> = Vec::new();
    let mut tests: BTreeMap<String, Measured> = BTreeMap::new();
    let mut total = Measured::default();
    for (file, report) in reports {
        for test in &report.tests {
            let measured = test
                .measured()
                .map_err(|message| format!("{file}: {message}"))?;
            if !names.contains(&test.name) {
                names.push(test.name.clone());
            }
            tests.entry(test.name.clone()).or_default().merge(&measured);
            total.merge(&measured);
        }
    }

    let mut stopped: Vec<String> = reports
        .iter()
        .filter_map(|(_, r)| {
            r.stopped
                .as_ref()
                .map(|why| format!("instance {}: {why}", r.instance))
        })
        .collect();
    if !missing.is_empty() {
        stopped.push(format!(
            "the reports of instance {} are missing: the figures are of part of the load",
            missing.join(", ")
        ));
    }

    let mut client = first.client.clone();
    client.saturation.clear();
    for (_, report) in reports {
        client.max_cpu_percent = client.max_cpu_percent.max(report.client.max_cpu_percent);
        client.max_loop_lag_ms = client.max_loop_lag_ms.max(report.client.max_loop_lag_ms);
        client.cpus = client.cpus.max(report.client.cpus);
        for note in &report.client.saturation {
            client
                .saturation
                .push(format!("instance {}: {note}", report.instance));
        }
    }

    let mut services = Vec::new();
    for (_, report) in reports {
        for service in &report.services {
            let mut service = service.clone();
            service.instance = Some(report.instance);
            services.push(service);
        }
    }

    // Every part's thresholds, each once: a part run with a threshold the others lacked still
    // has it judged on the whole.
    // The parts' thresholds: the whole load's, unless `merge` is given its own (absolute ones
    // judged on the whole); a test's own always (written in its spec, not replaced).
    let mut judged: Vec<Threshold> = thresholds.map(<[Threshold]>::to_vec).unwrap_or_default();
    for (file, report) in reports {
        for verdict in &report.thresholds {
            // The rule that every iteration passes is worked out again for the whole.
            if verdict.implied || (thresholds.is_some() && verdict.test.is_none()) {
                continue;
            }
            let threshold = Threshold::parse(&verdict.threshold)
                .map_err(|message| format!("{file}: {message}"))?;
            judged.push(Threshold {
                test: verdict.test.clone(),
                ..threshold
            });
        }
    }
    let mut judged = super::thresholds::each_once(judged, |threshold| threshold);
    if thresholds.is_none() {
        warnings.extend(thresholds_not_given(reports, &judged));
    }
    let open = first.profile.model == super::profile::Model::Open;
    judged.extend(super::implied::thresholds(&judged, &names, open));

    let mut merged = LoadReport {
        streamspec_load: json::FORMAT,
        version: env!("CARGO_PKG_VERSION").to_string(),
        duration_unit: json::DURATION_UNIT.to_string(),
        instance: Instance::WHOLE,
        profile: first.profile.clone(),
        started_at_unix_ms: started,
        elapsed,
        stopped: (!stopped.is_empty()).then(|| stopped.join("; ")),
        warnings,
        merged_from: reports
            .iter()
            .map(|(file, report)| format!("{file} ({})", report.instance))
            .collect(),
        passed: None,
        failed_because: Vec::new(),
        tests: names
            .iter()
            .map(|name| TestReport::new(name, &tests[name], rate_span))
            .collect(),
        total: TestReport::new("total", &total, rate_span),
        series: merge_series(reports)?,
        services,
        client,
        thresholds: judged
            .iter()
            .map(|threshold| threshold.judge(&total, |test| tests.get(test), rate_span))
            .collect(),
    };
    merged.clamp_series_to_extremes();
    Ok(merged)
}

/// How far apart the parts' starts may be for them to count as having run together. The series
/// is joined by the wall-clock second, so parts less than a second apart still meet in the same
/// seconds; parts given one `--start-at` on clocks kept by NTP start milliseconds apart, and a
/// part started late (its `--start-at` passed) or by hand one after another is seconds out.
pub const IN_STEP: Duration = Duration::from_secs(1);

/// A warning naming the parts that started more than [`IN_STEP`] after the first to start, or
/// `None` when all ran together. `span`: from the first start to the last end, in milliseconds.
fn out_of_step(reports: &[(String, LoadReport)], span: u64) -> Option<String> {
    let mut parts: Vec<&LoadReport> = reports.iter().map(|(_, report)| report).collect();
    parts.sort_by_key(|report| report.instance.index);
    let first = parts
        .iter()
        .min_by_key(|report| report.started_at_unix_ms)?;
    let late: Vec<String> = parts
        .iter()
        .filter_map(|report| {
            let after = report.started_at_unix_ms - first.started_at_unix_ms;
            (after > IN_STEP.as_millis() as u64).then(|| {
                format!(
                    "instance {} started {} after {}",
                    report.instance,
                    super::summary::seconds_text(after as f64 / 1000.0),
                    first.instance
                )
            })
        })
        .collect();
    if late.is_empty() {
        return None;
    }
    Some(format!(
        "the parts did not run together: {} (they ran over {} in all); the merged rates and series, and the time it ran, assume they ran side by side (start every part with one --start-at, far enough ahead)",
        late.join(", "),
        super::summary::seconds_text(span as f64 / 1000.0)
    ))
}

/// The thresholds some parts were run without, each said once with the parts that lacked it:
/// every one is judged on the whole, so a part run with a different command line changes the
/// verdict of all of them.
fn thresholds_not_given(reports: &[(String, LoadReport)], judged: &[Threshold]) -> Option<String> {
    let lacking: Vec<String> = judged
        .iter()
        // A test's own are its spec's, the same in every part: a part lacks one only when it
        // ran none of that test.
        .filter(|threshold| threshold.test.is_none())
        .filter_map(|threshold| {
            let without: Vec<String> = reports
                .iter()
                .filter(|(_, report)| {
                    !report.thresholds.iter().any(|verdict| {
                        !verdict.implied
                            && Threshold::parse(&verdict.threshold).is_ok_and(|theirs| {
                                Threshold {
                                    test: verdict.test.clone(),
                                    ..theirs
                                }
                                .same_as(threshold)
                            })
                    })
                })
                .map(|(_, report)| report.instance.to_string())
                .collect();
            (!without.is_empty())
                .then(|| format!("`{}` (not {})", threshold.text, without.join(", ")))
        })
        .collect();
    (!lacking.is_empty()).then(|| {
        format!(
            "the parts were not run with the same thresholds: {}; each is judged on the whole",
            lacking.join("; ")
        )
    })
}

/// The seconds of every report joined by their wall-clock second.
fn merge_series(reports: &[(String, LoadReport)]) -> Result<Vec<SecondReport>, String> {
    let mut seconds: BTreeMap<u64, (SecondReport, BTreeMap<Metric, hdrhistogram::Histogram<u64>>)> =
        BTreeMap::new();
    for (file, report) in reports {
        for second in &report.series {
            let (merged, histograms) = seconds.entry(second.t).or_insert_with(|| {
                (
                    SecondReport {
                        t: second.t,
                        ..SecondReport::default()
                    },
                    BTreeMap::new(),
                )
            });
            merged.active += second.active;
            merged.iterations += second.iterations;
            merged.passed += second.passed;
            merged.errors += second.errors;
            merged.dropped += second.dropped;
            merged.items += second.items;
            // The busiest instance's figures: a saturated part spoils the whole.
            merged.client_cpu_percent =
                max_of(merged.client_cpu_percent, second.client_cpu_percent);
            merged.loop_lag_ms = max_of(merged.loop_lag_ms, second.loop_lag_ms);
            for (metric, encoded) in &second.histograms {
                let histogram =
                    json::decode(encoded).map_err(|message| format!("{file}: {message}"))?;
                match histograms.get_mut(metric) {
                    Some(ours) => {
                        let _ = ours.add(&histogram);
                    }
                    None => {
                        histograms.insert(*metric, histogram);
                    }
                }
            }
        }
    }
    Ok(seconds
        .into_values()
        .map(|(mut second, histograms)| {
            let stat = |metric: Metric, p: f64| {
                histograms
                    .get(&metric)
                    .and_then(|h| Stat::Percentile(p).of(h))
                    .map(|value| shown(metric, value))
            };
            second.ttfb_p50_ms = stat(Metric::Ttfb, 50.0);
            second.ttfb_p99_ms = stat(Metric::Ttfb, 99.0);
            second.first_item_p50_ms = stat(Metric::FirstItem, 50.0);
            second.first_item_p99_ms = stat(Metric::FirstItem, 99.0);
            second.gap_p50_ms = stat(Metric::Gap, 50.0);
            second.gap_p99_ms = stat(Metric::Gap, 99.0);
            second.histograms = histograms
                .iter()
                .map(|(metric, histogram)| (*metric, encode(histogram)))
                .collect();
            second
        })
        .collect())
}

fn max_of(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
