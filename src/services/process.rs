//! One service's process: started in a process group of its own, its output kept (the last
//! 64 KiB, for the error when it fails to start), and stopped as a group — SIGTERM, then SIGKILL
//! after a grace period — or killed at once when dropped.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How much of a service's output is kept.
const OUTPUT_LIMIT: usize = 64 * 1024;
/// How many lines of it a failure shows.
pub(super) const OUTPUT_LINES: usize = 40;
/// How long to wait for the last of a dead service's output to be read.
const OUTPUT_DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// One started service.
#[derive(Debug)]
pub(super) struct RunningService {
    pub(super) child: Child,
    /// The child's process group, which is its pid; `None` once killed, so that nothing is
    /// signalled after the group is gone (its id could by then be another's).
    pub(super) pgid: Option<libc::pid_t>,
    output: Arc<Mutex<Tail>>,
    readers: Vec<JoinHandle<()>>,
}

impl RunningService {
    /// Starts `command` in a process group of its own, its standard output and error kept.
    pub(super) fn spawn(command: &mut Command) -> std::io::Result<RunningService> {
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
        let mut child = command.spawn()?;
        let output = Arc::new(Mutex::new(Tail::default()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(spawn_reader(stdout, Arc::clone(&output)));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(spawn_reader(stderr, Arc::clone(&output)));
        }
        let pgid = child.id().and_then(|id| libc::pid_t::try_from(id).ok());
        Ok(RunningService {
            child,
            pgid,
            output,
            readers,
        })
    }
    /// Stops the service and forgets its output.
    pub(super) async fn stop(mut self, grace: Duration) {
        self.terminate(grace).await;
        // The readers end by themselves when the group's last writer is gone; a process that
        // left the group could keep a pipe open, and its output is no longer wanted.
        for reader in &self.readers {
            reader.abort();
        }
    }

    /// SIGTERM to the whole group, SIGKILL to it after `grace` (or at once if the leader has
    /// gone, for anything it left behind), then reaps the leader.
    pub(super) async fn terminate(&mut self, grace: Duration) {
        // The group is forgotten only once SIGKILL has gone out: should this future be dropped
        // during the grace period (a second stop signal, a panic), `drop` still kills the group.
        if let Some(pgid) = self.pgid {
            signal_group(pgid, libc::SIGTERM);
            let _ = tokio::time::timeout(grace, self.child.wait()).await;
            signal_group(pgid, libc::SIGKILL);
            self.pgid = None;
            // SIGKILL cannot be caught, so this wait is short; the timeout only guards against a
            // process stuck in the kernel.
            let _ = tokio::time::timeout(grace, self.child.wait()).await;
        }
    }

    /// The last lines of output, once the readers have caught up (or briefly tried to).
    pub(super) async fn output(&mut self) -> String {
        let readers = std::mem::take(&mut self.readers);
        let drained = async {
            for reader in readers {
                let _ = reader.await;
            }
        };
        let _ = tokio::time::timeout(OUTPUT_DRAIN_TIMEOUT, drained).await;
        match self.output.lock() {
            Ok(tail) => tail.last_lines(OUTPUT_LINES),
            Err(poisoned) => poisoned.into_inner().last_lines(OUTPUT_LINES),
        }
    }
}

impl Drop for RunningService {
    /// The backstop: whatever ends the run early, no service outlives it. (`kill_on_drop` alone
    /// would kill only the group leader, not what it started.)
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, libc::SIGKILL);
        }
        for reader in &self.readers {
            reader.abort();
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
struct Tail {
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

/// "exited with code 3", "was killed by signal 9 (SIGKILL)".
pub(super) fn describe_exit(status: ExitStatus) -> String {
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
            describe_exit(ExitStatus::from_raw(3 << 8)),
            "exited with code 3"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGKILL)),
            "was killed by signal 9 (SIGKILL)"
        );
    }
}
