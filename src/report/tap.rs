//! The TAP reporter (Test Anything Protocol, version 13): a plan, an `ok`/`not ok` line per
//! test, and a YAML block after a test that failed or measured something: for a failure, the
//! message, the place in the spec and the rendered failure (source line, caret, diff); for the
//! streams the test read and the barriers it passed, their figures as the JSON Lines report has
//! them (see [`super::yaml`]). One block per test, the failure first.
//!
//! ```text
//! TAP version 13
//! 1..2
//! ok 1 - a.stream: passes
//!   ---
//!   streams:
//!     - kind: "sse"
//!       name: "feed"
//!       …
//!   barriers: []
//!   ...
//! not ok 2 - a.stream: the third event is off by one
//!   ---
//!   message: "item 3 does not match"
//!   severity: fail
//!   at: "a.stream:6:5"
//!   diagnostic: |
//!     error: item 3 does not match
//!     …
//!   streams:
//!     …
//!   ...
//! ```

use std::io::Write;

use serde_json::Value;

use super::yaml::{self, block_safe, quoted};
use super::{Reporter, Status, Summary, leading_failure, render_failures};
use crate::outcome::{Failure, TestOutcome};

pub struct TapReporter<W: Write> {
    out: W,
    started: bool,
    planned: usize,
    /// Tests reported so far: the number of the next `ok` line is one more.
    reported: usize,
    finished: bool,
}

impl<W: Write> TapReporter<W> {
    pub fn new(out: W) -> Self {
        TapReporter {
            out,
            started: false,
            planned: 0,
            reported: 0,
            finished: false,
        }
    }
}

/// A TAP description: one line, and `#` escaped, since it would start a directive (`# SKIP`).
fn description(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('#', "\\#")
        .replace(['\n', '\r'], " ")
}

impl<W: Write> TapReporter<W> {
    /// The YAML block after a test's line: a failing test's failure, then the figures of the
    /// streams it read and the barriers it passed, as the JSON Lines report has them. A passing
    /// test with no figures gets none.
    fn yaml_block(&mut self, outcome: &TestOutcome) -> std::io::Result<()> {
        let failure = leading_failure(outcome);
        let has_figures = !outcome.streams.is_empty() || !outcome.barriers.is_empty();
        if failure.is_none() && !has_figures {
            return Ok(());
        }
        writeln!(self.out, "  ---")?;
        if let Some(failure) = failure {
            self.failure_yaml(outcome, failure)?;
        }
        if has_figures {
            self.figures_yaml(outcome)?;
        }
        writeln!(self.out, "  ...")
    }

    fn failure_yaml(&mut self, outcome: &TestOutcome, failure: &Failure) -> std::io::Result<()> {
        let out = &mut self.out;
        writeln!(out, "  message: {}", quoted(&failure.message))?;
        let severity = match super::status(outcome) {
            Status::Error => "error",
            _ => "fail",
        };
        writeln!(out, "  severity: {severity}")?;
        if let Some(span) = failure.span {
            writeln!(out, "  at: {}", quoted(&outcome.file.location(span.start)))?;
        }
        if outcome.failures.len() > 1 {
            writeln!(out, "  failures: {}", outcome.failures.len())?;
        }
        // `|` keeps the lines as they are; the text always starts with `error:`, so the block's
        // indentation is that of its first line. Blank lines keep the indentation: TAP::Parser
        // (and so `prove`) reads an unindented line as the end of the YAML block.
        writeln!(out, "  diagnostic: |")?;
        for line in block_safe(&render_failures(outcome)).lines() {
            writeln!(out, "    {line}")?;
        }
        Ok(())
    }

    /// `streams` and `barriers`, each the list the JSON Lines report has (see [`super::json`]).
    fn figures_yaml(&mut self, outcome: &TestOutcome) -> std::io::Result<()> {
        let streams = outcome
            .streams
            .iter()
            .map(|stream| super::json::stream_json(outcome, stream))
            .collect();
        let barriers = outcome
            .barriers
            .iter()
            .map(|barrier| super::json::barrier_json(outcome, barrier))
            .collect();
        for (key, list) in [("streams", streams), ("barriers", barriers)] {
            for line in yaml::entry(key, &Value::Array(list)) {
                writeln!(self.out, "  {line}")?;
            }
        }
        Ok(())
    }
}

impl<W: Write> Reporter for TapReporter<W> {
    fn run_started(&mut self, tests: usize, _files: usize) {
        self.started = true;
        self.planned = tests;
        let _ = writeln!(self.out, "TAP version 13\n1..{tests}");
        let _ = self.out.flush();
    }

    fn test_finished(&mut self, outcome: &TestOutcome) {
        self.reported += 1;
        let word = if outcome.passed() { "ok" } else { "not ok" };
        let _ = writeln!(
            self.out,
            "{word} {} - {}",
            self.reported,
            description(&format!(
                "{}: {}",
                outcome.file.path.display(),
                outcome.name
            ))
        );
        let _ = self.yaml_block(outcome);
        let _ = self.out.flush();
    }

    fn run_finished(&mut self, _summary: &Summary, _outcomes: &[TestOutcome]) {
        self.finished = true;
        if self.reported < self.planned {
            let _ = writeln!(
                self.out,
                "Bail out! the run stopped after {} of {} tests",
                self.reported, self.planned
            );
        }
        let _ = self.out.flush();
    }
}

impl<W: Write> Drop for TapReporter<W> {
    /// A run that stops before its end (a service that did not start) still leaves a stream a
    /// TAP consumer reads as stopped, not as a plan that was never met.
    fn drop(&mut self) {
        if self.started && !self.finished {
            let _ = writeln!(self.out, "Bail out! the run stopped before its tests ran");
            let _ = self.out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::fixtures::{parallel_outcome, span_of};

    /// What the reporter writes for `outcome`, the first test of a run.
    fn written(outcome: &TestOutcome) -> String {
        let mut out = Vec::new();
        let mut reporter = TapReporter::new(&mut out);
        reporter.test_finished(outcome);
        // Not a run that stopped early: no `Bail out!`.
        reporter.finished = true;
        drop(reporter);
        String::from_utf8(out).expect("UTF-8")
    }

    /// A stream of [`parallel_outcome`] in the YAML block, at the indentation of `streams:`.
    fn stream_yaml(name: &str, branch: &str, line: usize) -> String {
        format!(
            r#"    - kind: "sse"
      name: {name}
      branch: {branch}
      line: {line}
      items: 2
      bytes: 40
      connections: 1
      ttfb_ms: 2.0
      first_item_ms: 3.0
      duration_ms: 10.0
      gaps_ms: ~
      reconnect_delays_ms: []
      aborted_after: ~
"#
        )
    }

    /// The `streams:` and `barriers:` of [`parallel_outcome`].
    fn parallel_figures() -> String {
        format!(
            r#"  streams:
{}{}{}  barriers:
    - name: "go"
      line: 5
      branches: 3
      spread_ms: 0.4
      branch: ~
"#,
            stream_yaml(r#""feed[1]""#, r#""reader[1]""#, 6),
            stream_yaml(r#""feed[2]""#, r#""reader[2]""#, 6),
            stream_yaml("~", "~", 11),
        )
    }

    #[test]
    fn a_passing_test_with_streams_gets_their_figures_and_its_barriers_in_a_yaml_block() {
        assert_eq!(
            written(&parallel_outcome()),
            format!(
                "ok 1 - a.stream: readers see one feed\n  ---\n{}  ...\n",
                parallel_figures()
            )
        );
    }

    #[test]
    fn a_failing_test_has_one_yaml_block_with_the_failure_then_the_figures() {
        let mut outcome = parallel_outcome();
        let span = span_of(&outcome.file, "expect sse { end }", 0);
        outcome.failures = vec![Failure::assertion(
            "expected the stream to end",
            span,
            "an item came",
        )];
        assert_eq!(
            written(&outcome),
            format!(
                r#"not ok 1 - a.stream: readers see one feed
  ---
  message: "expected the stream to end"
  severity: fail
  at: "a.stream:11:3"
  diagnostic: |
    error: expected the stream to end
      --> a.stream:11:3
       |
    11 |   expect sse {{ end }}
       |   ^^^^^^^^^^^^^^^^^^ an item came
{}  ...
"#,
                parallel_figures()
            )
        );
    }

    #[test]
    fn gaps_are_a_mapping_and_the_items_before_an_abort_a_list() {
        let mut outcome = parallel_outcome();
        let mut stream = outcome.streams.remove(2);
        let ms = Duration::from_millis;
        stream.gaps = Some([ms(1), ms(2), ms(2), ms(3), ms(3), ms(4)]);
        stream.reconnect_delays = vec![ms(500), Duration::from_micros(501_250)];
        stream.aborted_after = Some(vec![("data: \"a\u{7f}\u{85}\"".to_string(), ms(7))]);
        outcome.streams = vec![stream];
        outcome.barriers = Vec::new();
        assert_eq!(
            written(&outcome),
            r#"ok 1 - a.stream: readers see one feed
  ---
  streams:
    - kind: "sse"
      name: ~
      branch: ~
      line: 11
      items: 2
      bytes: 40
      connections: 1
      ttfb_ms: 2.0
      first_item_ms: 3.0
      duration_ms: 10.0
      gaps_ms:
        min: 1.0
        mean: 2.0
        p50: 2.0
        p95: 3.0
        p99: 3.0
        max: 4.0
      reconnect_delays_ms:
        - 500.0
        - 501.25
      aborted_after:
        - text: "data: \"a\u007f\u0085\""
          at_ms: 7.0
  barriers: []
  ...
"#
        );
    }

    #[test]
    fn a_test_without_streams_or_barriers_gets_no_yaml_block() {
        let mut outcome = parallel_outcome();
        outcome.streams = Vec::new();
        outcome.barriers = Vec::new();
        assert_eq!(written(&outcome), "ok 1 - a.stream: readers see one feed\n");
    }

    #[test]
    fn descriptions_are_one_line_without_directives() {
        assert_eq!(description("a # TODO\nb\\"), r"a \# TODO b\\");
    }
}
