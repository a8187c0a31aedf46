//! What the streams of a load run measure as they read, for the live line and the 1-second
//! time series: the items read, and the ttfb, first-item and gap latencies, each in the second
//! it was measured (not when its iteration ends: a stream of an hour would show nothing for an
//! hour, then a lump). Each thread has a slot only it writes — counters it bumps with a load
//! and a store, no lock and no locked instruction on the path of every item — which the
//! once-a-second sampler reads: counters only grow, so what they grew by since it last looked
//! is the second's.
//!
//! Also the open model's start delay of the iteration a task runs, which the first stream the
//! iteration opens takes: its latencies count from when the iteration was due.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::metrics::Metric;

/// A latency the series gives per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    Ttfb,
    FirstItem,
    Gap,
}

impl Latency {
    const ALL: [Latency; 3] = [Latency::Ttfb, Latency::FirstItem, Latency::Gap];

    pub fn metric(self) -> Metric {
        match self {
            Latency::Ttfb => Metric::Ttfb,
            Latency::FirstItem => Metric::FirstItem,
            Latency::Gap => Metric::Gap,
        }
    }
}

/// Significant digits of the series' histograms: percentiles per second within 1%.
pub const SERIES_DIGITS: u8 = 2;

/// The buckets of a latency in microseconds, laid out as an HdrHistogram of
/// [`SERIES_DIGITS`] lays out its own (one per microsecond below 256, then 128 per power of
/// two), so a bucket's lowest value recorded in one lands where the value itself would: the
/// percentiles come out the same. hdrhistogram's counters cannot be atomic, hence these.
mod buckets {
    /// Buckets in each power of two from 256 up.
    const HALF: u64 = 128;
    /// Below it, one bucket per microsecond.
    const EXACT: u64 = 2 * HALF;
    /// Larger latencies (12 days) count as this.
    const LARGEST: u64 = (1 << 40) - 1;
    pub const COUNT: usize = index(LARGEST) + 1;

    pub const fn index(micros: u64) -> usize {
        let value = if micros < LARGEST { micros } else { LARGEST };
        if value < EXACT {
            return value as usize;
        }
        // `value >> shift` is in 128..256.
        let shift = 63 - value.leading_zeros() as u64 - 7;
        (HALF * shift + (value >> shift)) as usize
    }

    /// The lowest value of bucket `index`.
    pub const fn lowest(index: usize) -> u64 {
        let index = index as u64;
        if index < EXACT {
            return index;
        }
        let shift = index / HALF - 1;
        (index - HALF * shift) << shift
    }
}

/// One thread's figures; only that thread writes them.
struct Slot {
    items: AtomicU64,
    /// By [`Latency`], counts by bucket.
    latencies: [Box<[AtomicU64]>; 3],
}

impl Slot {
    fn new() -> Slot {
        let buckets = || (0..buckets::COUNT).map(|_| AtomicU64::new(0)).collect();
        Slot {
            items: AtomicU64::new(0),
            latencies: [buckets(), buckets(), buckets()],
        }
    }
}

/// Only the slot's thread writes a counter: a load and a store, no read-modify-write.
#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Every thread's slot, those of threads that ended included.
static SLOTS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

thread_local! {
    static MINE: Arc<Slot> = {
        let slot = Arc::new(Slot::new());
        if let Ok(mut slots) = SLOTS.lock() {
            slots.push(Arc::clone(&slot));
        }
        slot
    };
}

/// One more item read on this thread, and the gap before it (in microseconds) when the series
/// counts one.
#[inline]
pub fn item(gap: Option<u64>) {
    let _ = MINE.try_with(|slot| {
        bump(&slot.items);
        if let Some(gap) = gap {
            bump(&slot.latencies[Latency::Gap as usize][buckets::index(gap)]);
        }
    });
}

/// A latency measured now, in microseconds.
pub fn record(latency: Latency, micros: u64) {
    let _ = MINE.try_with(|slot| {
        bump(&slot.latencies[latency as usize][buckets::index(micros)]);
    });
}

/// What the threads measured since the last [`Collector::take`].
pub struct Taken {
    /// Items read so far, on every thread (not only since the last take).
    pub items_total: u64,
    /// The latencies measured since the last take, in histograms of [`SERIES_DIGITS`].
    pub latencies: BTreeMap<Metric, Histogram<u64>>,
}

/// The once-a-second reader of every thread's slot: it remembers what it read last.
#[derive(Default)]
pub struct Collector {
    /// By slot (slots are only ever added), by latency: the counts by bucket at the last take.
    seen: Vec<[Vec<u64>; 3]>,
}

impl Collector {
    pub fn take(&mut self) -> Taken {
        let slots: Vec<Arc<Slot>> = SLOTS.lock().map(|s| s.clone()).unwrap_or_default();
        let mut items_total = 0;
        let mut latencies = BTreeMap::new();
        for (index, slot) in slots.iter().enumerate() {
            items_total += slot.items.load(Ordering::Relaxed);
            if self.seen.len() <= index {
                self.seen.push([0; 3].map(|_| vec![0u64; buckets::COUNT]));
            }
            let seen = &mut self.seen[index];
            for latency in Latency::ALL {
                let counts = &slot.latencies[latency as usize];
                let seen = &mut seen[latency as usize];
                for (bucket, (counter, seen)) in counts.iter().zip(seen.iter_mut()).enumerate() {
                    let now = counter.load(Ordering::Relaxed);
                    if now > *seen {
                        let histogram = latencies.entry(latency.metric()).or_insert_with(|| {
                            Histogram::<u64>::new(SERIES_DIGITS)
                                .unwrap_or_else(|_| unreachable!("2 digits is valid"))
                        });
                        let _ = histogram.record_n(buckets::lowest(bucket), now - *seen);
                        *seen = now;
                    }
                }
            }
        }
        Taken {
            items_total,
            latencies,
        }
    }
}

tokio::task_local! {
    /// The start delay of the iteration the task runs, until its first stream takes it.
    static START_DELAY: Cell<Option<Duration>>;
}

/// Runs `iteration` (a load's, due `start_delay` before it started) so that the first stream it
/// opens takes the delay ([`take_start_delay`]). Not an `async fn`: one would hold the iteration's
/// future twice (as its argument, then inside the scope), a few KB more per user.
pub fn with_start_delay<F: Future>(
    start_delay: Option<Duration>,
    iteration: F,
) -> impl Future<Output = F::Output> {
    START_DELAY.scope(Cell::new(start_delay), iteration)
}

/// For the first stream (or request) an iteration opens: how late the iteration started after
/// it was due, which its latencies count from (coordinated omission). Zero for the others,
/// outside the open model, and outside a load run.
pub fn take_start_delay() -> Duration {
    START_DELAY
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_on_every_thread_add_up() {
        let before = Collector::default().take().items_total;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..1000 {
                        item(None);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("the thread ends");
        }
        // Other tests may count too: at least these.
        assert!(Collector::default().take().items_total - before >= 4000);
    }

    #[test]
    fn the_buckets_give_the_percentiles_of_the_values_themselves() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut direct = Histogram::<u64>::new(SERIES_DIGITS).expect("a histogram");
        let mut by_bucket = Histogram::<u64>::new(SERIES_DIGITS).expect("a histogram");
        for _ in 0..50_000 {
            let value = 10f64.powf(rng.f64() * 11.0) as u64 + rng.u64(0..3);
            direct.record(value).expect("recordable");
            by_bucket
                .record(buckets::lowest(buckets::index(value)))
                .expect("recordable");
        }
        for boundary in [0, 255, 256, 257, 511, 512, 1 << 20, (1 << 40) - 1] {
            direct.record(boundary).expect("recordable");
            by_bucket
                .record(buckets::lowest(buckets::index(boundary)))
                .expect("recordable");
        }
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                direct.value_at_quantile(q),
                by_bucket.value_at_quantile(q),
                "q {q}"
            );
        }
        assert_eq!(direct.len(), by_bucket.len());
    }

    #[test]
    fn each_latency_is_taken_once_in_the_second_it_was_measured() {
        // Threads record while the collector takes: every value in exactly one take. Values
        // of a size nothing else records here, so other tests' figures do not mix in.
        const VALUE: u64 = 987_654_321;
        let mut collector = Collector::default();
        collector.take();
        let threads: Vec<_> = (0..3)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..20_000 {
                        record(Latency::FirstItem, VALUE);
                    }
                })
            })
            .collect();
        let mut taken = 0;
        let count = |taken: &Taken| {
            taken
                .latencies
                .get(&Metric::FirstItem)
                .map_or(0, |h| h.count_at(VALUE))
        };
        while threads.iter().any(|thread| !thread.is_finished()) {
            taken += count(&collector.take());
        }
        for thread in threads {
            thread.join().expect("the thread ends");
        }
        taken += count(&collector.take());
        assert_eq!(taken, 60_000);
        assert_eq!(count(&collector.take()), 0);
    }

    #[tokio::test]
    async fn the_first_stream_of_an_iteration_takes_its_start_delay() {
        let delay = Some(Duration::from_millis(7));
        let taken = with_start_delay(delay, async { [take_start_delay(), take_start_delay()] });
        assert_eq!(taken.await, [Duration::from_millis(7), Duration::ZERO]);
        assert_eq!(take_start_delay(), Duration::ZERO);
    }
}
