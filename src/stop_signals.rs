//! The signals that stop a run: SIGINT (Ctrl-C), SIGTERM (how CI systems cancel a job), SIGHUP
//! (the terminal went away) and SIGQUIT (Ctrl-\). Each is caught rather than left to its default
//! action, which would end streamspec at once and leave the services — each in a process group
//! of its own, out of reach of the terminal's signals — running with their ports bound. The run
//! stops its services instead, then exits with 128 + the signal's number, as a shell reports a
//! process the signal ended.

use std::future::poll_fn;
use std::task::Poll;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// One of the signals that stop a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopSignal {
    number: libc::c_int,
    name: &'static str,
}

impl StopSignal {
    pub const INTERRUPT: StopSignal = StopSignal {
        number: libc::SIGINT,
        name: "SIGINT",
    };
    pub const TERMINATE: StopSignal = StopSignal {
        number: libc::SIGTERM,
        name: "SIGTERM",
    };
    pub const HANGUP: StopSignal = StopSignal {
        number: libc::SIGHUP,
        name: "SIGHUP",
    };
    pub const QUIT: StopSignal = StopSignal {
        number: libc::SIGQUIT,
        name: "SIGQUIT",
    };
    const ALL: [StopSignal; 4] = [
        StopSignal::INTERRUPT,
        StopSignal::TERMINATE,
        StopSignal::HANGUP,
        StopSignal::QUIT,
    ];

    /// `SIGTERM`.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 131 for
    /// SIGQUIT.
    pub fn exit_code(self) -> i32 {
        crate::exit_code::stopped_by(self.number)
    }
}

/// The stop signals, caught from the moment this is made until the process exits.
pub struct StopSignals {
    streams: Vec<(StopSignal, Signal)>,
}

impl StopSignals {
    /// Starts catching every stop signal. Made before anything is printed or started: a signal
    /// that came before would have had its default action.
    pub fn listen() -> std::io::Result<StopSignals> {
        let streams = StopSignal::ALL
            .into_iter()
            .map(|stop| Ok((stop, signal(SignalKind::from_raw(stop.number))?)))
            .collect::<std::io::Result<_>>()?;
        Ok(StopSignals { streams })
    }

    /// Waits for the next stop signal and says which it was.
    pub async fn recv(&mut self) -> StopSignal {
        poll_fn(|cx| {
            for (stop, stream) in &mut self.streams {
                if stream.poll_recv(cx).is_ready() {
                    return Poll::Ready(*stop);
                }
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal() {
        assert_eq!(StopSignal::INTERRUPT.exit_code(), 130);
        assert_eq!(StopSignal::TERMINATE.exit_code(), 143);
        assert_eq!(StopSignal::HANGUP.exit_code(), 129);
        assert_eq!(StopSignal::QUIT.exit_code(), 131);
    }

    #[tokio::test]
    async fn a_signal_sent_to_the_process_is_received_and_named() {
        let mut signals = StopSignals::listen().expect("signals can be caught");
        // SAFETY: raise(3) on our own process; SIGHUP is caught from here on.
        unsafe {
            libc::raise(libc::SIGHUP);
        }
        let received = tokio::time::timeout(std::time::Duration::from_secs(10), signals.recv())
            .await
            .expect("the signal arrives");
        assert_eq!(received.name(), "SIGHUP");
    }
}
