//! One service's process: started in a process group of its own, its output kept (the last
//! 64 KiB, for the error when it fails to start or exits during the run), watched so that its
//! exit is known as soon as it happens, and stopped as a group — SIGTERM, then SIGKILL after a
//! grace period — or killed at once when dropped.
//!
//! The watcher sees the exit without reaping the process: until streamspec stops the service
//! and reaps it, the dead leader holds its pid, so the group id stays its own and no later
//! process can take it and receive the signals meant for the service's group.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};

/// How much of a service's output is kept.
const OUTPUT_LIMIT: usize = 64 * 1024;
/// How many lines of it a failure shows.
pub(super) const OUTPUT_LINES: usize = 40;
/// How long to wait for the last of a dead service's output to be read.
const OUTPUT_DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// The last test that passed, as `file: name`, shared by the run and the services' watchers: a
/// watcher takes it when its service exits, to say when that was.
pub(super) type LastPassed = Arc<Mutex<Option<String>>>;

/// What the watcher knows of the process.
#[derive(Debug, Clone, Default)]
pub(super) struct ProcessState {
    /// How it ended, once it has (the error is one waiting for it).
    pub(super) exit: Option<Result<ExitStatus, String>>,
    /// The last test that had passed when the exit was noticed.
    pub(super) after: Option<String>,
    /// Its output has been read to the end, or given up on.
    pub(super) drained: bool,
}

/// One started service.
#[derive(Debug)]
pub(super) struct RunningService {
    /// Its name in the config, and `file:line:col` of its entry there.
    pub(super) name: String,
    pub(super) defined_at: String,
    /// The child's process group, which is its pid; `None` once killed, so that nothing is
    /// signalled after the group is gone (its id could by then be another's).
    pub(super) pgid: Option<libc::pid_t>,
    /// The child's pid, known as a service's until it is dropped (see [`super::orphans`]).
    pid: Option<libc::pid_t>,
    pub(super) output: Arc<Mutex<Tail>>,
    pub(super) child: Child,
    /// Updated by the watcher.
    pub(super) state: watch::Receiver<ProcessState>,
    /// The readers of its pipes, and the task that reports the exit.
    tasks: Vec<AbortHandle>,
}

impl RunningService {
    /// Starts `command` in a process group of its own, its standard output and error kept, and
    /// a watcher that waits for it to exit.
    pub(super) fn spawn(
        command: &mut Command,
        (name, defined_at): (String, String),
        last_passed: LastPassed,
    ) -> std::io::Result<RunningService> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // A group of its own, so a signal to the group reaches everything the service starts.
            .process_group(0);
        if let Some(original) = crate::open_files::original_soft_limit() {
            // The service gets the open-file limit streamspec was given, as if started by hand.
            // SAFETY: between fork and exec the closure only calls getrlimit and setrlimit,
            // which are async-signal-safe, and allocates nothing.
            unsafe {
                command.pre_exec(move || crate::open_files::restore_original_soft_limit(original));
            }
        }
        die_with_streamspec(command);
        let mut child = super::orphans::start(
            || command.spawn(),
            |child| child.id().and_then(|id| libc::pid_t::try_from(id).ok()),
        )?;
        let output = Arc::new(Mutex::new(Tail::default()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(spawn_reader(stdout, Arc::clone(&output)));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(spawn_reader(stderr, Arc::clone(&output)));
        }
        let pgid = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
        let mut tasks: Vec<AbortHandle> = readers.iter().map(JoinHandle::abort_handle).collect();
        let (sender, state) = watch::channel(ProcessState::default());
        let (exit_sender, exit) = oneshot::channel();
        if let Some(pid) = pgid {
            // A thread, not a task: waitid blocks, and the thread ends with the process (it
            // is killed at the latest when the service is stopped or dropped).
            std::thread::spawn(move || {
                let _ = exit_sender.send(wait_without_reaping(pid));
            });
        }
        tasks.push(tokio::spawn(report_exit(exit, readers, sender, last_passed)).abort_handle());
        Ok(RunningService {
            name,
            defined_at,
            pgid,
            pid: pgid,
            output,
            child,
            state,
            tasks,
        })
    }

    /// Waits until the process has exited, and reaps it.
    pub(super) async fn exited(&mut self) -> Result<ExitStatus, String> {
        self.child.wait().await.map_err(|error| error.to_string())
    }

    /// Stops the service and forgets its output.
    pub(super) async fn stop(mut self, grace: Duration) {
        self.terminate(grace).await;
        // The readers end by themselves when the group's last writer is gone; a process that
        // left the group could keep a pipe open, and its output is no longer wanted.
        for task in &self.tasks {
            task.abort();
        }
    }

    /// SIGTERM to the whole group, SIGKILL to it after `grace` (or at once if the leader has
    /// gone, for anything it left behind), and waits for the leader to be reaped.
    pub(super) async fn terminate(&mut self, grace: Duration) {
        // The group is forgotten only once SIGKILL has gone out: should this future be dropped
        // during the grace period (a second stop signal, a panic), `drop` still kills the group.
        if let Some(pgid) = self.pgid {
            signal_group(pgid, libc::SIGTERM);
            let _ = tokio::time::timeout(grace, self.exited()).await;
            signal_group(pgid, libc::SIGKILL);
            self.pgid = None;
            // SIGKILL cannot be caught, so this wait is short; the timeout only guards against a
            // process stuck in the kernel.
            let _ = tokio::time::timeout(grace, self.exited()).await;
        }
    }

    /// The last lines of output, once the readers have caught up (or briefly tried to).
    pub(super) async fn output(&mut self) -> String {
        let drained = self.state.wait_for(|state| state.drained);
        let _ = tokio::time::timeout(OUTPUT_DRAIN_TIMEOUT, drained).await;
        last_lines(&self.output)
    }
}

/// The last [`OUTPUT_LINES`] lines of a service's output.
pub(super) fn last_lines(output: &Mutex<Tail>) -> String {
    match output.lock() {
        Ok(tail) => tail.last_lines(OUTPUT_LINES),
        Err(poisoned) => poisoned.into_inner().last_lines(OUTPUT_LINES),
    }
}

/// Waits until the child `pid` has exited, leaving it a zombie for [`RunningService::exited`]
/// to reap. An error is one of waitid's: `ECHILD` when the child was reaped first (it exited
/// while being started, or is being stopped).
fn wait_without_reaping(pid: libc::pid_t) -> Result<ExitStatus, String> {
    let Ok(id) = libc::id_t::try_from(pid) else {
        return Err(format!("no process {pid}"));
    };
    loop {
        // SAFETY: waitid(2) on our own child, with a zeroed siginfo_t for it to fill in; WNOWAIT
        // leaves the child waitable.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let result =
            unsafe { libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if result == 0 {
            // SAFETY: waitid succeeded for a WEXITED event, so the siginfo_t holds a SIGCHLD's
            // fields, si_status among them.
            let status = unsafe { info.si_status() };
            // As wait(2) encodes them: the code in the second byte, or the signal (and 0x80 for a
            // core dump) in the first.
            return Ok(ExitStatus::from_raw(match info.si_code {
                libc::CLD_EXITED => (status & 0xff) << 8,
                libc::CLD_DUMPED => status | 0x80,
                _ => status,
            }));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error.to_string());
        }
    }
}

/// Says when the child has exited, with the last test that had passed, then waits (briefly)
/// for the readers to take the last of its output.
async fn report_exit(
    exit: oneshot::Receiver<Result<ExitStatus, String>>,
    readers: Vec<JoinHandle<()>>,
    state: watch::Sender<ProcessState>,
    last_passed: LastPassed,
) {
    // Without a pid there is no watcher, and nothing to report.
    let Ok(exit) = exit.await else { return };
    let after = match last_passed.lock() {
        Ok(last) => last.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    state.send_modify(|state| {
        state.exit = Some(exit);
        state.after = after;
    });
    let drained = async {
        for reader in readers {
            let _ = reader.await;
        }
    };
    let _ = tokio::time::timeout(OUTPUT_DRAIN_TIMEOUT, drained).await;
    state.send_modify(|state| state.drained = true);
}

impl Drop for RunningService {
    /// The backstop: whatever ends the run early, no service outlives it. (`kill_on_drop` alone
    /// would kill only the group leader, not what it started.)
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, libc::SIGKILL);
        }
        for task in &self.tasks {
            task.abort();
        }
        if let Some(pid) = self.pid.take() {
            super::orphans::reaped(pid);
        }
    }
}

/// Has the kernel kill the service's process when streamspec dies, even of a SIGKILL, after
/// which nothing in streamspec runs to stop it (Linux only). What the service started, in its
/// group, is left: nothing can reach it then.
fn die_with_streamspec(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let streamspec = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
        // SAFETY: between fork and exec the closure only calls prctl and getppid, which are
        // async-signal-safe, and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                // The signal comes when the thread that started the process ends: the run
                // starts services from the thread that runs it to the end.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // Dead before the prctl: the signal will never come, and no one wants the
                // service.
                if libc::getppid() != streamspec {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
}

fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // A pgid of 0 or less would signal our own group or everything we may signal.
    if pgid > 0 {
        // SAFETY: kill has no memory-safety preconditions; a failure (the group is gone) is
        // exactly the outcome wanted.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// The end of a stream of output: at most [`OUTPUT_LIMIT`] bytes, older ones dropped.
#[derive(Debug, Default)]
pub(super) struct Tail {
    bytes: VecDeque<u8>,
    dropped: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        if self.bytes.len() > OUTPUT_LIMIT {
            let excess = self.bytes.len() - OUTPUT_LIMIT;
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    fn last_lines(&self, count: usize) -> String {
        let (front, back) = self.bytes.as_slices();
        let bytes = [front, back].concat();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(count);
        let mut out = String::new();
        if skipped > 0 || self.dropped {
            out.push_str("…\n");
        }
        for line in &lines[skipped..] {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Copies one of the child's pipes into the shared tail until it closes.
fn spawn_reader(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<Tail>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buffer = vec![0; 8192];
        loop {
            match pipe.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut tail) = tail.lock() {
                        tail.push(&buffer[..n]);
                    }
                }
            }
        }
    })
}

/// "exited with code 3", "was killed by signal 9 (SIGKILL)", or why it could not be watched.
pub(super) fn describe_exit(exit: &Result<ExitStatus, String>) -> String {
    match exit {
        Ok(status) => describe_status(*status),
        Err(error) => format!("could not be watched ({error})"),
    }
}

fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    if let Some(signal) = status.signal() {
        let name = match signal {
            libc::SIGHUP => " (SIGHUP)",
            libc::SIGINT => " (SIGINT)",
            libc::SIGABRT => " (SIGABRT)",
            libc::SIGKILL => " (SIGKILL)",
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGTERM => " (SIGTERM)",
            _ => "",
        };
        return format!("was killed by signal {signal}{name}");
    }
    format!("exited ({status})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_and_lines() {
        let mut tail = Tail::default();
        tail.push(b"one\ntwo\n");
        assert_eq!(tail.last_lines(40), "one\ntwo\n");
        assert_eq!(tail.last_lines(1), "…\ntwo\n");
        for i in 0..20_000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        assert_eq!(tail.bytes.len(), OUTPUT_LIMIT);
        let last = tail.last_lines(2);
        assert_eq!(last, "…\nline 19998\nline 19999\n");
    }

    #[test]
    fn exits_are_described_in_words() {
        assert_eq!(
            describe_exit(&Ok(ExitStatus::from_raw(3 << 8))),
            "exited with code 3"
        );
        assert_eq!(
            describe_exit(&Ok(ExitStatus::from_raw(libc::SIGKILL))),
            "was killed by signal 9 (SIGKILL)"
        );
    }
}
