//! Items read so far by every stream of a load run, for the live line and the time series:
//! a counter per thread, which only its thread writes (no locked instruction on the path of
//! every item) and the once-a-second sampler sums.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

static COUNTERS: Mutex<Vec<Arc<AtomicU64>>> = Mutex::new(Vec::new());

thread_local! {
    static MINE: Arc<AtomicU64> = {
        let counter = Arc::new(AtomicU64::new(0));
        if let Ok(mut counters) = COUNTERS.lock() {
            counters.push(Arc::clone(&counter));
        }
        counter
    };
}

/// One more item read on this thread.
pub fn count_item() {
    let _ = MINE.try_with(|counter| {
        // Only this thread writes its counter: a load and a store, no read-modify-write.
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    });
}

/// Items read so far, on every thread (those that ended included).
pub fn total() -> u64 {
    COUNTERS
        .lock()
        .map(|counters| counters.iter().map(|c| c.load(Ordering::Relaxed)).sum())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_on_every_thread_add_up() {
        let before = total();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..1000 {
                        count_item();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("the thread ends");
        }
        // Other tests may count too: at least these.
        assert!(total() - before >= 4000);
    }
}
