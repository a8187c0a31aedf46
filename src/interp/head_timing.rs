//! What every exchange of a load run — an HTTP request, a gRPC call, a WebSocket — reports of
//! its connection and its response head, whether or not a block read it as a stream: the time
//! its TCP connect took (`connect`) and the time from sending it to its head (`ttfb`). One given
//! up before its head came (a broken time bound, the test's timeout) counts the time it was
//! waited for as its ttfb: leaving it out would let a server too slow to answer look like one
//! that answered at once (as k6 counts a timed-out request's duration).

use super::*;

impl TestRun<'_> {
    /// In a load run: the connect and ttfb of the current exchange when no block read it as a
    /// stream (those report themselves), once. Outside a load run, nothing.
    pub(super) fn report_unread_exchange(&mut self) {
        let report = if let Some(exchange) = self.exchange.as_mut() {
            exchange.unread_report()
        } else if let Some(call) = self.call.as_mut() {
            call.unread_report()
        } else if let Some(socket) = self.socket.as_mut() {
            socket.unread_report()
        } else {
            None
        };
        if let Some(report) = report {
            self.streams.push(StreamReport {
                branch: self.branch.clone(),
                ..report
            });
        }
    }

    /// In a load run: an exchange given up `waited` after it was sent, before its head came.
    pub(super) fn report_given_up(&mut self, span: Span, waited: Duration) {
        if let Some(report) = StreamStats::abandoned_request_report(span, waited) {
            self.streams.push(StreamReport {
                branch: self.branch.clone(),
                ..report
            });
        }
    }
}

impl Exchange {
    /// See [`TestRun::report_unread_exchange`].
    fn unread_report(&mut self) -> Option<StreamReport> {
        if self.streamed || self.name.is_some() {
            return None;
        }
        let report = self.stats.as_ref()?.plain_request_report(self.span)?;
        // Once: a test's last request is reported at its end, whichever way it ended.
        self.streamed = true;
        Some(report)
    }
}
