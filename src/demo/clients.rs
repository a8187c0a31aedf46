//! What the demo remembers per client name (`client=` of `/sse/retry` and `/bad/fragile/`):
//! the instant each name was last recorded, in a map bounded so that a run making up endless
//! names cannot grow it without limit. When it is full, the name recorded longest ago is
//! forgotten first.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// How many names a map remembers by default.
const MAX_CLIENTS: usize = 1024;

/// Client name → when it was last recorded.
#[derive(Debug)]
pub struct Clients {
    seen: Mutex<HashMap<String, Instant>>,
    capacity: usize,
}

impl Default for Clients {
    fn default() -> Clients {
        Clients::with_capacity(MAX_CLIENTS)
    }
}

impl Clients {
    /// A map that remembers at most `capacity` names (at least one).
    pub fn with_capacity(capacity: usize) -> Clients {
        Clients {
            seen: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Records `client` at `now`; returns when it was recorded before, if it is remembered.
    pub fn record(&self, client: &str, now: Instant) -> Option<Instant> {
        let mut seen = self.lock();
        if !seen.contains_key(client) && seen.len() >= self.capacity {
            forget_oldest(&mut seen);
        }
        seen.insert(client.to_owned(), now)
    }

    /// Whether `client` is remembered.
    pub fn contains(&self, client: &str) -> bool {
        self.lock().contains_key(client)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        // A poisoned lock only means another request panicked mid-update; a map of instants is
        // still usable.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn forget_oldest(seen: &mut HashMap<String, Instant>) {
    let oldest = seen
        .iter()
        .min_by_key(|(_, at)| **at)
        .map(|(name, _)| name.clone());
    if let Some(name) = oldest {
        seen.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn records_and_forgets_the_oldest_when_full() {
        let clients = Clients::with_capacity(2);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(clients.record("a", at(1)), None);
        assert_eq!(clients.record("b", at(2)), None);
        assert_eq!(clients.record("a", at(3)), Some(at(1)));
        // Full: `b` (recorded at 2) is older than `a` (now 3), so `b` goes.
        assert_eq!(clients.record("c", at(4)), None);
        assert_eq!(clients.record("a", at(5)), Some(at(3)));
        assert_eq!(clients.record("b", at(6)), None);
        // ...and now `c` (4) was the oldest.
        assert_eq!(clients.record("a", at(7)), Some(at(5)));
        assert_eq!(clients.record("c", at(8)), None);
        assert!(clients.contains("a") && clients.contains("c"));
        assert!(!clients.contains("b"));
    }
}
