//! `--start-at`: a start too far ahead to be meant (a time in milliseconds, say) is refused
//! before anything starts, and the load says on standard error what it does with the time —
//! how long it waits, or that the time has passed and it starts at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// The furthest ahead a start may be.
pub const MAX_AHEAD: Duration = Duration::from_secs(24 * 60 * 60);

/// The error for a start more than [`MAX_AHEAD`] from `now`, if it is.
pub fn too_far_ahead(start_at: SystemTime, now: SystemTime) -> Option<String> {
    let ahead = start_at.duration_since(now).ok()?;
    if ahead <= MAX_AHEAD {
        return None;
    }
    let seconds = start_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let days = ahead.as_secs() / (24 * 60 * 60);
    let when = if days >= 365 {
        format!("{} years", crate::load::summary::count(days / 365))
    } else {
        format!("{days} days")
    };
    Some(format!(
        "--start-at {seconds} is more than 24 hours ahead (in {when}): give Unix seconds or RFC 3339; \
         if it is Unix time in milliseconds, that is --start-at {}",
        seconds / 1000
    ))
}

/// What the load says before it starts: how long it waits for `start_at`, or that the time has
/// passed, so that it starts at once — on its own clock: its stages count from when it starts,
/// not from the time given, so a part that starts late runs the whole schedule, out of step.
pub fn notice(start_at: SystemTime, now: SystemTime) -> String {
    let utc = DateTime::<Utc>::from(start_at);
    match start_at.duration_since(now) {
        Ok(wait) => format!(
            "waiting until {} UTC (in {}) to start…",
            utc.format("%H:%M:%S"),
            in_words(wait)
        ),
        Err(_) => format!(
            "note: --start-at {} has passed: starting now, on this instance's own clock",
            utc.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
    }
}

/// `42s`, `12m05s`, `3h20m`: whole seconds, rounded up (a wait of 0.4 s is not "0s").
fn in_words(wait: Duration) -> String {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    match seconds {
        0..120 => format!("{seconds}s"),
        120..7200 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_says_when_and_in_how_long() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_466_913);
        assert_eq!(
            notice(now + Duration::from_secs(42), now),
            "waiting until 10:35:55 UTC (in 42s) to start…"
        );
        assert_eq!(in_words(Duration::from_secs(725)), "12m05s");
        assert_eq!(in_words(Duration::from_secs(12_000)), "3h20m");
        assert_eq!(
            notice(now - Duration::from_secs(5), now),
            "note: --start-at 2026-12-05T10:35:08Z has passed: starting now, on this instance's own clock"
        );
    }

    #[test]
    fn a_day_ahead_is_the_most() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_466_913);
        assert_eq!(too_far_ahead(now + MAX_AHEAD, now), None);
        assert_eq!(too_far_ahead(now - MAX_AHEAD * 2, now), None);
        let millis = UNIX_EPOCH + Duration::from_secs(1_796_466_913_000);
        let error = too_far_ahead(millis, now).expect("refused");
        assert!(
            error.starts_with("--start-at 1796466913000 is more than 24 hours ahead (in 56,"),
            "{error}"
        );
        assert!(error.ends_with("that is --start-at 1796466913"), "{error}");
    }
}
