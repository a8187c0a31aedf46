//! Counts of streaming responses — open, finished, and dropped by the client — served by
//! `GET /stats` so that a spec can check the server is healthy after a client aborts.
//!
//! The counting lives in [`Tracked`], a wrapper around a response body stream. Hyper drops the
//! body when the response ends *or* when the client goes away, so the wrapper's `Drop` is the one
//! place that sees every stream's fate: if the inner stream had reached its end, it finished;
//! otherwise the client left early. An endpoint that must react to a client leaving (the fragile
//! chat under `/bad/fragile/`) hands the wrapper an [`OnCancel`] to run there, so it learns of it
//! exactly when `/stats` counts it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use bytes::Bytes;
use futures_util::Stream;
use serde::Serialize;

use super::AppState;
use super::body::Chunks;
use super::params::{BadRequest, Params, QueryPairs};

/// Shared counters; one set per router.
#[derive(Debug, Default)]
pub struct Stats {
    active: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    /// Woken whenever a stream finishes or is cancelled, for `/stats?cancelled_above=N`.
    changed: tokio::sync::Notify,
}

/// The `/stats` body.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Snapshot {
    pub active_streams: u64,
    pub completed_streams: u64,
    pub cancelled_streams: u64,
}

impl Stats {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            active_streams: self.active.load(Ordering::Relaxed),
            completed_streams: self.completed.load(Ordering::Relaxed),
            cancelled_streams: self.cancelled.load(Ordering::Relaxed),
        }
    }
}

/// `GET /stats[?cancelled_above=N[&timeout=5s]]`. With `cancelled_above`, the answer waits
/// (at most `timeout`, default 5 s, at most 30 s) until more than N streams were cancelled: a
/// client that just hung up cannot know when the server noticed, and this way a spec need not
/// guess with a sleep.
pub async fn handler(
    State(state): State<AppState>,
    Query(query): QueryPairs,
) -> Result<Json<Snapshot>, BadRequest> {
    let params = Params::new(query, &["cancelled_above", "timeout"])?;
    if let Some(above) = params.opt_u64("cancelled_above")? {
        let timeout = params
            .duration("timeout", Duration::from_secs(5))?
            .min(Duration::from_secs(30));
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = state.stats.changed.notified();
            if state.stats.cancelled.load(Ordering::Relaxed) > above {
                break;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                break;
            }
        }
    }
    Ok(Json(state.stats.snapshot()))
}

/// What to do when the client drops a stream before its end.
pub type OnCancel = Box<dyn FnOnce() + Send>;

/// A body stream that is counted as active from creation until it ends or is dropped.
pub struct Tracked {
    inner: Chunks,
    stats: Arc<Stats>,
    finished: bool,
    on_cancel: Option<OnCancel>,
}

impl Tracked {
    pub fn new(inner: Chunks, stats: Arc<Stats>, on_cancel: Option<OnCancel>) -> Tracked {
        stats.active.fetch_add(1, Ordering::Relaxed);
        Tracked {
            inner,
            stats,
            finished: false,
            on_cancel,
        }
    }

    /// Counts the stream as finished as soon as it ends, not when hyper gets round to dropping
    /// it, so `/stats` is up to date the moment the client has seen the end.
    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.stats.active.fetch_sub(1, Ordering::Relaxed);
            self.stats.completed.fetch_add(1, Ordering::Relaxed);
            self.stats.changed.notify_waiters();
        }
    }
}

impl Stream for Tracked {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let item = self.inner.as_mut().poll_next(cx);
        match &item {
            // A deliberate abort (an error item) is the end the endpoint planned, not a
            // cancellation by the client, so it counts as finished too.
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.finish(),
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        item
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.finished {
            self.stats.active.fetch_sub(1, Ordering::Relaxed);
            self.stats.cancelled.fetch_add(1, Ordering::Relaxed);
            if let Some(on_cancel) = self.on_cancel.take() {
                on_cancel();
            }
            self.stats.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{StreamExt, stream};

    fn chunks(n: usize) -> Chunks {
        Box::pin(stream::iter(
            (0..n)
                .map(|_| Ok(Bytes::from_static(b"x")))
                .collect::<Vec<_>>(),
        ))
    }

    /// An [`OnCancel`] that counts its calls in `calls`.
    fn count_into(calls: &Arc<AtomicU64>) -> Option<OnCancel> {
        let calls = Arc::clone(calls);
        Some(Box::new(move || {
            calls.fetch_add(1, Ordering::Relaxed);
        }))
    }

    #[tokio::test]
    async fn finished_and_dropped_streams_are_told_apart() {
        let stats = Arc::new(Stats::default());
        let (whole_cancels, partial_cancels) = (Arc::default(), Arc::default());
        let mut whole = Tracked::new(chunks(2), stats.clone(), count_into(&whole_cancels));
        let partial = Tracked::new(chunks(2), stats.clone(), count_into(&partial_cancels));
        assert_eq!(stats.snapshot().active_streams, 2);
        while whole.next().await.is_some() {}
        drop(whole);
        drop(partial);
        assert_eq!(
            stats.snapshot(),
            Snapshot {
                active_streams: 0,
                completed_streams: 1,
                cancelled_streams: 1
            }
        );
        // Only the stream the client left runs its `on_cancel`, once.
        assert_eq!(whole_cancels.load(Ordering::Relaxed), 0);
        assert_eq!(partial_cancels.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_planned_abort_is_not_a_cancellation() {
        let stats = Arc::new(Stats::default());
        let cancels = Arc::default();
        let aborting: Chunks = Box::pin(stream::iter([
            Ok(Bytes::from_static(b"x")),
            Err(std::io::Error::other("planned")),
        ]));
        let mut tracked = Tracked::new(aborting, stats.clone(), count_into(&cancels));
        while let Some(Ok(_)) = tracked.next().await {}
        drop(tracked);
        assert_eq!(stats.snapshot().completed_streams, 1);
        assert_eq!(cancels.load(Ordering::Relaxed), 0);
    }
}
