//! A stream's gaps between items in bounded memory: the first few as they are, then a
//! histogram (runs of equal gaps counted, not recorded one by one), with exact extremes and sum;
//! and how a load run receives them.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Gaps kept as they are before a stream has more: a test holding a thousand streams open, each
/// with an item or two, would otherwise give each a histogram of 2–13 KiB.
pub(super) const FEW_GAPS: usize = 32;

#[derive(Debug, Clone, Default)]
pub(super) struct Gaps {
    /// The first [`FEW_GAPS`] gaps in microseconds, until the histogram takes them.
    pub(super) few: Vec<u64>,
    /// Inter-item gaps in microseconds, once there are more than [`FEW_GAPS`]. Two significant
    /// digits (percentiles within 1%) and 32-bit counts keep it at 2–13 KiB for gaps up to an
    /// hour (three digits and 64-bit counts took 64–184 KiB); a count saturates, it does not
    /// wrap, past 4 billion gaps in one bucket. Boxed: most streams of a test holding many
    /// never have one, and inline it would take 200 bytes of each.
    pub(super) histogram: Option<Box<Histogram<u32>>>,
    /// Once there is a histogram: the last gap and how many times in a row it came, not yet in
    /// the histogram. Items decoded from one read share its arrival time, so a busy stream has
    /// long runs of zero gaps: counting them costs far less than recording each.
    pub(super) run: Run,
    pub(super) sum: Duration,
    pub(super) min: Option<Duration>,
    pub(super) max: Duration,
    pub(super) last_at: Option<Duration>,
}

/// A gap repeated `count` times.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Run {
    pub(super) micros: u64,
    pub(super) count: u32,
}

impl Run {
    /// Records the run into `histogram` and starts an empty one.
    pub(super) fn flush(&mut self, histogram: &mut Histogram<u32>) {
        if self.count > 0 {
            let _ = histogram.record_n(self.micros, self.count);
        }
        *self = Run::default();
    }
}

impl Gaps {
    /// An item `at` (since the request): the gap since the last one, in microseconds, when
    /// there was one.
    pub(super) fn arrived(&mut self, at: Duration) -> Option<u64> {
        let gap_micros = self.last_at.map(|last| {
            let gap = at.saturating_sub(last);
            let micros = super::micros(gap);
            self.record(micros);
            self.sum += gap;
            self.min = Some(self.min.map_or(gap, |min| min.min(gap)));
            self.max = self.max.max(gap);
            micros
        });
        self.last_at = Some(at);
        gap_micros
    }

    /// The gaps as a load run takes them: as they are while few, else their histogram (with the
    /// run of equal gaps not yet in it) and exact extremes and sum.
    pub(super) fn samples(&self) -> GapSamples {
        match &self.histogram {
            Some(_) => GapSamples::Histogram {
                gaps: Box::new(self.histogram().into_owned()),
                min: self.min.map_or(0, super::micros),
                max: super::micros(self.max),
                sum: self.sum.as_micros(),
            },
            None => GapSamples::Few(self.few.clone()),
        }
    }

    pub(super) fn record(&mut self, micros: u64) {
        match &mut self.histogram {
            Some(_)
                if self.run.count > 0 && self.run.micros == micros && self.run.count < u32::MAX =>
            {
                self.run.count += 1
            }
            Some(histogram) => {
                self.run.flush(histogram);
                self.run = Run { micros, count: 1 };
            }
            None if self.few.len() < FEW_GAPS => self.few.push(micros),
            None => {
                let mut histogram = histogram_of(&self.few);
                let _ = histogram.record(micros);
                self.few = Vec::new();
                self.histogram = Some(Box::new(histogram));
            }
        }
    }

    /// Every gap recorded, in a histogram: the one kept, or one made of the few gaps so far (so
    /// percentiles come out the same whether there were few gaps or many).
    pub(super) fn histogram(&self) -> Cow<'_, Histogram<u32>> {
        match &self.histogram {
            Some(histogram) if self.run.count == 0 => Cow::Borrowed(histogram),
            Some(histogram) => {
                let mut histogram = histogram.as_ref().clone();
                let mut run = self.run;
                run.flush(&mut histogram);
                Cow::Owned(histogram)
            }
            None => Cow::Owned(histogram_of(&self.few)),
        }
    }

    pub(super) fn count(&self) -> u64 {
        match &self.histogram {
            Some(histogram) => histogram.len() + u64::from(self.run.count),
            None => self.few.len() as u64,
        }
    }

    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.few.capacity() * std::mem::size_of::<u64>()
            + self.histogram.as_ref().map_or(0, |histogram| {
                histogram.distinct_values() * std::mem::size_of::<u32>()
            })
    }
}

/// The gaps of one stream in microseconds, as a load run merges them into its histograms.
#[derive(Debug, Clone)]
pub enum GapSamples {
    Few(Vec<u64>),
    /// Many gaps: their histogram, with their exact extremes and sum (the histogram's are
    /// within its precision only).
    Histogram {
        gaps: Box<Histogram<u32>>,
        min: u64,
        max: u64,
        sum: u128,
    },
}

pub(super) fn histogram_of(gaps: &[u64]) -> Histogram<u32> {
    let digits = if super::KEPT_FOR_LOAD.load(Ordering::Relaxed) {
        3
    } else {
        2
    };
    // Auto-resizing keeps any gap recordable, growing with the largest gap only.
    let mut histogram = Histogram::new(digits)
        .unwrap_or_else(|_| unreachable!("2 or 3 significant digits is valid"));
    for &gap in gaps {
        let _ = histogram.record(gap);
    }
    histogram
}
