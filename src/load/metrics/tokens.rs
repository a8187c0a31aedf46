//! A load's time to first token and inter-token latency, with `--tokens NAME`: timed by the
//! items that took a value of the capture (see [`crate::interp::stats::TokenReport`]), or, when
//! an iteration's capture took a count and no item was a token by itself
//! (`"usage": { "completion_tokens": integer -> tokens }`), by its items.

use std::time::Duration;

use super::{Measured, Metric};
use crate::interp::stats::GaveUp;
use crate::outcome::TestOutcome;

impl Measured {
    /// The token times of an iteration's streams, when it counted tokens.
    pub(super) fn record_token_times(&mut self, outcome: &TestOutcome) {
        let streams = outcome.streams_once();
        // A count captured (`usage.completion_tokens`): no item is a token by itself (the one
        // that carried the count least of all), and the items stand for the tokens.
        if outcome.tokens_counted {
            for stream in streams.into_iter().filter(|stream| !stream.plain) {
                let lag = stream.start_delay;
                if let Some(first) = stream.first_item {
                    self.record_duration(Metric::FirstToken, first + lag);
                }
                if let Some(samples) = &stream.gap_samples {
                    self.record_gaps(Metric::TokenGap, samples);
                }
                self.record_token_wait(stream.gave_up, lag);
            }
            return;
        }
        // The streams whose blocks timed tokens: those that came, and the wait for one that
        // did not (no token at all is no reason to time the items instead).
        for stream in streams {
            let Some(tokens) = &stream.tokens else {
                continue;
            };
            if let Some(first) = tokens.first {
                self.record_duration(Metric::FirstToken, first + stream.start_delay);
            }
            self.record_gaps(Metric::TokenGap, &tokens.gaps);
            self.record_token_wait(tokens.gave_up, stream.start_delay);
        }
    }

    /// A wait for a token given up on: for the first, from the request (and the iteration's
    /// start delay, `lag`), else since the last.
    fn record_token_wait(&mut self, gave_up: Option<GaveUp>, lag: Duration) {
        match gave_up {
            Some(GaveUp::FirstItem(waited)) => {
                self.record_duration(Metric::FirstToken, waited + lag)
            }
            Some(GaveUp::Gap(waited)) => self.record_duration(Metric::TokenGap, waited),
            None => {}
        }
    }
}

/// The time an iteration's output tokens streamed over: from the first token (or, when no item
/// was one by itself, the first item) of the first stream that had one to that stream's end.
pub(super) fn streaming(outcome: &TestOutcome) -> Option<Duration> {
    let first_token = outcome
        .streams
        .iter()
        .filter(|_| !outcome.tokens_counted)
        .find_map(|stream| Some((stream, stream.tokens.as_ref()?.first?)));
    match first_token {
        Some((stream, first)) => Some(stream.duration?.saturating_sub(first)),
        None => {
            let stream = outcome.streams.first()?;
            Some(stream.duration?.saturating_sub(stream.first_item?))
        }
    }
}
