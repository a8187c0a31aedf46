//! Timing statistics of one stream in bounded memory: counts and extremes exactly, percentiles
//! from a histogram (HdrHistogram, 3 significant digits), never a list of every sample.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::ast::GapStat;

#[derive(Debug, Clone)]
pub struct StreamStats {
    /// Items received (ignored ones excluded).
    pub items: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// From sending the request to the response head; `None` while none has come, and for a
    /// gRPC call that ended without one (cancelled before the server answered).
    pub ttfb: Option<Duration>,
    /// From sending the request to the first item.
    pub first_item: Option<Duration>,
    /// From sending the request to the end of reading.
    pub duration: Option<Duration>,
    /// Connections the stream used: 1, plus one per reconnection.
    pub connections: u32,
    /// How long the client waited before each reconnection (bounded by the connection limit).
    pub reconnect_delays: Vec<Duration>,
    /// The reconnection time the server last set with `retry`, in milliseconds.
    pub retry: Option<u64>,
    /// The order of SSE ids, across reconnections.
    pub ids: IdTracker,
    gaps: Gaps,
}

/// Watches SSE ids as they arrive, keeping only the last one and the first break of order, so
/// memory does not grow with the stream.
#[derive(Debug, Clone, Default)]
pub struct IdTracker {
    last: Option<(u64, Duration)>,
    /// The first id not above the one before: (previous id, its time, this id, its time).
    pub first_repeat: Option<(u64, Duration, u64, Duration)>,
    /// The first id more than one above the one before.
    pub first_gap: Option<(u64, Duration, u64, Duration)>,
    /// The first id that is not a whole number, which no order can be checked on.
    pub not_a_number: Option<String>,
    /// How many ids were seen.
    pub seen: u64,
}

impl IdTracker {
    /// Records the id an event set explicitly.
    pub fn record(&mut self, id: &str, at: Duration) {
        self.seen += 1;
        let Ok(id) = id.parse::<u64>() else {
            if self.not_a_number.is_none() {
                self.not_a_number = Some(id.to_string());
            }
            return;
        };
        if let Some((last, last_at)) = self.last {
            if id <= last && self.first_repeat.is_none() {
                self.first_repeat = Some((last, last_at, id, at));
            }
            if id > last + 1 && self.first_gap.is_none() {
                self.first_gap = Some((last, last_at, id, at));
            }
        }
        self.last = Some((id, at));
    }
}

#[derive(Debug, Clone)]
struct Gaps {
    /// Inter-item gaps in microseconds.
    histogram: Histogram<u64>,
    sum: Duration,
    min: Option<Duration>,
    max: Duration,
    last_at: Option<Duration>,
}

impl StreamStats {
    /// The statistics of a stream whose response head came `ttfb` after the request.
    pub fn new(ttfb: Duration) -> StreamStats {
        StreamStats::with_ttfb(Some(ttfb))
    }

    /// The statistics of a stream whose response head has not come yet.
    pub fn awaiting_head() -> StreamStats {
        StreamStats::with_ttfb(None)
    }

    fn with_ttfb(ttfb: Option<Duration>) -> StreamStats {
        StreamStats {
            items: 0,
            bytes: 0,
            ttfb,
            first_item: None,
            duration: None,
            connections: 1,
            reconnect_delays: Vec::new(),
            retry: None,
            ids: IdTracker::default(),
            gaps: Gaps {
                // Auto-resizing keeps any gap recordable; memory stays a few tens of KiB.
                histogram: Histogram::new(3)
                    .unwrap_or_else(|_| unreachable!("3 significant digits is valid")),
                sum: Duration::ZERO,
                min: None,
                max: Duration::ZERO,
                last_at: None,
            },
        }
    }

    /// Records an item read past a failure by `--update`: counted, and its SSE id tracked
    /// when `track_ids`, as the matching loop does.
    pub fn saw(&mut self, item: &crate::transport::item::Item, at: Duration, track_ids: bool) {
        if let crate::transport::item::Item::Sse(event) = item
            && track_ids
            && event.has_id
        {
            self.ids.record(&event.id, at);
        }
        self.record_item(at);
    }

    /// Records an item received `at` (since the request).
    pub fn record_item(&mut self, at: Duration) {
        self.items += 1;
        if self.first_item.is_none() {
            self.first_item = Some(at);
        }
        let gaps = &mut self.gaps;
        if let Some(last) = gaps.last_at {
            let gap = at.saturating_sub(last);
            let _ = gaps
                .histogram
                .record(gap.as_micros().min(u64::MAX as u128) as u64);
            gaps.sum += gap;
            gaps.min = Some(gaps.min.map_or(gap, |min| min.min(gap)));
            gaps.max = gaps.max.max(gap);
        }
        gaps.last_at = Some(at);
    }

    /// A new connection: the wait between the last item of the old one and the first of the new
    /// is not a gap between items the server sent in one go.
    pub fn record_reconnect(&mut self, waited: Duration) {
        self.connections += 1;
        self.reconnect_delays.push(waited);
        self.gaps.last_at = None;
    }

    /// Adds another stream's figures to these, for statistics over a whole test.
    pub fn absorb(&mut self, other: &StreamStats) {
        self.items += other.items;
        self.bytes += other.bytes;
        self.connections += other.connections;
        self.reconnect_delays.extend(&other.reconnect_delays);
        if self.first_item.is_none() {
            self.first_item = other.first_item;
        }
        let gaps = &mut self.gaps;
        let _ = gaps.histogram.add(&other.gaps.histogram);
        gaps.sum += other.gaps.sum;
        gaps.min = match (gaps.min, other.gaps.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        gaps.max = gaps.max.max(other.gaps.max);
    }

    /// min, mean, p50, p95, p99 and max of the gaps, when there are any.
    pub fn gap_summary(&self) -> Option<[Duration; 6]> {
        Some([
            self.gap(GapStat::Min)?,
            self.gap(GapStat::Mean)?,
            self.gap(GapStat::P50)?,
            self.gap(GapStat::P95)?,
            self.gap(GapStat::P99)?,
            self.gap(GapStat::Max)?,
        ])
    }

    pub fn gap_count(&self) -> u64 {
        self.gaps.histogram.len()
    }

    /// A gap statistic, or `None` when fewer than two items arrived.
    pub fn gap(&self, stat: GapStat) -> Option<Duration> {
        let gaps = &self.gaps;
        let count = gaps.histogram.len();
        if count == 0 {
            return None;
        }
        let micros = |q: f64| Duration::from_micros(gaps.histogram.value_at_quantile(q));
        Some(match stat {
            GapStat::Min => gaps.min.unwrap_or_default(),
            GapStat::Max => gaps.max,
            GapStat::Mean => Duration::from_nanos((gaps.sum.as_nanos() / u128::from(count)) as u64),
            GapStat::P50 => micros(0.50),
            GapStat::P95 => micros(0.95),
            GapStat::P99 => micros(0.99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_measured_between_items() {
        let mut stats = StreamStats::new(Duration::from_millis(5));
        for ms in [10, 110, 210, 330] {
            stats.record_item(Duration::from_millis(ms));
        }
        assert_eq!(stats.items, 4);
        assert_eq!(stats.first_item, Some(Duration::from_millis(10)));
        assert_eq!(stats.gap(GapStat::Min), Some(Duration::from_millis(100)));
        assert_eq!(stats.gap(GapStat::Max), Some(Duration::from_millis(120)));
        assert_eq!(
            stats.gap(GapStat::Mean).map(|d| d.as_micros()),
            Some(106_666)
        );
        let p50 = stats.gap(GapStat::P50).unwrap_or_default();
        assert!(p50 >= Duration::from_millis(99) && p50 <= Duration::from_millis(101));
    }

    #[test]
    fn no_gaps_before_two_items() {
        let mut stats = StreamStats::new(Duration::ZERO);
        assert_eq!(stats.gap(GapStat::Max), None);
        stats.record_item(Duration::from_millis(1));
        assert_eq!(stats.gap(GapStat::Max), None);
    }
}
