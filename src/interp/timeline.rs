//! A stream's arrivals for the HTML report (`--report-html`), in bounded memory whatever the
//! stream's length: the first [`LISTED`] items exactly (when each came, and what it was, cut to
//! [`TEXT_KEPT`] bytes), every arrival counted in [`BUCKETS`] time buckets that widen as the
//! stream goes on, the [`SLOWEST`] longest gaps wherever they fell, and the marks
//! (reconnections, disconnects, an abort, a timeout) and the time bounds the stream was read
//! against. Where the stream failed is kept too: the item that failed its expectation, or the
//! wait for one that ended in a timeout (the stall a reader looks for first), and the items read
//! after the failure (which the diff shows) are drawn as such, outside the stream's gap figures. Kept only when an HTML report is asked for ([`keep_timelines`]): a run without one
//! pays a `None` per stream.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::transport::item::Item;

/// Items listed with their time and text; the rest are counted in the buckets.
pub const LISTED: usize = 1000;
/// Bytes of an item's text kept (as a spec line); a longer one is kept cut, and says so.
pub const TEXT_KEPT: usize = 1024;
/// Characters of an item's text the report shows.
pub const TEXT_SHOWN: usize = 240;
/// Time buckets counting every arrival.
pub const BUCKETS: usize = 240;
/// The longest gaps kept, wherever they fell.
pub const SLOWEST: usize = 5;
/// Marks and bounds kept (the first ones); the others are counted.
pub const MARKS: usize = 100;

/// Bytes of item text all the timelines of a run keep together: past it, an item is listed
/// without its text, so that a test holding many streams of large items stays bounded too.
pub const TEXT_BYTES_IN_ALL: usize = 64 * 1024 * 1024;

static TEXT_BYTES_LEFT: AtomicUsize = AtomicUsize::new(TEXT_BYTES_IN_ALL);

/// The first bucket width: doubled as often as it takes for the stream to fit.
const FIRST_BUCKET_WIDTH: Duration = Duration::from_millis(1);

static KEPT: AtomicBool = AtomicBool::new(false);

/// Keeps a timeline of every stream from now on, in this process (`--report-html`).
pub fn keep_timelines() {
    KEPT.store(true, Ordering::Relaxed);
}

/// A new stream's timeline, when timelines are kept.
pub fn new_if_kept() -> Option<Box<Timeline>> {
    KEPT.load(Ordering::Relaxed)
        .then(|| Box::new(Timeline::default()))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// Since the request.
    pub at: Duration,
    /// The item as a spec line (an excerpt: see [`crate::excerpt`]); `None` where the reader
    /// counted an item it did not look at, or the run's texts had reached their bound.
    pub text: Option<String>,
    /// Read after the stream had failed (for the diff): not in the stream's figures.
    pub after_failure: bool,
}

/// The item that failed its expectation: the `number`-th item of the stream, come `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedItem {
    pub at: Duration,
    pub number: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    Reconnect,
    Disconnect,
    Abort,
    TimedOut,
    /// The wait for the next item outlasted its `within`: see [`Timeline::stall_bound`].
    BoundBroken,
    /// The connection broke (`dropped`).
    Dropped,
    /// What came could not be read (invalid UTF-8, a frame too large, a transport error).
    Error,
}

impl MarkKind {
    pub fn label(self) -> &'static str {
        match self {
            MarkKind::Reconnect => "reconnect",
            MarkKind::Disconnect => "disconnect",
            MarkKind::Abort => "abort",
            MarkKind::TimedOut => "timed out",
            MarkKind::BoundBroken => "bound broken",
            MarkKind::Dropped => "dropped",
            MarkKind::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub at: Duration,
    pub kind: MarkKind,
}

/// A time bound the spec set on an item (`within`, `first within`): it had to come between
/// `from` and `by`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub from: Duration,
    pub by: Duration,
    /// As the spec words it: `within 50ms`.
    pub label: String,
}

/// A gap between two items: `length` long, ending `at` (when the later item came).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub at: Duration,
    pub length: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The first [`LISTED`] arrivals.
    pub listed: Vec<Arrival>,
    /// Arrivals after those, counted in the buckets only.
    pub unlisted: u64,
    /// Every arrival, counted by time: bucket `i` holds those from `i × bucket_width` on.
    pub buckets: Vec<u64>,
    pub bucket_width: Duration,
    /// The longest gaps, longest first.
    pub slowest: Vec<Gap>,
    pub marks: Vec<Mark>,
    pub bounds: Vec<Bound>,
    /// Marks and bounds past the first [`MARKS`] of each.
    pub left_out_marks: u64,
    /// Listed items whose text was not kept: the run's texts had reached [`TEXT_BYTES_IN_ALL`].
    pub texts_not_kept: u64,
    /// The gaps by length, as `(microseconds, count)` in increasing length, at the stream
    /// figures' precision (two significant digits). Filled in when the report is made.
    pub gap_values: Vec<(u64, u64)>,
    /// The item that failed its expectation, if one did.
    pub failed_item: Option<FailedItem>,
    /// The wait that ended in a timeout: from the last item (or the request, or the last
    /// reconnection) to when the stream was given up. Not among [`Timeline::slowest`], whose
    /// gaps end with an item.
    pub stall: Option<Gap>,
    /// The bound the stall broke (`within 300ms`), when it ended so and not in a timeout.
    pub stall_bound: Option<String>,
    /// Items read after the stream failed, listed or not.
    pub after_failure: u64,
    /// The waits before reconnecting (the server's `retry`), each ending `at` its reconnection.
    pub reconnect_waits: Vec<Gap>,
    /// The wait before the reconnection under way, until its mark.
    pending_wait: Duration,
    last_at: Option<Duration>,
    /// When the stream last began to wait for an item: its last item, its last reconnection,
    /// or the request.
    waiting_since: Duration,
    failed: bool,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            listed: Vec::new(),
            unlisted: 0,
            buckets: vec![0; BUCKETS],
            bucket_width: FIRST_BUCKET_WIDTH,
            slowest: Vec::new(),
            marks: Vec::new(),
            bounds: Vec::new(),
            left_out_marks: 0,
            texts_not_kept: 0,
            gap_values: Vec::new(),
            failed_item: None,
            stall: None,
            stall_bound: None,
            after_failure: 0,
            reconnect_waits: Vec::new(),
            pending_wait: Duration::ZERO,
            last_at: None,
            waiting_since: Duration::ZERO,
            failed: false,
        }
    }
}

impl Timeline {
    /// An item came `at` (since the request).
    pub fn arrived(&mut self, at: Duration) {
        if self.listed.len() < LISTED {
            self.listed.push(Arrival {
                at,
                text: None,
                after_failure: self.failed,
            });
        } else {
            self.unlisted += 1;
        }
        while at >= self.bucket_width.saturating_mul(BUCKETS as u32) {
            self.widen();
        }
        let index = (at.as_nanos() / self.bucket_width.as_nanos().max(1)) as usize;
        if let Some(bucket) = self.buckets.get_mut(index) {
            *bucket += 1;
        }
        if self.failed {
            // Read for the diff only: no gap of the stream's figures.
            self.after_failure += 1;
            return;
        }
        if let Some(last) = self.last_at {
            self.gap(Gap {
                at,
                length: at.saturating_sub(last),
            });
        }
        self.last_at = Some(at);
        self.waiting_since = at;
    }

    /// The item that just came failed its expectation: what comes after is read for the diff.
    pub fn failed_on_last(&mut self) {
        if self.failed {
            return;
        }
        if let Some(at) = self.last_at {
            self.failed_item = Some(FailedItem {
                at,
                number: self.arrivals(),
            });
        }
        self.failed = true;
    }

    /// An item read after the stream failed, for the diff: drawn, not in the stream's figures.
    pub fn read_after_failure(&mut self, item: &Item, at: Duration) {
        self.failed = true;
        self.arrived(at);
        self.describe_last(item);
    }

    /// What the item that just came was, when it is listed and not yet described.
    pub fn describe_last(&mut self, item: &Item) {
        if self.unlisted > 0 {
            return;
        }
        let Some(arrival) = self
            .listed
            .last_mut()
            .filter(|arrival| arrival.text.is_none())
        else {
            return;
        };
        if TEXT_BYTES_LEFT.load(Ordering::Relaxed) == 0 {
            self.texts_not_kept += 1;
            return;
        }
        let text = kept_text(&crate::render::render_item(item));
        let _ = TEXT_BYTES_LEFT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            Some(left.saturating_sub(text.len()))
        });
        arrival.text = Some(text);
    }

    /// A new connection, `waited` after the old one ended: that wait is no gap between items
    /// (it is drawn apart, up to the reconnection's mark).
    pub fn reconnected(&mut self, waited: Duration) {
        self.last_at = None;
        self.pending_wait = waited;
    }

    pub fn mark(&mut self, kind: MarkKind, at: Duration) {
        match kind {
            MarkKind::Reconnect => {
                self.waiting_since = at;
                let length = std::mem::take(&mut self.pending_wait);
                if !length.is_zero() && self.reconnect_waits.len() < MARKS {
                    self.reconnect_waits.push(Gap { at, length });
                }
            }
            // The wait that ended here is where the stream failed.
            MarkKind::TimedOut | MarkKind::BoundBroken if !self.failed => {
                self.stall = Some(Gap {
                    at,
                    length: at.saturating_sub(self.waiting_since),
                });
                self.failed = true;
            }
            _ => {}
        }
        if self.marks.len() < MARKS {
            self.marks.push(Mark { at, kind });
        } else {
            self.left_out_marks += 1;
        }
    }

    /// The wait for the next item outlasted `bound` (`within 300ms`) at `at`: the stall,
    /// named by the bound it broke rather than as a timeout.
    pub fn bound_broken(&mut self, at: Duration, bound: &str) {
        if !self.failed {
            self.stall_bound = Some(bound.to_string());
        }
        self.mark(MarkKind::BoundBroken, at);
    }

    /// The next item had to come by `by`, `from` the previous one. Waiting again for the same
    /// item (after an ignored one) is the same bound.
    pub fn bound(&mut self, from: Duration, by: Duration, label: &str) {
        if self
            .bounds
            .last()
            .is_some_and(|last| last.from == from && last.by == by)
        {
            return;
        }
        if self.bounds.len() < MARKS {
            self.bounds.push(Bound {
                from,
                by,
                label: label.to_string(),
            });
        } else {
            self.left_out_marks += 1;
        }
    }

    /// Arrivals in all, listed or not.
    pub fn arrivals(&self) -> u64 {
        self.listed.len() as u64 + self.unlisted
    }

    fn gap(&mut self, gap: Gap) {
        if self.slowest.len() == SLOWEST
            && self
                .slowest
                .last()
                .is_some_and(|shortest| shortest.length >= gap.length)
        {
            return;
        }
        let index = self
            .slowest
            .partition_point(|kept| kept.length >= gap.length);
        self.slowest.insert(index, gap);
        self.slowest.truncate(SLOWEST);
    }

    /// Doubles the buckets' width, adding each pair into one.
    fn widen(&mut self) {
        for index in 0..BUCKETS / 2 {
            self.buckets[index] = self.buckets[2 * index] + self.buckets[2 * index + 1];
        }
        for bucket in &mut self.buckets[BUCKETS / 2..] {
            *bucket = 0;
        }
        self.bucket_width = self.bucket_width.saturating_mul(2);
    }
}

/// An item's text as kept: whole up to [`TEXT_KEPT`] bytes, else its start marked as cut
/// where it was read. Marked as an excerpt either way, cut to [`TEXT_SHOWN`] characters where
/// the report shows it, after secrets are masked (see [`crate::excerpt`]).
fn kept_text(text: &str) -> String {
    if text.len() <= TEXT_KEPT {
        return crate::excerpt::excerpt(text, TEXT_SHOWN);
    }
    let mut cut = TEXT_KEPT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    crate::excerpt::excerpt_of_partial(&text[..cut], TEXT_SHOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_million_items_keep_the_first_listed_and_count_the_rest() {
        let mut timeline = Timeline::default();
        let item = Item::Line("x".repeat(10_000));
        for n in 0..10_000_000u64 {
            timeline.arrived(Duration::from_micros(n * 10));
            timeline.describe_last(&item);
        }
        assert_eq!(timeline.listed.len(), LISTED);
        assert_eq!(timeline.unlisted, 10_000_000 - LISTED as u64);
        assert_eq!(timeline.buckets.len(), BUCKETS);
        assert_eq!(timeline.buckets.iter().sum::<u64>(), 10_000_000);
        assert!(
            timeline
                .listed
                .iter()
                .all(|arrival| arrival.text.as_ref().is_some_and(|t| t.len() < 1100))
        );
        assert!(timeline.slowest.len() <= SLOWEST);
    }

    #[test]
    fn a_wait_that_times_out_is_the_stall_and_what_comes_after_is_apart() {
        let mut timeline = Timeline::default();
        for ms in [5, 10, 15] {
            timeline.arrived(Duration::from_millis(ms));
        }
        timeline.mark(MarkKind::TimedOut, Duration::from_millis(1015));
        assert_eq!(
            timeline.stall,
            Some(Gap {
                at: Duration::from_millis(1015),
                length: Duration::from_secs(1),
            })
        );
        // Read for the diff: drawn, but no gap of the stream's.
        timeline.read_after_failure(&Item::Line("late".into()), Duration::from_millis(1300));
        assert_eq!(timeline.after_failure, 1);
        assert!(timeline.listed[3].after_failure);
        assert_eq!(timeline.listed[3].text.as_deref(), Some("\"late\""));
        assert!(
            timeline
                .slowest
                .iter()
                .all(|gap| gap.length <= Duration::from_millis(5))
        );
    }

    #[test]
    fn the_item_that_failed_is_kept_with_its_number() {
        let mut timeline = Timeline::default();
        for ms in [5, 10, 15, 20] {
            timeline.arrived(Duration::from_millis(ms));
        }
        timeline.failed_on_last();
        timeline.arrived(Duration::from_millis(25));
        assert_eq!(
            timeline.failed_item,
            Some(FailedItem {
                at: Duration::from_millis(20),
                number: 4,
            })
        );
        assert_eq!(timeline.after_failure, 1);
        // A timeout after the failure is no stall: the stream had failed already.
        timeline.mark(MarkKind::TimedOut, Duration::from_millis(900));
        assert_eq!(timeline.stall, None);
    }

    #[test]
    fn the_slowest_gaps_are_kept_wherever_they_fell() {
        let mut timeline = Timeline::default();
        let mut at = Duration::ZERO;
        for n in 0..5_000u64 {
            at += Duration::from_millis(if n == 4_000 { 900 } else { 1 + n % 3 });
            timeline.arrived(at);
        }
        assert_eq!(timeline.slowest[0].length, Duration::from_millis(900));
        assert_eq!(timeline.slowest.len(), SLOWEST);
        assert!(
            timeline
                .slowest
                .windows(2)
                .all(|w| w[0].length >= w[1].length)
        );
    }
}
