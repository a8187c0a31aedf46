//! SVG primitives for the report's charts: a chart's frame with its scales and axes, lines,
//! areas, bars, marks and labels. Colours are classes the page's CSS sets (light and dark), and
//! every text goes through [`escape`].

use std::fmt::Write;

use super::escape::escape;

/// A linear map from values to pixels.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub from: f64,
    pub to: f64,
}

impl Scale {
    pub fn new(lo: f64, hi: f64, from: f64, to: f64) -> Scale {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Scale { lo, hi, from, to }
    }

    pub fn at(&self, value: f64) -> f64 {
        let share = ((value - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        self.from + share * (self.to - self.from)
    }
}

/// A chart being drawn: its size, the plot area inside the margins, and the SVG so far.
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub x: Scale,
    pub y: Scale,
    body: String,
    label: String,
    /// The plot area's top: [`TOP`], or below a row of legends ([`Chart::with_legend_row`]).
    top: f64,
}

/// Room left of, right of, above and below the plot area, for the axes' labels.
pub const LEFT: f64 = 64.0;
pub const RIGHT: f64 = 56.0;
pub const TOP: f64 = 14.0;
pub const BOTTOM: f64 = 26.0;
/// The height of the row of legends above the plot area.
pub const LEGEND_ROW: f64 = 20.0;

impl Chart {
    /// A chart of `width` × `height` pixels, x from `x_lo` to `x_hi`, y from `y_lo` to `y_hi`;
    /// `label` says what it shows to those who cannot see it.
    pub fn new(
        width: f64,
        height: f64,
        (x_lo, x_hi): (f64, f64),
        (y_lo, y_hi): (f64, f64),
        label: &str,
    ) -> Chart {
        Chart {
            width,
            height,
            x: Scale::new(x_lo, x_hi, LEFT, width - RIGHT),
            y: Scale::new(y_lo, y_hi, height - BOTTOM, TOP),
            body: String::new(),
            label: label.to_string(),
            top: TOP,
        }
    }

    /// The chart `height` pixels higher, its legends ([`Chart::legend`]) in a row of their own
    /// above the plot area, where no line runs through them and no label lies on them.
    pub fn with_legend_row(mut self) -> Chart {
        self.height += LEGEND_ROW;
        self.top = TOP + LEGEND_ROW;
        self.y = Scale::new(self.y.lo, self.y.hi, self.height - BOTTOM, self.top);
        self
    }

    pub fn plot_top(&self) -> f64 {
        self.top
    }

    pub fn plot_bottom(&self) -> f64 {
        self.height - BOTTOM
    }

    /// The x axis at the bottom, with a tick and a label at each of `ticks`.
    pub fn x_axis(&mut self, ticks: &[(f64, String)]) {
        let y = self.plot_bottom();
        let (from, to) = (self.x.from, self.x.to);
        self.line(from, y, to, y, "axis");
        for (value, label) in ticks {
            let x = self.x.at(*value);
            self.line(x, y, x, y + 4.0, "axis");
            self.text(x, y + 16.0, "middle", "tick", label);
        }
    }

    /// The y axis on the left, with light grid lines across at each of `ticks`.
    pub fn y_axis(&mut self, ticks: &[(f64, String)]) {
        let (left, right) = (self.x.from, self.x.to);
        self.line(left, self.y.from, left, self.y.to, "axis");
        for (value, label) in ticks {
            let y = self.y.at(*value);
            self.line(left, y, right, y, "grid");
            self.text(left - 6.0, y + 4.0, "end", "tick", label);
        }
    }

    /// Labels of a second y scale on the right (`scale` maps its values to the same pixels).
    pub fn right_axis(&mut self, scale: &Scale, ticks: &[(f64, String)], class: &str) {
        let x = self.x.to;
        for (value, label) in ticks {
            self.text(x + 6.0, scale.at(*value) + 4.0, "start", class, label);
        }
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.body,
            r#"<line class="{class}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"/>"#
        );
    }

    /// A vertical line at `x` with a tooltip.
    pub fn vertical_titled(&mut self, x: f64, y1: f64, y2: f64, class: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<line class="{class}" x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}"><title>{}</title></line>"#,
            escape(title)
        );
    }

    /// A rectangle, with a tooltip when `title` is given.
    pub fn rect(
        &mut self,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        class: &str,
        title: Option<&str>,
    ) {
        let _ = write!(
            self.body,
            r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}">"#,
            width.max(0.0),
            height.max(0.0)
        );
        if let Some(title) = title {
            let _ = write!(self.body, "<title>{}</title>", escape(title));
        }
        self.body.push_str("</rect>");
    }

    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text class="{class}" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
            escape(text)
        );
    }

    /// A line through `points` (in values; `None` breaks it), on the y scale `scale` (the
    /// chart's own when `None`).
    pub fn polyline(&mut self, points: &[(f64, Option<f64>)], scale: Option<&Scale>, class: &str) {
        let y_scale = *scale.unwrap_or(&self.y);
        let mut run = String::new();
        let flush = |run: &mut String, body: &mut String| {
            if !run.is_empty() {
                let _ = write!(
                    body,
                    r#"<polyline class="{class}" points="{}"/>"#,
                    run.trim_end()
                );
                run.clear();
            }
        };
        for (x, y) in points {
            match y {
                Some(y) => {
                    let _ = write!(run, "{:.1},{:.1} ", self.x.at(*x), y_scale.at(*y));
                }
                None => flush(&mut run, &mut self.body),
            }
        }
        flush(&mut run, &mut self.body);
    }

    /// A step area: each `(from, to, value)` a flat stretch at its value, down to the scale's
    /// bottom, rising or falling straight up or down between stretches.
    pub fn steps(&mut self, steps: &[(f64, f64, f64)], scale: &Scale, class: &str) {
        let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
            return;
        };
        let bottom = scale.from;
        let mut path = format!("M{:.1},{bottom:.1}", self.x.at(first.0));
        for (from, to, value) in steps {
            let y = scale.at(*value);
            let _ = write!(
                path,
                " L{:.1},{y:.1} L{:.1},{y:.1}",
                self.x.at(*from),
                self.x.at(*to)
            );
        }
        let _ = write!(path, " L{:.1},{bottom:.1} Z", self.x.at(last.1));
        let _ = write!(self.body, r#"<path class="{class}" d="{path}"/>"#);
    }

    /// A legend entry at the top left of the plot (above it, in the legend row of
    /// [`Chart::with_legend_row`]), the `n`-th.
    pub fn legend(&mut self, n: usize, class: &str, label: &str) {
        let x = self.x.from + 8.0 + 150.0 * n as f64;
        let y = if self.top > TOP {
            TOP + 4.0
        } else {
            TOP + 10.0
        };
        self.rect(x, y - 7.0, 14.0, 4.0, &format!("legend {class}"), None);
        self.text(x + 18.0, y, "start", "tick", label);
    }

    /// The chart as an inline SVG element, scaled to the page's width.
    pub fn finish(self) -> String {
        format!(
            r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{body}</svg>"#,
            w = self.width,
            h = self.height,
            label = escape(&self.label),
            body = self.body
        )
    }
}

/// About `count` round values from `lo` to `hi` (steps of 1, 2 or 5 times a power of ten).
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let rough = (hi - lo) / count.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power);
    let mut ticks = Vec::new();
    let mut tick = (lo / step).ceil() * step;
    while tick <= hi + step * 1e-9 && ticks.len() < 100 {
        ticks.push(tick);
        tick += step;
    }
    ticks
}

/// Milliseconds as an axis shows them: `0`, `250ms`, `1.5s`, `2m`.
pub fn format_ms(ms: f64) -> String {
    if ms == 0.0 {
        "0".to_string()
    } else if ms.abs() < 1.0 {
        format!("{}µs", trim(ms * 1000.0))
    } else if ms.abs() < 1000.0 {
        format!("{}ms", trim(ms))
    } else if ms.abs() < 120_000.0 {
        format!("{}s", trim(ms / 1000.0))
    } else {
        format!("{}m", trim(ms / 60_000.0))
    }
}

/// A count as an axis shows it: `12`, `1.5k`, `2M`.
pub fn format_count(value: f64) -> String {
    if value.abs() >= 1e6 {
        format!("{}M", trim(value / 1e6))
    } else if value.abs() >= 1e4 {
        format!("{}k", trim(value / 1e3))
    } else {
        trim(value)
    }
}

/// Up to 3 significant digits, without trailing zeros.
fn trim(value: f64) -> String {
    let digits = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 1000.0, 5),
            vec![0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]
        );
        assert_eq!(nice_ticks(0.0, 7.0, 4), vec![0.0, 2.0, 4.0, 6.0]);
        assert_eq!(nice_ticks(5.0, 5.0, 4), vec![5.0]);
    }

    #[test]
    fn times_read_as_people_write_them() {
        assert_eq!(format_ms(0.0), "0");
        assert_eq!(format_ms(0.25), "250µs");
        assert_eq!(format_ms(250.0), "250ms");
        assert_eq!(format_ms(1500.0), "1.5s");
        assert_eq!(format_ms(180_000.0), "3m");
        assert_eq!(format_count(15_300.0), "15.3k");
    }

    #[test]
    fn labels_are_escaped() {
        let mut chart = Chart::new(100.0, 50.0, (0.0, 1.0), (0.0, 1.0), "a <chart>");
        chart.text(0.0, 0.0, "start", "tick", "</svg><script>");
        let svg = chart.finish();
        assert!(svg.contains("&lt;/svg&gt;&lt;script&gt;"));
        assert!(svg.contains("aria-label=\"a &lt;chart&gt;\""));
    }
}
