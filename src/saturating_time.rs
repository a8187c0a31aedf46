//! `instant + duration` that cannot panic: `Instant + Duration` panics when the sum is past what
//! the platform's clock represents. Durations from specs are at most a year
//! ([`crate::duration::MAX_DURATION`]), but a server's `retry:` is any number of milliseconds;
//! every deadline is computed with [`SaturatingAdd`], so no input can panic a run.

use std::time::Duration;

/// Adds a duration to an instant, giving the latest instant there is when the sum is not one.
pub trait SaturatingAdd: Sized + Copy {
    fn checked(self, duration: Duration) -> Option<Self>;

    fn saturating_add(self, duration: Duration) -> Self {
        if let Some(later) = self.checked(duration) {
            return later;
        }
        // Too far: the latest instant is found by halving the step. Each step size fits at most
        // once (twice would have fitted the step before), so this takes at most 2 × 128 turns.
        let (mut at, mut step) = (self, duration);
        while !step.is_zero() {
            match at.checked(step) {
                Some(later) => at = later,
                None => step /= 2,
            }
        }
        at
    }
}

impl SaturatingAdd for std::time::Instant {
    fn checked(self, duration: Duration) -> Option<Self> {
        self.checked_add(duration)
    }
}

impl SaturatingAdd for tokio::time::Instant {
    fn checked(self, duration: Duration) -> Option<Self> {
        self.checked_add(duration)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn adds_when_it_can_and_saturates_when_it_cannot() {
        let now = Instant::now();
        assert_eq!(
            now.saturating_add(Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let latest = now.saturating_add(Duration::MAX);
        assert!(latest > now + Duration::from_secs(100 * 365 * 24 * 3600));
        assert_eq!(latest.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(latest.saturating_add(Duration::MAX), latest);
        let tokio_now = tokio::time::Instant::from_std(now);
        assert_eq!(tokio_now.saturating_add(Duration::MAX).into_std(), latest);
    }
}
