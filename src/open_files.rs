//! The open-file limit (`ulimit -n`). Every connection a running test holds is an open file, and
//! a run of `-j 1000` needs more of them than the usual soft limit of 1024 (256 on macOS). At
//! start, streamspec raises its soft limit to the hard limit, as Go and k6 do; then [`jobs_fit`]
//! caps the tests run at once to what the limit leaves room for, rather than letting the surplus
//! fail with "Too many open files". The services a run starts get the soft limit streamspec
//! started with, as if started by hand.

// `rlim_t` is `u64` where this is built and tested, but narrower on some 32-bit targets: the
// casts to `u64` are for those.
#![allow(clippy::unnecessary_cast)]

use std::sync::atomic::{AtomicU64, Ordering};

/// How many files one running test may hold open: its connection, a second one while a
/// reconnection replaces the first or a pooled connection waits for the next test, and room for
/// a name lookup or a gRPC channel beside them.
pub const PER_TEST: u64 = 4;

/// Files kept free for the run itself, beside its tests: report files, the services' pipes and
/// readiness probes, the spec files, and what starting a process needs for a moment.
const RESERVE: u64 = 32;

/// Files the async runtime opens when it starts (an epoll or kqueue, a waker, a socket pair for
/// signals), with room to spare. Below this much headroom streamspec does not start: the runtime
/// would fail, or worse, panic.
const RUNTIME: u64 = 8;

/// What a file count is taken to be when the open files cannot be listed.
const UNKNOWN_IN_USE: u64 = 16;

/// The largest soft limit macOS accepts for RLIMIT_NOFILE (`OPEN_MAX` in <sys/syslimits.h>),
/// whatever the hard limit says.
#[cfg(target_os = "macos")]
const OPEN_MAX: u64 = 10240;

/// The soft limit before [`raise_soft_limit`], for the services; 0 when it was not raised.
static ORIGINAL_SOFT_LIMIT: AtomicU64 = AtomicU64::new(0);

/// The soft and hard open-file limits, or `None` if they cannot be read.
fn limits() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    Some((limit.rlim_cur as u64, limit.rlim_max as u64))
}

fn set_soft_limit(soft: u64, hard: u64) -> bool {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct it is given, which lives for the call.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 }
}

/// Raises the soft open-file limit as far as the hard limit allows. Failing to is no error: the
/// run then fits its tests into the soft limit as it is.
pub fn raise_soft_limit() {
    let Some((soft, hard)) = limits() else {
        return;
    };
    #[cfg(target_os = "macos")]
    let target = hard.min(OPEN_MAX);
    #[cfg(not(target_os = "macos"))]
    let target = hard;
    if target <= soft {
        return;
    }
    let mut raised = set_soft_limit(target, hard);
    // An unlimited hard limit is more than Linux lets a process open (fs.nr_open).
    if !raised
        && hard == libc::RLIM_INFINITY as u64
        && let Some(nr_open) = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
        && nr_open > soft
    {
        raised = set_soft_limit(nr_open, hard);
    }
    if raised {
        ORIGINAL_SOFT_LIMIT.store(soft, Ordering::Relaxed);
    }
}

/// The soft open-file limit now (after [`raise_soft_limit`], the one a run works within).
pub fn soft_limit() -> Option<u64> {
    limits().map(|(soft, _)| soft)
}

/// For a load of `users` at once (a connection each at least): the open files they need and the
/// limit, when the limit (already raised as far as it goes) is below that. Their connections
/// past it would fail with "Too many open files": the load generator's errors, not the server's.
pub fn users_beyond_limit(users: u64) -> Option<(u64, u64)> {
    let (soft, _) = limits()?;
    let needed = users.saturating_add(RESERVE).saturating_add(RUNTIME);
    (needed > soft).then_some((needed, soft))
}

/// The soft limit streamspec started with, if it was raised: what a service's process should
/// get back (programs that use `select` break past 1024 files).
pub fn original_soft_limit() -> Option<u64> {
    match ORIGINAL_SOFT_LIMIT.load(Ordering::Relaxed) {
        0 => None,
        soft => Some(soft),
    }
}

/// Gives the calling process the soft limit streamspec started with, if it was raised. Made for
/// a child between fork and exec, so it only calls getrlimit and setrlimit (async-signal-safe).
pub fn restore_original_soft_limit(original: u64) -> std::io::Result<()> {
    if let Some((soft, hard)) = limits()
        && soft > original
        && !set_soft_limit(original, hard)
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// How many of the descriptors below `limit` this process has open, if they can be listed. The
/// limit bounds a new descriptor's number, not how many are open: one inherited with a number
/// above it (a shell may leave such) takes no room.
fn in_use_below(limit: u64) -> Option<u64> {
    let dir = if cfg!(target_os = "linux") {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    let entries = std::fs::read_dir(dir).ok()?;
    let below = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|fd| *fd < limit)
        .count() as u64;
    // The listing itself is one of them while it is read.
    Some(below.saturating_sub(1))
}

/// Whether enough files can still be opened for the async runtime to start; the error says why
/// not, for a `ulimit -n` set very low.
pub fn check_runtime_headroom() -> Result<(), String> {
    let Some((soft, _)) = limits() else {
        return Ok(());
    };
    let open = in_use_below(soft).unwrap_or(UNKNOWN_IN_USE);
    if soft.saturating_sub(open) >= RUNTIME {
        return Ok(());
    }
    Err(format!(
        "the open-file limit (ulimit -n) is {soft}, and {open} files are open already: \
         streamspec needs room for {RUNTIME} more to start"
    ))
}

/// How many tests run at once for `asked`: at most as many as the open-file limit leaves room
/// for (always at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsFit {
    pub jobs: usize,
    /// The soft limit, when it made `jobs` fewer than asked.
    pub reduced_by_limit: Option<u64>,
}

/// Fits `asked` tests at once into the open-file limit as it is now.
pub fn jobs_fit(asked: usize) -> JobsFit {
    let Some((soft, _)) = limits() else {
        return JobsFit {
            jobs: asked,
            reduced_by_limit: None,
        };
    };
    fit(asked, soft, in_use_below(soft).unwrap_or(UNKNOWN_IN_USE))
}

fn fit(asked: usize, soft: u64, in_use: u64) -> JobsFit {
    if soft == libc::RLIM_INFINITY as u64 {
        return JobsFit {
            jobs: asked,
            reduced_by_limit: None,
        };
    }
    let room = soft.saturating_sub(in_use).saturating_sub(RESERVE) / PER_TEST;
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    if asked <= room {
        JobsFit {
            jobs: asked,
            reduced_by_limit: None,
        }
    } else {
        JobsFit {
            jobs: room,
            reduced_by_limit: Some(soft),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_fit_the_files_left_after_those_in_use_and_the_reserve() {
        // (1024 - 10 - 32) / 4 = 245.
        assert_eq!(
            fit(1000, 1024, 10),
            JobsFit {
                jobs: 245,
                reduced_by_limit: Some(1024)
            }
        );
        assert_eq!(
            fit(8, 1024, 10),
            JobsFit {
                jobs: 8,
                reduced_by_limit: None
            }
        );
        assert_eq!(
            fit(245, 1024, 10),
            JobsFit {
                jobs: 245,
                reduced_by_limit: None
            }
        );
    }

    #[test]
    fn at_least_one_test_runs_however_low_the_limit() {
        assert_eq!(
            fit(4, 20, 10),
            JobsFit {
                jobs: 1,
                reduced_by_limit: Some(20)
            }
        );
        assert_eq!(
            fit(1, 20, 10),
            JobsFit {
                jobs: 1,
                reduced_by_limit: None
            }
        );
    }

    #[test]
    fn an_unlimited_limit_reduces_nothing() {
        let unlimited = libc::RLIM_INFINITY as u64;
        assert_eq!(fit(1_000_000, unlimited, 10).reduced_by_limit, None);
    }
}
