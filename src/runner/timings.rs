//! Where a run's time went (`streamspec run --timings`, for benchmarks): wall time by phase, and
//! the CPU time streamspec itself used, which is its own work (parsing, matching, reporting, and
//! the HTTP client) as against waiting on the network and the services.

use std::time::Duration;

use crate::duration::format_measured;

#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Finding, reading, parsing and checking the specs.
    pub load: Duration,
    /// Starting services and waiting for them to be ready.
    pub services_start: Duration,
    pub services_stop: Duration,
    /// Wall time while tests ran.
    pub tests: Duration,
    /// The sum of every test's own duration (more than `tests` when they run in parallel).
    pub test_time: Duration,
    /// Time inside the reporter.
    pub reporting: Duration,
}

/// CPU time this process has used so far: (user, system).
pub fn cpu_time() -> (Duration, Duration) {
    // SAFETY: getrusage fills in a plain struct, zeroed beforehand.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return (Duration::ZERO, Duration::ZERO);
    }
    let duration = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    (duration(usage.ru_utime), duration(usage.ru_stime))
}

impl Timings {
    /// The breakdown, one phase a line.
    pub fn render(&self, wall: Duration, cpu: (Duration, Duration)) -> String {
        let percent = |part: Duration| {
            if wall.is_zero() {
                0.0
            } else {
                100.0 * part.as_secs_f64() / wall.as_secs_f64()
            }
        };
        let (user, system) = cpu;
        let own = user + system;
        let line = |name: &str, d: Duration| {
            format!(
                "  {name:<28}{:>10} {:>6.1}%\n",
                format_measured(d),
                percent(d)
            )
        };
        let mut out = format!("timings (wall {}):\n", format_measured(wall));
        out.push_str(&line("load (parse, check)", self.load));
        out.push_str(&line("services: start", self.services_start));
        out.push_str(&line("services: stop", self.services_stop));
        out.push_str(&line("tests (wall)", self.tests));
        out.push_str(&line("reporting", self.reporting));
        out.push_str(&format!(
            "  {:<28}{:>10}\n",
            "tests (sum of durations)",
            format_measured(self.test_time)
        ));
        out.push_str(&line("streamspec CPU: user", user));
        out.push_str(&line("streamspec CPU: system", system));
        out.push_str(&line("streamspec CPU: total", own));
        out.push_str(&line("waiting (wall - CPU)", wall.saturating_sub(own)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_moves_forward() {
        let (user, system) = cpu_time();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let (user2, system2) = cpu_time();
        assert!(user2 + system2 >= user + system);
    }

    #[test]
    fn the_breakdown_shows_shares_of_the_wall_time() {
        let timings = Timings {
            load: Duration::from_millis(100),
            ..Timings::default()
        };
        let text = timings.render(
            Duration::from_secs(1),
            (Duration::from_millis(30), Duration::from_millis(20)),
        );
        assert!(text.starts_with("timings (wall 1.00s):\n"), "{text}");
        assert!(text.contains("load (parse, check)"), "{text}");
        assert!(text.contains("10.0%"), "{text}");
        assert!(text.contains("5.0%"), "{text}");
    }
}
