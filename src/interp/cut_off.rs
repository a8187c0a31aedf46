//! A load's iteration cut off at the end of the load (after its graceful stop, or at Ctrl-C):
//! the test's future is dropped mid-step, and what its streams had measured until then is
//! reported — the streams it had ended, the one a block was reading (an HTTP body, a gRPC call's
//! replies, a WebSocket's messages), and its named streams — as k6 keeps what an interrupted
//! iteration emitted. Streams read inside a `parallel`'s branches are not: each branch's run
//! is dropped with the test's.

use std::time::{Duration, Instant};

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
        if let Some(exchange) = self.exchange.as_mut()
            && let Some(reading) = exchange.reading.take()
            && let Some(stats) = exchange.stats.as_mut()
        {
            stats.duration = Some(reading.origin.elapsed());
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
    }
}
