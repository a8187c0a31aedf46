//! Reading a threshold as people write it (`p99 gap < 100ms`, `ttfb p95 < 500 ms`, `goodput >
//! 300/m`), into the one way reports and `fmt` write it, and saying what is wrong with one that
//! does not read.

use super::{Count, Measure, Op, Rate, Ratio, Threshold};
use crate::duration::parse_duration;
use crate::load::metrics::{Metric, Stat, Unit};

impl Threshold {
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
            Measure::Distribution(metric, _) => metric.unit() == Unit::MilliPerSecond,
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
}

/// Words separated by one space.
fn words_of(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
            Unit::Micros => parse_duration(right)
                .map(|duration| duration.as_secs_f64() * 1000.0)
                .map_err(|_| {
                    format!(
                        "the {} is a time: write a number and a unit (ms, s, m or h), such as `250ms` or `2s`, not `{right}`",
                        metric.label()
                    )
                }),
            Unit::Count => number(right),
            Unit::MilliPerSecond => per_second(right),
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
}
