//! The JSON Lines reporter: one JSON object per line, each with a `type` (`run_started`,
//! `test_finished`, `run_finished`). Every observed item it shows (diff lines, the items before an
//! `abort`) carries its receive time. The envelope is documented in README.md, "Reports in CI".

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Reporter, Status, Summary, status};
use crate::diff::{Diff, Tag};
use crate::outcome::{BarrierReport, Failure, FailureClass, StreamReport, TestOutcome};
use crate::style::Palette;

/// The version of the envelope, in `run_started`; it grows when a field changes meaning or goes.
pub const FORMAT_VERSION: u32 = 1;

pub struct JsonReporter<W: Write> {
    out: W,
    /// Tests planned, for `not_run` at the end.
    planned: usize,
    passed: usize,
    failed: usize,
    errors: usize,
}

impl<W: Write> JsonReporter<W> {
    pub fn new(out: W) -> Self {
        JsonReporter {
            out,
            planned: 0,
            passed: 0,
            failed: 0,
            errors: 0,
        }
    }

    fn line(&mut self, value: &Value) {
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }
}

/// Milliseconds with microsecond precision: `102.345`.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e3
}

fn class_name(class: FailureClass) -> &'static str {
    match class {
        FailureClass::Assertion => "assertion",
        FailureClass::Error => "error",
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Error => "error",
    }
}

fn diff_json(diff: &Diff) -> Value {
    let lines: Vec<Value> = diff
        .lines
        .iter()
        .map(|line| {
            let tag = match line.tag {
                Tag::Context => "context",
                Tag::Removed => "expected",
                Tag::Added => "observed",
                Tag::Ignored => "ignored",
            };
            json!({"tag": tag, "text": line.text, "at_ms": line.at.map(millis)})
        })
        .collect();
    json!({
        "omitted_before": diff.omitted_before,
        "lines": lines,
        "cut_short": diff.cut_short,
    })
}

fn failure_json(outcome: &TestOutcome, failure: &Failure) -> Value {
    let place = failure.span.map(|span| outcome.file.line_col(span.start));
    json!({
        "class": class_name(failure.class),
        "message": failure.message,
        "file": outcome.file.path.display().to_string(),
        "line": place.as_ref().map(|p| p.line),
        "column": place.as_ref().map(|p| p.col),
        "label": failure.label,
        "notes": failure.notes,
        "diff": failure.diff.as_deref().map(diff_json),
        "rendered": super::human::render_failure(outcome, failure, &Palette::plain()),
    })
}

pub(super) fn stream_json(outcome: &TestOutcome, stream: &StreamReport) -> Value {
    let gaps = stream.gaps.map(|[min, mean, p50, p95, p99, max]| {
        json!({
            "min": millis(min), "mean": millis(mean), "p50": millis(p50),
            "p95": millis(p95), "p99": millis(p99), "max": millis(max),
        })
    });
    let aborted_after = stream.aborted_after.as_ref().map(|items| {
        items
            .iter()
            .map(|(text, at)| json!({"text": text, "at_ms": millis(*at)}))
            .collect::<Vec<_>>()
    });
    json!({
        "kind": stream.kind,
        "name": stream.name,
        "branch": stream.branch,
        "line": outcome.file.line_col(stream.span.start).line,
        "items": stream.items,
        "bytes": stream.bytes,
        "connections": stream.connections,
        "ttfb_ms": stream.ttfb.map(millis),
        "first_item_ms": stream.first_item.map(millis),
        "duration_ms": stream.duration.map(millis),
        "gaps_ms": gaps,
        "reconnect_delays_ms": stream.reconnect_delays.iter().copied().map(millis).collect::<Vec<_>>(),
        "aborted_after": aborted_after,
    })
}

pub(super) fn barrier_json(outcome: &TestOutcome, barrier: &BarrierReport) -> Value {
    json!({
        "name": barrier.name,
        "line": outcome.file.line_col(barrier.span.start).line,
        "branches": barrier.branches,
        "spread_ms": millis(barrier.spread),
        "branch": barrier.branch,
    })
}

impl<W: Write> Reporter for JsonReporter<W> {
    fn run_started(&mut self, tests: usize, files: usize) {
        self.planned = tests;
        self.line(&json!({
            "type": "run_started",
            "version": FORMAT_VERSION,
            "tests": tests,
            "files": files,
        }));
    }

    fn test_finished(&mut self, outcome: &TestOutcome) {
        let status = status(outcome);
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::Error => self.errors += 1,
        }
        let failures: Vec<Value> = outcome
            .failures
            .iter()
            .map(|failure| failure_json(outcome, failure))
            .collect();
        let streams: Vec<Value> = outcome
            .streams
            .iter()
            .map(|stream| stream_json(outcome, stream))
            .collect();
        let barriers: Vec<Value> = outcome
            .barriers
            .iter()
            .map(|barrier| barrier_json(outcome, barrier))
            .collect();
        self.line(&json!({
            "type": "test_finished",
            "file": outcome.file.path.display().to_string(),
            "line": outcome.file.line_col(outcome.span.start).line,
            "name": outcome.name,
            "status": status_name(status),
            "duration_ms": millis(outcome.duration),
            "failures": failures,
            "streams": streams,
            "barriers": barriers,
        }));
    }

    fn run_finished(&mut self, summary: &Summary, _outcomes: &[TestOutcome]) {
        let ran = self.passed + self.failed + self.errors;
        self.line(&json!({
            "type": "run_finished",
            "tests": ran,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "not_run": self.planned.saturating_sub(ran),
            "duration_ms": millis(summary.duration),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::parallel_outcome;

    #[test]
    fn streams_carry_their_name_and_branch_and_tests_their_barriers() {
        let mut out = Vec::new();
        JsonReporter::new(&mut out).test_finished(&parallel_outcome());
        let stream = |name: &str, branch: &str| {
            format!(
                r#"{{"kind":"sse","name":{name},"branch":{branch},"line":{},"items":2,"bytes":40,"connections":1,"ttfb_ms":2.0,"first_item_ms":3.0,"duration_ms":10.0,"gaps_ms":null,"reconnect_delays_ms":[],"aborted_after":null}}"#,
                if name == "null" { 11 } else { 6 }
            )
        };
        let expected = format!(
            r#"{{"type":"test_finished","file":"a.stream","line":1,"name":"readers see one feed","status":"passed","duration_ms":250.0,"failures":[],"streams":[{},{},{}],"barriers":[{{"name":"go","line":5,"branches":3,"spread_ms":0.4,"branch":null}}]}}"#,
            stream(r#""feed[1]""#, r#""reader[1]""#),
            stream(r#""feed[2]""#, r#""reader[2]""#),
            stream("null", "null"),
        );
        assert_eq!(String::from_utf8(out).expect("UTF-8"), expected + "\n");
    }
}
