//! A ticker's schedule: ticks `interval` apart on a fixed grid (the first at once).
//!
//! A tick the runtime fires a little late (a busy server: 10,000 streams on two cores) keeps the
//! grid, so the lateness does not add up over a stream: with tokio's `MissedTickBehavior::Delay`
//! every tick more than 5 ms late moved all the later ones back, and ten events 200 ms apart took
//! 2.2 s instead of 1.8 s under load. A whole tick missed (a client that stopped reading, so the
//! body was not polled) still moves the grid back, rather than bursting to catch up.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

pub struct Schedule {
    interval: Duration,
    /// When the next tick is due; `None` before the first, which is at once.
    next: Option<Instant>,
}

impl Schedule {
    pub fn new(interval: Duration) -> Schedule {
        Schedule {
            interval,
            next: None,
        }
    }

    /// Waits for the next tick.
    pub async fn tick(&mut self) {
        let due = match self.next {
            None => Instant::now(),
            Some(due) => {
                sleep_until(due).await;
                due
            }
        };
        self.next = Some(next_due(due, Instant::now(), self.interval));
    }
}

/// The tick after the one due at `due` that fired at `fired`: one interval later on the grid,
/// unless it fired a whole interval late or more (it was missed); then one interval after it
/// fired.
fn next_due(due: Instant, fired: Instant, interval: Duration) -> Instant {
    let on_grid = due + interval;
    if fired >= on_grid {
        fired + interval
    } else {
        on_grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_millis(200);

    /// The tick after one due at `due` ms that fired at `fired` ms, in ms from the same origin.
    fn next(due: u64, fired: u64) -> u64 {
        let origin = Instant::now();
        let ms = Duration::from_millis;
        let next = next_due(origin + ms(due), origin + ms(fired), INTERVAL);
        next.duration_since(origin).as_millis() as u64
    }

    #[test]
    fn a_tick_on_time_is_followed_one_interval_later() {
        assert_eq!(next(0, 0), 200);
        assert_eq!(next(200, 200), 400);
    }

    #[test]
    fn a_tick_fired_late_does_not_push_the_later_ones_back() {
        // A busy runtime fires the tick due at 200 ms at 230 ms, or even at 399 ms: the next is
        // still due at 400 ms, so lateness does not add up over a stream.
        assert_eq!(next(200, 230), 400);
        assert_eq!(next(200, 399), 400);
    }

    #[test]
    fn a_missed_tick_moves_the_grid_back_instead_of_a_burst() {
        // Nothing asked for the tick due at 200 ms until 700 ms (a client that stopped reading):
        // it goes at once, and the next an interval after it, not at 800 ms with two more behind.
        assert_eq!(next(200, 700), 900);
        assert_eq!(next(200, 400), 600);
    }
}
