//! What running a test produced: passed, or a failure that says where in the spec and why.

use std::sync::Arc;
use std::time::Duration;

use crate::diff::Diff;
use crate::source::{SourceFile, Span};

/// Assertion failures and errors are told apart the way JUnit does: an assertion is the service
/// answering differently than the spec says; an error is not getting a usable answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    Assertion,
    Error,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub class: FailureClass,
    /// One line: what went wrong.
    pub message: String,
    /// The spec text the failure is about.
    pub span: Option<Span>,
    /// Shown next to the caret.
    pub label: String,
    pub notes: Vec<String>,
    /// Boxed: failures travel in `Result`s, which should stay small.
    pub diff: Option<Box<Diff>>,
    /// With `--update`: how the spec would be rewritten to expect what was observed.
    pub fix: Option<Box<Fix>>,
}

/// A snapshot update of the spec text for one failure (`run --update`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Replace the text at `span` (as it was when the run read the file) with `text`.
    Replace { span: Span, text: String },
    /// This failure cannot be written back; the text says why.
    Cannot(String),
}

impl Failure {
    pub fn assertion(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Failure {
            class: FailureClass::Assertion,
            message: message.into(),
            span: Some(span),
            label: label.into(),
            notes: Vec::new(),
            diff: None,
            fix: None,
        }
    }

    pub fn error(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Failure {
            class: FailureClass::Error,
            ..Failure::assertion(message, span, label)
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_diff(mut self, diff: Diff) -> Self {
        self.diff = Some(Box::new(diff));
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(Box::new(fix));
        self
    }

    /// Advice on what to change, shown after the notes as `help: …`.
    pub fn help_note(mut self, help: impl AsRef<str>) -> Self {
        self.notes.push(format!("help: {}", help.as_ref()));
        self
    }
}

/// What one stream of a test did, for the verbose report.
#[derive(Debug, Clone, Default)]
pub struct StreamReport {
    /// `sse`, `ndjson`, `lines` or `chunks`.
    pub kind: &'static str,
    /// A named stream's name (`GET … as feed`), with its instance when the name was opened
    /// more than once (`feed[2]`); `None` for a stream without a name.
    pub name: Option<String>,
    /// The branch instance that read it (`reader[3]`), inside a `parallel`; nested branches
    /// are joined with `/` (`room/reader[3]`).
    pub branch: Option<String>,
    /// The `expect` line of the block.
    pub span: Span,
    pub items: u64,
    pub bytes: u64,
    /// To the response head; `None` when none came (a gRPC call cancelled before it).
    pub ttfb: Option<Duration>,
    /// How long the connection took to open, when it was opened for this stream and timed.
    pub connect: Option<Duration>,
    pub first_item: Option<Duration>,
    pub duration: Option<Duration>,
    /// min, mean, p50, p95, p99, max of the gaps between items.
    pub gaps: Option<[Duration; 6]>,
    pub connections: u32,
    pub reconnect_delays: Vec<Duration>,
    /// Every arrival in bounded memory, for the HTML report (`--report-html`) only.
    pub timeline: Option<Box<crate::interp::timeline::Timeline>>,
    /// When an `abort` ended the block: the last items received before it, as spec lines.
    pub aborted_after: Option<Vec<(String, Duration)>>,
    /// The gaps themselves, in a load run only (see [`crate::interp::stats::keep_gaps_for_load`]).
    pub gap_samples: Option<crate::interp::stats::GapSamples>,
    /// In a load run with `--tokens`: when the items that were output tokens came, once one had.
    pub tokens: Option<crate::interp::stats::TokenReport>,
    /// A request whose body no block read as a stream (a publisher's `POST`, a health check),
    /// reported in a load run only: its connection and head are timed, it has no items.
    pub plain: bool,
    /// Still open when the end of a load cut its iteration off: its `duration` and `items` are
    /// up to the cut, not its length and item count, which a load leaves out (see
    /// [`crate::interp::cut_off`]).
    pub cut_off: bool,
    /// In a load run's open model, on the first stream (or request) its iteration opened: how
    /// late the iteration started after it was due; its ttfb and first item count from when it
    /// was due (coordinated omission). Zero on the others.
    pub start_delay: Duration,
    /// In a load run: the latencies the time series took as they were measured; the recorder
    /// files the others when the iteration is recorded.
    pub in_series: crate::interp::stats::InSeries,
    /// In a load run: the wait for an item that never came, when the block gave up on it (its
    /// series filed it then).
    pub gave_up: Option<crate::interp::stats::GaveUp>,
    /// Which stream this reports (0: one of its own); a stream read by several blocks reports
    /// after each, its figures so far.
    pub stream_id: u64,
}

#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub file: Arc<SourceFile>,
    pub name: String,
    /// The test's `test "…"` line.
    pub span: Span,
    pub duration: Duration,
    /// Empty when the test passed. Header and aggregate checks do not stop a test, so one test
    /// can report several; anything else that fails ends it.
    pub failures: Vec<Failure>,
    /// The streams the test read, in order.
    pub streams: Vec<StreamReport>,
    /// The barriers the test's branches passed, in the order they were released.
    pub barriers: Vec<BarrierReport>,
    /// A load run's output tokens of this iteration (`--tokens NAME`): the number the capture
    /// holds, or how many values it took.
    pub tokens: Option<f64>,
    /// Whether `tokens` is a count the capture took as one number (`usage.completion_tokens`),
    /// rather than one value per token: then no item is a token by itself.
    pub tokens_counted: bool,
}

/// How tightly a `barrier` released the branches that waited at it, for the verbose report.
#[derive(Debug, Clone)]
pub struct BarrierReport {
    pub name: String,
    /// The `barrier NAME` line (the first, when several branches have one).
    pub span: Span,
    /// Branch instances that waited at it.
    pub branches: usize,
    /// From the first branch to go on after the release to the last.
    pub spread: Duration,
    /// The branch within the `parallel` it belongs to, when it is nested in one.
    pub branch: Option<String>,
}

impl StreamReport {
    /// Whether the stream ran to its end, so its length and item count are known: not one cut
    /// off by the end of a load, nor one a block gave up waiting on (a broken bound, the test's
    /// timeout), whose duration and items stop at the failure.
    pub fn ended(&self) -> bool {
        !self.cut_off && self.gave_up.is_none()
    }
}

impl TestOutcome {
    /// Each stream once, by its last report: a WebSocket or gRPC call read by several blocks
    /// reports after each with its figures so far, which a load must not count twice.
    pub fn streams_once(&self) -> Vec<&StreamReport> {
        // One report is one stream (most iterations): no set to make.
        if self.streams.len() < 2 {
            return self.streams.iter().collect();
        }
        // From the last report back: the first seen of a stream is its last.
        let mut seen = std::collections::HashSet::new();
        let mut once: Vec<&StreamReport> = self
            .streams
            .iter()
            .rev()
            .filter(|stream| stream.stream_id == 0 || seen.insert(stream.stream_id))
            .collect();
        once.reverse();
        once
    }

    /// The outcome of a test whose run panicked (a bug in streamspec): it fails, with what the
    /// panic said, rather than the whole run.
    pub fn panicked(
        file: Arc<SourceFile>,
        name: String,
        span: Span,
        panic: &(dyn std::any::Any + Send),
    ) -> TestOutcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        TestOutcome {
            file,
            name,
            span,
            duration: Duration::ZERO,
            failures: vec![
                Failure::error(
                    format!("streamspec failed while running this test: {message}"),
                    span,
                    "this test",
                )
                .note("this is a bug in streamspec; please report it"),
            ],
            streams: Vec::new(),
            barriers: Vec::new(),
            tokens: None,
            tokens_counted: false,
        }
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Failed, and `--update` can rewrite every one of its failures.
    pub fn rewritable(&self) -> bool {
        !self.passed()
            && self
                .failures
                .iter()
                .all(|failure| matches!(failure.fix.as_deref(), Some(Fix::Replace { .. })))
    }
}
