//! Reading a named stream in the background: a task of its own owns the stream's reader and
//! reads ahead into the reader's bounded buffer while other steps run, until a block holds the
//! stream again (the task is stopped and gives the reader back) or the stream is closed.
//!
//! Structured: the task is owned by a [`Background`], which stops it when dropped, so a
//! cancelled branch or a failed test leaves no task reading behind it.

use std::future::Future;
use std::time::Instant;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A reader that can read ahead of the blocks: one item per call, `false` once there is
/// nothing more to read for now. Must be cancel-safe (the task stops it between awaits).
pub(super) trait ReadsAhead: Send + 'static {
    fn read_ahead(&mut self, deadline: Instant) -> impl Future<Output = bool> + Send;
}

/// A reader on a task of its own.
pub(super) struct Background<R: ReadsAhead> {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<R>>,
}

impl<R: ReadsAhead> Background<R> {
    /// Starts reading ahead, until `deadline` at the latest (the test's).
    pub(super) fn start(mut reader: R, deadline: Instant) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    // A stop is taken before another read starts.
                    biased;
                    _ = &mut stopped => break,
                    more = reader.read_ahead(deadline) => {
                        if !more {
                            break;
                        }
                    }
                }
            }
            reader
        });
        Background {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the task and takes the reader back, with everything it read ahead. `None` if the
    /// task panicked (a bug: the reader is lost with it).
    pub(super) async fn stop(mut self) -> Option<R> {
        if let Some(stop) = self.stop.take() {
            // The task may have stopped on its own already: then nobody listens.
            let _ = stop.send(());
        }
        let task = self.task.take()?;
        task.await.ok()
    }
}

impl<R: ReadsAhead> Drop for Background<R> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
