//! What a load run measures, per test and in total: HDR histograms of the latencies and sizes
//! of every stream and iteration, counts of iterations by how they ended, failures by the spec
//! line that failed and their error class (with one example each), and errors by class with when
//! the first came.
//!
//! Every figure is exact or within the histograms' stated precision (three significant digits):
//! beside each histogram the exact count, minimum, maximum and sum of its values are kept
//! ([`Distribution`]), and two sets of metrics merge exactly: what `streamspec merge` does with
//! instances' reports.

mod distribution;
mod errors;
mod tokens;

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::interp::stats::{GapSamples, GaveUp};
use crate::outcome::{Failure, StreamReport, TestOutcome};

pub use distribution::{Distribution, Exact};
pub use errors::{ErrorClass, ErrorTally, FailureKey, FailureTally};

/// Significant digits of every load histogram: values within 0.1%.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A distribution the run records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Opening the TCP connection, when a request opened one (`http://` only: over HTTPS the
    /// client does not time it).
    Connect,
    /// From sending the request (in the open model: from when the iteration was due) to the
    /// response head.
    Ttfb,
    /// To the first item.
    FirstItem,
    /// Between consecutive items of one stream.
    Gap,
    /// With `--tokens`: to the first output token, an item that took a value of the capture
    /// (time to first token); see [`tokens`].
    FirstToken,
    /// With `--tokens`: between consecutive output tokens of one stream (inter-token latency).
    TokenGap,
    /// From the request to the end of reading.
    StreamDuration,
    /// Items per stream (tokens, where a token is an item).
    Items,
    /// Items per second of one stream, after its first item (output tokens per second).
    ItemsPerSecond,
    /// Output tokens per iteration, as the capture `--tokens` names says.
    Tokens,
    /// Output tokens per second of an iteration: its tokens over the time from the first item
    /// of its first stream to that stream's end.
    TokensPerSecond,
    /// One run of the test, start to end (open model: from when it was due).
    Iteration,
    /// Open model: how late an iteration started after it was due (the load generator's lag).
    StartDelay,
}

/// How a metric's values are recorded and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Durations, recorded in microseconds.
    Micros,
    Count,
    /// Rates, recorded in thousandths per second.
    MilliPerSecond,
}

impl Metric {
    pub const ALL: [Metric; 13] = [
        Metric::Connect,
        Metric::Ttfb,
        Metric::FirstItem,
        Metric::Gap,
        Metric::FirstToken,
        Metric::TokenGap,
        Metric::StreamDuration,
        Metric::Items,
        Metric::ItemsPerSecond,
        Metric::Tokens,
        Metric::TokensPerSecond,
        Metric::Iteration,
        Metric::StartDelay,
    ];

    /// As the summary's rows and the thresholds name it.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Connect => "connect",
            Metric::Ttfb => "ttfb",
            Metric::FirstItem => "first item",
            Metric::Gap => "gap",
            Metric::FirstToken => "first token",
            Metric::TokenGap => "token gap",
            Metric::StreamDuration => "stream duration",
            Metric::Items => "items per stream",
            Metric::ItemsPerSecond => "items/s per stream",
            Metric::Tokens => "output tokens",
            Metric::TokensPerSecond => "output tokens/s",
            Metric::Iteration => "iteration",
            Metric::StartDelay => "start delay",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Items | Metric::Tokens => Unit::Count,
            Metric::ItemsPerSecond | Metric::TokensPerSecond => Unit::MilliPerSecond,
            _ => Unit::Micros,
        }
    }

    /// For a token time, the item time that stands for it when no tokens are counted: then
    /// every item is a token (a ticker's events, chat chunks of one token each).
    pub fn timed_by_items_without_tokens(self) -> Option<Metric> {
        match self {
            Metric::FirstToken => Some(Metric::FirstItem),
            Metric::TokenGap => Some(Metric::Gap),
            _ => None,
        }
    }

    /// Whether the tests' streams produce it (the others come from every iteration, or, as
    /// `connect` and `ttfb`, from every request).
    pub fn needs_streams(self) -> bool {
        matches!(
            self,
            Metric::FirstItem
                | Metric::Gap
                | Metric::FirstToken
                | Metric::TokenGap
                | Metric::StreamDuration
                | Metric::Items
                | Metric::ItemsPerSecond
        )
    }
}

/// A new, empty load histogram: any value recordable, within [`SIGNIFICANT_DIGITS`].
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_DIGITS)
        .unwrap_or_else(|_| unreachable!("3 significant digits is valid"))
}

/// Counts of one test, or of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub iterations: u64,
    pub passed: u64,
    /// Iterations with a failure (an unmet expectation or an error).
    pub failed: u64,
    /// Iterations with an error of some class (a subset of `failed`).
    pub errored: u64,
    /// Open model: arrivals not started because `--max-users` were already running.
    pub dropped: u64,
    /// Iterations the end of the run cut off (after the graceful stop): not counted above, but
    /// what their streams had measured is in the figures.
    pub interrupted: u64,
    pub streams: u64,
    pub items: u64,
    /// Requests (reconnections, WebSocket upgrades and gRPC calls included) that reached the
    /// service, over a new connection or a kept one: what `connections succeeded` is a share
    /// of, with `connections_failed`. New connections alone are `connect`'s count (over plain
    /// HTTP).
    pub connections: u64,
    /// Connections to the service that could not be made (refused, or TLS); not those the load
    /// generator could not open itself (`open files`), which never reached it.
    pub connections_failed: u64,
    pub reconnections: u64,
    /// Iterations that ended, and those that passed, by the end of the schedule: what rates are
    /// of. Those that ended in the graceful stop after it are in `iterations` and `passed` but
    /// not here, as the schedule's seconds do not include the wait for them (counting them
    /// made a server slower than the arrival rate look as fast as the rate).
    #[serde(default)]
    pub iterations_in_schedule: u64,
    #[serde(default)]
    pub passed_in_schedule: u64,
}

/// Everything measured of one test (or of all tests).
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub counts: Counts,
    pub distributions: BTreeMap<Metric, Distribution>,
    /// By `file:line:col` and error class.
    pub failures: BTreeMap<FailureKey, FailureTally>,
    pub errors: BTreeMap<ErrorClass, ErrorTally>,
    /// Open model: since the start of the load, when the first arrival was dropped (the
    /// earliest, once merged).
    pub dropped_first_at: Option<Duration>,
}

/// One ended iteration, as [`Measured::record`] takes it.
pub struct Ended<'a> {
    pub outcome: &'a TestOutcome,
    /// Since the start of the load, when it ended.
    pub at: Duration,
    /// Open model: how late it started after it was due; added to its duration, as it counts
    /// from when it was due (its first stream carries it too, for its latencies: see
    /// [`StreamReport::start_delay`]).
    pub start_delay: Option<Duration>,
    /// Whether it ended by the end of the schedule (not in the graceful stop after it).
    pub in_schedule: bool,
}

impl Measured {
    pub fn record_value(&mut self, metric: Metric, value: u64) {
        self.distributions.entry(metric).or_default().record(value);
    }

    pub fn record_duration(&mut self, metric: Metric, duration: Duration) {
        self.record_value(metric, micros(duration));
    }

    /// Counts an ended iteration and records what its streams measured.
    pub fn record(&mut self, ended: &Ended<'_>, render_example: impl Fn(&Failure) -> String) {
        let outcome = ended.outcome;
        let lag = ended.start_delay.unwrap_or_default();
        let counts = &mut self.counts;
        counts.iterations += 1;
        if outcome.passed() {
            counts.passed += 1;
        } else {
            counts.failed += 1;
        }
        if ended.in_schedule {
            counts.iterations_in_schedule += 1;
            counts.passed_in_schedule += u64::from(outcome.passed());
        }
        if let Some(delay) = ended.start_delay {
            self.record_duration(Metric::StartDelay, delay);
        }
        self.record_duration(Metric::Iteration, outcome.duration + lag);
        if let Some(tokens) = outcome.tokens {
            self.record_value(Metric::Tokens, tokens.round().max(0.0) as u64);
            // As `items/s`: the tokens after the first over the time after it (one token over
            // the time to the end overstated 8 tokens 20ms apart by a seventh).
            if let Some(per_second) = tokens::streaming(outcome)
                .filter(|_| tokens > 1.0)
                .and_then(|span| milli_rate(tokens - 1.0, span))
            {
                self.record_value(Metric::TokensPerSecond, per_second);
            }
        }
        self.record_streams(outcome);
        self.record_token_times(outcome);
        let mut classes: Vec<ErrorClass> = Vec::new();
        for failure in &outcome.failures {
            if let Some(class) = ErrorClass::of(failure) {
                if !classes.contains(&class) {
                    classes.push(class);
                }
                // A connection the load generator could not open for want of files
                // (`ErrorClass::Files`) never reached the service: an error, but not a
                // connection attempted of it, nor one it failed.
                if matches!(class, ErrorClass::Refused | ErrorClass::Tls) {
                    self.counts.connections_failed += 1;
                }
            }
        }
        if !classes.is_empty() {
            self.counts.errored += 1;
        }
        for class in classes {
            let tally = self.errors.entry(class).or_insert(ErrorTally {
                count: 0,
                first_at: ended.at,
            });
            tally.count += 1;
            tally.first_at = tally.first_at.min(ended.at);
        }
        // An iteration's first failure is what failed it; the others often follow from it.
        if let Some(failure) = outcome.failures.first() {
            let at = match failure.span {
                Some(span) => {
                    let at = outcome.file.line_col(span.start);
                    format!("{}:{}:{}", outcome.file.path.display(), at.line, at.col)
                }
                None => outcome.file.path.display().to_string(),
            };
            let class = ErrorClass::of(failure);
            let tally = self
                .failures
                .entry(FailureKey {
                    at: at.clone(),
                    class,
                })
                .or_insert_with(|| FailureTally {
                    at,
                    message: failure.message.clone(),
                    count: 0,
                    example: render_example(failure),
                    class,
                });
            tally.count += 1;
        }
    }

    /// Counts an arrival the open model dropped, `at` since the start of the load.
    pub fn record_dropped(&mut self, at: Duration) {
        self.counts.dropped += 1;
        self.dropped_first_at = Some(self.dropped_first_at.map_or(at, |first| first.min(at)));
    }

    /// Counts an iteration the end of the run cut off, and records what its streams had
    /// measured by then: it has no verdict and no duration of its own.
    pub fn record_cut_off(&mut self, outcome: &TestOutcome, start_delay: Option<Duration>) {
        self.counts.interrupted += 1;
        if let Some(delay) = start_delay {
            self.record_duration(Metric::StartDelay, delay);
        }
        self.record_streams(outcome);
        self.record_token_times(outcome);
    }

    /// Records the streams of an iteration.
    fn record_streams(&mut self, outcome: &TestOutcome) {
        for stream in outcome.streams_once() {
            self.record_stream(stream);
        }
    }

    fn record_stream(&mut self, stream: &StreamReport) {
        // Only the first stream an iteration opened waited for the iteration's late start.
        let lag = stream.start_delay;
        if stream.plain {
            // A request no block read as a stream: its connection and head only.
            self.counts.connections += u64::from(stream.connections);
            if let Some(connect) = stream.connect {
                self.record_duration(Metric::Connect, connect);
            }
            if let Some(ttfb) = stream.ttfb {
                self.record_duration(Metric::Ttfb, ttfb + lag);
            }
            return;
        }
        let counts = &mut self.counts;
        counts.streams += 1;
        counts.items += stream.items;
        counts.connections += u64::from(stream.connections);
        counts.reconnections += u64::from(stream.connections.saturating_sub(1));
        if let Some(connect) = stream.connect {
            self.record_duration(Metric::Connect, connect);
        }
        if let Some(ttfb) = stream.ttfb {
            self.record_duration(Metric::Ttfb, ttfb + lag);
        }
        if let Some(first) = stream.first_item {
            self.record_duration(Metric::FirstItem, first + lag);
        }
        if let Some(duration) = stream.duration {
            // A stream cut off has no length yet: the time to the cut would pass any upper
            // bound on it. Its rate so far is a rate all the same.
            if stream.ended() {
                self.record_duration(Metric::StreamDuration, duration + lag);
            }
            // The rate after the first item: an LLM stream's output tokens per second.
            if let Some(first) = stream.first_item
                && stream.items > 1
                && let Some(per_second) =
                    milli_rate((stream.items - 1) as f64, duration.saturating_sub(first))
            {
                self.record_value(Metric::ItemsPerSecond, per_second);
            }
        }
        if stream.ended() {
            self.record_value(Metric::Items, stream.items);
        }
        if let Some(samples) = &stream.gap_samples {
            self.record_gaps(Metric::Gap, samples);
        }
        // The wait for an item that never came, as a head never received counts in `ttfb`.
        match stream.gave_up {
            Some(GaveUp::FirstItem(waited)) => {
                self.record_duration(Metric::FirstItem, waited + lag);
            }
            Some(GaveUp::Gap(waited)) => self.record_duration(Metric::Gap, waited),
            None => {}
        }
    }

    /// A stream's gaps, into `metric`'s distribution.
    fn record_gaps(&mut self, metric: Metric, samples: &GapSamples) {
        // No row of a metric nothing measured.
        if matches!(samples, GapSamples::Few(gaps) if gaps.is_empty()) {
            return;
        }
        let gaps = self.distributions.entry(metric).or_default();
        match samples {
            GapSamples::Few(values) => {
                for &gap in values {
                    gaps.record(gap);
                }
            }
            // A long stream hands its gaps over as a histogram, with their exact extremes
            // and sum.
            GapSamples::Histogram {
                gaps: histogram,
                min,
                max,
                sum,
            } => {
                let mut added = new_histogram();
                add_gaps(&mut added, samples);
                let exact = Exact {
                    count: histogram.len(),
                    min: *min,
                    max: *max,
                    sum: *sum,
                };
                gaps.merge(&Distribution::new(added, exact));
            }
        }
    }

    /// Adds another's figures to these: counts summed, distributions merged (histograms added,
    /// exact extremes and sums combined), the earliest first error and the first example of each
    /// failure kept.
    pub fn merge(&mut self, other: &Measured) {
        let (a, b) = (&mut self.counts, &other.counts);
        a.iterations += b.iterations;
        a.passed += b.passed;
        a.failed += b.failed;
        a.errored += b.errored;
        a.dropped += b.dropped;
        a.interrupted += b.interrupted;
        a.streams += b.streams;
        a.items += b.items;
        a.connections += b.connections;
        a.connections_failed += b.connections_failed;
        a.reconnections += b.reconnections;
        a.iterations_in_schedule += b.iterations_in_schedule;
        a.passed_in_schedule += b.passed_in_schedule;
        self.dropped_first_at = match (self.dropped_first_at, other.dropped_first_at) {
            (Some(ours), Some(theirs)) => Some(ours.min(theirs)),
            (ours, theirs) => ours.or(theirs),
        };
        for (metric, theirs) in &other.distributions {
            self.distributions.entry(*metric).or_default().merge(theirs);
        }
        for (key, theirs) in &other.failures {
            self.failures
                .entry(key.clone())
                .and_modify(|ours| ours.count += theirs.count)
                .or_insert_with(|| theirs.clone());
        }
        for (class, theirs) in &other.errors {
            self.errors
                .entry(*class)
                .and_modify(|ours| {
                    ours.count += theirs.count;
                    ours.first_at = ours.first_at.min(theirs.first_at);
                })
                .or_insert(*theirs);
        }
    }
}

/// Adds one stream's gaps to `histogram`.
pub fn add_gaps(histogram: &mut Histogram<u64>, samples: &GapSamples) {
    match samples {
        GapSamples::Few(gaps) => {
            for &gap in gaps {
                let _ = histogram.record(gap);
            }
        }
        GapSamples::Histogram { gaps, .. } => {
            for value in gaps.iter_recorded() {
                let _ = histogram
                    .record_n(value.value_iterated_to(), u64::from(value.count_at_value()));
            }
        }
    }
}

/// The shortest time a rate per second (items/s, tokens/s) is measured over. Items that came
/// closer together than this came in one read or a few (a server that buffered them, or a proxy
/// that did): their "rate" is how fast streamspec parsed the read, hundreds of thousands a
/// second, and says nothing of how fast the server produced them. Such a stream has no rate.
pub const MIN_RATE_SPAN: Duration = Duration::from_millis(10);

/// `count` over `span`, in thousandths per second (the unit rates are recorded in); `None` when
/// the span is shorter than [`MIN_RATE_SPAN`].
fn milli_rate(count: f64, span: Duration) -> Option<u64> {
    (span >= MIN_RATE_SPAN).then(|| (count / span.as_secs_f64() * 1000.0) as u64)
}

pub fn micros(duration: Duration) -> u64 {
    duration.as_micros().min(u128::from(u64::MAX)) as u64
}

/// A statistic of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Stat {
    Min,
    Mean,
    /// A percentile, 0–100.
    Percentile(f64),
    Max,
}

impl Stat {
    /// The columns of the summary and the figures of the JSON report.
    pub const SUMMARY: [Stat; 6] = [
        Stat::Percentile(50.0),
        Stat::Percentile(90.0),
        Stat::Percentile(95.0),
        Stat::Percentile(99.0),
        Stat::Percentile(99.9),
        Stat::Max,
    ];

    pub fn label(self) -> String {
        match self {
            Stat::Min => "min".to_string(),
            Stat::Mean => "mean".to_string(),
            Stat::Max => "max".to_string(),
            Stat::Percentile(p) => format!("p{p}"),
        }
    }

    /// Of `histogram` alone, in its recorded unit (within its precision, min and max too); `None`
    /// when it holds nothing. A metric's figures come from [`Distribution::stat`], which has the
    /// exact ones.
    pub fn of(self, histogram: &Histogram<u64>) -> Option<f64> {
        if histogram.is_empty() {
            return None;
        }
        Some(match self {
            Stat::Min => histogram.min() as f64,
            Stat::Max => histogram.max() as f64,
            Stat::Mean => histogram.mean(),
            Stat::Percentile(p) => histogram.value_at_quantile(p / 100.0) as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The percentile the brute-force way: sort every value, take the one at the rank.
    fn exact_percentile(values: &mut [u64], p: f64) -> u64 {
        values.sort_unstable();
        let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
        values[rank.clamp(1, values.len()) - 1]
    }

    #[test]
    fn percentiles_are_exact_within_the_stated_precision() {
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..20 {
            let count = 1 + rng.usize(0..20_000);
            // Latencies in microseconds over six orders of magnitude, skewed to the small.
            let mut values: Vec<u64> = (0..count)
                .map(|_| {
                    let exponent = rng.f64() * 6.0;
                    10f64.powf(exponent) as u64 + rng.u64(0..3)
                })
                .collect();
            let mut histogram = new_histogram();
            for &value in &values {
                histogram.record(value).expect("recordable");
            }
            for p in [50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
                let exact = exact_percentile(&mut values, p) as f64;
                let measured = Stat::Percentile(p).of(&histogram).expect("values");
                // Three significant digits: within one part in a thousand (and ±1 near 0).
                let tolerance = (exact * 1e-3).max(1.0);
                assert!(
                    (measured - exact).abs() <= tolerance,
                    "round {round}, p{p}: histogram {measured}, exact {exact}"
                );
            }
        }
    }

    #[test]
    fn a_rate_per_stream_needs_its_items_to_span_a_measurable_time() {
        let ms = Duration::from_millis;
        let mut measured = Measured::default();
        // A hundred items in one read: 14µs from the first to the last.
        let burst = StreamReport {
            items: 100,
            first_item: Some(ms(1)),
            duration: Some(ms(1) + Duration::from_micros(14)),
            ..StreamReport::default()
        };
        measured.record_stream(&burst);
        assert!(
            !measured.distributions.contains_key(&Metric::ItemsPerSecond),
            "{:?}",
            measured
                .distributions
                .get(&Metric::ItemsPerSecond)
                .map(|rates| rates.exact.max)
        );
        assert_eq!(measured.counts.items, 100);
        // Eleven items 10ms apart: ten gaps over 100ms, 100/s.
        let paced = StreamReport {
            items: 11,
            first_item: Some(ms(10)),
            duration: Some(ms(110)),
            ..StreamReport::default()
        };
        measured.record_stream(&paced);
        let rates = &measured.distributions[&Metric::ItemsPerSecond];
        assert_eq!(rates.histogram.len(), 1);
        assert_eq!(rates.stat(Stat::Max), Some(100_000.0));
        // At the bound itself a rate is measured.
        assert_eq!(milli_rate(1.0, MIN_RATE_SPAN), Some(100_000));
        assert_eq!(
            milli_rate(1.0, MIN_RATE_SPAN - Duration::from_micros(1)),
            None
        );
    }

    #[test]
    fn the_stream_that_carries_the_start_delay_counts_from_when_its_iteration_was_due() {
        let ms = Duration::from_millis;
        let outcome = TestOutcome {
            streams: vec![
                // A request the iteration opened after its stream, reported first.
                StreamReport {
                    plain: true,
                    ttfb: Some(ms(1)),
                    ..StreamReport::default()
                },
                StreamReport {
                    ttfb: Some(ms(2)),
                    first_item: Some(ms(3)),
                    start_delay: ms(10),
                    ..StreamReport::default()
                },
            ],
            file: crate::source::SourceFile::new("a.stream", ""),
            name: "t".to_string(),
            span: crate::source::Span::default(),
            duration: Duration::ZERO,
            failures: Vec::new(),
            barriers: Vec::new(),
            tokens: None,
            tokens_counted: false,
        };
        let mut measured = Measured::default();
        measured.record_cut_off(&outcome, Some(ms(10)));
        let values = |metric| {
            let histogram: &Histogram<u64> = &measured.distributions[&metric].histogram;
            let mut values: Vec<u64> = histogram
                .iter_recorded()
                .map(|v| histogram.lowest_equivalent(v.value_iterated_to()))
                .collect();
            values.sort_unstable();
            values
        };
        assert_eq!(values(Metric::Ttfb), [1_000, 12_000]);
        assert_eq!(values(Metric::FirstItem), [13_000]);
    }

    #[test]
    fn merged_figures_are_those_of_all_values() {
        let mut rng = fastrand::Rng::with_seed(11);
        let values: Vec<u64> = (0..40_000).map(|_| rng.u64(1..5_000_000)).collect();
        let mut whole = Measured::default();
        let mut parts: Vec<Measured> = (0..4).map(|_| Measured::default()).collect();
        for (index, &value) in values.iter().enumerate() {
            whole.record_value(Metric::Gap, value);
            parts[index % 4].record_value(Metric::Gap, value);
        }
        let mut merged = Measured::default();
        for part in &parts {
            merged.merge(part);
        }
        let (a, b) = (
            &whole.distributions[&Metric::Gap],
            &merged.distributions[&Metric::Gap],
        );
        for stat in [Stat::Min, Stat::Mean, Stat::Max]
            .into_iter()
            .chain(Stat::SUMMARY)
        {
            assert_eq!(a.stat(stat), b.stat(stat), "{}", stat.label());
        }
        assert_eq!(a.histogram.len(), b.histogram.len());
        let max = values.iter().copied().max().expect("values");
        assert_eq!(b.stat(Stat::Max), Some(max as f64));
    }

    #[test]
    fn merged_failures_stay_apart_by_spec_line_and_error_class() {
        let tally = |at: &str, class, count| FailureTally {
            at: at.to_string(),
            message: format!("{class:?} {count}"),
            count,
            example: format!("example of {class:?} {count}"),
            class,
        };
        let part = |tallies: Vec<FailureTally>| Measured {
            failures: tallies.into_iter().map(|t| (t.key(), t)).collect(),
            ..Measured::default()
        };
        let mut merged = part(vec![
            tally("a.stream:2:3", Some(ErrorClass::Reset), 2),
            tally("a.stream:4:3", None, 1),
        ]);
        merged.merge(&part(vec![
            tally("a.stream:2:3", Some(ErrorClass::Refused), 40),
            tally("a.stream:2:3", Some(ErrorClass::Reset), 5),
        ]));
        let groups: Vec<(&str, Option<ErrorClass>, u64, &str)> = merged
            .failures
            .values()
            .map(|t| (t.at.as_str(), t.class, t.count, t.message.as_str()))
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "a.stream:2:3",
                    Some(ErrorClass::Refused),
                    40,
                    "Some(Refused) 40"
                ),
                // The first part's message and example kept, the counts added.
                ("a.stream:2:3", Some(ErrorClass::Reset), 7, "Some(Reset) 2"),
                ("a.stream:4:3", None, 1, "None 1"),
            ]
        );
    }

    #[test]
    fn counts_and_a_short_stream_s_gaps_keep_their_exact_extremes() {
        let ms = Duration::from_millis;
        let mut measured = Measured::default();
        for gap in [99_950, 99_953] {
            let stream = StreamReport {
                items: 20_000,
                first_item: Some(ms(1)),
                duration: Some(ms(2_000)),
                gap_samples: Some(GapSamples::Few(vec![10, gap, 20])),
                ..StreamReport::default()
            };
            measured.record_stream(&stream);
        }
        let items = &measured.distributions[&Metric::Items];
        // Both 20,000: the histogram's bucket stands for 20,000–20,015.
        assert_eq!(items.histogram.max(), 20_015);
        assert_eq!(items.stat(Stat::Max), Some(20_000.0));
        assert_eq!(items.stat(Stat::Percentile(50.0)), Some(20_000.0));
        let gaps = &measured.distributions[&Metric::Gap];
        assert_eq!(gaps.stat(Stat::Max), Some(99_953.0));
        assert_eq!(gaps.stat(Stat::Min), Some(10.0));
        assert_eq!(gaps.stat(Stat::Mean), Some(199_963.0 / 6.0));
        assert_eq!(gaps.stat(Stat::Percentile(99.0)), Some(99_953.0));
    }

    #[test]
    fn a_long_stream_s_gaps_keep_their_exact_extremes_and_mean() {
        // 99.95 ms is in a bucket whose top reads 100.0x ms: the exact figures come with the
        // histogram, so `max gap < 100ms` is judged on 99.95 ms.
        let mut gaps = Histogram::<u32>::new(3).expect("a histogram");
        for gap in [50_000u64, 99_950] {
            gaps.record(gap).expect("recorded");
        }
        let stream = StreamReport {
            gap_samples: Some(GapSamples::Histogram {
                gaps: Box::new(gaps),
                min: 50_000,
                max: 99_950,
                sum: 149_950,
            }),
            ..StreamReport::default()
        };
        let mut measured = Measured::default();
        measured.record_stream(&stream);
        let gap = &measured.distributions[&Metric::Gap];
        assert_eq!(gap.stat(Stat::Max), Some(99_950.0));
        assert_eq!(gap.stat(Stat::Min), Some(50_000.0));
        assert_eq!(gap.stat(Stat::Mean), Some(74_975.0));
    }
}
