//! What a service leaves outside its process group, and how it is stopped all the same.
//!
//! A daemon (a double fork, `setsid`) leaves the service's process group, so stopping the group
//! misses it, and its parent exits, so nothing that streamspec started is its parent any more. On
//! Linux streamspec makes itself a child subreaper before it starts a service: such an orphan is
//! then re-parented to streamspec instead of to init, and stays findable (one that exits is
//! reaped, as init would reap it). After the services are stopped, every orphan is stopped too
//! (SIGTERM to it and, when it leads one, to its process group; SIGKILL after a grace period), and
//! reaped.
//!
//! Which children of streamspec are orphans: those it did not start itself. The services it
//! started are known here ([`start`], [`reaped`]); anything else it starts (`git`, for the
//! `--update` hint) stays in streamspec's own process group, which an orphan has left.
//!
//! On other systems a daemon cannot be found once its parent has gone, and is left running.

use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;

/// The services' processes that streamspec started and has not reaped.
static STARTED: LazyLock<Mutex<BTreeSet<libc::pid_t>>> = LazyLock::new(Mutex::default);

fn started_services() -> MutexGuard<'static, BTreeSet<libc::pid_t>> {
    // A panic while holding the lock leaves a set that is still right.
    STARTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How often the orphans are looked at while they are given time to exit.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How many times orphans are killed: killing one can orphan what it started, which is then
/// re-parented to streamspec in turn.
const KILL_ROUNDS: usize = 50;

/// Makes streamspec the parent of its services' orphans (see the module). Once is enough; a
/// failure leaves orphans to init, as without it.
pub(super) fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    {
        static ADOPTING: std::sync::Once = std::sync::Once::new();
        // SAFETY: prctl(2) with an option that takes one integer argument.
        ADOPTING.call_once(|| unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong);
        });
    }
}

/// Starts a service's process with `spawn`, and knows it as a service from then on. No search
/// for orphans runs meanwhile, which could take the new process for one.
pub(super) fn start<T>(
    spawn: impl FnOnce() -> std::io::Result<T>,
    pid_of: impl FnOnce(&T) -> Option<libc::pid_t>,
) -> std::io::Result<T> {
    let mut started = started_services();
    let process = spawn()?;
    if let Some(pid) = pid_of(&process) {
        started.insert(pid);
    }
    Ok(process)
}

/// A service's process was reaped, or is left to tokio to reap: from here on, should it still be
/// a child of streamspec, it counts as an orphan.
pub(super) fn reaped(pid: libc::pid_t) {
    started_services().remove(&pid);
}

/// Reaps the orphans that have exited, whenever a child of streamspec exits, until aborted:
/// streamspec is their parent now, and without this they would pile up as zombies while the
/// services run. `None` when exits cannot be watched (the orphans are then reaped at the end).
pub(super) fn spawn_reaper() -> Option<tokio::task::AbortHandle> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut exits = signal(SignalKind::child()).ok()?;
    let reaper = tokio::spawn(async move {
        while exits.recv().await.is_some() {
            reap(&find_where(|stat| stat.state == 'Z'));
        }
    });
    Some(reaper.abort_handle())
}

/// Stops every orphan: SIGTERM, SIGKILL to those left after `grace`, and reaps them.
pub(super) async fn stop(grace: Duration) {
    let orphans = find();
    if orphans.is_empty() {
        return;
    }
    for &pid in &orphans {
        signal(pid, libc::SIGTERM);
    }
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        reap(&orphans);
        if orphans.iter().all(|&pid| !is_child(pid)) || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    for _ in 0..KILL_ROUNDS {
        if kill_round() {
            return;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Kills every orphan at once, without waiting: the backstop when the services are dropped.
pub(super) fn kill() {
    kill_round();
}

/// SIGKILL to every orphan found, and reaps those already dead; whether there were none.
fn kill_round() -> bool {
    let orphans = find();
    for &pid in &orphans {
        signal(pid, libc::SIGKILL);
    }
    reap(&orphans);
    orphans.is_empty()
}

/// Sends `signal` to an orphan and, if it leads a process group (a daemon that called `setsid`
/// does), to the group: what it started goes with it.
fn signal(pid: libc::pid_t, signal: libc::c_int) {
    if pid <= 0 {
        return;
    }
    // SAFETY: getpgid(2) and kill(2) have no memory-safety preconditions; the pid is a child of
    // streamspec that it has not reaped, so it cannot be another process's.
    unsafe {
        if libc::getpgid(pid) == pid {
            libc::kill(-pid, signal);
        }
        libc::kill(pid, signal);
    }
}

/// Reaps those of `pids` that have exited.
fn reap(pids: &[libc::pid_t]) {
    for &pid in pids {
        let mut status = 0;
        // SAFETY: waitpid(2) on one pid, with a valid pointer for the status.
        unsafe {
            libc::waitpid(pid, &mut status, libc::WNOHANG);
        }
    }
}

/// Whether `pid` is still a child of streamspec, dead or alive.
fn is_child(pid: libc::pid_t) -> bool {
    // SAFETY: getpid(2) cannot fail.
    let me = unsafe { libc::getpid() };
    stat_of(pid).is_some_and(|stat| stat.parent == me)
}

/// The children of streamspec that are orphans: not services it started, and not in its own
/// process group (see the module).
fn find() -> Vec<libc::pid_t> {
    find_where(|_| true)
}

/// The orphans whose `/proc/PID/stat` passes `wanted`.
fn find_where(wanted: impl Fn(&Stat) -> bool) -> Vec<libc::pid_t> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid(2) and getpgrp(2) cannot fail.
        let (me, my_group) = unsafe { (libc::getpid(), libc::getpgrp()) };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        // Held throughout, so that no service starts meanwhile (see `start`).
        let started = started_services();
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .filter(|pid| !started.contains(pid))
            .filter(|&pid| {
                stat_of(pid).is_some_and(|stat| {
                    stat.parent == me && stat.group != my_group && wanted(&stat)
                })
            })
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    Vec::new()
}

/// What `/proc/PID/stat` says of a process's state (`Z` for a zombie), parent and process
/// group.
struct Stat {
    state: char,
    parent: libc::pid_t,
    group: libc::pid_t,
}

fn stat_of(pid: libc::pid_t) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// `PID (COMMAND) STATE PPID PGRP …`: the command may hold spaces and parentheses, so the fields
/// are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<Stat> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some(Stat {
        state,
        parent,
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_and_group_are_read_after_the_command() {
        let stat =
            parse_stat("4242 (a (strange) name) S 17 4242 4242 0 -1 4194560").expect("a stat");
        assert_eq!((stat.state, stat.parent, stat.group), ('S', 17, 4242));
        assert!(parse_stat("4242 (cut").is_none());
    }
}
