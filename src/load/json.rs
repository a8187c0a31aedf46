//! The load report as JSON (`--format json`, `--report-json FILE`), which `streamspec merge`
//! reads back: every figure of the summary, the 1-second time series, and each histogram in the
//! HdrHistogram V2 compressed encoding (base64), which other HdrHistogram tools read too and
//! which merges exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::metrics::{
    Counts, Distribution, ErrorClass, ErrorTally, Exact, FailureTally, Measured, Metric, Stat, Unit,
};
use super::profile::{Instance, Profile};
use super::thresholds::Verdict;

/// The report format's version: `merge` refuses another.
pub const FORMAT: u32 = 1;

/// The unit of the report's durations that do not name theirs in their key.
pub const DURATION_UNIT: &str = "ms";

fn duration_unit() -> String {
    DURATION_UNIT.to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// [`FORMAT`].
    pub streamspec_load: u32,
    /// The streamspec that wrote it.
    pub version: String,
    /// The unit of every duration whose key does not name one: `elapsed`, the profile's
    /// `graceful_stop`, `stages[].duration` and `think`, and the errors' `first_at` —
    /// [`DURATION_UNIT`]. Absent from reports written before it was added (the same unit).
    #[serde(default = "duration_unit")]
    pub duration_unit: String,
    pub instance: Instance,
    pub profile: Profile,
    /// When the schedule started (Unix time, milliseconds).
    pub started_at_unix_ms: u64,
    #[serde(with = "millis")]
    pub elapsed: Duration,
    /// Why the run ended before its schedule did, if it did.
    pub stopped: Option<String>,
    /// What makes the figures less than they seem, as the summary warns of it: a merge of parts
    /// that did not run together. Absent when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Made by `streamspec merge`: the reports it merged, as given, each with its instance
    /// (`a.json (2/4)`). Absent from a load's own report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The verdict, as the exit code gives it (see [`super::verdict`]); written with the
    /// report, absent while it is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// Why it failed, one reason each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_because: Vec<String>,
    pub tests: Vec<TestReport>,
    pub total: TestReport,
    pub series: Vec<SecondReport>,
    pub services: Vec<ServiceReport>,
    pub client: ClientReport,
    pub thresholds: Vec<Verdict>,
}

impl LoadReport {
    /// Brings each second's p50 and p99 that lie past the run's exact extremes by no more than
    /// the series histograms' precision back to them: a percentile read off a bucket stands for
    /// its whole width, so the seconds of a run whose gaps were all 200.3 ms read 201 ms and
    /// beside a max of 200.3 ms. Further out it was measured so (a stream the total leaves out)
    /// and stays.
    pub fn clamp_series_to_extremes(&mut self) {
        clamp_to_extremes(&mut self.series, &self.total.metrics);
    }
}

/// See [`LoadReport::clamp_series_to_extremes`]; `totals` are the run's figures.
fn clamp_to_extremes(series: &mut [SecondReport], totals: &BTreeMap<Metric, MetricReport>) {
    let precision = 10f64.powi(-i32::from(super::live_figures::SERIES_DIGITS));
    for second in series {
        for (metric, p50, p99) in [
            (
                Metric::Ttfb,
                &mut second.ttfb_p50_ms,
                &mut second.ttfb_p99_ms,
            ),
            (
                Metric::FirstItem,
                &mut second.first_item_p50_ms,
                &mut second.first_item_p99_ms,
            ),
            (Metric::Gap, &mut second.gap_p50_ms, &mut second.gap_p99_ms),
        ] {
            let Some(total) = totals.get(&metric) else {
                continue;
            };
            if !(total.min.is_finite() && total.max.is_finite()) {
                continue;
            }
            for value in [p50, p99].into_iter().flatten() {
                if *value > total.max && *value <= total.max * (1.0 + precision) {
                    *value = total.max;
                } else if *value < total.min && *value >= total.min * (1.0 - precision) {
                    *value = total.min;
                }
            }
        }
    }
}

/// One test's figures, or the total's (named `total`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestReport {
    pub name: String,
    pub counts: Counts,
    /// Completed iterations that met every expectation, per second of the run.
    pub goodput: f64,
    /// The seconds rates are per: the schedule's length (or, for a run that stopped early or
    /// ran to a number of iterations, the time it took).
    #[serde(default)]
    pub rate_seconds: f64,
    pub metrics: BTreeMap<Metric, MetricReport>,
    /// By the spec line that failed and the error's class (none for an unmet expectation).
    pub failures: Vec<FailureTally>,
    pub errors: BTreeMap<ErrorClass, ErrorTally>,
    /// Open model: since the start, when the first arrival was dropped (milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_first_at_ms: Option<u64>,
}

/// A distribution: its count and statistics in `unit`, and the histogram itself in its recorded
/// unit, `histogram_unit`. `min`, `mean` and `max` are of the values recorded, exactly; the
/// percentiles are the histogram's, within its precision and between `min` and `max`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricReport {
    /// Of the statistics: `ms`, `count` or `per second`.
    pub unit: String,
    /// Of the histogram's values: `us` (microseconds), `count`, or `milli_per_second`
    /// (thousandths per second). Absent from reports written before it was added; `merge`
    /// knows it from the metric.
    #[serde(default)]
    pub histogram_unit: String,
    pub count: u64,
    /// Absent from a report made by hand or by another tool: `merge` then takes the histogram's.
    #[serde(default = "absent")]
    pub min: f64,
    #[serde(default = "absent")]
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    #[serde(default = "absent")]
    pub max: f64,
    pub histogram: String,
}

/// A figure the report lacks.
fn absent() -> f64 {
    f64::NAN
}

/// One second of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecondReport {
    /// Unix time of the second's start, in seconds.
    pub t: u64,
    /// The most users (closed model) or iterations (open model) that ran at once in the second.
    pub active: u64,
    /// Iterations that ended in this second, and how.
    pub iterations: u64,
    pub passed: u64,
    pub errors: u64,
    /// Open model: arrivals dropped in this second (`--max-users` were running). Absent from
    /// reports written before it was added.
    #[serde(default)]
    pub dropped: u64,
    /// Items read in this second, by every stream.
    pub items: u64,
    /// p50 and p99 of the latencies measured in this second (milliseconds): each gap as its item
    /// came, a first item and the ttfb with it as it came (see [`super::live_figures`]).
    pub ttfb_p50_ms: Option<f64>,
    pub ttfb_p99_ms: Option<f64>,
    pub first_item_p50_ms: Option<f64>,
    pub first_item_p99_ms: Option<f64>,
    pub gap_p50_ms: Option<f64>,
    pub gap_p99_ms: Option<f64>,
    /// This second's histograms, so merged series are exact too.
    pub histograms: BTreeMap<Metric, String>,
    /// The load generator's CPU (100 = one core) and how late its 100 ms timer fired at worst.
    pub client_cpu_percent: Option<f64>,
    pub loop_lag_ms: Option<f64>,
}

/// A service `streamspec.toml` started, sampled every second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceReport {
    pub name: String,
    /// The instance that sampled it, after a merge.
    pub instance: Option<Instance>,
    pub samples: Vec<ServiceSample>,
    /// Why some or all of its samples could not be taken (`the open-file limit (ulimit -n 200)
    /// was reached`), if they could not. Absent otherwise, and from reports written before it
    /// was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_sampled: Option<String>,
    /// How and when it exited, if it did while the load ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited: Option<ServiceExited>,
}

/// A service that exited while the load ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceExited {
    /// "exited with code 3", "was killed by signal 9 (SIGKILL)".
    pub how: String,
    /// Since the start of the load, when its exit was noticed (milliseconds).
    pub at_ms: u64,
    /// The last lines it printed (40 at most), often why it exited.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceSample {
    pub t: u64,
    /// CPU of the service's processes (100 = one core).
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

/// Whether the load generator itself was the bottleneck.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientReport {
    pub cpus: u64,
    pub max_cpu_percent: f64,
    pub max_loop_lag_ms: f64,
    /// What was wrong, as the summary says it: empty when nothing.
    pub saturation: Vec<String>,
}

impl TestReport {
    pub fn new(name: &str, measured: &Measured, rate_span: Duration) -> TestReport {
        let seconds = rate_span.as_secs_f64().max(1e-9);
        TestReport {
            name: name.to_string(),
            counts: measured.counts,
            goodput: measured.counts.passed_in_schedule as f64 / seconds,
            rate_seconds: seconds,
            metrics: measured
                .distributions
                .iter()
                .filter(|(_, distribution)| !distribution.is_empty())
                .map(|(metric, distribution)| (*metric, MetricReport::new(*metric, distribution)))
                .collect(),
            failures: measured.failures.values().cloned().collect(),
            errors: measured.errors.clone(),
            dropped_first_at_ms: measured
                .dropped_first_at
                .map(|at| at.as_millis().min(u128::from(u64::MAX)) as u64),
        }
    }

    /// The figures back, histograms decoded, for a merge.
    pub fn measured(&self) -> Result<Measured, String> {
        let mut distributions = BTreeMap::new();
        for (metric, report) in &self.metrics {
            distributions.insert(*metric, report.distribution(*metric)?);
        }
        Ok(Measured {
            counts: self.counts,
            distributions,
            failures: self
                .failures
                .iter()
                .map(|tally| (tally.key(), tally.clone()))
                .collect(),
            errors: self.errors.clone(),
            dropped_first_at: self.dropped_first_at_ms.map(Duration::from_millis),
        })
    }
}

/// A figure in the unit the report shows: milliseconds, a count, or per second.
pub fn shown(metric: Metric, recorded: f64) -> f64 {
    match metric.unit() {
        Unit::Micros => recorded / 1000.0,
        Unit::Count => recorded,
        Unit::MilliPerSecond => recorded / 1000.0,
    }
}

/// A figure the report shows back in the metric's recorded unit (whole microseconds, a count,
/// thousandths per second).
fn recorded(metric: Metric, shown: f64) -> f64 {
    match metric.unit() {
        Unit::Micros | Unit::MilliPerSecond => shown * 1000.0,
        Unit::Count => shown,
    }
}

/// The unit a metric's histogram holds its values in.
pub fn histogram_unit_name(metric: Metric) -> &'static str {
    match metric.unit() {
        Unit::Micros => "us",
        Unit::Count => "count",
        Unit::MilliPerSecond => "milli_per_second",
    }
}

pub fn unit_name(metric: Metric) -> &'static str {
    match metric.unit() {
        Unit::Micros => "ms",
        Unit::Count => "count",
        Unit::MilliPerSecond => "per second",
    }
}

impl MetricReport {
    pub fn new(metric: Metric, distribution: &Distribution) -> MetricReport {
        let stat = |stat: Stat| shown(metric, distribution.stat(stat).unwrap_or(0.0));
        let histogram = &distribution.histogram;
        MetricReport {
            unit: unit_name(metric).to_string(),
            histogram_unit: histogram_unit_name(metric).to_string(),
            count: histogram.len(),
            min: stat(Stat::Min),
            mean: stat(Stat::Mean),
            p50: stat(Stat::Percentile(50.0)),
            p90: stat(Stat::Percentile(90.0)),
            p95: stat(Stat::Percentile(95.0)),
            p99: stat(Stat::Percentile(99.0)),
            p99_9: stat(Stat::Percentile(99.9)),
            max: stat(Stat::Max),
            histogram: encode(histogram),
        }
    }

    /// The distribution back: its histogram decoded, and the exact figures the report gives
    /// beside it (the sum from the mean). A report that lacks them, or whose figures do not fit
    /// its histogram (one edited by hand), gives the histogram's own, within its precision.
    pub fn distribution(&self, metric: Metric) -> Result<Distribution, String> {
        let histogram = decode(&self.histogram)?;
        let fallback = Exact::of_histogram(&histogram);
        let exact = self.exact(metric, &histogram).unwrap_or(fallback);
        Ok(Distribution::new(histogram, exact))
    }

    fn exact(&self, metric: Metric, histogram: &Histogram<u64>) -> Option<Exact> {
        let count = histogram.len();
        if count == 0 || self.count != count {
            return None;
        }
        let [min, mean, max] = [self.min, self.mean, self.max].map(|shown| recorded(metric, shown));
        if ![min, mean, max]
            .iter()
            .all(|value| value.is_finite() && *value >= 0.0)
        {
            return None;
        }
        let (min, max) = (min.round() as u64, max.round() as u64);
        // Each extreme lies in the bucket of the histogram's own.
        let fits = histogram.lowest_equivalent(histogram.min()) <= min
            && min <= histogram.highest_equivalent(histogram.min())
            && histogram.lowest_equivalent(histogram.max()) <= max
            && max <= histogram.highest_equivalent(histogram.max())
            && min <= max;
        fits.then(|| Exact {
            count,
            min,
            max,
            sum: ((mean * count as f64).round() as u128).clamp(
                u128::from(min) * u128::from(count),
                u128::from(max) * u128::from(count),
            ),
        })
    }
}

/// A histogram in the V2 compressed encoding, base64.
pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(histogram, &mut bytes) {
        Ok(_) => BASE64.encode(bytes),
        // Serializing into memory fails only on a histogram the encoding cannot hold, which an
        // auto-resizing one of u64 counts is not.
        Err(_) => String::new(),
    }
}

pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|error| format!("a histogram is not base64: {error}"))?;
    let mut histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|error| format!("a histogram cannot be read: {error:?}"))?;
    histogram.auto(true);
    Ok(histogram)
}

/// Durations as whole milliseconds in JSON.
pub mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(duration.as_millis().min(u128::from(u64::MAX)) as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::metrics::new_histogram;

    #[test]
    fn a_report_gives_back_its_exact_figures_unless_they_do_not_fit_its_histogram() {
        for (metric, values) in [
            (Metric::Items, 20_001..=20_008),
            // Microseconds, shown in milliseconds: 99.95ms comes back as 99,950µs.
            (Metric::Gap, 99_950..=99_958),
            (Metric::ItemsPerSecond, 123_456..=123_470),
        ] {
            let mut distribution = Distribution::default();
            for value in values {
                distribution.record(value);
            }
            let report = MetricReport::new(metric, &distribution);
            let back = report.distribution(metric).expect("decodes");
            assert_eq!(back.exact, distribution.exact, "{metric:?}");
            // A max beyond the histogram's largest bucket (a report edited by hand), or none:
            // the histogram's own figures.
            for max in [f64::NAN, report.max * 2.0] {
                let edited = MetricReport {
                    max,
                    ..report.clone()
                };
                assert_eq!(
                    edited.distribution(metric).expect("decodes").exact,
                    Exact::of_histogram(&distribution.histogram),
                    "{metric:?}"
                );
            }
        }
    }

    #[test]
    fn a_second_s_percentiles_within_its_precision_of_the_run_s_extremes_are_brought_to_them() {
        let mut distribution = Distribution::default();
        for micros in [200_300, 200_300, 200_500] {
            distribution.record(micros);
        }
        let totals = BTreeMap::from([(Metric::Gap, MetricReport::new(Metric::Gap, &distribution))]);
        let mut series = vec![
            SecondReport {
                gap_p50_ms: Some(199.0),
                gap_p99_ms: Some(201.5),
                ttfb_p99_ms: Some(3.0),
                ..SecondReport::default()
            },
            SecondReport {
                gap_p50_ms: Some(150.0),
                gap_p99_ms: Some(250.0),
                ..SecondReport::default()
            },
        ];
        clamp_to_extremes(&mut series, &totals);
        assert_eq!(
            (series[0].gap_p50_ms, series[0].gap_p99_ms),
            (Some(200.3), Some(200.5))
        );
        // No total to hold it to, or further out than a bucket: measured so.
        assert_eq!(series[0].ttfb_p99_ms, Some(3.0));
        assert_eq!(
            (series[1].gap_p50_ms, series[1].gap_p99_ms),
            (Some(150.0), Some(250.0))
        );
    }

    #[test]
    fn histograms_survive_the_encoding() {
        let mut histogram = new_histogram();
        for value in [1u64, 17, 250, 9_999, 1_234_567, 3_600_000_000] {
            histogram
                .record_n(value, value % 7 + 1)
                .expect("recordable");
        }
        let back = decode(&encode(&histogram)).expect("decodes");
        assert_eq!(back, histogram);
        // Still auto-resizing: a merge may add larger values.
        let mut back = back;
        back.record(u64::MAX / 4).expect("recordable");
        assert!(decode("not base64!").is_err());
        assert!(decode("aGVsbG8=").is_err());
    }
}
