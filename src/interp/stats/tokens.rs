//! When a stream's output tokens came: the items that took a value of the capture `--tokens`
//! names (`$.choices[0].delta.content == string -> token`), for a load's time to first token
//! and inter-token latency. An LLM stream's first item is often no token (OpenAI's and vLLM's
//! first chunk carries the role, with empty content), and its last ones neither (the finish
//! reason, usage, `[DONE]`): timed by its items, the time to first token read the first chunk's
//! and every tenth gap was the near-zero one before `[DONE]`. Only the blocks that capture the
//! name time tokens: a feed's stream in the same load has none to wait for.

use std::time::Duration;

use super::GaveUp;
use super::gaps::{GapSamples, Gaps};

#[derive(Debug, Clone, Default)]
pub(super) struct TokenTimes {
    /// From the request to the first token.
    first: Option<Duration>,
    /// Between consecutive tokens of one connection.
    gaps: Gaps,
    gave_up: Option<GaveUp>,
}

/// A stream's tokens as a load run takes them.
#[derive(Debug, Clone)]
pub struct TokenReport {
    pub first: Option<Duration>,
    pub gaps: GapSamples,
    /// The wait for a token that never came, when the block gave up on it: the time since the
    /// request when no token had come (`GaveUp::FirstItem`), else since the last one.
    pub gave_up: Option<GaveUp>,
}

impl TokenTimes {
    pub(super) fn arrived(&mut self, at: Duration) {
        self.first.get_or_insert(at);
        self.gaps.arrived(at);
    }

    /// A new connection: the wait across it is no gap between tokens the server sent in one go.
    pub(super) fn reconnected(&mut self) {
        self.gaps.last_at = None;
    }

    /// The block gave up waiting for the next item `at` (since the request): the time since the
    /// last token counts as a gap between tokens, as it does between items, and with no token
    /// yet, the time waited as the first token's (a lower bound of it).
    pub(super) fn gave_up_waiting(&mut self, at: Duration) {
        self.gave_up = Some(match self.gaps.last_at {
            Some(last) => GaveUp::Gap(at.saturating_sub(last)),
            None if self.first.is_none() => GaveUp::FirstItem(at),
            // Tokens came on an earlier connection only.
            None => return,
        });
    }

    pub(super) fn report(&self) -> TokenReport {
        TokenReport {
            first: self.first,
            gaps: self.gaps.samples(),
            gave_up: self.gave_up,
        }
    }

    #[cfg(test)]
    pub(super) fn gap_micros(&self) -> Vec<u64> {
        match self.gaps.samples() {
            GapSamples::Few(gaps) => gaps,
            GapSamples::Histogram { gaps, .. } => gaps
                .iter_recorded()
                .map(|v| v.value_iterated_to())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_timed_by_themselves_across_a_reconnection() {
        let ms = Duration::from_millis;
        let mut tokens = TokenTimes::default();
        for at in [1000, 1020, 1045] {
            tokens.arrived(ms(at));
        }
        tokens.reconnected();
        tokens.arrived(ms(3000));
        tokens.arrived(ms(3010));
        tokens.gave_up_waiting(ms(3510));
        let report = tokens.report();
        assert_eq!(report.first, Some(ms(1000)));
        assert_eq!(tokens.gap_micros(), [20_000, 25_000, 10_000]);
        assert_eq!(report.gave_up, Some(GaveUp::Gap(ms(500))));
        // Timed, and no token came: the time waited is the first token's.
        let mut waiting = TokenTimes::default();
        waiting.gave_up_waiting(ms(2000));
        assert_eq!(waiting.report().gave_up, Some(GaveUp::FirstItem(ms(2000))));
    }
}
