//! GitHub Actions annotations: when `GITHUB_ACTIONS=true`, each failure is also written as an
//! `::error file=…,line=…,col=…,title=…::message` workflow command, which GitHub shows on the
//! spec line in the run's summary and in a pull request's diff.

use std::io::Write;

use super::{Reporter, Summary};
use crate::outcome::TestOutcome;
use crate::style::Palette;

/// The environment variable GitHub Actions sets to `true` in every step.
pub const ENV_VAR: &str = "GITHUB_ACTIONS";

/// Whether this process runs in a GitHub Actions step.
pub fn enabled() -> bool {
    std::env::var(ENV_VAR).is_ok_and(|value| value == "true")
}

pub struct GithubReporter<W: Write> {
    out: W,
}

impl<W: Write> GithubReporter<W> {
    pub fn new(out: W) -> Self {
        GithubReporter { out }
    }
}

/// A workflow command's message: `%`, CR and LF would otherwise end or change the command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, where `:` and `,` separate properties.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The annotation lines of one test: one per failure, empty for a test that passed.
pub fn annotations(outcome: &TestOutcome) -> String {
    let file = outcome.file.path.display().to_string();
    let title = format!("{file}: {}", outcome.name);
    let mut out = String::new();
    for failure in &outcome.failures {
        let place = outcome
            .file
            .line_col(failure.span.unwrap_or(outcome.span).start);
        // The rendered failure without its `error: ` prefix, which the annotation already says.
        let rendered = super::human::render_failure(outcome, failure, &Palette::plain());
        let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
        out.push_str(&format!(
            "::error file={},line={},col={},title={}::{}\n",
            escape_property(&file),
            place.line,
            place.col,
            escape_property(&title),
            escape_data(message.trim_end())
        ));
    }
    out
}

impl<W: Write> Reporter for GithubReporter<W> {
    fn run_started(&mut self, _tests: usize, _files: usize) {}

    fn test_finished(&mut self, outcome: &TestOutcome) {
        if !outcome.passed() {
            let _ = self.out.write_all(annotations(outcome).as_bytes());
            let _ = self.out.flush();
        }
    }

    fn run_finished(&mut self, _summary: &Summary, _outcomes: &[TestOutcome]) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_workflow_command_rules() {
        assert_eq!(escape_data("50%\r\nnext: a, b"), "50%25%0D%0Anext: a, b");
        assert_eq!(escape_property("a.stream: x, y"), "a.stream%3A x%2C y");
    }
}
