//! Thresholds: `p99 gap < 100ms`, `ttfb p95 < 500ms`, `errors < 1%`, `connections succeeded >
//! 99%`, `goodput > 50/s`. Parsed once before the load starts (a metric the tests cannot produce
//! is an error then), evaluated on the run's totals at the end — and every second under
//! `--abort-on-fail` — each giving its measured value and its margin.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::metrics::{Measured, Metric, Stat};
use super::profile::Model;
use crate::duration::parse_duration;

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

/// Words separated by one space.
fn words_of(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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

const STREAM_METRICS: [(&str, Metric); 26] = [
    ("connect", Metric::Connect),
    ("connect time", Metric::Connect),
    ("ttfb", Metric::Ttfb),
    ("time to first byte", Metric::Ttfb),
    ("first item", Metric::FirstItem),
    ("first-item", Metric::FirstItem),
    ("first_item", Metric::FirstItem),
    ("gap", Metric::Gap),
    ("gaps", Metric::Gap),
    ("first token", Metric::FirstToken),
    ("ttft", Metric::FirstToken),
    ("time to first token", Metric::FirstToken),
    ("token gap", Metric::TokenGap),
    ("itl", Metric::TokenGap),
    ("inter-token latency", Metric::TokenGap),
    ("inter-token gap", Metric::TokenGap),
    ("stream duration", Metric::StreamDuration),
    ("items", Metric::Items),
    ("items per stream", Metric::Items),
    ("items/s", Metric::ItemsPerSecond),
    ("tokens", Metric::Tokens),
    ("output tokens", Metric::Tokens),
    ("tokens/s", Metric::TokensPerSecond),
    ("output tokens/s", Metric::TokensPerSecond),
    ("iteration", Metric::Iteration),
    ("start delay", Metric::StartDelay),
];

/// The names a threshold may use, for the error that lists them.
const NAMES: &str = "connect, ttfb, first item, gap, first token (ttft), token gap (itl), stream duration, items, items/s, \
                     tokens, tokens/s (with --tokens), iteration, start delay; errors, failures, passes, connections succeeded (in %); unmet (expectations), \
                     goodput (per second), iterations (per second with /s or /m, else a count); reconnections, dropped";

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

    pub fn parse(text: &str) -> Result<Threshold, String> {
        let lowered = text.trim().to_ascii_lowercase();
        // The bound is read without its spaces: `100 ms`, `1 %` and `50 /s` are `100ms`, `1%`
        // and `50/s`.
        let (at, op, op_text) = ["<=", ">=", "<", ">"]
            .iter()
            .filter_map(|op| lowered.find(op).map(|at| (at, *op)))
            .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
            .map(|(at, op)| {
                let parsed = match op {
                    "<=" => Op::LessOrEqual,
                    ">=" => Op::GreaterOrEqual,
                    "<" => Op::Less,
                    _ => Op::Greater,
                };
                (at, parsed, op)
            })
            .ok_or_else(|| {
                "a threshold compares with <, <=, > or >=, such as `p99 gap < 100ms`".to_string()
            })?;
        let left = lowered[..at].trim();
        let right: String = lowered[at + op_text.len()..].split_whitespace().collect();
        let right = right.as_str();
        if right.is_empty() {
            return Err(format!(
                "nothing to compare with after the operator in `{text}`"
            ));
        }
        let mut stat = None;
        let mut words = Vec::new();
        for word in left.split_whitespace() {
            match parse_stat(word) {
                Some(Err(message)) => return Err(format!("{message} (in `{}`)", text.trim())),
                Some(Ok(parsed)) if stat.is_none() => stat = Some(parsed),
                Some(Ok(_)) => return Err(format!("`{text}` names two statistics")),
                None => words.push(word),
            }
        }
        let name = words.join(" ");
        if name.is_empty() {
            return Err(format!("`{text}` names no metric; the metrics are {NAMES}"));
        }
        let measure = measure_of(&name, stat, right)
            .map_err(|message| format!("{message} (in `{}`)", text.trim()))?;
        let bound = parse_bound(measure, right)
            .map_err(|message| format!("{message} (in `{}`)", text.trim()))?;
        // A bare rate is per second: written so.
        let takes_rate = match measure {
            Measure::Rate(_) => true,
            Measure::Distribution(metric, _) => {
                metric.unit() == super::metrics::Unit::MilliPerSecond
            }
            _ => false,
        };
        let per_second = if takes_rate && right.parse::<f64>().is_ok() {
            "/s"
        } else {
            ""
        };
        Ok(Threshold {
            // One way of writing each: `p99 gap<100 ms` reads `p99 gap < 100ms` in the reports
            // and after `fmt`.
            text: format!("{} {op_text} {right}{per_second}", words_of(left)),
            measure,
            op,
            bound,
            test: None,
            implied: false,
        })
    }

    /// `text` written the one way [`Threshold::parse`] writes it, or as it is when it does not
    /// parse (its error is reported where it is checked).
    pub fn canonical(text: &str) -> String {
        Threshold::parse(text).map_or_else(|_| text.to_string(), |threshold| threshold.text)
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

/// The statistic `word` names; `None` when it names none (a word of the metric's name), an
/// error for a percentile there is not (`p101`: read as a name, it was an unknown metric).
fn parse_stat(word: &str) -> Option<Result<Stat, String>> {
    Some(Ok(match word {
        "max" => Stat::Max,
        "min" => Stat::Min,
        "mean" | "avg" | "average" => Stat::Mean,
        "median" => Stat::Percentile(50.0),
        _ => {
            let number = word.strip_prefix('p')?;
            let p: f64 = number.parse().ok()?;
            if !(0.0..=100.0).contains(&p) {
                return Some(Err(format!(
                    "a percentile is between p0 and p100, not `{word}`"
                )));
            }
            // p0 is the smallest value, as p100 is the largest.
            if p == 0.0 {
                Stat::Min
            } else {
                Stat::Percentile(p)
            }
        }
    }))
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

fn measure_of(name: &str, stat: Option<Stat>, right: &str) -> Result<Measure, String> {
    if let Some((_, metric)) = STREAM_METRICS.iter().find(|(known, _)| *known == name) {
        let stat = stat.ok_or_else(|| {
            format!(
                "say which statistic of the {} distribution: p50, p95, p99, p99.9, max, min or mean",
                metric.label()
            )
        })?;
        return Ok(Measure::Distribution(*metric, stat));
    }
    let percent = right.ends_with('%');
    let per_second = ["/s", "/m", "/min", "/h"]
        .iter()
        .any(|suffix| right.ends_with(suffix));
    let measure = match name {
        "errors" | "error rate" if percent => Measure::Ratio(Ratio::Errors),
        "errors" => Measure::Count(Count::Errors),
        "failures" | "failure rate" | "failed" if percent => Measure::Ratio(Ratio::Failures),
        "failures" | "failed" => Measure::Count(Count::Failures),
        "unmet" | "unmet expectations" => Measure::Count(Count::Unmet),
        "passes" | "passed" | "checks" => Measure::Ratio(Ratio::Passes),
        "connections succeeded" | "connections" => Measure::Ratio(Ratio::ConnectionsSucceeded),
        "goodput" => Measure::Rate(Rate::Goodput),
        "iterations" if per_second => Measure::Rate(Rate::Iterations),
        "iterations" => Measure::Count(Count::Iterations),
        "reconnections" => Measure::Count(Count::Reconnections),
        "dropped" | "dropped iterations" => Measure::Count(Count::Dropped),
        _ => {
            let suggestion = crate::diagnostic::did_you_mean(
                name,
                STREAM_METRICS.iter().map(|(known, _)| *known).chain([
                    "errors",
                    "failures",
                    "passes",
                    "connections succeeded",
                    "goodput",
                    "iterations",
                    "reconnections",
                    "dropped",
                ]),
            );
            return Err(match suggestion {
                Some(close) => format!("unknown metric `{name}`; did you mean `{close}`?"),
                None => format!("unknown metric `{name}`; the metrics are {NAMES}"),
            });
        }
    };
    if stat.is_some() {
        return Err(format!(
            "`{name}` is not a distribution: a statistic (p99, max…) goes with connect, ttfb, first item, gap, stream duration, items, items/s, iteration or start delay"
        ));
    }
    Ok(measure)
}

fn parse_bound(measure: Measure, right: &str) -> Result<f64, String> {
    if right.starts_with('-') {
        return Err(format!("`{right}` is negative: a bound is 0 or more"));
    }
    let number = |text: &str| -> Result<f64, String> {
        text.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite() && *value >= 0.0)
            .ok_or_else(|| format!("`{right}` is not a number"))
    };
    // A rate per second, per minute or per hour, as `--rate` reads it; a bare number is per second.
    let per_second = |text: &str| -> Result<f64, String> {
        let (value, seconds) = [("/s", 1.0), ("/m", 60.0), ("/min", 60.0), ("/h", 3600.0)]
            .iter()
            .find_map(|(suffix, seconds)| Some((text.strip_suffix(suffix)?, *seconds)))
            .unwrap_or((text, 1.0));
        number(value)
            .map(|value| value / seconds)
            .map_err(|_| format!("`{right}` is not a rate such as `50/s` or `300/m`"))
    };
    match measure {
        Measure::Distribution(metric, _) => match metric.unit() {
            super::metrics::Unit::Micros => parse_duration(right)
                .map(|duration| duration.as_secs_f64() * 1000.0)
                .map_err(|_| {
                    format!(
                        "the {} is a time: write a number and a unit (ms, s, m or h), such as `250ms` or `2s`, not `{right}`",
                        metric.label()
                    )
                }),
            super::metrics::Unit::Count => number(right),
            super::metrics::Unit::MilliPerSecond => per_second(right),
        },
        Measure::Ratio(_) => {
            let value = right
                .strip_suffix('%')
                .ok_or_else(|| format!("a share is in percent, such as `1%`, not `{right}`"))?;
            let value = number(value)?;
            if value > 100.0 {
                return Err(format!("{value}% is more than all"));
            }
            Ok(value)
        }
        Measure::Rate(_) => per_second(right),
        Measure::Count(_) => number(right),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_as_people_write_them() {
        let t = Threshold::parse("p99 gap < 100ms").expect("valid");
        assert_eq!(
            t.measure,
            Measure::Distribution(Metric::Gap, Stat::Percentile(99.0))
        );
        assert_eq!((t.op, t.bound), (Op::Less, 100.0));
        let t = Threshold::parse("ttfb p95 <= 0.5s").expect("valid");
        assert_eq!(
            t.measure,
            Measure::Distribution(Metric::Ttfb, Stat::Percentile(95.0))
        );
        assert_eq!((t.op, t.bound), (Op::LessOrEqual, 500.0));
        let t = Threshold::parse("errors < 1%").expect("valid");
        assert_eq!((t.measure, t.bound), (Measure::Ratio(Ratio::Errors), 1.0));
        let t = Threshold::parse("errors < 10").expect("valid");
        assert_eq!(t.measure, Measure::Count(Count::Errors));
        let t = Threshold::parse("connections succeeded > 99%").expect("valid");
        assert_eq!(t.measure, Measure::Ratio(Ratio::ConnectionsSucceeded));
        let t = Threshold::parse("goodput > 50/s").expect("valid");
        assert_eq!(
            (t.measure, t.op, t.bound),
            (Measure::Rate(Rate::Goodput), Op::Greater, 50.0)
        );
        let t = Threshold::parse("p99.9 ttft < 2s").expect("valid");
        assert_eq!(
            t.measure,
            Measure::Distribution(Metric::FirstToken, Stat::Percentile(99.9))
        );
        let t = Threshold::parse("p50 tokens/s > 20/s").expect("valid");
        assert_eq!(
            (t.measure, t.bound),
            (
                Measure::Distribution(Metric::TokensPerSecond, Stat::Percentile(50.0)),
                20.0
            )
        );
    }

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
    fn bounds_read_with_spaces_other_rate_units_and_p0() {
        let bound = |text| Threshold::parse(text).expect(text).bound;
        assert_eq!(bound("p99 gap < 100 ms"), 100.0);
        assert_eq!(bound("errors < 1 %"), 1.0);
        assert_eq!(bound("goodput > 300/m"), 5.0);
        assert_eq!(bound("goodput > 7200/h"), 2.0);
        assert_eq!(bound("goodput > 5"), 5.0);
        assert_eq!(bound("p50 tokens/s > 120/m"), 2.0);
        assert_eq!(
            Threshold::parse("p0 gap < 1s").expect("valid").measure,
            Measure::Distribution(Metric::Gap, Stat::Min)
        );
    }

    #[test]
    fn bad_thresholds_say_what_is_wrong() {
        let error = |text| Threshold::parse(text).expect_err(text);
        assert_eq!(
            error("gap 100ms"),
            "a threshold compares with <, <=, > or >=, such as `p99 gap < 100ms`"
        );
        assert_eq!(
            error("gap < 100ms"),
            "say which statistic of the gap distribution: p50, p95, p99, p99.9, max, min or mean (in `gap < 100ms`)"
        );
        assert_eq!(
            error("p99 gap < 100"),
            "the gap is a time: write a number and a unit (ms, s, m or h), such as `250ms` or `2s`, not `100` (in `p99 gap < 100`)"
        );
        assert_eq!(
            error("p99 gap < -1ms"),
            "`-1ms` is negative: a bound is 0 or more (in `p99 gap < -1ms`)"
        );
        assert_eq!(
            error("goodput > 5/d"),
            "`5/d` is not a rate such as `50/s` or `300/m` (in `goodput > 5/d`)"
        );
        assert_eq!(
            error("p99 gpa < 1s"),
            "unknown metric `gpa`; did you mean `gap`? (in `p99 gpa < 1s`)"
        );
        assert_eq!(
            error("errors < 120%"),
            "120% is more than all (in `errors < 120%`)"
        );
        assert_eq!(
            error("p99 errors < 1%"),
            "`errors` is not a distribution: a statistic (p99, max…) goes with connect, ttfb, first item, gap, stream duration, items, items/s, iteration or start delay (in `p99 errors < 1%`)"
        );
    }

    #[test]
    fn a_percentile_past_p100_is_said_to_be_one() {
        let error = |text| Threshold::parse(text).expect_err(text);
        for (text, p) in [("p101 gap < 1s", "p101"), ("gap p100.5 < 1s", "p100.5")] {
            assert_eq!(
                error(text),
                format!("a percentile is between p0 and p100, not `{p}` (in `{text}`)")
            );
        }
        // p100 is the largest value, p0 the smallest.
        let measure = |text| Threshold::parse(text).expect(text).measure;
        assert_eq!(
            measure("p100 gap < 1s"),
            Measure::Distribution(Metric::Gap, Stat::Percentile(100.0))
        );
        // A word that only starts with a `p` is a name.
        assert_eq!(
            error("passes < 1s"),
            "a share is in percent, such as `1%`, not `1s` (in `passes < 1s`)"
        );
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
    fn a_threshold_reads_one_way_however_it_was_spaced() {
        let text = |written: &str| Threshold::parse(written).expect("a threshold").text;
        assert_eq!(text("p99 gap<100ms"), "p99 gap < 100ms");
        assert_eq!(text("  P99   TTFB <=  500 MS "), "p99 ttfb <= 500ms");
        assert_eq!(
            text("connections succeeded>99 %"),
            "connections succeeded > 99%"
        );
        assert_eq!(text("goodput >= 50 /s"), "goodput >= 50/s");
        assert_eq!(text("goodput > 1"), "goodput > 1/s");
        assert_eq!(text("p50 tokens/s > 20"), "p50 tokens/s > 20/s");
        assert_eq!(Threshold::canonical("p99 gap"), "p99 gap");
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
