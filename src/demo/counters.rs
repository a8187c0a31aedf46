//! Named counters under `/counters/` for the race scenario (22): an atomic increment, and its
//! failing twin (`?unsafe=1`), a read, a pause and a write, so that increments that overlap
//! lose updates as a careless server's would.
//!
//! Bounded: at most [`Limits::counters`] counters (then 503); one not incremented for
//! [`Limits::idle`] is dropped and reads 0 again.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use super::params::{self, BadRequest, Params, QueryPairs, Refused};
use crate::duration::format_duration;

/// How long an unsafe increment waits between its read and its write: long enough that
/// requests sent at the same instant all read before any writes, even on a busy machine.
pub const UNSAFE_PAUSE: Duration = Duration::from_millis(50);

/// What the counters may hold.
#[derive(Debug, Clone)]
pub struct Limits {
    pub counters: usize,
    /// How long a counter that is not incremented is kept.
    pub idle: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            counters: 10_000,
            idle: Duration::from_secs(10 * 60),
        }
    }
}

/// Every counter of one router.
#[derive(Debug)]
pub struct Counters {
    limits: Limits,
    values: Mutex<HashMap<String, Counter>>,
}

impl Default for Counters {
    fn default() -> Counters {
        Counters::new(Limits::default())
    }
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    value: u64,
    last_used: Instant,
}

impl Counters {
    pub fn new(limits: Limits) -> Counters {
        Counters {
            limits,
            values: Mutex::default(),
        }
    }

    /// The value of `name`: 0 for a counter never incremented, or dropped.
    fn get(&self, name: &str) -> u64 {
        let mut values = self.lock();
        self.live(&mut values, name, Instant::now())
            .map_or(0, |counter| counter.value)
    }

    /// Adds one to `name` at once, as a single step; the new value.
    fn increment(&self, name: &str) -> Result<u64, Refused> {
        self.update(name, |value| value.saturating_add(1))
    }

    /// Adds one to `name` carelessly: reads, pauses for [`UNSAFE_PAUSE`], writes what it read
    /// plus one; the value it wrote. An increment in between is overwritten, so it is lost.
    async fn increment_unsafely(&self, name: &str) -> Result<u64, Refused> {
        let read = self.update(name, |value| value)?;
        tokio::time::sleep(UNSAFE_PAUSE).await;
        let written = read.saturating_add(1);
        self.update(name, |_| written)
    }

    /// Sets `name` (created if need be) to `change` of its value; the new value.
    fn update(&self, name: &str, change: impl FnOnce(u64) -> u64) -> Result<u64, Refused> {
        let now = Instant::now();
        let mut values = self.lock();
        let value = match self.live(&mut values, name, now) {
            Some(counter) => counter.value,
            None => {
                if values.len() >= self.limits.counters {
                    values.retain(|_, counter| !self.idle(counter, now));
                }
                if values.len() >= self.limits.counters {
                    return Err(Refused(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "the demo holds {} counters, its most; a counter is dropped after \
                             {} without an increment",
                            self.limits.counters,
                            format_duration(self.limits.idle)
                        ),
                    ));
                }
                0
            }
        };
        let value = change(value);
        values.insert(
            name.to_owned(),
            Counter {
                value,
                last_used: now,
            },
        );
        Ok(value)
    }

    /// The counter `name` unless it is unknown or idle (then it is dropped here).
    fn live(
        &self,
        values: &mut HashMap<String, Counter>,
        name: &str,
        now: Instant,
    ) -> Option<Counter> {
        let counter = *values.get(name)?;
        if self.idle(&counter, now) {
            values.remove(name);
            return None;
        }
        Some(counter)
    }

    fn idle(&self, counter: &Counter, now: Instant) -> bool {
        now.duration_since(counter.last_used) >= self.limits.idle
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Counter>> {
        // A poisoned lock only means another request panicked mid-update; a map of numbers is
        // still usable.
        self.values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `POST /counters/{name}/increment[?unsafe=1]`: `{"value": n}`, the value after this increment.
pub async fn increment(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): QueryPairs,
) -> Result<Json<Value>, Refused> {
    let params = Params::new(query, &["unsafe"])?;
    let name = params::name(&name)?;
    let value = if params.flag("unsafe")? {
        state.counters.increment_unsafely(name).await?
    } else {
        state.counters.increment(name)?
    };
    Ok(Json(json!({"value": value})))
}

/// `GET /counters/{name}`: `{"value": n}`.
pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): QueryPairs,
) -> Result<Json<Value>, BadRequest> {
    Params::new(query, &[])?;
    let name = params::name(&name)?;
    Ok(Json(json!({"value": state.counters.get(name)})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::join_all;

    #[tokio::test]
    async fn unsafe_increments_that_overlap_lose_updates() {
        let counters = Counters::default();
        // Polled together, all ten read 0 before any of them writes: nine updates are lost.
        let written = join_all((0..10).map(|_| counters.increment_unsafely("c"))).await;
        assert!(written.iter().all(|w| *w == Ok(1)), "{written:?}");
        assert_eq!(counters.get("c"), 1);
        // The safe increment counts every one.
        for n in 2..=11 {
            assert_eq!(counters.increment("c"), Ok(n));
        }
    }

    #[test]
    fn counters_are_bounded_and_idle_ones_are_dropped() {
        let counters = Counters::new(Limits {
            counters: 1,
            idle: Duration::from_secs(3600),
        });
        assert_eq!(counters.increment("a"), Ok(1));
        let refused = counters.increment("b").unwrap_err();
        assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            refused.1,
            "the demo holds 1 counters, its most; a counter is dropped after 1h without an \
             increment"
        );
        // Reading an unknown counter creates nothing.
        assert_eq!(counters.get("b"), 0);

        let counters = Counters::new(Limits {
            counters: 1,
            idle: Duration::ZERO,
        });
        assert_eq!(counters.increment("a"), Ok(1));
        // Idle at once: `a` starts afresh, and makes room for `b`.
        assert_eq!(counters.increment("a"), Ok(1));
        assert_eq!(counters.increment("b"), Ok(1));
        assert_eq!(counters.lock().len(), 1);
    }
}
