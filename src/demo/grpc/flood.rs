//! `Flood`: `count` small price updates as fast as the connection takes them, for the client's
//! throughput benchmark.
//!
//! The stream is always ready and does nothing but build the next message, so tonic's encoder
//! packs ~32 KiB of messages into each HTTP/2 data frame before it hands the frame on. The
//! timestamp is read once per [`CLOCK_EVERY`] messages, not per message.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tonic::Status;

use super::market::{MIN_PRICE, unix_millis};
use super::pb::PriceUpdate;

/// Messages when the request asks for 0.
pub const DEFAULT_COUNT: u32 = 1_000_000;

/// How many messages share a timestamp.
const CLOCK_EVERY: u32 = 1024;

/// The updates: ticks 1..=count of `AAPL`, prices cycling through 90.00..=120.00.
#[derive(Debug)]
pub struct Flood {
    sent: u32,
    count: u32,
    timestamp: i64,
}

impl Flood {
    pub fn new(count: u32) -> Flood {
        Flood {
            sent: 0,
            count: if count == 0 { DEFAULT_COUNT } else { count },
            timestamp: unix_millis(),
        }
    }
}

impl Stream for Flood {
    type Item = Result<PriceUpdate, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.sent == self.count {
            return Poll::Ready(None);
        }
        self.sent += 1;
        let tick = self.sent;
        if tick.is_multiple_of(CLOCK_EVERY) {
            self.timestamp = unix_millis();
        }
        Poll::Ready(Some(Ok(PriceUpdate {
            symbol: String::from("AAPL"),
            tick,
            price: MIN_PRICE + f64::from(tick % 3001) / 100.0,
            timestamp: self.timestamp,
        })))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.count - self.sent).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::demo::grpc::market::MAX_PRICE;

    #[tokio::test]
    async fn sends_count_updates_with_ticks_in_order_and_prices_in_range() {
        let updates: Vec<PriceUpdate> = Flood::new(5000)
            .map(|update| update.expect("an update"))
            .collect()
            .await;
        assert_eq!(updates.len(), 5000);
        for (index, update) in updates.iter().enumerate() {
            assert_eq!(update.tick as usize, index + 1);
            assert!((MIN_PRICE..=MAX_PRICE).contains(&update.price));
        }
    }

    #[test]
    fn zero_means_the_default_count() {
        assert_eq!(Flood::new(0).size_hint(), (1_000_000, Some(1_000_000)));
    }
}
