//! The histogram charts of both reports (a stream's gaps, a load's metrics), drawn so that the x
//! axis tells the truth: each bar stands over its values' range, on a linear axis when the
//! values span less than a tenfold (or are a few whole numbers), else on a log axis that says
//! so; the axis starts and ends at labelled round values, with at least three labels; values of
//! zero on a log axis get a bar of their own, set apart. p50, p95 and p99 are marked, and their
//! labels laid out so that none covers another (equal ones share one label: `p95/p99 12ms`).

use super::svg::{Chart, LEFT, Scale, format_count, nice_ticks};

/// What a histogram shows.
pub struct Histogram<'a> {
    /// `(value, count)` in increasing value, in the unit the chart shows (ms, a count, per
    /// second).
    pub values: &'a [(f64, u64)],
    /// Whole numbers (counts): a linear axis then has a bar per number, or per run of them.
    pub whole: bool,
    /// A value as the axis and the titles show it.
    pub format: fn(f64) -> String,
    /// The smallest difference the values were recorded with (a microsecond, in ms; 1 for a
    /// count): no narrower bar, no closer labels.
    pub resolution: f64,
    /// What a value of zero stands for, in a bar's title: `under 1µs` for a time measured in
    /// microseconds, `of 0` for a count.
    pub zero: &'a str,
    /// The marked percentiles: `("p50", value)`, in the values' unit.
    pub percentiles: &'a [(&'a str, f64)],
    /// What the chart shows, for those who cannot see it.
    pub label: &'a str,
}

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 150.0;
/// Bars of a log axis per tenfold.
const BINS_PER_DECADE: f64 = 4.0;
/// A linear axis has about this many bars at most.
const LINEAR_BARS: f64 = 30.0;
/// Room for the bar of zeros, left of a log axis, and the break after it.
const ZERO_SLOT: f64 = 36.0;
const ZERO_BREAK: f64 = 18.0;
/// A label's width per character, at the charts' 11px (bold digits are about 6.4px wide): a
/// little more than it takes, so that labels laid out apart stay apart in any font.
pub const CHAR_WIDTH: f64 = 7.0;
/// Rows of percentile labels, one under the other.
const ROW_HEIGHT: f64 = 12.0;

/// How the x axis maps values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    /// From `lo` to `hi`, bars `width` wide starting at `lo`, labels `step` apart from
    /// `first`; whole numbers one apart get a bar centred on each.
    Linear {
        lo: f64,
        hi: f64,
        width: f64,
        first: f64,
        last: f64,
        step: f64,
    },
    /// log10 of the values from `lo` to `hi` (both powers of ten times 1, 2 or 5).
    Log { lo: f64, hi: f64 },
}

impl Axis {
    fn of(values: &[(f64, u64)], whole: bool, resolution: f64) -> Axis {
        let positive = || values.iter().map(|(v, _)| *v).filter(|v| *v > 0.0);
        let hi = positive().fold(0.0, f64::max);
        let lo_positive = positive().fold(f64::INFINITY, f64::min);
        let has_zero = values.iter().any(|(v, _)| *v <= 0.0);
        let lo = if has_zero { 0.0 } else { lo_positive };
        if hi <= 0.0 {
            return Axis::linear(0.0, 0.0, whole, resolution);
        }
        if whole && hi - lo <= LINEAR_BARS || lo_positive * 10.0 >= hi {
            return Axis::linear(lo, hi, whole, resolution);
        }
        // From a round value at or below the first bar's start to one past the last bar's end.
        let (lo, _) = log_bar_of(lo_positive);
        let (_, hi) = log_bar_of(hi);
        let lo = round_below(lo);
        let mut hi = if round_below(hi) >= hi * 0.999_999 {
            hi
        } else {
            round_above(hi)
        };
        // At least three labels: one more round value past the data when it spans two.
        if hi / lo <= 2.5 + 1e-9 {
            hi = round_above(hi * 1.01);
        }
        Axis::Log { lo, hi }
    }

    fn linear(lo: f64, hi: f64, whole: bool, resolution: f64) -> Axis {
        let ticks = nice_ticks(lo, hi.max(lo + resolution), 6);
        let mut step = match ticks.as_slice() {
            [first, second, ..] => (second - first).max(resolution),
            _ => resolution,
        };
        if whole {
            step = step.max(1.0).round();
        }
        let first = (lo / step + 1e-9).floor() * step;
        // The top bar holds `hi`: the axis goes on past it to the next label.
        let mut last = (hi / step + 1e-9).floor() * step + step;
        while (last - first) / step < 2.0 - 1e-9 {
            last += step;
        }
        let mut width = step;
        for share in [2.0, 5.0, 10.0] {
            let narrower = step / share;
            if (last - first) / narrower > LINEAR_BARS
                || narrower < resolution * 0.999
                || whole && narrower < 1.0
            {
                break;
            }
            width = narrower;
        }
        if whole && width <= 1.0 {
            // A number or two: a label either side of them, the bars in the middle.
            let (first, last) = if hi - lo < 2.0 {
                let first = (lo - 1.0).max(0.0);
                (first, first + 3.0)
            } else {
                (first, last)
            };
            // A bar per number, centred on it; the last label is the last number.
            return Axis::Linear {
                lo: first - 0.5,
                hi: last - 0.5,
                width: 1.0,
                first,
                last: last - 1.0,
                step,
            };
        }
        Axis::Linear {
            lo: first,
            hi: last,
            width,
            first,
            last,
            step,
        }
    }

    /// Where a value stands on the axis' scale.
    fn position(&self, value: f64) -> f64 {
        match self {
            Axis::Linear { .. } => value,
            Axis::Log { .. } => value.max(f64::MIN_POSITIVE).log10(),
        }
    }

    fn range(&self) -> (f64, f64) {
        match self {
            Axis::Linear { lo, hi, .. } => (*lo, *hi),
            Axis::Log { lo, hi } => (lo.log10(), hi.log10()),
        }
    }

    /// The bar a value falls in, as the range of values it holds.
    fn bar_of(&self, value: f64, whole: bool) -> (f64, f64) {
        match *self {
            Axis::Linear { lo, width, .. } => {
                let start = lo + ((value - lo) / width + 1e-9).floor() * width;
                if whole && width == 1.0 {
                    (start, start + 1.0)
                } else {
                    (start, start + width)
                }
            }
            Axis::Log { .. } => log_bar_of(value),
        }
    }

    /// The labelled round values: 1, 2 and 5 times powers of ten on a log axis.
    fn ticks(&self) -> Vec<f64> {
        match *self {
            Axis::Linear {
                first, last, step, ..
            } => (0..=((last - first) / step + 1e-9).floor() as usize)
                .take(100)
                .map(|n| first + step * n as f64)
                .collect(),
            Axis::Log { lo, hi } => {
                let mut ticks = Vec::new();
                let mut decade = 10f64.powf(lo.log10().floor());
                while decade <= hi * 1.000_001 && ticks.len() < 100 {
                    for step in [1.0, 2.0, 5.0] {
                        let tick = step * decade;
                        if tick >= lo * 0.999_999 && tick <= hi * 1.000_001 {
                            ticks.push(tick);
                        }
                    }
                    decade *= 10.0;
                }
                ticks
            }
        }
    }
}

/// The bar of a log axis that `value` falls in: a quarter of a tenfold.
fn log_bar_of(value: f64) -> (f64, f64) {
    let bin = (value.log10() * BINS_PER_DECADE + 1e-9).floor();
    (
        10f64.powf(bin / BINS_PER_DECADE),
        10f64.powf((bin + 1.0) / BINS_PER_DECADE),
    )
}

/// The round value (1, 2 or 5 times a power of ten) at or below `value`.
fn round_below(value: f64) -> f64 {
    let decade = 10f64.powf(value.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|step| step * decade)
        .find(|tick| *tick <= value * 1.000_001)
        .unwrap_or(decade)
}

/// The round value (1, 2 or 5 times a power of ten) at or above `value`.
fn round_at_or_above(value: f64) -> f64 {
    let below = round_below(value);
    if below >= value * 0.999_999 {
        below
    } else {
        round_above(value)
    }
}

/// The round value (1, 2 or 5 times a power of ten) above `value`.
fn round_above(value: f64) -> f64 {
    let decade = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * decade)
        .find(|tick| *tick > value * 1.000_001)
        .unwrap_or(10.0 * decade)
}

/// A percentile label placed: its text, where its line is, and its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub text: String,
    pub at: f64,
    /// Where the text starts and ends.
    pub from: f64,
    pub to: f64,
    pub row: usize,
}

/// Lays out the percentile labels `(name, pixel, value text)`: those at the same place with the
/// same value share one label (`p95/p99 12ms`); each goes right of its line, or left of it
/// near the right edge `right`, in the first row where it covers no other label.
pub fn lay_out(marks: &[(&str, f64, String)], right: f64) -> Vec<Placed> {
    let mut merged: Vec<(String, f64, String)> = Vec::new();
    for (name, at, value) in marks {
        match merged
            .iter_mut()
            .find(|(_, x, shown)| (x - at).abs() < 1.0 && shown == value)
        {
            Some((names, _, _)) => {
                names.push('/');
                names.push_str(name);
            }
            None => merged.push((name.to_string(), *at, value.clone())),
        }
    }
    let mut placed: Vec<Placed> = Vec::new();
    for (names, at, value) in merged {
        let text = format!("{names} {value}");
        let width = text.chars().count() as f64 * CHAR_WIDTH;
        let (from, to) = if at + 3.0 + width <= right {
            (at + 3.0, at + 3.0 + width)
        } else {
            (at - 3.0 - width, at - 3.0)
        };
        let row = (0..)
            .find(|row| {
                placed
                    .iter()
                    .filter(|other| other.row == *row)
                    .all(|other| to + 4.0 <= other.from || other.to + 4.0 <= from)
            })
            .unwrap_or(0);
        placed.push(Placed {
            text,
            at,
            from,
            to,
            row,
        });
    }
    placed
}

/// The chart, as an inline SVG element.
pub fn chart(histogram: &Histogram<'_>) -> String {
    let Histogram {
        values,
        whole,
        format,
        resolution,
        zero,
        percentiles,
        label,
    } = *histogram;
    // No finer than a hundredth of the largest value: the values are kept to two significant
    // digits (a bar narrower would split what was recorded as one), and the labels write three
    // (a bar's edges are then exactly what they say).
    let highest = values.iter().map(|(v, _)| v.abs()).fold(0.0, f64::max);
    let resolution = if highest > 0.0 {
        resolution.max(round_at_or_above(highest / 100.0))
    } else {
        resolution
    };
    let axis = Axis::of(values, whole, resolution);
    let (lo, hi) = axis.range();
    let zeros: u64 = values
        .iter()
        .filter(|(v, _)| *v <= 0.0)
        .map(|(_, n)| n)
        .sum();
    let zero_apart = matches!(axis, Axis::Log { .. }) && zeros > 0;
    // The bars, as (from, to, count) in values.
    let mut bars: Vec<(f64, f64, u64)> = Vec::new();
    for &(value, count) in values {
        if zero_apart && value <= 0.0 {
            continue;
        }
        let (from, to) = axis.bar_of(value, whole);
        match bars.last_mut() {
            Some(last) if (last.0 - from).abs() < 1e-9 * from.abs().max(1.0) => last.2 += count,
            _ => bars.push((from, to, count)),
        }
    }
    let most = bars
        .iter()
        .map(|(_, _, n)| *n)
        .chain([zeros])
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut chart = Chart::new(WIDTH, HEIGHT, (lo, hi), (0.0, most), label);
    if zero_apart {
        chart.x = Scale::new(lo, hi, LEFT + ZERO_SLOT + ZERO_BREAK, chart.x.to);
    }
    let x = chart.x;
    let at = |value: f64| x.at(axis.position(value));
    // Percentile labels first: their rows set how much room the bars leave above them.
    let marks: Vec<(&str, f64, String)> = percentiles
        .iter()
        .map(|(name, value)| {
            let pixel = if zero_apart && *value <= 0.0 {
                LEFT + ZERO_SLOT / 2.0
            } else {
                at(*value)
            };
            (*name, pixel, format(*value))
        })
        .collect();
    let placed = lay_out(&marks, WIDTH - 4.0);
    let rows = placed.iter().map(|p| p.row + 1).max().unwrap_or(0) as f64;
    let plot = chart.plot_bottom() - chart.plot_top();
    let room = (plot - rows * ROW_HEIGHT - 4.0).max(plot * 0.4);
    chart.y = Scale::new(
        0.0,
        most * plot / room,
        chart.plot_bottom(),
        chart.plot_top(),
    );
    let bottom = chart.plot_bottom();
    let bar = |chart: &mut Chart, left: f64, right: f64, count: u64, title: &str| {
        // However few, a bar's values show: the one slow gap among thousands is the point.
        let y = chart.y.at(count as f64).min(bottom - 3.0);
        let inset = if right - left > 4.0 { 0.5 } else { 0.0 };
        chart.rect(
            left + inset,
            y,
            right - left - 2.0 * inset,
            bottom - y,
            "bar",
            Some(title),
        );
    };
    for &(from, to, count) in &bars {
        let title = if whole && matches!(axis, Axis::Linear { width, .. } if width == 1.0) {
            format!("{} at {}", format_count(count as f64), format(from + 0.5))
        } else {
            format!(
                "{} from {} to {}",
                format_count(count as f64),
                format(from),
                format(to)
            )
        };
        bar(&mut chart, at(from), at(to), count, &title);
    }
    let mut ticks: Vec<(f64, String)> = axis
        .ticks()
        .into_iter()
        .map(|tick| (axis.position(tick), format(tick)))
        .collect();
    if zero_apart {
        let (left, right) = (LEFT + 2.0, LEFT + ZERO_SLOT);
        bar(
            &mut chart,
            left,
            right,
            zeros,
            &format!("{} {zero}", format_count(zeros as f64)),
        );
        // The zeros' own stretch of axis, broken off from the log axis.
        chart.line(LEFT, bottom, right + 2.0, bottom, "axis");
        chart.text((left + right) / 2.0, bottom + 16.0, "middle", "tick", "0");
        chart.line(right + 5.0, bottom + 4.0, right + 9.0, bottom - 4.0, "axis");
        chart.line(
            right + 9.0,
            bottom + 4.0,
            right + 13.0,
            bottom - 4.0,
            "axis",
        );
    }
    // Ticks given in the axis' positions: the chart's scale is over those.
    chart.x_axis(&std::mem::take(&mut ticks));
    if matches!(axis, Axis::Log { .. }) {
        chart.text(x.to, chart.plot_top() - 3.0, "end", "tick", "log scale");
    }
    let y_ticks: Vec<(f64, String)> = nice_ticks(0.0, most, 4)
        .into_iter()
        .map(|tick| (tick, format_count(tick)))
        .collect();
    chart.y_axis(&y_ticks);
    let (top, bottom) = (chart.plot_top(), chart.plot_bottom());
    for label in &placed {
        chart.line(label.at, top, label.at, bottom, "pct");
        let (x, anchor) = if label.from > label.at {
            (label.from, "start")
        } else {
            (label.to, "end")
        };
        let y = top + 10.0 + ROW_HEIGHT * label.row as f64;
        chart.text(x, y, anchor, "strong", &label.text);
    }
    chart.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed_overlap(placed: &[Placed]) -> bool {
        placed.iter().enumerate().any(|(i, a)| {
            placed[i + 1..]
                .iter()
                .any(|b| a.row == b.row && a.from < b.to && b.from < a.to)
        })
    }

    #[test]
    fn percentile_labels_never_cover_each_other() {
        // Every spacing of three lines across the chart, near its right edge too.
        for first in (60..1000).step_by(7) {
            for d1 in [0, 1, 5, 20, 45, 70, 95, 130] {
                for d2 in [0, 1, 5, 20, 45, 70, 95, 130] {
                    let a = f64::from(first);
                    let marks = [
                        ("p50", a, "6.09ms".to_string()),
                        ("p95", (a + f64::from(d1)).min(996.0), "10.2ms".to_string()),
                        (
                            "p99",
                            (a + f64::from(d1 + d2)).min(996.0),
                            "11ms".to_string(),
                        ),
                    ];
                    let placed = lay_out(&marks, 996.0);
                    assert!(!placed_overlap(&placed), "{placed:?}");
                    assert!(placed.iter().all(|p| p.from >= 0.0 && p.to <= 996.0));
                }
            }
        }
    }

    #[test]
    fn equal_percentiles_share_a_label() {
        let marks = [
            ("p50", 100.0, "3ms".to_string()),
            ("p95", 500.0, "12ms".to_string()),
            ("p99", 500.0, "12ms".to_string()),
        ];
        let texts: Vec<String> = lay_out(&marks, 996.0).into_iter().map(|p| p.text).collect();
        assert_eq!(texts, ["p50 3ms", "p95/p99 12ms"]);
    }

    #[test]
    fn values_within_a_tenfold_get_a_linear_axis_and_wider_ones_a_log_axis() {
        let axis = Axis::of(&[(5.0, 3), (5.4, 1)], false, 0.001);
        assert!(matches!(axis, Axis::Linear { .. }), "{axis:?}");
        assert!(axis.ticks().len() >= 3, "{:?}", axis.ticks());
        let axis = Axis::of(&[(5.0, 3), (400.0, 1)], false, 0.001);
        assert_eq!(
            axis,
            Axis::Log {
                lo: 2.0,
                hi: 1000.0
            }
        );
        // A few whole numbers: a bar centred on each.
        let axis = Axis::of(&[(1.0, 1), (3.0, 1), (6.0, 1)], true, 1.0);
        assert_eq!(axis.bar_of(6.0, true), (5.5, 6.5));
        // Values spanning little of a log axis still get three labels.
        let axis = Axis::of(&[(0.0, 5), (2.1, 1), (3.9, 2)], false, 0.001);
        assert!(
            matches!(axis, Axis::Linear { .. }),
            "zeros and values: {axis:?}"
        );
        let axis = Axis::of(&[(0.0, 5), (2.1, 1), (90.0, 2)], false, 0.001);
        assert!(axis.ticks().len() >= 3, "{axis:?}");
        // Only zeros (gaps under a microsecond): labels a microsecond apart at least.
        let axis = Axis::of(&[(0.0, 7)], false, 0.001);
        assert_eq!(axis.ticks(), [0.0, 0.001, 0.002]);
        assert_eq!(axis.bar_of(0.0, false), (0.0, 0.001));
    }
}
