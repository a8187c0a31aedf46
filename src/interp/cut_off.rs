//! A load's iteration cut off at the end of the load (after its graceful stop, or at Ctrl-C):
//! the test's future is dropped mid-step, and what its streams had measured until then is
//! reported — the streams it had ended, the one a block was reading (an HTTP body, a gRPC call's
//! replies, a WebSocket's messages), and its named streams — as k6 keeps what an interrupted
//! iteration emitted. So do the instances of a `parallel` the cut came in: those still running
//! (recursively, their own `parallel`s too) and those that had ended, not joined yet.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::TestRun;
use crate::outcome::StreamReport;
use crate::source::Span;

/// Named streams are closed as at the end of a test, for what they read; a close that takes
/// longer (a gRPC call that does not answer its cancel) is not waited for.
const CLOSE_NAMED: Duration = Duration::from_secs(1);

/// What a block reading a stream reports of it, should the run be cut off before the block can
/// report it itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reading {
    pub kind: &'static str,
    /// The block's `expect` line.
    pub span: Span,
    /// When the stream's request was sent: its duration counts from here.
    pub origin: Instant,
}

impl TestRun<'_> {
    /// After the run's future was dropped mid-step: reports what the streams still open had
    /// measured, beside those already reported.
    pub(super) async fn report_cut_off_streams(&mut self) {
        let reported_before = self.streams.len();
        if let Some(exchange) = self.exchange.as_mut()
            && let Some(reading) = exchange.reading.take()
            && let Some(stats) = exchange.stats.as_mut()
        {
            let waited = reading.origin.elapsed();
            // The wait for the next item, cut short: a stall still going counts (a lower
            // bound), as a block that gives up counts its wait.
            stats.gave_up_waiting(waited);
            stats.duration = Some(waited);
            self.streams.push(StreamReport {
                name: exchange.name.as_ref().map(|name| name.value.clone()),
                branch: self.branch.clone(),
                ..stats.report(reading.kind, reading.span)
            });
        }
        let branch = self.branch.clone();
        let call = self.call.as_mut().and_then(|call| call.cut_off_report());
        let socket = self
            .socket
            .as_mut()
            .and_then(|socket| socket.cut_off_report());
        for report in [call, socket].into_iter().flatten() {
            self.streams.push(StreamReport {
                branch: branch.clone(),
                ..report
            });
        }
        let _ = tokio::time::timeout(CLOSE_NAMED, self.close_named()).await;
        // What this run reports from here on was still open at the cut (a named stream the
        // server had just ended is taken as cut too: left out rather than guessed). The streams
        // of the branches below mark their own.
        for stream in &mut self.streams[reported_before..] {
            stream.cut_off = true;
        }
        // The branches of a `parallel` the cut came in: their runs outlive their futures (see
        // `TestRun::branches`). One that had ended reported its streams already, and has nothing
        // open; one still running reports as this run does. All at once: each closes its named
        // streams within `CLOSE_NAMED`, and a `parallel` may hold thousands of instances.
        let mut branches = std::mem::take(&mut self.branches);
        branches
            .iter_mut()
            .map(|branch| Box::pin(branch.report_cut_off_streams()))
            .collect::<FuturesUnordered<_>>()
            .collect::<()>()
            .await;
        for mut branch in branches {
            branch.report_unread_exchange();
            self.streams.append(&mut branch.streams);
        }
    }
}
