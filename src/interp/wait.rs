//! `wait D` between steps: the test pauses, but the stream it has open — the HTTP body a later
//! block reads, the current WebSocket, the current gRPC call — is read ahead meanwhile, as a
//! named stream is between its blocks, so what arrives keeps the time it arrived. (A `wait`
//! inside a block is a slow consumer instead: it stops reading, see `stream`.)

use super::*;
use crate::interp::background::read_ahead_until;

impl TestRun<'_> {
    /// Waits `duration` (never past the test's deadline), reading the open exchange ahead.
    ///
    /// By now the steps before have sent the request and read its head, or opened the socket
    /// (see [`TestRun::park_current`]); a gRPC call nothing has started yet starts here, as the
    /// request of an HTTP exchange goes out before a `wait`, and its head is read meanwhile.
    pub(super) async fn wait_between_steps(&mut self, duration: Duration) -> Result<(), Failure> {
        self.ensure_call().await?;
        let until = Instant::now().saturating_add(duration).min(self.deadline);
        let deadline = self.deadline;
        if let Some(live) = self.socket.as_mut().and_then(|socket| socket.live_mut()) {
            read_ahead_until(live, until, deadline).await;
        } else if let Some(live) = self.call.as_mut().and_then(|call| call.live_mut()) {
            read_ahead_until(live, until, deadline).await;
        } else if let Some(reader) = self.body_to_read_ahead() {
            read_ahead_until(&mut **reader, until, deadline).await;
        } else {
            tokio::time::sleep_until(until.into()).await;
        }
        Ok(())
    }

    /// The current request's body as a block after the wait will read it, when one will (see
    /// [`Opening::stream_read_from`]): a whole body, or one a failure shows the start of, is left
    /// for the step that reads it.
    fn body_to_read_ahead(&mut self) -> Option<&mut Box<http_stream::HttpReader>> {
        let max_item_size = self.settings.max_item_size;
        // A named request is parked before the wait: it is read in the background already.
        let exchange = self.exchange.as_mut().filter(|e| e.name.is_none())?;
        if exchange.waited.is_none() {
            let response = exchange.response.as_ref()?;
            let kind = exchange
                .opening
                .stream_read_from(response.status, response.content_type())?;
            let response = exchange.response.take()?;
            exchange.waited = Some(Box::new(http_stream::HttpReader::new(
                response,
                kind,
                max_item_size,
            )));
            exchange.body_done = true;
        }
        exchange.waited.as_mut()
    }
}
