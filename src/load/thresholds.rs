//! Thresholds: `p99 gap < 100ms`, `ttfb p95 < 500ms`, `errors < 1%`, `connections succeeded >
//! 99%`, `goodput > 50/s`. Parsed once before the load starts (a metric the tests cannot produce
//! is an error then), evaluated on the run's totals at the end — and every second under
//! `--abort-on-fail` — each giving its measured value and its margin.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::metrics::{Measured, Metric, Stat};
use super::profile::Model;

mod parse;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A statistic of a distribution.
    Distribution(Metric, Stat),
    /// A share of iterations or connections, in percent.
    Ratio(Ratio),
    /// Per second of the run.
    Rate(Rate),
    Count(Count),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ratio {
    Errors,
    Failures,
    Passes,
    ConnectionsSucceeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Goodput,
    Iterations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Iterations,
    Errors,
    Failures,
    /// Iterations that failed an expectation, not for an error: their answer came, and was
    /// wrong.
    Unmet,
    Reconnections,
    Dropped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Op {
    fn holds(self, measured: f64, bound: f64) -> bool {
        match self {
            Op::Less => measured < bound,
            Op::LessOrEqual => measured <= bound,
            Op::Greater => measured > bound,
            Op::GreaterOrEqual => measured >= bound,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As written, in one spacing and lower case (`p99 gap < 100ms`).
    pub text: String,
    pub measure: Measure,
    pub op: Op,
    /// In the unit the measure is shown in: milliseconds, percent, per second, or a count.
    pub bound: f64,
    /// Written in a test (`threshold p99 gap < 100ms`): the test whose figures it judges, by
    /// its label in the report (`file: name`); `None`: the whole load's.
    pub test: Option<String>,
    /// Not written: the rule that every iteration passes, which no threshold on failures
    /// replaced (see [`super::implied`]).
    pub implied: bool,
}

/// A threshold's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub threshold: String,
    /// `None` when there was nothing to measure (no iterations, no such values).
    pub measured: Option<f64>,
    /// `ms`, `%`, `/s` or empty for a count.
    pub unit: String,
    pub passed: bool,
    /// How far inside the bound the value is (negative: how far outside); for a count, from the
    /// last value that passes (`errors < 5` at 5: -1).
    pub margin: Option<f64>,
    /// The bound, in `unit` (`goodput > 300/m` gives 5, per second). Absent from reports
    /// written before it was added.
    #[serde(default)]
    pub bound: Option<f64>,
    /// The test whose figures it judged, when it was written in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// The rule that every iteration passes, which no threshold on failures replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub implied: bool,
}

impl Verdict {
    /// As the summary shows it: `a.stream: chat: p99 gap < 100ms` for a test's own.
    pub fn label(&self) -> String {
        let threshold = if self.implied {
            format!("{} (implied)", self.threshold)
        } else {
            self.threshold.clone()
        };
        match &self.test {
            Some(test) => format!("{test}: {threshold}"),
            None => threshold,
        }
    }
}

/// Each threshold once, in order: of those that are the same (however written: `p99 gap <
/// 100ms` and `gap p99 < 100 ms`), the first. A threshold given in the config and again on the
/// command line, or by several merged reports, is one verdict, listed once by every report.
pub fn each_once<T>(thresholds: Vec<T>, threshold: impl Fn(&T) -> &Threshold) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(thresholds.len());
    for candidate in thresholds {
        if !kept
            .iter()
            .any(|known| threshold(known).same_as(threshold(&candidate)))
        {
            kept.push(candidate);
        }
    }
    kept
}

impl Threshold {
    /// Whether both judge the same thing the same way, however each is written.
    pub fn same_as(&self, other: &Threshold) -> bool {
        self.measure == other.measure
            && self.op == other.op
            && self.bound == other.bound
            && self.test == other.test
    }

    /// Judges the figures it is about: its test's (`tests` gives them by label; a test without
    /// any, nothing measured), else the whole load's.
    pub fn judge<'a>(
        &self,
        total: &'a Measured,
        tests: impl Fn(&str) -> Option<&'a Measured>,
        elapsed: Duration,
    ) -> Verdict {
        let none = Measured::default();
        let figures = match &self.test {
            Some(test) => tests(test).unwrap_or(&none),
            None => total,
        };
        Verdict {
            test: self.test.clone(),
            implied: self.implied,
            ..self.evaluate(figures, elapsed)
        }
    }

    /// Why the load's tests cannot produce this threshold's measure, if they cannot.
    pub fn unproducible(
        &self,
        tests_have_streams: bool,
        model: Model,
        tokens_counted: bool,
    ) -> Option<String> {
        match self.measure {
            Measure::Distribution(Metric::Tokens | Metric::TokensPerSecond, _)
                if !tokens_counted =>
            {
                Some(format!(
                    "`{}`: tokens are counted from a capture: name it with `--tokens NAME` (or `tokens = \"NAME\"` under [load]); `items` and `items/s` count the items of the streams",
                    self.text
                ))
            }
            Measure::Distribution(Metric::StartDelay, _) if model == Model::Closed => {
                Some(format!(
                    "`{}`: the start delay is measured in the open model only (`--rate`)",
                    self.text
                ))
            }
            Measure::Distribution(metric, _) if metric.needs_streams() && !tests_have_streams => {
                Some(format!(
                    "`{}`: none of the load's tests reads a stream (an `expect sse`, `expect ndjson`, `expect messages`… block), so there is no {} to measure",
                    self.text,
                    singular_label(metric)
                ))
            }
            Measure::Count(Count::Dropped) if model == Model::Closed => Some(format!(
                "`{}`: iterations are dropped in the open model only (`--rate` with `--max-users`)",
                self.text
            )),
            _ => None,
        }
    }

    pub fn unit(&self) -> &'static str {
        match self.measure {
            Measure::Distribution(metric, _) => match metric.unit() {
                super::metrics::Unit::Micros => "ms",
                super::metrics::Unit::Count => "",
                super::metrics::Unit::MilliPerSecond => "/s",
            },
            Measure::Ratio(_) => "%",
            Measure::Rate(_) => "/s",
            Measure::Count(_) => "",
        }
    }

    /// The measured value, in the threshold's unit; `None` when there is nothing to measure.
    pub fn measure(&self, total: &Measured, elapsed: Duration) -> Option<f64> {
        let counts = &total.counts;
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 * 100.0 / whole as f64);
        let seconds = elapsed.as_secs_f64();
        match self.measure {
            Measure::Distribution(metric, stat) => {
                // Min, max and mean exact: a bucket's value would fail `max items <= 20000`
                // of streams of exactly 20,000 items.
                let distribution = total.distributions.get(&metric).or_else(|| {
                    // Without counted tokens every item is one (see `Metric::timed_by_items_without_tokens`).
                    let items = metric.timed_by_items_without_tokens()?;
                    if total.distributions.contains_key(&Metric::Tokens) {
                        return None;
                    }
                    total.distributions.get(&items)
                })?;
                distribution
                    .stat(stat)
                    .map(|value| super::json::shown(metric, value))
            }
            Measure::Ratio(Ratio::Errors) => share(counts.errored, counts.iterations),
            Measure::Ratio(Ratio::Failures) => share(counts.failed, counts.iterations),
            Measure::Ratio(Ratio::Passes) => share(counts.passed, counts.iterations),
            Measure::Ratio(Ratio::ConnectionsSucceeded) => share(
                counts.connections,
                counts.connections + counts.connections_failed,
            ),
            Measure::Rate(rate) => (seconds > 0.0).then(|| {
                let n = match rate {
                    Rate::Goodput => counts.passed_in_schedule,
                    Rate::Iterations => counts.iterations_in_schedule,
                };
                n as f64 / seconds
            }),
            Measure::Count(count) => Some(match count {
                Count::Iterations => counts.iterations,
                Count::Errors => counts.errored,
                Count::Failures => counts.failed,
                Count::Unmet => counts.failed.saturating_sub(counts.errored),
                Count::Reconnections => counts.reconnections,
                Count::Dropped => counts.dropped,
            } as f64),
        }
    }

    pub fn evaluate(&self, total: &Measured, elapsed: Duration) -> Verdict {
        let measured = self.measure(total, elapsed);
        // The difference of two decimals in binary carries noise (`-52.06100000000001`): kept
        // to a nanosecond's (or a billionth's) precision, far below what any unit shows.
        let margin = measured.map(|value| (self.margin(value) * 1e9).round() / 1e9);
        Verdict {
            threshold: self.text.clone(),
            measured,
            unit: self.unit().to_string(),
            passed: measured.is_some_and(|value| self.op.holds(value, self.bound)),
            margin,
            bound: Some(self.bound),
            test: None,
            implied: self.implied,
        }
    }

    /// How far inside the bound `value` is (negative: outside). A whole-valued measure (a count,
    /// items per stream) is measured from the last value that passes: under `errors < 5` that
    /// is 4, so 5 errors miss it by 1 and 2 errors have a margin of 2 more. From the bound
    /// itself, 5 errors read `margin 0`, as if they had just passed.
    fn margin(&self, value: f64) -> f64 {
        let bound = self.bound;
        if !self.whole_valued() {
            return match self.op {
                Op::Less | Op::LessOrEqual => bound - value,
                Op::Greater | Op::GreaterOrEqual => value - bound,
            };
        }
        match self.op {
            Op::Less => (bound.ceil() - 1.0) - value,
            Op::LessOrEqual => bound.floor() - value,
            Op::Greater => value - (bound.floor() + 1.0),
            Op::GreaterOrEqual => value - bound.ceil(),
        }
    }

    /// Whether the measure takes whole values only: counts, and all but the mean of items and
    /// tokens.
    fn whole_valued(&self) -> bool {
        match self.measure {
            Measure::Count(_) => true,
            Measure::Distribution(metric, stat) => {
                metric.unit() == super::metrics::Unit::Count && stat != Stat::Mean
            }
            Measure::Ratio(_) | Measure::Rate(_) => false,
        }
    }

    /// Whether no later result can make this threshold hold again: a count that can only
    /// grow is already past its upper bound, or a maximum is.
    pub fn lost_for_good(&self, verdict: &Verdict) -> bool {
        if verdict.passed || verdict.measured.is_none() {
            return false;
        }
        let upper_bound = matches!(self.op, Op::Less | Op::LessOrEqual);
        upper_bound
            && matches!(
                self.measure,
                Measure::Count(_) | Measure::Distribution(_, Stat::Max)
            )
    }
}

/// The metric as one figure of it: "there is no item count per stream", where its label, the
/// name of a row of figures, is a plural ("items per stream").
fn singular_label(metric: Metric) -> &'static str {
    match metric {
        Metric::Items => "item count per stream",
        Metric::ItemsPerSecond => "item rate per stream",
        _ => metric.label(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_times_are_item_times_unless_tokens_are_counted() {
        let threshold = Threshold::parse("max ttft < 1s").expect("valid");
        let mut figures = Measured::default();
        figures.record_duration(Metric::FirstItem, Duration::from_millis(7));
        let measured = |figures: &Measured| threshold.measure(figures, Duration::from_secs(1));
        // Every item is a token.
        assert_eq!(measured(&figures), Some(7.0));
        // Tokens counted: the first token is its own, and none came.
        figures.record_value(Metric::Tokens, 10);
        assert_eq!(measured(&figures), None);
        figures.record_duration(Metric::FirstToken, Duration::from_millis(1000));
        assert_eq!(measured(&figures), Some(1000.0));
    }

    #[test]
    fn a_stream_metric_without_streams_is_named_in_a_sentence_that_agrees_with_it() {
        let reason = |text| {
            Threshold::parse(text)
                .expect(text)
                .unproducible(false, Model::Closed, false)
                .expect("unproducible")
        };
        for (text, what) in [
            ("max items < 5", "there is no item count per stream"),
            ("p50 items/s > 1/s", "there is no item rate per stream"),
            ("p99 gap < 1s", "there is no gap"),
            ("p99 first item < 1s", "there is no first item"),
        ] {
            assert_eq!(
                reason(text),
                format!(
                    "`{text}`: none of the load's tests reads a stream (an `expect sse`, `expect ndjson`, `expect messages`… block), so {what} to measure"
                )
            );
        }
    }

    #[test]
    fn the_same_threshold_however_written_is_kept_once() {
        let parsed = |text: &str| Threshold::parse(text).expect("a threshold");
        let kept = each_once(
            vec![
                parsed("p99 gap < 100ms"),
                parsed("errors < 1%"),
                parsed("gap p99 < 100 ms"),
                parsed("p99 gap < 200ms"),
                parsed("errors < 1%"),
            ],
            |threshold| threshold,
        );
        let texts: Vec<&str> = kept.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["p99 gap < 100ms", "errors < 1%", "p99 gap < 200ms"]);
    }

    #[test]
    fn a_verdict_gives_the_value_and_the_margin() {
        let mut total = Measured::default();
        for gap in [1_000u64, 2_000, 3_000, 150_000] {
            total.record_value(Metric::Gap, gap);
        }
        total.counts.iterations = 200;
        total.counts.passed = 198;
        total.counts.passed_in_schedule = 198;
        total.counts.failed = 2;
        total.counts.errored = 2;
        let elapsed = Duration::from_secs(10);
        let verdict = Threshold::parse("max gap < 100ms")
            .expect("valid")
            .evaluate(&total, elapsed);
        assert!(!verdict.passed);
        let measured = verdict.measured.expect("a value");
        assert!((measured - 150.0).abs() < 0.2, "{measured}");
        assert!(verdict.margin.expect("a margin") < 0.0);
        let verdict = Threshold::parse("errors < 2%")
            .expect("valid")
            .evaluate(&total, elapsed);
        assert_eq!((verdict.passed, verdict.measured), (true, Some(1.0)));
        let verdict = Threshold::parse("goodput > 19/s")
            .expect("valid")
            .evaluate(&total, elapsed);
        assert_eq!((verdict.passed, verdict.measured), (true, Some(19.8)));
        let nothing = Threshold::parse("p99 ttfb < 1s")
            .expect("valid")
            .evaluate(&total, elapsed);
        assert_eq!((nothing.passed, nothing.measured), (false, None));
    }

    #[test]
    fn a_count_s_margin_is_from_the_last_value_that_passes() {
        let total = Measured {
            counts: super::super::metrics::Counts {
                iterations: 10,
                errored: 5,
                ..Default::default()
            },
            ..Measured::default()
        };
        let margin = |text| {
            let verdict = Threshold::parse(text)
                .expect(text)
                .evaluate(&total, Duration::from_secs(1));
            (verdict.passed, verdict.margin.expect("a margin"))
        };
        assert_eq!(margin("errors < 5"), (false, -1.0));
        assert_eq!(margin("errors < 6"), (true, 0.0));
        assert_eq!(margin("errors <= 5"), (true, 0.0));
        assert_eq!(margin("errors <= 4.5"), (false, -1.0));
        assert_eq!(margin("errors > 5"), (false, -1.0));
        assert_eq!(margin("errors >= 4.5"), (true, 0.0));
        assert_eq!(margin("iterations < 20"), (true, 9.0));
        // A share is no count: from the bound.
        assert_eq!(margin("errors < 50%"), (false, 0.0));
    }

    #[test]
    fn a_margin_carries_no_binary_noise() {
        let mut measured = Measured::default();
        measured.record_duration(Metric::Gap, Duration::from_micros(152_061));
        let threshold = Threshold::parse("max gap < 100ms").expect("a threshold");
        let verdict = threshold.evaluate(&measured, Duration::from_secs(1));
        // 100 - 152.061 is -52.06100000000001 in binary.
        assert_eq!(verdict.margin, Some(-52.061));
    }
}
