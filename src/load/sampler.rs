//! CPU and resident memory, sampled once a second: of the services `streamspec.toml` started
//! (each a process group: a shell and what it started count together), from `/proc`; and of
//! streamspec itself, with how late its runtime's timers fire (the event-loop lag). A service
//! that could not be sampled (no `/proc`, or the open-file limit reached by the load's
//! connections) keeps why, which the summary says instead of its figures.

use std::time::{Duration, Instant};

/// Intervals shorter than this give no CPU figure: the kernel counts CPU time in ticks of 10 ms,
/// so a share of CPU over a few milliseconds (the last, partial second of a run) is noise: one
/// tick in 2 ms reads 500%.
const MIN_INTERVAL: Duration = Duration::from_millis(200);

/// The reading the current interval started from.
struct Interval<T> {
    last: Option<(Instant, T)>,
}

impl<T: Copy> Default for Interval<T> {
    fn default() -> Self {
        Interval { last: None }
    }
}

impl<T: Copy> Interval<T> {
    /// The interval's length in seconds and the reading it started from, and a new interval
    /// starting at `now`; `None` on the first reading, and for an interval shorter than
    /// [`MIN_INTERVAL`] (which goes on from where it started).
    fn close(&mut self, now: Instant, reading: T) -> Option<(f64, T)> {
        match self.last {
            Some((then, _)) if now.saturating_duration_since(then) < MIN_INTERVAL => None,
            last => {
                self.last = Some((now, reading));
                let (then, before) = last?;
                Some((now.saturating_duration_since(then).as_secs_f64(), before))
            }
        }
    }
}

/// Per-second CPU of one process group, from the ticks its processes used.
pub struct GroupSampler {
    pub name: String,
    pgid: libc::pid_t,
    interval: Interval<u64>,
    /// No process of the group is alive any more: the service exited, and its samples end
    /// there (the group's id may be another's later).
    gone: bool,
    /// Why a sample could not be taken, the first time one could not.
    not_sampled: Option<String>,
}

/// One sample: CPU over the last interval (100 = one core), and resident memory now.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

impl GroupSampler {
    pub fn new(name: String, pgid: libc::pid_t) -> GroupSampler {
        GroupSampler {
            name,
            pgid,
            interval: Interval::default(),
            gone: false,
            not_sampled: None,
        }
    }

    /// Why some or all of its samples could not be taken, if they could not: `the open-file
    /// limit (ulimit -n 200) was reached`, `could not read /proc: …`.
    pub fn not_sampled(&self) -> Option<String> {
        self.not_sampled.clone()
    }

    /// A sample, or `None` on the first call (no interval yet), after too short an interval,
    /// once no process of the group is alive, or when `/proc` could not be read (see
    /// [`GroupSampler::not_sampled`]).
    pub fn sample(&mut self) -> Option<Sample> {
        if self.gone {
            return None;
        }
        // Not reading `/proc` is not the service's end: out of files now, the next second may
        // read it (the load's connections closed).
        let (ticks, rss_bytes) = match group_usage(self.pgid) {
            Ok(Some(usage)) => usage,
            Ok(None) => {
                self.gone = true;
                return None;
            }
            Err(why) => {
                self.not_sampled.get_or_insert(why);
                return None;
            }
        };
        let (seconds, ticks_then) = self.interval.close(Instant::now(), ticks)?;
        let cpu_seconds = ticks.saturating_sub(ticks_then) as f64 / clock_ticks_per_second();
        Some(Sample {
            cpu_percent: if seconds > 0.0 {
                cpu_seconds * 100.0 / seconds
            } else {
                0.0
            },
            rss_bytes,
        })
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as u64 } else { 4096 }
}

/// CPU ticks (user + system) and resident bytes of every process in group `pgid`; `None` when
/// no process of it is alive, and why when `/proc` could not be read (a sum missing some of the
/// group's processes would be wrong, not smaller).
fn group_usage(pgid: libc::pid_t) -> Result<Option<(u64, u64)>, String> {
    let entries = std::fs::read_dir("/proc").map_err(|error| unreadable("/proc", &error))?;
    let mut ticks = 0;
    let mut pages = 0;
    let mut found = false;
    for entry in entries {
        let entry = entry.map_err(|error| unreadable("/proc", &error))?;
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let path = format!("/proc/{pid}/stat");
        let stat = match std::fs::read_to_string(&path) {
            Ok(stat) => stat,
            // The process ended since the directory was listed: not one of the group's now.
            Err(error)
                if error.kind() == std::io::ErrorKind::NotFound
                    || error.raw_os_error() == Some(libc::ESRCH) =>
            {
                continue;
            }
            Err(error) => return Err(unreadable(&path, &error)),
        };
        // A zombie has exited: it holds no memory and uses no CPU, and is not the service.
        if let Some(usage) = parse_stat(&stat)
            && usage.pgrp == pgid
            && usage.alive
        {
            found = true;
            ticks += usage.ticks;
            pages += usage.rss_pages;
        }
    }
    Ok(found.then(|| (ticks, pages * page_size())))
}

/// Why `path` could not be read, as the summary says it: out of file descriptors is the load's
/// doing (its connections hold them), said as the load generator's warning says it.
fn unreadable(path: &str, error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::EMFILE) => match crate::open_files::soft_limit() {
            Some(limit) => format!("the open-file limit (ulimit -n {limit}) was reached"),
            None => "the open-file limit was reached".to_string(),
        },
        Some(libc::ENFILE) => "the system's open-file limit was reached".to_string(),
        _ => {
            let text = error.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            format!("could not read {path}: {text}")
        }
    }
}

struct StatLine {
    /// Not a zombie (`Z`) nor dead (`X`, `x`): a process that exited but was not yet waited for.
    alive: bool,
    pgrp: libc::pid_t,
    ticks: u64,
    rss_pages: u64,
}

/// The fields of `/proc/PID/stat` a sample needs. The command name (field 2) is in brackets
/// and may hold spaces and brackets itself: the fields are counted from the last `)`.
fn parse_stat(line: &str) -> Option<StatLine> {
    let after = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field 3 (state) is fields[0]: field N is fields[N - 3].
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<i64>().ok());
    Some(StatLine {
        alive: !matches!(*fields.first()?, "Z" | "X" | "x"),
        pgrp: libc::pid_t::try_from(field(5)?).ok()?,
        ticks: (field(14)? + field(15)?).max(0) as u64,
        rss_pages: field(24)?.max(0) as u64,
    })
}

/// How busy the machine's CPUs were over each interval, every process together, from the
/// first line of `/proc/stat` (the ticks of all CPUs by state).
#[derive(Default)]
pub struct MachineSampler {
    /// The last reading: ticks in all, and idle (waiting for I/O included).
    interval: Interval<(u64, u64)>,
}

impl MachineSampler {
    /// The busy share of every CPU since the last call, in percent; `None` on the first call,
    /// after too short an interval, and where `/proc/stat` is not.
    pub fn busy_percent(&mut self) -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let now = machine_ticks(&stat)?;
        let (_, (total, idle)) = self.interval.close(Instant::now(), now)?;
        let total = now.0.saturating_sub(total);
        let idle = now.1.saturating_sub(idle);
        (total > 0).then(|| total.saturating_sub(idle) as f64 * 100.0 / total as f64)
    }
}

/// The ticks of all CPUs in all, and idle ones (`idle` and `iowait`), from `/proc/stat`'s
/// `cpu` line: `cpu user nice system idle iowait irq softirq steal guest guest_nice` (guest
/// time is in user time already).
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some((ticks.iter().sum(), idle))
}

/// streamspec's own CPU over each interval, from its rusage.
#[derive(Default)]
pub struct SelfSampler {
    interval: Interval<Duration>,
}

impl SelfSampler {
    /// CPU over the interval since the last call (100 = one core); `None` on the first call
    /// and after too short an interval.
    pub fn cpu_percent(&mut self) -> Option<f64> {
        let (user, system) = crate::runner::timings::cpu_time();
        let (seconds, used_then) = self.interval.close(Instant::now(), user + system)?;
        let used = (user + system).saturating_sub(used_then).as_secs_f64();
        (seconds > 0.0).then(|| used * 100.0 / seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_too_short_to_measure_gives_no_figure_and_goes_on() {
        let start = Instant::now();
        let mut interval = Interval::default();
        assert_eq!(interval.close(start, 0u64), None);
        // The last, partial second of a run: 2 ms.
        assert_eq!(interval.close(start + Duration::from_millis(2), 5), None);
        let (seconds, before) = interval
            .close(start + Duration::from_secs(1), 40)
            .expect("a second is long enough");
        assert_eq!((seconds, before), (1.0, 0));
        let (seconds, before) = interval
            .close(start + Duration::from_millis(1500), 45)
            .expect("half a second is long enough");
        assert_eq!((seconds, before), (0.5, 40));
    }

    #[test]
    fn stat_lines_are_read_from_the_last_bracket() {
        let line = "4242 (a (strange) name) S 1 4240 4240 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000000 321 18446744073709551615";
        let usage = parse_stat(line).expect("a stat line");
        assert_eq!((usage.pgrp, usage.ticks, usage.rss_pages), (4240, 300, 321));
        assert!(usage.alive);
        let zombie = line.replacen(") S ", ") Z ", 1);
        assert!(!parse_stat(&zombie).expect("a stat line").alive);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn the_machine_s_busy_and_idle_ticks_are_read_from_proc_stat() {
        let stat = "cpu  100 5 45 800 50 0 0 0 0 0\ncpu0 50 2 20 400 25 0 0 0 0 0\nintr 1 2 3\n";
        assert_eq!(machine_ticks(stat), Some((1000, 850)));
        assert_eq!(machine_ticks("intr 1 2 3\n"), None);
    }

    #[test]
    fn proc_unread_says_why() {
        let out_of_files = std::io::Error::from_raw_os_error(libc::EMFILE);
        assert!(
            unreadable("/proc", &out_of_files).starts_with("the open-file limit ("),
            "{}",
            unreadable("/proc", &out_of_files)
        );
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            unreadable("/proc/1/stat", &denied),
            "could not read /proc/1/stat: Permission denied"
        );
    }

    #[test]
    fn this_process_group_is_measured() {
        // SAFETY: getpgrp has no preconditions.
        let pgid = unsafe { libc::getpgrp() };
        if std::path::Path::new("/proc/self/stat").exists() {
            let (_, rss) = group_usage(pgid)
                .expect("/proc is readable")
                .expect("this process is in its group");
            assert!(rss > 0);
        }
    }
}
