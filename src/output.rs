//! Writing output without panicking, and knowing afterwards whether all of it arrived.
//!
//! `print!` panics when standard output cannot be written (a full disk, `> /dev/full`, a closed
//! pipe), and a report that silently lost its lines is worse: CI would read a truncated report as
//! the whole. So every report and every command's output goes through a [`Checked`] writer, which
//! keeps the first error in its [`Delivery`]; after it, nothing more is written there (a later
//! write that succeeded would leave a hole in the middle). When the command ends, a failed
//! delivery is an error saying what could not be written and why, with exit code 3.
//!
//! A closed pipe is different: the reader has stopped reading (`streamspec run | head`), as it
//! may. The rest of the output is dropped quietly, as `cat` or `grep` would drop it, and the
//! command goes on to its own exit code: a run whose tests failed still exits 1.
//!
//! Standard error has nowhere to report its own failures: [`errln!`] and [`err!`] write to it
//! and ignore them, where `eprintln!` would panic.

use std::io::{self, Write};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

/// How the writes to one destination went.
#[derive(Debug, Default)]
enum State {
    #[default]
    Delivered,
    /// The reader closed the pipe: what follows is dropped, and that is no error.
    ReaderGone,
    /// A write failed; `reported` once [`Delivery::take_failure`] has handed the error out.
    Failed { error: String, reported: bool },
}

/// Whether everything written to one destination arrived: the first error, kept. Clones share
/// it.
#[derive(Debug, Clone, Default)]
pub struct Delivery(Arc<Mutex<State>>);

impl Delivery {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves a state that is still meaningful.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a failed write (only the first counts).
    pub fn record(&self, error: &io::Error) {
        let mut state = self.state();
        if matches!(*state, State::Delivered) {
            *state = if error.kind() == io::ErrorKind::BrokenPipe {
                State::ReaderGone
            } else {
                State::Failed {
                    error: error.to_string(),
                    reported: false,
                }
            };
        }
    }

    /// Whether writing has stopped (an error, or a reader gone).
    fn stopped(&self) -> bool {
        !matches!(*self.state(), State::Delivered)
    }

    /// The error that stopped the writes, the first time it is asked for; `None` when every
    /// write arrived, or the reader closed the pipe, or the error was handed out already.
    pub fn take_failure(&self) -> Option<String> {
        match &mut *self.state() {
            State::Failed { error, reported } if !*reported => {
                *reported = true;
                Some(error.clone())
            }
            _ => None,
        }
    }
}

/// A writer that records its first error in a [`Delivery`] and writes nothing after it.
pub struct Checked<W> {
    inner: W,
    delivery: Delivery,
}

impl<W: Write> Checked<W> {
    pub fn new(inner: W, delivery: Delivery) -> Self {
        Checked { inner, delivery }
    }

    fn checked<T>(&mut self, write: impl FnOnce(&mut W) -> io::Result<T>) -> io::Result<T> {
        if self.delivery.stopped() {
            return Err(io::Error::other("an earlier write to this output failed"));
        }
        let result = write(&mut self.inner);
        if let Err(error) = &result
            && error.kind() != io::ErrorKind::Interrupted
        {
            self.delivery.record(error);
        }
        result
    }
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.checked(|inner| inner.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.checked(|inner| inner.flush())
    }
}

/// The delivery of standard output, shared by everything that writes there.
static STDOUT: LazyLock<Delivery> = LazyLock::new(Delivery::default);

/// Standard output, checked.
pub fn stdout() -> Checked<io::Stdout> {
    Checked::new(io::stdout(), stdout_delivery())
}

pub fn stdout_delivery() -> Delivery {
    STDOUT.clone()
}

/// Writes to standard output; an error is kept for the end of the command (see the module).
pub fn print(args: std::fmt::Arguments<'_>) {
    let _ = stdout().write_fmt(args);
}

/// Writes to standard error; an error is ignored, having nowhere to go.
pub fn eprint(args: std::fmt::Arguments<'_>) {
    let _ = io::stderr().write_fmt(args);
}

/// Flushes standard output and returns its error, if it failed and no one has said so yet.
pub fn finish_stdout() -> Option<String> {
    let _ = stdout().flush();
    STDOUT.take_failure()
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::print(format_args!($($arg)*)) };
}

/// `println!` that never panics.
macro_rules! outln {
    () => { $crate::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::eprint(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => { $crate::output::eprint(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::eprint(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {err, errln, out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails as a full disk does.
    struct Full {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_first_error_is_kept_and_nothing_is_written_after_it() {
        let delivery = Delivery::default();
        let mut out = Checked::new(
            Full {
                room: 4,
                written: Vec::new(),
            },
            delivery.clone(),
        );
        assert!(out.write_all(b"one\ntwo\n").is_err());
        out.inner.room = 100;
        assert!(out.write_all(b"three\n").is_err());
        assert_eq!(out.inner.written, b"one\n");
        let failure = delivery.take_failure().expect("a failure");
        assert!(failure.starts_with("No space left on device"), "{failure}");
        assert_eq!(delivery.take_failure(), None, "handed out once");
    }

    #[test]
    fn a_closed_pipe_stops_the_writes_quietly() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let delivery = Delivery::default();
        let mut out = Checked::new(Closed, delivery.clone());
        assert!(out.write_all(b"x").is_err());
        assert!(delivery.stopped());
        assert_eq!(delivery.take_failure(), None);
    }
}
