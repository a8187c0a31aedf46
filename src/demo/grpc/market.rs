//! The demo's market: the symbols it knows, their deterministic prices, and timestamps.
//!
//! Every price stays within [`MIN_PRICE`]..=[`MAX_PRICE`]. A symbol's quote is its base price;
//! its stream of updates is a pseudo-random walk from there, the same for every request, so a
//! spec can bound prices (and a test can repeat a run) without guessing.

use std::time::{SystemTime, UNIX_EPOCH};

pub const MIN_PRICE: f64 = 90.0;
pub const MAX_PRICE: f64 = 120.0;

/// The known symbols and their base prices.
const SYMBOLS: &[(&str, f64)] = &[
    ("AAPL", 105.25),
    ("GOOG", 112.40),
    ("MSFT", 98.75),
    ("AMZN", 109.10),
    ("TSLA", 93.60),
    ("NVDA", 116.80),
    ("META", 101.30),
];

/// The symbols `StreamPrices` streams when asked for none.
pub const DEFAULT_SYMBOLS: &[&str] = &["AAPL", "GOOG"];

/// A known symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Symbol {
    pub name: &'static str,
    base: f64,
    seed: u64,
}

impl Symbol {
    /// The known symbol spelt exactly `name`, if any.
    pub fn find(name: &str) -> Option<Symbol> {
        SYMBOLS
            .iter()
            .position(|(known, _)| *known == name)
            .map(|index| {
                let (name, base) = SYMBOLS[index];
                Symbol {
                    name,
                    base,
                    seed: index as u64 + 1,
                }
            })
    }

    /// The price a quote shows.
    pub fn quote(&self) -> f64 {
        self.base
    }

    /// The walk's next price after `price`, at `tick` (1, 2, …): a step of at most ±1.50,
    /// reflected back inside the price range, rounded to cents.
    pub fn step(&self, price: f64, tick: u32) -> f64 {
        let random = splitmix64(self.seed.wrapping_mul(0x1_0000_0001) ^ u64::from(tick));
        // 301 steps of a cent from -1.50 to +1.50.
        let step = ((random % 301) as f64 - 150.0) / 100.0;
        let mut next = price + step;
        if next > MAX_PRICE {
            next = 2.0 * MAX_PRICE - next;
        } else if next < MIN_PRICE {
            next = 2.0 * MIN_PRICE - next;
        }
        (next.clamp(MIN_PRICE, MAX_PRICE) * 100.0).round() / 100.0
    }
}

/// Now, in milliseconds since the Unix epoch.
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// A well-mixed 64-bit hash (the SplitMix64 finaliser).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_price_of_a_long_walk_stays_in_range() {
        for (name, _) in SYMBOLS {
            let symbol = Symbol::find(name).expect("a known symbol");
            let mut price = symbol.quote();
            assert!((MIN_PRICE..=MAX_PRICE).contains(&price));
            for tick in 1..=10_000 {
                price = symbol.step(price, tick);
                assert!((MIN_PRICE..=MAX_PRICE).contains(&price), "{name} {price}");
            }
        }
    }

    #[test]
    fn symbols_are_case_sensitive() {
        assert!(Symbol::find("AAPL").is_some());
        assert!(Symbol::find("aapl").is_none());
        assert!(Symbol::find("").is_none());
    }
}
