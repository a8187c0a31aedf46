//! Reading a named stream in the background: a task of its own owns the stream's reader and
//! reads ahead into the reader's bounded buffer while other steps run, until a block holds the
//! stream again (the task is stopped and gives the reader back) or the stream is closed.
//!
//! Structured: the task is owned by a [`Background`], which stops it when dropped, so a
//! cancelled branch or a failed test leaves no task reading behind it.
//!
//! An unnamed stream is read ahead the same way, into the same buffer, during a `wait` between
//! steps ([`read_ahead_until`]), on the test's own task: the block after it takes what came.

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ast::{Spanned, StreamKind};
use crate::interp::matcher::Terminal;
use crate::interp::stream::Next;
use crate::interp::unreadable::unreadable;
use crate::outcome::Failure;
use crate::source::Span;
use crate::transport::framing::FrameError;
use crate::transport::item::Item;

/// The most items a stream read in the background keeps for a block that has not held it yet,
/// and the most body bytes they may take: past either, reading stops and the stream fails.
pub const MAX_BUFFERED_ITEMS: usize = 10_000;
pub const MAX_BUFFERED_BYTES: u64 = 64 * 1024 * 1024;

/// The failure of a step (not a block: those fail in `stream`) that read a call's replies or a
/// socket's messages up to where reading ahead stopped at its bound, at `span`.
pub(super) fn read_past_buffer(position: u64, span: Span) -> Failure {
    let error = FrameError::BufferFull {
        items: MAX_BUFFERED_ITEMS,
        bytes: MAX_BUFFERED_BYTES,
    };
    unreadable(error, position, &Spanned::new(StreamKind::Messages, span))
}

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

/// Reads ahead on the caller's task until `until` (a `wait` between steps), each read bounded by
/// `deadline` (the test's); then, if reading ahead stopped sooner (the stream ended, or the
/// buffer is full), waits out the rest. The reads are cancel-safe: the one under way at `until`
/// is dropped, and everything read before it is kept.
pub(super) async fn read_ahead_until<R: ReadsAhead>(
    reader: &mut R,
    until: Instant,
    deadline: Instant,
) {
    let reading = async { while reader.read_ahead(deadline).await {} };
    let _ = tokio::time::timeout_at(until.into(), reading).await;
    tokio::time::sleep_until(until.into()).await;
}

impl<R: ReadsAhead> Drop for Background<R> {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Items read ahead of the blocks, with their arrival times, and how reading ahead stopped.
#[derive(Default)]
pub(super) struct ReadAhead {
    items: VecDeque<(Item, Duration)>,
    /// Bytes read into `items` that no block has taken yet.
    bytes: u64,
    /// The ending or error reading ahead met, for the block that reads up to it.
    stopped: Option<Result<Next, FrameError>>,
    /// The buffer reached its bound: the stream fails once a block reads up to here.
    full: bool,
    /// When reading ahead met the stream's end (or error), until a block takes it.
    stopped_at: Option<Instant>,
    /// When the end a block just took from here came: the block times the stream's end by it,
    /// not by when it took it (see [`ReadAhead::take_end_time`]).
    taken_end_at: Option<Instant>,
}

impl ReadAhead {
    /// What a block reads first: the items read ahead, then how reading ahead stopped. `None`
    /// when there is nothing: read on from the source.
    #[inline]
    pub(super) fn next(&mut self) -> Option<Result<Next, FrameError>> {
        // Nothing read ahead is by far the most common case (a block reads the stream itself):
        // said before anything is taken, it costs no copy of an empty `Next`.
        if self.items.is_empty() && !self.full && self.stopped.is_none() {
            return None;
        }
        if let Some((item, at)) = self.items.pop_front() {
            if self.items.is_empty() {
                self.bytes = 0;
            }
            return Some(Ok(Next::Item(item, at)));
        }
        if self.full {
            return Some(Err(FrameError::BufferFull {
                items: MAX_BUFFERED_ITEMS,
                bytes: MAX_BUFFERED_BYTES,
            }));
        }
        let stopped = self.stopped.take();
        if stopped.is_some() {
            self.taken_end_at = self.stopped_at.take();
        }
        stopped
    }

    /// When the end just taken from here came, once: `None` when it was read directly (it came
    /// as it was taken).
    pub(super) fn take_end_time(&mut self) -> Option<Instant> {
        self.taken_end_at.take()
    }

    /// What the source's `next` gives first: an item read ahead, or how reading ahead stopped
    /// (at its bound, a `dropped` for a single line: `buffer_exhausted` tells a block); `None`
    /// when there is nothing, so the source is read on.
    pub(super) fn taken(&mut self) -> Option<Next> {
        Some(match self.next()? {
            Ok(next) => next,
            Err(error) => Next::Ended(Terminal::Dropped(error.to_string())),
        })
    }

    /// Whether reading ahead may go on.
    pub(super) fn reading(&self) -> bool {
        !self.full && self.stopped.is_none()
    }

    /// Keeps what one read ahead gave (`bytes` of the source); `false` once reading ahead
    /// stops: the source ended or failed, the deadline came, or the buffer is full.
    pub(super) fn keep(&mut self, next: Result<Next, FrameError>, bytes: u64) -> bool {
        match next {
            Ok(Next::Item(item, at)) => {
                self.bytes += bytes;
                self.items.push_back((item, at));
                if self.items.len() >= MAX_BUFFERED_ITEMS || self.bytes >= MAX_BUFFERED_BYTES {
                    self.full = true;
                    return false;
                }
                true
            }
            Ok(Next::TimedOut) => false,
            stopped => {
                self.stopped = Some(stopped);
                self.stopped_at = Some(Instant::now());
                false
            }
        }
    }

    /// The items no block took, for the figures of a stream closed before one did.
    pub(super) fn take(&mut self) -> impl Iterator<Item = (Item, Duration)> + '_ {
        self.bytes = 0;
        self.items.drain(..)
    }

    pub(super) fn full(&self) -> bool {
        self.full
    }

    pub(super) fn has_items(&self) -> bool {
        !self.items.is_empty()
    }

    /// Reading ahead stopped at its bound and everything before that was taken.
    pub(super) fn exhausted(&self) -> bool {
        self.full && self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::matcher::Terminal;

    fn line(n: usize) -> Result<Next, FrameError> {
        Ok(Next::Item(
            Item::Line(format!("line {n}")),
            Duration::from_millis(n as u64),
        ))
    }

    #[test]
    fn items_read_ahead_come_first_with_their_times_then_how_reading_stopped() {
        let mut ahead = ReadAhead::default();
        assert!(ahead.keep(line(1), 7));
        assert!(ahead.keep(line(2), 7));
        assert!(!ahead.keep(Ok(Next::Ended(Terminal::End)), 0));
        assert!(!ahead.reading());
        let taken: Vec<String> = std::iter::from_fn(|| ahead.next())
            .map(|next| match next {
                Ok(Next::Item(Item::Line(text), at)) => format!("{text} at {at:?}"),
                Ok(Next::Ended(Terminal::End)) => "end".to_string(),
                _ => "other".to_string(),
            })
            .collect();
        assert_eq!(taken, ["line 1 at 1ms", "line 2 at 2ms", "end"]);
    }

    #[test]
    fn reading_ahead_stops_at_its_bound_and_the_stream_then_fails() {
        let mut ahead = ReadAhead::default();
        for n in 1..MAX_BUFFERED_ITEMS {
            assert!(ahead.keep(line(n), 1), "stopped early at {n}");
        }
        assert!(!ahead.keep(line(MAX_BUFFERED_ITEMS), 1));
        assert!(!ahead.reading());
        for _ in 0..MAX_BUFFERED_ITEMS {
            assert!(matches!(ahead.next(), Some(Ok(Next::Item(..)))));
        }
        assert_eq!(
            ahead.next().map(|next| next.err()),
            Some(Some(FrameError::BufferFull {
                items: MAX_BUFFERED_ITEMS,
                bytes: MAX_BUFFERED_BYTES,
            }))
        );
    }

    #[test]
    fn reading_ahead_stops_at_its_byte_bound() {
        let mut ahead = ReadAhead::default();
        assert!(ahead.keep(line(1), MAX_BUFFERED_BYTES - 1));
        assert!(!ahead.keep(line(2), 1));
        assert!(ahead.full());
    }
}
