//! Timing statistics of one stream in bounded memory: counts and extremes exactly, percentiles
//! from a histogram (HdrHistogram, 2 significant digits), never a list of every sample.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::ast::GapStat;
use crate::interp::ids::IdTracker;
use crate::interp::timeline::{self, Timeline};
use crate::load::metrics::micros;
use crate::outcome::StreamReport;

mod gaps;
mod tokens;

pub use gaps::GapSamples;
use gaps::{Gaps, histogram_of};
pub use tokens::TokenReport;
use tokens::TokenTimes;

#[derive(Debug, Clone)]
pub struct StreamStats {
    /// Items received (ignored ones excluded).
    pub items: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// From sending the request to the response head; `None` while none has come, and for a
    /// gRPC call that ended without one (cancelled before the server answered).
    pub ttfb: Option<Duration>,
    /// How long the connection took to open, when one was opened for the request and the
    /// client timed it (see [`crate::transport::http::HttpResponse::connect`]).
    pub connect: Option<Duration>,
    /// From sending the request to the first item.
    pub first_item: Option<Duration>,
    /// From sending the request to the end of reading.
    pub duration: Option<Duration>,
    /// From sending the request to the stream's end, when a block took an end read ahead
    /// (during a `wait`): the stream's duration is to then, not to when the block took it.
    pub end_came: Option<Duration>,
    /// Connections the stream used: 1, plus one per reconnection.
    pub connections: u32,
    /// How long the client waited before each reconnection (bounded by the connection limit).
    pub reconnect_delays: Vec<Duration>,
    /// The reconnection time the server last set with `retry`, in milliseconds.
    pub retry: Option<u64>,
    /// The order of SSE ids, across reconnections.
    pub ids: IdTracker,
    gaps: Gaps,
    /// When the items that are output tokens came, once one has (see [`tokens`]).
    tokens: Option<Box<TokenTimes>>,
    /// Every arrival, in bounded memory, for the HTML report; `None` unless one is asked for.
    pub timeline: Option<Box<Timeline>>,
    /// In a load run's open model, for the first stream its iteration opened: how late the
    /// iteration started after it was due. Its ttfb and first item count from when it was due.
    start_delay: Duration,
    /// In a load run: which latencies it filed in the time series as they were measured.
    in_series: InSeries,
    /// The wait for an item that never came, when the block gave up on it.
    gave_up: Option<GaveUp>,
    /// Which stream these are, in its reports: a socket or call read by several blocks reports
    /// after each, its figures so far, and a load counts only the last (see
    /// [`crate::outcome::TestOutcome::streams_once`]).
    id: u64,
}

/// The next stream's [`StreamStats::id`]; 0 is no stream's.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A block gave up waiting for the next item (a bound broke, or the test's timeout came): a
/// server too slow to send it must not vanish from a load's percentiles, as a head never
/// received counts in `ttfb` by the time waited. The time waited is a lower bound of the true
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// No item had come: the time from the request, for `first item`.
    FirstItem(Duration),
    /// The time since the last item, for `gap`.
    Gap(Duration),
}

/// The latencies of a stream a load run's time series took as they were measured (see
/// [`crate::load::live_figures`]): the recorder files the others when the iteration ends, so
/// each counts once, in the second it was known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InSeries {
    /// The ttfb, with the first item: the head came no later than it (see [`no_later_than`]),
    /// so its value is final then.
    pub ttfb: bool,
    pub first_item: bool,
}

/// Set for a load run (`streamspec load`): each stream's report carries its gaps themselves, for
/// the run's histograms, and they are kept to the load histograms' precision.
static KEPT_FOR_LOAD: AtomicBool = AtomicBool::new(false);

/// Keeps every stream's gaps for a load run's histograms, from now on in this process: three
/// significant digits (percentiles within 0.1%, as the load report states) rather than two.
pub fn keep_gaps_for_load() {
    KEPT_FOR_LOAD.store(true, Ordering::Relaxed);
}

/// The time to the response head, given its first item came `first_item` after the request.
/// The clients time the head once they have parsed it, after the read that brought it; the
/// items that came in the same read are timed by that read, a few microseconds earlier (on the
/// HTTP/1.1 path the body's first bytes often share the head's read). The head came no later
/// than the first item: both are measured from the same instant (the request sent), and the
/// item's read is when the head had come at the latest.
fn no_later_than(ttfb: Option<Duration>, first_item: Duration) -> Option<Duration> {
    ttfb.map(|ttfb| ttfb.min(first_item))
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
            connect: None,
            first_item: None,
            duration: None,
            end_came: None,
            connections: 1,
            reconnect_delays: Vec::new(),
            retry: None,
            ids: IdTracker::default(),
            gaps: Gaps::default(),
            tokens: None,
            timeline: timeline::new_if_kept(),
            // Outside a load's iteration, none.
            start_delay: crate::load::live_figures::take_start_delay(),
            in_series: InSeries::default(),
            gave_up: None,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
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
        self.describe_last(item);
    }

    /// Records an item received `at` (since the request) that the reader looked at: the
    /// timeline, when one is kept, shows what it was.
    pub fn record_seen(&mut self, item: &crate::transport::item::Item, at: Duration) {
        self.record_item(at);
        self.describe_last(item);
    }

    /// An item read after the stream failed, only for the diff: the timeline, when one is
    /// kept, draws it; the stream's figures leave it out.
    pub fn read_after_failure(&mut self, item: &crate::transport::item::Item, at: Duration) {
        if let Some(timeline) = &mut self.timeline {
            timeline.read_after_failure(item, at);
        }
    }

    fn describe_last(&mut self, item: &crate::transport::item::Item) {
        if let Some(timeline) = &mut self.timeline {
            timeline.describe_last(item);
        }
    }

    /// Records an item of the stream received `at` (since the request): in a load run, its
    /// latencies go into the time series now, in the second they were measured.
    pub fn record_item(&mut self, at: Duration) {
        self.record(at, true);
    }

    /// The block reading the stream captures its output tokens: they are timed, and a wait for
    /// the first that never came counts as its time (see [`tokens`]).
    pub fn time_tokens(&mut self) {
        self.tokens.get_or_insert_default();
    }

    /// The item just recorded, `at` (since the request), is an output token: it took a value
    /// of the capture `--tokens` names (see [`tokens`]).
    pub fn record_token(&mut self, at: Duration) {
        self.tokens.get_or_insert_default().arrived(at);
    }

    /// Records an item read outside a block (a whole body, replies or messages read to their
    /// end): in the stream's figures, but not in a load's time series, since the load's report
    /// does not carry it as a stream's (the request is reported as a plain one, or its block
    /// was reported before).
    pub fn record_unstreamed_item(&mut self, at: Duration) {
        self.record(at, false);
    }

    /// [`Self::record_unstreamed_item`], for the timeline too.
    pub fn drained(&mut self, item: &crate::transport::item::Item, at: Duration) {
        self.record(at, false);
        self.describe_last(item);
    }

    /// `in_series`: a load run's time series takes the item's latencies as they come.
    #[inline]
    fn record(&mut self, at: Duration, in_series: bool) {
        self.items += 1;
        let for_load = KEPT_FOR_LOAD.load(Ordering::Relaxed);
        if self.first_item.is_none() {
            self.first_item = Some(at);
            self.ttfb = no_later_than(self.ttfb, at);
            if for_load && in_series {
                self.file_first_item(at);
            }
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.arrived(at);
        }
        let gap_micros = self.gaps.arrived(at);
        if for_load {
            crate::load::live_figures::item(gap_micros.filter(|_| in_series));
        }
    }

    /// A load run's first item, `at`, into the time series, and the ttfb with it when the head
    /// has come: no item can lower it any more.
    #[cold]
    fn file_first_item(&mut self, at: Duration) {
        use crate::load::live_figures::{Latency, record};
        let delayed = |latency: Duration| micros(latency + self.start_delay);
        if let Some(ttfb) = self.ttfb {
            record(Latency::Ttfb, delayed(ttfb));
            self.in_series.ttfb = true;
        }
        record(Latency::FirstItem, delayed(at));
        self.in_series.first_item = true;
    }

    /// The block gave up waiting for the next item `at` (since the request): the time waited
    /// counts, in a load, as the first item's or as a gap (filed in the time series now).
    pub fn gave_up_waiting(&mut self, at: Duration) {
        let gave_up = match (self.first_item, self.gaps.last_at) {
            (None, _) => GaveUp::FirstItem(at),
            (Some(_), Some(last)) => GaveUp::Gap(at.saturating_sub(last)),
            // Items came on an earlier connection only: the wait since this one opened is
            // not a gap between items.
            (Some(_), None) => return,
        };
        self.gave_up = Some(gave_up);
        if let Some(tokens) = &mut self.tokens {
            tokens.gave_up_waiting(at);
        }
        if KEPT_FOR_LOAD.load(Ordering::Relaxed) {
            use crate::load::live_figures::{Latency, record};
            match gave_up {
                GaveUp::FirstItem(wait) => {
                    record(Latency::FirstItem, micros(wait + self.start_delay))
                }
                GaveUp::Gap(wait) => record(Latency::Gap, micros(wait)),
            }
        }
    }

    /// Sets the stream's duration at the end of a block: to when its end came, if the block
    /// took one read ahead, else to now (since `origin`, the request).
    pub fn read_until_now(&mut self, origin: std::time::Instant) {
        self.duration = Some(self.end_came.unwrap_or_else(|| origin.elapsed()));
    }

    /// When the last item arrived (since the request), on the current connection.
    pub fn last_item_at(&self) -> Option<Duration> {
        self.gaps.last_at
    }

    /// A new connection: the wait between the last item of the old one and the first of the new
    /// is not a gap between items the server sent in one go.
    pub fn record_reconnect(&mut self, waited: Duration) {
        self.connections += 1;
        self.reconnect_delays.push(waited);
        self.gaps.last_at = None;
        if let Some(tokens) = &mut self.tokens {
            tokens.reconnected();
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.reconnected(waited);
        }
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
        match &other.gaps.histogram {
            Some(_) => match &mut gaps.histogram {
                Some(ours) => {
                    let _ = ours.add(other.gaps.histogram().as_ref());
                }
                None => {
                    let mut merged = other.gaps.histogram().into_owned();
                    let _ = merged.add(histogram_of(&gaps.few));
                    gaps.few = Vec::new();
                    gaps.histogram = Some(Box::new(merged));
                }
            },
            None => {
                for &gap in &other.gaps.few {
                    gaps.record(gap);
                }
            }
        }
        gaps.sum += other.gaps.sum;
        gaps.min = match (gaps.min, other.gaps.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        gaps.max = gaps.max.max(other.gaps.max);
    }

    /// The figures of the verbose report, for the block (or request) at `span`.
    pub fn report(&self, kind: &'static str, span: crate::source::Span) -> StreamReport {
        self.report_for(kind, span, KEPT_FOR_LOAD.load(Ordering::Relaxed))
    }

    /// The report, for a load run (`for_load`: the gaps themselves) or for people (their
    /// summary).
    fn report_for(
        &self,
        kind: &'static str,
        span: crate::source::Span,
        for_load: bool,
    ) -> StreamReport {
        StreamReport {
            kind,
            span,
            items: self.items,
            bytes: self.bytes,
            // A gRPC call's ttfb is set again once its replies are read.
            ttfb: self
                .first_item
                .map_or(self.ttfb, |first| no_later_than(self.ttfb, first)),
            connect: self.connect,
            first_item: self.first_item,
            duration: self.duration,
            // A load run keeps the gaps themselves instead: their summary would be thrown away.
            gaps: if for_load { None } else { self.gap_summary() },
            connections: self.connections,
            reconnect_delays: self.reconnect_delays.clone(),
            gap_samples: for_load.then(|| self.gaps.samples()),
            tokens: self.tokens.as_ref().map(|tokens| tokens.report()),
            timeline: self.timeline.as_ref().map(|kept| {
                let mut timeline = kept.clone();
                timeline.gap_values = self.gap_values();
                timeline
            }),
            start_delay: self.start_delay,
            in_series: self.in_series,
            gave_up: self.gave_up,
            stream_id: self.id,
            ..StreamReport::default()
        }
    }

    /// In a load run, the figures of a request whose body no block read as a stream: the times
    /// to its connection and its head, which the load measures of every request. `None` in
    /// other runs (`run -v` shows streams only).
    pub fn plain_request_report(&self, span: crate::source::Span) -> Option<StreamReport> {
        KEPT_FOR_LOAD.load(Ordering::Relaxed).then(|| StreamReport {
            kind: "request",
            span,
            ttfb: self.ttfb,
            connect: self.connect,
            connections: self.connections,
            plain: true,
            start_delay: self.start_delay,
            in_series: self.in_series,
            stream_id: self.id,
            ..StreamReport::default()
        })
    }

    /// In a load run, the report of a request given up before its response head came (a time
    /// bound broke, or the test's timeout): its ttfb is the time it was waited for, a lower bound
    /// of the true one. Leaving it out would let the ttfb percentiles of a server too slow to
    /// answer look like those of one that answered at once (as k6 counts a timed-out request's
    /// duration).
    pub fn abandoned_request_report(
        span: crate::source::Span,
        waited: Duration,
    ) -> Option<StreamReport> {
        KEPT_FOR_LOAD.load(Ordering::Relaxed).then(|| StreamReport {
            kind: "request",
            span,
            ttfb: Some(waited),
            plain: true,
            start_delay: crate::load::live_figures::take_start_delay(),
            ..StreamReport::default()
        })
    }

    /// min, mean, p50, p95, p99 and max of the gaps, when there are any.
    pub fn gap_summary(&self) -> Option<[Duration; 6]> {
        let histogram = self.gaps.histogram();
        let gap = |stat| self.gap_from(stat, &histogram);
        Some([
            gap(GapStat::Min)?,
            gap(GapStat::Mean)?,
            gap(GapStat::P50)?,
            gap(GapStat::P95)?,
            gap(GapStat::P99)?,
            gap(GapStat::Max)?,
        ])
    }

    /// The gaps by length (see [`Timeline::gap_values`]): each run of equal ones at the lowest
    /// of the lengths it stands for, where the exact ones fell (a single gap of 21.5ms is
    /// recorded as 21.5ms–21.6ms).
    fn gap_values(&self) -> Vec<(u64, u64)> {
        let histogram = self.gaps.histogram();
        histogram
            .iter_recorded()
            .map(|value| {
                (
                    histogram.lowest_equivalent(value.value_iterated_to()),
                    value.count_at_value() as u64,
                )
            })
            .collect()
    }

    pub fn gap_count(&self) -> u64 {
        self.gaps.count()
    }

    /// A gap statistic, or `None` when fewer than two items arrived.
    pub fn gap(&self, stat: GapStat) -> Option<Duration> {
        self.gap_from(stat, &self.gaps.histogram())
    }

    /// A gap statistic, percentiles from `histogram` (every gap of the stream).
    fn gap_from(&self, stat: GapStat, histogram: &Histogram<u32>) -> Option<Duration> {
        let gaps = &self.gaps;
        let count = histogram.len();
        if count == 0 {
            return None;
        }
        let min = gaps.min.unwrap_or_default();
        // The histogram answers with the highest value of the percentile's bucket (2 significant
        // digits, whole microseconds), which can lie above the largest gap or below the smallest;
        // the exact extremes bound it, so `p99 < X, max < X` cannot disagree.
        let percentile = |q: f64| {
            Duration::from_micros(histogram.value_at_quantile(q))
                .max(min)
                .min(gaps.max)
        };
        Some(match stat {
            GapStat::Min => min,
            GapStat::Max => gaps.max,
            // Exact sums and extremes: the mean lies between them without help.
            GapStat::Mean => Duration::from_nanos((gaps.sum.as_nanos() / u128::from(count)) as u64),
            GapStat::P50 => percentile(0.50),
            GapStat::P95 => percentile(0.95),
            GapStat::P99 => percentile(0.99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::gaps::FEW_GAPS;
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
    fn percentiles_stay_within_the_smallest_and_the_largest_gap() {
        // The histogram keeps 2 significant digits: 100.72 ms falls in a bucket that ends at
        // 100.863 ms, and 500.5 µs is recorded as 500 µs.
        for gap in [
            Duration::from_micros(100_720),
            Duration::from_nanos(500_500),
        ] {
            let mut stats = StreamStats::new(Duration::ZERO);
            stats.record_item(Duration::ZERO);
            stats.record_item(gap);
            for stat in [
                GapStat::Min,
                GapStat::Mean,
                GapStat::P50,
                GapStat::P95,
                GapStat::P99,
            ] {
                assert_eq!(stats.gap(stat), Some(gap), "{stat:?} of one gap of {gap:?}");
            }
        }
        let mut stats = StreamStats::new(Duration::ZERO);
        let mut at = Duration::ZERO;
        for micros in [3_001, 2_999, 100_720, 3_000, 50_123] {
            stats.record_item(at);
            at += Duration::from_micros(micros);
        }
        stats.record_item(at);
        let mut merged = StreamStats::new(Duration::ZERO);
        merged.absorb(&stats);
        for stats in [&stats, &merged] {
            let summary = stats.gap_summary().expect("gaps");
            let [min, mean, p50, p95, p99, max] = summary;
            assert_eq!(min, Duration::from_micros(2_999));
            assert_eq!(max, Duration::from_micros(100_720));
            assert!(p50 <= p95 && p95 <= p99, "{summary:?}");
            for stat in [mean, p50, p95, p99] {
                assert!(min <= stat && stat <= max, "{summary:?}");
            }
        }
    }

    #[test]
    fn the_gap_histogram_of_a_stream_stays_small() {
        let mut stats = StreamStats::new(Duration::ZERO);
        stats.record_item(Duration::ZERO);
        stats.record_item(Duration::from_secs(3600));
        for n in 0..FEW_GAPS {
            stats.record_item(Duration::from_secs(3600) + Duration::from_millis(n as u64));
        }
        let bytes = stats.gaps.heap_bytes();
        assert!(bytes <= 14 * 1024, "{bytes} bytes for gaps up to an hour");
    }

    #[test]
    fn a_stream_with_few_gaps_takes_no_histogram() {
        // A test holding a thousand subscriptions open, each with an item or two: the gaps are
        // kept as they are, not in a histogram of 2–13 KiB.
        let mut stats = StreamStats::new(Duration::ZERO);
        for n in 0..=FEW_GAPS as u64 {
            stats.record_item(Duration::from_millis(n * n * 100));
        }
        assert!(
            stats.gaps.heap_bytes() <= 512,
            "{} bytes for {FEW_GAPS} gaps",
            stats.gaps.heap_bytes()
        );
    }

    #[test]
    fn streams_with_few_and_many_gaps_add_up() {
        let gaps = |stats: &StreamStats| (stats.gap_count(), stats.gap_summary());
        let stream = |gaps: std::ops::Range<u64>| {
            let mut stats = StreamStats::new(Duration::ZERO);
            let mut at = Duration::ZERO;
            stats.record_item(at);
            for gap in gaps {
                at += Duration::from_micros(gap * 997);
                stats.record_item(at);
            }
            stats
        };
        let (few, many) = (stream(1..4), stream(4..4 + 2 * FEW_GAPS as u64));
        let mut all = stream(1..4);
        for gap in 4..4 + 2 * FEW_GAPS as u64 {
            let at = all.last_item_at().unwrap_or_default() + Duration::from_micros(gap * 997);
            all.record_item(at);
        }
        for (mut merged, other) in [(few.clone(), &many), (many.clone(), &few)] {
            merged.absorb(other);
            assert_eq!(gaps(&merged), gaps(&all));
        }
    }

    /// Runs of equal gaps (items of one read share its arrival time) are counted, not recorded
    /// one by one; the histogram read back is the one recording each would give, also after
    /// adding up streams that each still hold a run.
    #[test]
    fn runs_of_equal_gaps_count_as_every_gap() {
        let runs: &[(u64, usize)] = &[(0, 1000), (250, 3), (0, 10), (1200, 1), (0, 40), (7, 2)];
        let gaps: Vec<u64> = runs
            .iter()
            .flat_map(|&(micros, times)| std::iter::repeat_n(micros, times))
            .collect();
        let stream = |gaps: &[u64]| {
            let mut stats = StreamStats::new(Duration::ZERO);
            let mut at = Duration::ZERO;
            stats.record_item(at);
            for &gap in gaps {
                at += Duration::from_micros(gap);
                stats.record_item(at);
            }
            stats
        };
        let stats = stream(&gaps);
        assert!(stats.gaps.run.count > 0, "the last run is still pending");
        assert_eq!(stats.gap_count(), gaps.len() as u64);
        assert_eq!(*stats.gaps.histogram(), histogram_of(&gaps));
        let (first, second) = gaps.split_at(1005);
        for (mut merged, other) in [
            (stream(first), stream(second)),
            (stream(second), stream(first)),
        ] {
            merged.absorb(&other);
            assert_eq!(merged.gap_count(), gaps.len() as u64);
            assert_eq!(*merged.gaps.histogram(), histogram_of(&gaps));
        }
    }

    /// The client takes the ttfb once it has parsed the head, a moment after the read that
    /// brought it; an item that came in the same read is timed by that read. The head came no
    /// later than the item that followed it.
    #[test]
    fn the_ttfb_is_never_after_the_first_item() {
        let mut stats = StreamStats::new(Duration::from_micros(1_012));
        stats.record_item(Duration::from_micros(1_007));
        stats.record_item(Duration::from_micros(1_500));
        let (ttfb, first) = (
            stats.ttfb.expect("a ttfb"),
            stats.first_item.expect("an item"),
        );
        assert!(
            ttfb <= first,
            "ttfb {ttfb:?} after the first item at {first:?}"
        );
        assert_eq!(first, Duration::from_micros(1_007));
        let report = stats.report("sse", crate::source::Span::default());
        assert!(report.ttfb <= report.first_item, "{report:?}");
    }

    #[tokio::test]
    async fn the_first_stream_an_iteration_opens_carries_its_start_delay() {
        let late = Duration::from_millis(7);
        let [first, second] = crate::load::live_figures::with_start_delay(Some(late), async {
            [
                StreamStats::new(Duration::ZERO),
                StreamStats::awaiting_head(),
            ]
        })
        .await;
        let span = crate::source::Span::default();
        assert_eq!(first.report("sse", span).start_delay, late);
        assert_eq!(second.report("sse", span).start_delay, Duration::ZERO);
        // Outside a load's iteration: none.
        assert_eq!(StreamStats::new(Duration::ZERO).start_delay, Duration::ZERO);
    }

    #[test]
    fn no_gaps_before_two_items() {
        let mut stats = StreamStats::new(Duration::ZERO);
        assert_eq!(stats.gap(GapStat::Max), None);
        stats.record_item(Duration::from_millis(1));
        assert_eq!(stats.gap(GapStat::Max), None);
    }

    #[test]
    fn a_load_run_gets_every_gap_of_a_stream_run_of_equal_ones_included() {
        let mut stats = StreamStats::new(Duration::ZERO);
        // More than FEW_GAPS, ending in a run of equal gaps not yet in the histogram.
        for at in 0..40u64 {
            stats.record_item(Duration::from_millis(at));
        }
        for _ in 0..10 {
            stats.record_item(Duration::from_millis(39));
        }
        let report = stats.report_for("sse", crate::source::Span::default(), true);
        assert_eq!(report.gaps, None);
        let Some(GapSamples::Histogram { gaps, .. }) = report.gap_samples else {
            panic!("the gaps, in a histogram: {:?}", report.gap_samples);
        };
        assert_eq!(gaps.len(), stats.gap_count());
        assert_eq!(gaps.len(), 49);
    }
}
