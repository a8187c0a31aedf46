//! The live line of a load run on standard error, redrawn every second when standard error is
//! a terminal: `0:42 / 5:00 · 812 users · 45.2 it/s · 9,120 items/s · errors 0.3% · p99 ttfb
//! 12ms · p99 gap 203ms` (and arrivals dropped per second, when there are), and what saturates the load generator when something does. Nothing
//! at all when standard error is a file or a pipe.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::json::SecondReport;
use super::summary::{count, millis};
use crate::runner::progress::{terminal_width, truncate};

pub struct LiveLine {
    enabled: bool,
    drawn: bool,
    /// The schedule's length, shown after the elapsed time; `None` when the load ends after a
    /// number of iterations (then that number is shown).
    planned: Option<Duration>,
    iterations: Option<u64>,
    /// `users` (closed model) or `running` (open model).
    active_word: &'static str,
}

/// What the line shows.
pub struct Live<'a> {
    pub elapsed: Duration,
    pub second: &'a SecondReport,
    pub iterations: u64,
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
        Some(planned) => format!("{} / {}", clock(live.elapsed), clock(planned)),
        None => clock(live.elapsed),
    };
    let mut parts = vec![elapsed];
    if let Some(total) = iterations {
        parts.push(format!(
            "{} of {} iterations",
            count(live.iterations),
            count(total)
        ));
    }
    parts.extend([
        format!("{} {active_word}", count(second.active)),
        format!("{} it/s", count(second.iterations)),
        format!("{} items/s", count(second.items)),
    ]);
    if second.dropped > 0 {
        parts.push(format!("{} dropped/s", count(second.dropped)));
    }
    if live.iterations > 0 {
        let errors = live.errored as f64 * 100.0 / live.iterations as f64;
        parts.push(format!("errors {errors:.1}%"));
    }
    if let Some(ttfb) = second.ttfb_p99_ms {
        parts.push(format!("p99 ttfb {}", millis(ttfb)));
    }
    if let Some(gap) = second.gap_p99_ms {
        parts.push(format!("p99 gap {}", millis(gap)));
    }
    if let Some(saturation) = live.saturation {
        parts.push(format!("SATURATED: {saturation}"));
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
            errored: 3,
            saturation: None,
        };
        assert_eq!(
            render(&live, Some(Duration::from_secs(300)), None, "users"),
            "0:42 / 5:00 · 812 users · 45 it/s · 9,120 items/s · errors 0.3% · p99 ttfb 12.3ms · p99 gap 203ms"
        );
        let live = Live {
            saturation: Some("CPU 97%"),
            ..live
        };
        assert!(
            render(&live, Some(Duration::from_secs(300)), None, "users")
                .ends_with(" · SATURATED: CPU 97%")
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
            .contains(" · 9,120 items/s · 7 dropped/s · errors 0.3%"),
        );
        assert!(
            render(&live, None, Some(5000), "users")
                .starts_with("0:42 · 1,000 of 5,000 iterations · 812 users")
        );
    }
}
