//! `StreamPrices` (scenario 14): rounds of price updates, one per symbol per round, in the order
//! the symbols were asked for. The first round is sent at once and each next one `interval`
//! after the previous one was due, so the rounds do not drift however slow the client is.
//!
//! The stream is lazy: nothing runs between the client's reads, and a client that cancels just
//! drops it (scenario 15), with nothing left behind on the server.

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use tokio::time::Instant;
use tonic::Status;

use super::market::{DEFAULT_SYMBOLS, Symbol, unix_millis};
use super::pb::{PriceRequest, PriceUpdate};

/// Rounds when the request asks for 0.
pub const DEFAULT_TICKS: u32 = 5;
/// Milliseconds between rounds when the request asks for 0.
pub const DEFAULT_INTERVAL_MS: u32 = 100;

/// What a `StreamPrices` request asks for, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    symbols: Vec<Symbol>,
    ticks: u32,
    interval: Duration,
}

impl Plan {
    /// Checks every symbol (before any update is sent) and fills in the defaults.
    pub fn new(request: &PriceRequest) -> Result<Plan, Status> {
        let names: Vec<&str> = if request.symbols.is_empty() {
            DEFAULT_SYMBOLS.to_vec()
        } else {
            request.symbols.iter().map(String::as_str).collect()
        };
        let mut symbols = Vec::with_capacity(names.len());
        for (index, name) in names.into_iter().enumerate() {
            if name.is_empty() {
                return Err(Status::invalid_argument(format!(
                    "symbols[{index}] is empty"
                )));
            }
            match Symbol::find(name) {
                Some(symbol) => symbols.push(symbol),
                None => {
                    return Err(Status::invalid_argument(format!("unknown symbol {name:?}")));
                }
            }
        }
        let ticks = match request.ticks {
            0 => DEFAULT_TICKS,
            ticks => ticks,
        };
        let interval_ms = match request.interval_ms {
            0 => DEFAULT_INTERVAL_MS,
            ms => ms,
        };
        Ok(Plan {
            symbols,
            ticks,
            interval: Duration::from_millis(u64::from(interval_ms)),
        })
    }
}

pub type Updates = Pin<Box<dyn Stream<Item = Result<PriceUpdate, Status>> + Send>>;

/// Where the stream is: the round being sent (1-based; 0 before the first), the next symbol in
/// it, each symbol's last price, and when the round was due.
struct Progress {
    plan: Plan,
    prices: Vec<f64>,
    round: u32,
    next: usize,
    due: Instant,
}

/// The updates `plan` asks for, then the end of the stream.
pub fn updates(plan: Plan) -> Updates {
    let progress = Progress {
        prices: plan.symbols.iter().map(Symbol::quote).collect(),
        next: plan.symbols.len(),
        round: 0,
        due: Instant::now(),
        plan,
    };
    Box::pin(futures_util::stream::unfold(progress, |mut p| async move {
        if p.next == p.plan.symbols.len() {
            if p.round == p.plan.ticks {
                return None;
            }
            p.round += 1;
            p.next = 0;
            if p.round > 1 {
                match p.due.checked_add(p.plan.interval) {
                    Some(due) => {
                        p.due = due;
                        tokio::time::sleep_until(due).await;
                    }
                    // Beyond what an Instant can hold: as good as never.
                    None => tokio::time::sleep(p.plan.interval).await,
                }
            }
        }
        let symbol = p.plan.symbols[p.next];
        let price = symbol.step(p.prices[p.next], p.round);
        p.prices[p.next] = price;
        p.next += 1;
        let update = PriceUpdate {
            symbol: symbol.name.to_string(),
            tick: p.round,
            price,
            timestamp: unix_millis(),
        };
        Some((Ok(update), p))
    }))
}
