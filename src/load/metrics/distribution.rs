//! One metric's values: an HDR histogram for the percentiles, and beside it the exact count,
//! minimum, maximum and sum of the values recorded, which a histogram cannot give — it answers
//! with its buckets' values, so streams of exactly 20,000 items each read as a max of 20,015
//! and failed `max items <= 20000`.

use hdrhistogram::{Counter, Histogram};

use super::{Stat, new_histogram};

/// The count, extremes and sum of the values recorded, in the metric's recorded unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact {
    pub count: u64,
    pub min: u64,
    pub max: u64,
    /// Wide enough for any count of u64 values a run can record.
    pub sum: u128,
}

impl Default for Exact {
    fn default() -> Exact {
        Exact {
            count: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }
}

impl Exact {
    pub fn record_n(&mut self, value: u64, count: u64) {
        if count == 0 {
            return;
        }
        self.count += count;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += u128::from(value) * u128::from(count);
    }

    pub fn merge(&mut self, other: &Exact) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// What a histogram alone tells of its values: the lowest its smallest bucket stands for,
    /// the highest its largest does, and its mean — bounds that hold the true extremes, within
    /// its precision. For values handed over only as a histogram (a long stream's gaps), and
    /// for reports written before the exact figures were.
    pub fn of_histogram<T: Counter>(histogram: &Histogram<T>) -> Exact {
        if histogram.is_empty() {
            return Exact::default();
        }
        let count = histogram.len();
        Exact {
            count,
            min: histogram.min(),
            max: histogram.max(),
            sum: (histogram.mean() * count as f64).round() as u128,
        }
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }
}

/// A metric's histogram and the exact figures of the same values.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub histogram: Histogram<u64>,
    pub exact: Exact,
}

impl Default for Distribution {
    fn default() -> Distribution {
        Distribution {
            histogram: new_histogram(),
            exact: Exact::default(),
        }
    }
}

impl Distribution {
    /// A histogram and the exact figures of its values (which the caller vouches for).
    pub fn new(histogram: Histogram<u64>, exact: Exact) -> Distribution {
        Distribution { histogram, exact }
    }

    pub fn record(&mut self, value: u64) {
        self.record_n(value, 1);
    }

    pub fn record_n(&mut self, value: u64, count: u64) {
        // Auto-resizing takes any u64; the figures count what the histogram does.
        if self.histogram.record_n(value, count).is_ok() {
            self.exact.record_n(value, count);
        }
    }

    pub fn merge(&mut self, other: &Distribution) {
        // Same precision, auto-resizing: adding cannot fail.
        if self.histogram.add(&other.histogram).is_ok() {
            self.exact.merge(&other.exact);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// In the recorded unit; `None` when it holds nothing. The minimum, maximum and mean are
    /// exact; a percentile is the histogram's (three significant digits) kept within the exact
    /// extremes, so the p50 of equal values is that value and no percentile passes the max.
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        if self.is_empty() || self.exact.count == 0 {
            return None;
        }
        let Exact { min, max, .. } = self.exact;
        Some(match stat {
            Stat::Min => min as f64,
            Stat::Max => max as f64,
            Stat::Mean => self.exact.mean()?,
            Stat::Percentile(p) => self
                .histogram
                .value_at_quantile(p / 100.0)
                .clamp(min, max.max(min)) as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_give_that_value_as_every_statistic() {
        let mut items = Distribution::default();
        for _ in 0..8 {
            items.record(20_000);
        }
        // The histogram's bucket holding 20,000 stands for 20,000–20,015.
        assert_eq!(items.histogram.max(), 20_015);
        for stat in [Stat::Min, Stat::Mean, Stat::Max]
            .into_iter()
            .chain(Stat::SUMMARY)
        {
            assert_eq!(items.stat(stat), Some(20_000.0), "{}", stat.label());
        }
    }

    #[test]
    fn percentiles_are_kept_within_the_exact_extremes() {
        let mut gaps = Distribution::default();
        // 99.950ms to 99.958ms: one bucket of 32µs, whose highest value is 99.967ms.
        for value in 99_950..=99_958 {
            gaps.record(value);
        }
        assert_eq!(gaps.histogram.max(), 99_967);
        assert_eq!(gaps.stat(Stat::Min), Some(99_950.0));
        assert_eq!(gaps.stat(Stat::Max), Some(99_958.0));
        assert_eq!(gaps.stat(Stat::Mean), Some(99_954.0));
        for stat in Stat::SUMMARY {
            let value = gaps.stat(stat).expect("values");
            assert!(
                (99_950.0..=99_958.0).contains(&value),
                "{}: {value}",
                stat.label()
            );
        }
        assert_eq!(Distribution::default().stat(Stat::Max), None);
    }

    #[test]
    fn merged_distributions_give_the_exact_figures_of_all_values() {
        let mut rng = fastrand::Rng::with_seed(5);
        let values: Vec<u64> = (0..10_000).map(|_| rng.u64(2_049..9_000_000)).collect();
        let mut whole = Distribution::default();
        let mut parts: Vec<Distribution> = (0..3).map(|_| Distribution::default()).collect();
        for (index, &value) in values.iter().enumerate() {
            whole.record(value);
            parts[index % 3].record(value);
        }
        let mut merged = Distribution::default();
        for part in &parts {
            merged.merge(part);
        }
        let min = values.iter().copied().min().expect("values");
        let max = values.iter().copied().max().expect("values");
        let sum: u128 = values.iter().map(|&value| u128::from(value)).sum();
        assert_eq!(
            merged.exact,
            Exact {
                count: 10_000,
                min,
                max,
                sum
            }
        );
        assert_eq!(merged.stat(Stat::Min), Some(min as f64));
        assert_eq!(merged.stat(Stat::Max), Some(max as f64));
        assert_eq!(merged.stat(Stat::Mean), Some(sum as f64 / 10_000.0));
        for stat in Stat::SUMMARY {
            assert_eq!(merged.stat(stat), whole.stat(stat), "{}", stat.label());
        }
        // An empty part changes nothing.
        merged.merge(&Distribution::default());
        assert_eq!(merged.exact.min, min);
    }
}
