//! The live line of a load run on standard error, redrawn every second when standard error is
//! a terminal: `0:42 / 5:00 · 812 users · 45.2 it/s · 9,120 items/s · failed 2.1% (errors
//! 0.3%) · p99 ttfb 12ms · p99 gap 203ms` (and arrivals dropped per second, when there are).
//! What saturates the load generator, when something does, comes first: a narrow terminal cuts
//! the end of the line off. Nothing at all when standard error is a file or a pipe.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::json::SecondReport;
use super::summary::{count, counted, millis};
use crate::runner::progress::{terminal_width, truncate};

pub struct LiveLine {
    enabled: bool,
    drawn: bool,
    /// The schedule's length, shown after the elapsed time; `None` when the load ends after a
    /// number of iterations (then that number is shown).
    planned: Option<Duration>,
    iterations: Option<u64>,
    /// `users` (closed model) or `running` (open model): a plural noun, whose `s` goes for one
    /// (`1 user`), or a word the same for one (`1 running`).
    active_word: &'static str,
}

/// What the line shows.
pub struct Live<'a> {
    pub elapsed: Duration,
    pub second: &'a SecondReport,
    pub iterations: u64,
    /// Of [`Self::iterations`]: those with a failure (an unmet expectation or an error).
    pub failed: u64,
    /// Of [`Self::failed`]: those with an error.
    pub errored: u64,
    pub saturation: Option<&'a str>,
}

impl LiveLine {
    pub fn new(
        planned: Option<Duration>,
        iterations: Option<u64>,
        active_word: &'static str,
    ) -> LiveLine {
        LiveLine {
            enabled: std::io::stderr().is_terminal(),
            drawn: false,
            planned,
            iterations,
            active_word,
        }
    }

    pub fn draw(&mut self, live: &Live<'_>) {
        if !self.enabled {
            return;
        }
        let line = truncate(
            &render(live, self.planned, self.iterations, self.active_word),
            terminal_width() - 1,
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }

    pub fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

impl Drop for LiveLine {
    fn drop(&mut self) {
        self.clear();
    }
}

fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

pub fn render(
    live: &Live<'_>,
    planned: Option<Duration>,
    iterations: Option<u64>,
    active_word: &str,
) -> String {
    let second = live.second;
    let elapsed = match planned {
        // Past the schedule, the iterations running get the graceful stop to end.
        Some(planned) if live.elapsed > planned => {
            format!("{} / {} stopping", clock(live.elapsed), clock(planned))
        }
        Some(planned) => format!("{} / {}", clock(live.elapsed), clock(planned)),
        None => clock(live.elapsed),
    };
    let mut parts = Vec::new();
    // First, where a terminal narrower than the line cannot cut it off: while the load
    // generator saturates, the figures after it are its own delays as much as the server's.
    if let Some(saturation) = live.saturation {
        parts.push(format!("SATURATED: {saturation}"));
    }
    parts.push(elapsed);
    if let Some(total) = iterations {
        parts.push(format!(
            "{} of {}",
            count(live.iterations),
            counted(total, "iteration")
        ));
    }
    let active_word = match second.active {
        1 => active_word.strip_suffix('s').unwrap_or(active_word),
        _ => active_word,
    };
    parts.extend([
        format!("{} {active_word}", count(second.active)),
        format!("{} it/s", count(second.iterations)),
        format!("{} items/s", count(second.items)),
    ]);
    if second.dropped > 0 {
        parts.push(format!("{} dropped/s", count(second.dropped)));
    }
    if live.iterations > 0 {
        // Failed, as the summary counts it (an unmet expectation or an error); errors, a
        // part of it, only when there are: a run whose every answer is wrong but on time is
        // failing, and an error share alone showed it at 0%.
        let share = |n: u64| n as f64 * 100.0 / live.iterations as f64;
        let mut failed = format!("failed {:.1}%", share(live.failed));
        if live.errored > 0 {
            failed.push_str(&format!(" (errors {:.1}%)", share(live.errored)));
        }
        parts.push(failed);
    }
    if let Some(ttfb) = second.ttfb_p99_ms {
        parts.push(format!("p99 ttfb {}", millis(ttfb)));
    }
    if let Some(gap) = second.gap_p99_ms {
        parts.push(format!("p99 gap {}", millis(gap)));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_gives_the_rates_and_latencies_of_the_last_second() {
        let second = SecondReport {
            active: 812,
            iterations: 45,
            items: 9120,
            ttfb_p99_ms: Some(12.34),
            gap_p99_ms: Some(203.0),
            ..SecondReport::default()
        };
        let live = Live {
            elapsed: Duration::from_secs(42),
            second: &second,
            iterations: 1000,
            failed: 3,
            errored: 3,
            saturation: None,
        };
        assert_eq!(
            render(&live, Some(Duration::from_secs(300)), None, "users"),
            "0:42 / 5:00 · 812 users · 45 it/s · 9,120 items/s · failed 0.3% (errors 0.3%) · p99 ttfb 12.3ms · p99 gap 203ms"
        );
        let dropping = SecondReport {
            dropped: 7,
            ..second.clone()
        };
        assert!(
            render(
                &Live {
                    second: &dropping,
                    ..live
                },
                None,
                None,
                "running"
            )
            .contains(" · 9,120 items/s · 7 dropped/s · failed 0.3%"),
        );
        assert!(
            render(&live, None, Some(5000), "users")
                .starts_with("0:42 · 1,000 of 5,000 iterations · 812 users")
        );
        // Past the schedule: the graceful stop, not a clock running over.
        assert!(
            render(&live, Some(Duration::from_secs(30)), None, "users")
                .starts_with("0:42 / 0:30 stopping · 812 users")
        );
    }

    #[test]
    fn one_user_and_one_iteration_are_said_in_the_singular() {
        let second = SecondReport {
            active: 1,
            iterations: 1,
            ..SecondReport::default()
        };
        let live = Live {
            elapsed: Duration::from_secs(1),
            second: &second,
            iterations: 0,
            failed: 0,
            errored: 0,
            saturation: None,
        };
        assert_eq!(
            render(&live, None, Some(1), "users"),
            "0:01 · 0 of 1 iteration · 1 user · 1 it/s · 0 items/s"
        );
        assert_eq!(
            render(&live, None, Some(2), "running"),
            "0:01 · 0 of 2 iterations · 1 running · 1 it/s · 0 items/s"
        );
    }

    #[test]
    fn iterations_that_failed_an_expectation_show_while_the_run_goes() {
        let second = SecondReport::default();
        let live = |failed, errored| Live {
            elapsed: Duration::from_secs(3),
            second: &second,
            iterations: 1000,
            failed,
            errored,
            saturation: None,
        };
        let line = |failed, errored| render(&live(failed, errored), None, None, "running");
        assert_eq!(
            line(501, 0),
            "0:03 · 0 running · 0 it/s · 0 items/s · failed 50.1%"
        );
        assert_eq!(
            line(501, 3),
            "0:03 · 0 running · 0 it/s · 0 items/s · failed 50.1% (errors 0.3%)"
        );
        assert_eq!(
            line(0, 0),
            "0:03 · 0 running · 0 it/s · 0 items/s · failed 0.0%"
        );
    }

    #[test]
    fn a_saturated_load_generator_is_said_first_so_a_narrow_terminal_still_shows_it() {
        let second = SecondReport {
            active: 812,
            iterations: 45,
            items: 9120,
            ttfb_p99_ms: Some(12.34),
            gap_p99_ms: Some(203.0),
            ..SecondReport::default()
        };
        let live = Live {
            elapsed: Duration::from_secs(42),
            second: &second,
            iterations: 1000,
            failed: 501,
            errored: 3,
            saturation: Some("CPU 97% of 2 CPUs"),
        };
        let line = render(&live, Some(Duration::from_secs(300)), None, "users");
        assert_eq!(
            line,
            "SATURATED: CPU 97% of 2 CPUs · 0:42 / 5:00 · 812 users · 45 it/s · 9,120 items/s · failed 50.1% (errors 0.3%) · p99 ttfb 12.3ms · p99 gap 203ms"
        );
        assert_eq!(
            truncate(&line, 79),
            "SATURATED: CPU 97% of 2 CPUs · 0:42 / 5:00 · 812 users · 45 it/s · 9,120 items…"
        );
    }
}
