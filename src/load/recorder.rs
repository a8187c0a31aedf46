//! Where a load run's iterations end up: each ended iteration is recorded into its test's
//! figures and its count into the current second; once a second the second is closed into the
//! time series, with the latencies the streams measured in it (see [`super::live_figures`];
//! its histograms encoded; seconds older than five minutes wait in a temporary file, so a long
//! soak's memory stays flat). Under
//! `--abort-on-fail`, a count threshold is judged as each iteration is recorded, so the run stops
//! as soon as one is lost for good rather than at the next second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio_util::sync::CancellationToken;

use super::json::{SecondReport, encode, shown};
use super::live_figures::SERIES_DIGITS;
use super::metrics::{Ended, Measured, Metric, Stat};
use super::series::Series;
use super::thresholds::{Measure, Threshold};
use crate::outcome::{Failure, TestOutcome};
use crate::style::Palette;

/// The metrics the time series gives per second.
const SERIES_METRICS: [Metric; 3] = [Metric::Ttfb, Metric::FirstItem, Metric::Gap];

pub struct Recorder {
    /// By test, in the load's order.
    pub tests: Vec<Measured>,
    second: Second,
    pub series: Series,
    /// Items counted at the end of the last second.
    items_before: u64,
    /// When the schedule ends, since the start: iterations that end after it (in the graceful
    /// stop) are not counted in the rates. `None`: a run to a number of iterations.
    pub schedule_end: Option<Duration>,
    /// When the load started, for when arrivals were dropped.
    started: Instant,
    abort: Option<AbortOnCount>,
    /// The threshold whose loss stopped the run, once one has.
    pub lost: Option<String>,
}

/// `--abort-on-fail` with count thresholds: they are judged on every record, and `stop` is
/// cancelled the moment one can no longer pass.
struct AbortOnCount {
    /// Each with the test whose counts it judges (by index), or `None` for the whole load's.
    thresholds: Vec<(Threshold, Option<usize>)>,
    stop: CancellationToken,
}

/// What ended in the current second.
#[derive(Default)]
struct Second {
    iterations: u64,
    passed: u64,
    errors: u64,
    dropped: u64,
    /// The latencies the streams of the iterations recorded in it had not filed as they were
    /// measured (a stream without items: its ttfb), in [`SERIES_DIGITS`].
    histograms: BTreeMap<Metric, Histogram<u64>>,
}

/// What the sampler measured of a second, beside what ended in it.
pub struct SecondSample {
    pub t: u64,
    pub active: u64,
    pub items_total: u64,
    /// The latencies the streams measured in it (see [`super::live_figures`]).
    pub latencies: BTreeMap<Metric, Histogram<u64>>,
    pub client_cpu_percent: Option<f64>,
    pub loop_lag_ms: Option<f64>,
}

impl Recorder {
    pub fn new(tests: usize, started: Instant) -> Recorder {
        Recorder {
            tests: vec![Measured::default(); tests],
            second: Second::default(),
            series: Series::new(),
            items_before: 0,
            schedule_end: None,
            started,
            abort: None,
            lost: None,
        }
    }

    /// Judges the count thresholds among `thresholds` on every record from now on, and cancels
    /// `stop` when one is lost for good (`--abort-on-fail`): a count only grows, so one past its
    /// upper bound stops the run before another iteration starts. A test's own are judged on
    /// that test's counts; `names` are the tests' labels, by index.
    pub fn abort_on_lost_counts(
        &mut self,
        thresholds: &[Threshold],
        names: &[String],
        stop: CancellationToken,
    ) {
        let thresholds: Vec<(Threshold, Option<usize>)> = thresholds
            .iter()
            .filter(|threshold| matches!(threshold.measure, Measure::Count(_)))
            .filter_map(|threshold| match &threshold.test {
                None => Some((threshold.clone(), None)),
                Some(label) => names
                    .iter()
                    .position(|name| name == label)
                    .map(|index| (threshold.clone(), Some(index))),
            })
            .collect();
        if !thresholds.is_empty() {
            self.abort = Some(AbortOnCount { thresholds, stop });
        }
    }

    /// After a record of test `test`: stops the run if a count threshold is now lost for good.
    fn judge_counts(&mut self, test: usize) {
        let Some(abort) = &self.abort else { return };
        if self.lost.is_some() {
            return;
        }
        // The counts only: merging every histogram on every record would cost too much.
        let counts_of = |measured: &Measured| Measured {
            counts: measured.counts,
            ..Measured::default()
        };
        let mut total = Measured::default();
        for measured in &self.tests {
            total.merge(&counts_of(measured));
        }
        let lost = abort.thresholds.iter().find_map(|(threshold, scope)| {
            // A count does not depend on the elapsed time.
            let verdict = match scope {
                None => threshold.judge(&total, |_| None, Duration::ZERO),
                // Only the test recorded can have lost one of its own.
                Some(index) if *index == test => {
                    let counts = counts_of(self.tests.get(*index)?);
                    threshold.judge(&counts, |_| Some(&counts), Duration::ZERO)
                }
                Some(_) => return None,
            };
            threshold.lost_for_good(&verdict).then(|| verdict.label())
        });
        if let Some(label) = lost {
            self.lost = Some(label);
            abort.stop.cancel();
        }
    }

    /// An ended iteration of test `test`, `at` since the start.
    pub fn record(
        &mut self,
        test: usize,
        outcome: &TestOutcome,
        at: Duration,
        start_delay: Option<Duration>,
    ) {
        let Some(measured) = self.tests.get_mut(test) else {
            return;
        };
        let before = measured.counts;
        measured.record(
            &Ended {
                outcome,
                at,
                start_delay,
                in_schedule: self.schedule_end.is_none_or(|end| at <= end),
            },
            |failure: &Failure| {
                crate::report::human::render_failure(outcome, failure, &Palette::plain())
            },
        );
        let after = measured.counts;
        let second = &mut self.second;
        second.iterations += 1;
        second.passed += after.passed - before.passed;
        second.errors += after.errored - before.errored;
        second.add_unfiled(outcome);
        self.judge_counts(test);
    }

    /// An iteration of test `test` the end of the run cut off: counted as cut off (neither
    /// passed nor failed), with what its streams had measured.
    pub fn record_cut_off(
        &mut self,
        test: usize,
        outcome: &TestOutcome,
        start_delay: Option<Duration>,
    ) {
        let Some(measured) = self.tests.get_mut(test) else {
            return;
        };
        measured.record_cut_off(outcome, start_delay);
        self.second.add_unfiled(outcome);
    }

    /// Iterations the end of the run cut off, by test.
    pub fn interrupted(&mut self, test: usize) {
        if let Some(measured) = self.tests.get_mut(test) {
            measured.counts.interrupted += 1;
        }
    }

    /// An arrival the open model could not start (`--max-users` were running).
    pub fn dropped(&mut self, test: usize) {
        if let Some(measured) = self.tests.get_mut(test) {
            measured.record_dropped(self.started.elapsed());
            self.second.dropped += 1;
            self.judge_counts(test);
        }
    }

    /// Closes the current second into the series, and returns it.
    pub fn close_second(&mut self, sample: SecondSample) -> &SecondReport {
        let mut second = std::mem::take(&mut self.second);
        for (metric, measured) in &sample.latencies {
            // Same precision, auto-resizing: adding cannot fail.
            let _ = second.histogram(*metric).add(measured);
        }
        let stat = |metric: Metric, p: f64| {
            second
                .histograms
                .get(&metric)
                .and_then(|h| Stat::Percentile(p).of(h))
                .map(|value| shown(metric, value))
        };
        let mut report = SecondReport {
            t: sample.t,
            active: sample.active,
            iterations: second.iterations,
            passed: second.passed,
            errors: second.errors,
            dropped: second.dropped,
            items: sample.items_total.saturating_sub(self.items_before),
            ttfb_p50_ms: stat(Metric::Ttfb, 50.0),
            ttfb_p99_ms: stat(Metric::Ttfb, 99.0),
            first_item_p50_ms: stat(Metric::FirstItem, 50.0),
            first_item_p99_ms: stat(Metric::FirstItem, 99.0),
            gap_p50_ms: stat(Metric::Gap, 50.0),
            gap_p99_ms: stat(Metric::Gap, 99.0),
            histograms: BTreeMap::new(),
            client_cpu_percent: sample.client_cpu_percent,
            loop_lag_ms: sample.loop_lag_ms,
        };
        for metric in SERIES_METRICS {
            if let Some(histogram) = second.histograms.get(&metric) {
                report.histograms.insert(metric, encode(histogram));
            }
        }
        self.items_before = sample.items_total;
        self.series.push(report)
    }

    /// Every test's figures together.
    pub fn total(&self) -> Measured {
        let mut total = Measured::default();
        for measured in &self.tests {
            total.merge(measured);
        }
        total
    }
}

impl Second {
    fn histogram(&mut self, metric: Metric) -> &mut Histogram<u64> {
        self.histograms.entry(metric).or_insert_with(|| {
            Histogram::new(SERIES_DIGITS).unwrap_or_else(|_| unreachable!("2 digits is valid"))
        })
    }

    /// The latencies of an iteration's streams that the series did not take as they were
    /// measured: a ttfb without an item to follow it (a plain request, a stream without items,
    /// a gRPC call's, read once its replies are), known for sure only now. Its first item and
    /// gaps were taken as they came. The first stream counts from when the iteration was due.
    fn add_unfiled(&mut self, outcome: &TestOutcome) {
        for stream in outcome.streams_once() {
            let lag = stream.start_delay;
            let mut add = |metric: Metric, value: Option<Duration>| {
                if let Some(value) = value {
                    let _ = self
                        .histogram(metric)
                        .record(super::metrics::micros(value + lag));
                }
            };
            if !stream.in_series.ttfb {
                add(Metric::Ttfb, stream.ttfb);
            }
            if !stream.in_series.first_item && !stream.plain {
                add(Metric::FirstItem, stream.first_item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::stats::InSeries;
    use crate::outcome::StreamReport;

    #[test]
    fn an_iteration_files_only_the_latencies_its_streams_did_not_file_as_they_came() {
        let ms = Duration::from_millis;
        let outcome = TestOutcome {
            file: crate::source::SourceFile::new("a.stream", ""),
            name: "t".to_string(),
            span: crate::source::Span::default(),
            duration: Duration::ZERO,
            failures: Vec::new(),
            streams: vec![
                // Its ttfb and first item went into the series as they came.
                StreamReport {
                    ttfb: Some(ms(2)),
                    first_item: Some(ms(3)),
                    in_series: InSeries {
                        ttfb: true,
                        first_item: true,
                    },
                    ..StreamReport::default()
                },
                // A plain request, the first the iteration opened, 5ms late: its ttfb now.
                StreamReport {
                    plain: true,
                    ttfb: Some(ms(1)),
                    start_delay: ms(5),
                    ..StreamReport::default()
                },
            ],
            barriers: Vec::new(),
            tokens: None,
            tokens_counted: false,
        };
        let mut recorder = Recorder::new(1, Instant::now());
        recorder.record_cut_off(0, &outcome, Some(ms(5)));
        let second = recorder.close_second(SecondSample {
            t: 0,
            active: 0,
            items_total: 0,
            latencies: BTreeMap::new(),
            client_cpu_percent: None,
            loop_lag_ms: None,
        });
        // Two significant digits: within 1%.
        let ttfb = second.ttfb_p99_ms.expect("a ttfb");
        assert!((6.0..6.06).contains(&ttfb), "{ttfb}");
        assert_eq!(second.first_item_p99_ms, None);
        assert_eq!(second.gap_p99_ms, None);
    }
}
