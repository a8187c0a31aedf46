//! `instant + duration` that cannot panic: `Instant + Duration` panics past the end of what the
//! platform's clock represents. Durations from specs are at most a year
//! ([`crate::duration::MAX_DURATION`]), but a server's `retry:` is any number of milliseconds and
//! a library caller's timeout any `Duration`; every deadline is computed with [`SaturatingAdd`],
//! so no input can panic a run.

use std::time::Duration;

/// The furthest a deadline is put: longer than any run, and far enough from the end of any
/// clock that the timers can still do their own arithmetic on it (tokio rounds a deadline up
/// with a plain `+`, which would panic at the clock's very end).
pub const HORIZON: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Adds a duration to an instant, at most [`HORIZON`].
pub trait SaturatingAdd: Sized + Copy {
    fn checked(self, duration: Duration) -> Option<Self>;

    fn saturating_add(self, duration: Duration) -> Self {
        // No clock ends within a century of now; were one to, the deadline would be now, which
        // fails the wait at once instead of panicking.
        self.checked(duration.min(HORIZON)).unwrap_or(self)
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
    fn adds_up_to_the_horizon() {
        let now = Instant::now();
        let five = Duration::from_secs(5);
        assert_eq!(now.saturating_add(five), now + five);
        assert_eq!(now.saturating_add(Duration::MAX), now + HORIZON);
        let tokio_now = tokio::time::Instant::from_std(now);
        assert_eq!(tokio_now.saturating_add(Duration::MAX), tokio_now + HORIZON);
    }

    #[tokio::test]
    async fn a_timer_takes_the_furthest_deadline() {
        let far = Instant::now().saturating_add(Duration::MAX);
        let waited = tokio::time::timeout(
            Duration::from_millis(1),
            tokio::time::sleep_until(far.into()),
        )
        .await;
        assert!(waited.is_err(), "the far deadline is not reached");
    }
}
