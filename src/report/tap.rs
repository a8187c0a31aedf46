//! The TAP reporter (Test Anything Protocol, version 13): a plan, an `ok`/`not ok` line per
//! test, and for a failing test a YAML block with the message, the place in the spec and the
//! rendered failure (source line, caret, diff).
//!
//! ```text
//! TAP version 13
//! 1..2
//! ok 1 - a.stream: passes
//! not ok 2 - a.stream: the third event is off by one
//!   ---
//!   message: "item 3 does not match"
//!   severity: fail
//!   at: "a.stream:6:5"
//!   diagnostic: |
//!     error: item 3 does not match
//!     …
//!   ...
//! ```

use std::io::Write;

use super::{Reporter, Status, Summary, leading_failure, render_failures};
use crate::outcome::TestOutcome;

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

/// A YAML double-quoted scalar. JSON's string escapes are all valid in YAML, and quoting every
/// value means no server text can be read as YAML syntax.
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Text for a YAML block scalar: control characters other than tab and newline are not allowed
/// there, so they are written as `\u{…}`.
fn block_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl<W: Write> TapReporter<W> {
    fn yaml_block(&mut self, outcome: &TestOutcome) -> std::io::Result<()> {
        let Some(failure) = leading_failure(outcome) else {
            return Ok(());
        };
        let out = &mut self.out;
        writeln!(out, "  ---")?;
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
        writeln!(out, "  ...")
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
    use super::*;

    #[test]
    fn descriptions_are_one_line_without_directives() {
        assert_eq!(description("a # TODO\nb\\"), r"a \# TODO b\\");
    }

    #[test]
    fn block_scalars_hold_no_control_characters() {
        assert_eq!(block_safe("a\tb\n\u{1b}[0m"), "a\tb\n\\u{1b}[0m");
    }
}
