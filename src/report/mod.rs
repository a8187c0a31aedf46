//! Reporters: pure consumers of run events. The runner emits events; each reporter renders them
//! for one audience: the terminal ([`human`]), CI systems ([`junit`], [`tap`], [`json`]) and
//! GitHub Actions ([`github`]). [`build`] puts together the ones the command line asks for,
//! behind [`redact::Redacting`], so that no report shows a secret.

pub mod fanout;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod redact;
mod secret_finder;
mod secret_forms;
mod spec_literals;
pub mod tap;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use crate::cli::{ReportArgs, ReportFormat};
use crate::outcome::{Failure, FailureClass, TestOutcome};
use crate::output::{self, Checked, Delivery};
use crate::style::Palette;

/// Totals of a finished run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub passed: usize,
    /// Tests the service answered wrongly ([`Status::Failed`]), not counting those being updated.
    pub failed: usize,
    /// Tests that got no usable answer ([`Status::Error`]): counted apart from `failed`, as JUnit,
    /// TAP and JSON Lines count them.
    pub errors: usize,
    /// Failed tests whose specs `--update` rewrites in place (every failure has a fix).
    pub updated: usize,
    pub duration: Duration,
}

impl Summary {
    /// Counts the outcomes of a run. `updating`: `--update` rewrites specs in place, so a test
    /// whose every failure has a fix counts as updated.
    pub fn count(outcomes: &[TestOutcome], updating: bool, duration: Duration) -> Summary {
        let mut summary = Summary {
            duration,
            ..Summary::default()
        };
        for outcome in outcomes {
            match status(outcome) {
                Status::Passed => summary.passed += 1,
                _ if updating && outcome.rewritable() => summary.updated += 1,
                Status::Failed => summary.failed += 1,
                Status::Error => summary.errors += 1,
            }
        }
        summary
    }

    pub fn tests(&self) -> usize {
        self.passed + self.failed + self.errors + self.updated
    }
}

pub trait Reporter {
    fn run_started(&mut self, tests: usize, files: usize);
    fn test_finished(&mut self, outcome: &TestOutcome);
    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]);
    /// Values no report may show from now on (secret variables, known once a group of specs has
    /// its variables). Only the redacting wrapper acts on them.
    fn add_secrets(&mut self, _values: &[String]) {}
}

impl<R: Reporter + ?Sized> Reporter for Box<R> {
    fn run_started(&mut self, tests: usize, files: usize) {
        (**self).run_started(tests, files);
    }

    fn test_finished(&mut self, outcome: &TestOutcome) {
        (**self).test_finished(outcome);
    }

    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]) {
        (**self).run_finished(summary, outcomes);
    }

    fn add_secrets(&mut self, values: &[String]) {
        (**self).add_secrets(values);
    }
}

/// The reporters of a run, and where each writes.
pub struct Reports {
    pub reporter: Box<dyn Reporter + Send>,
    /// Each destination, as an error names it (`the report `run.jsonl``), and its delivery.
    destinations: Vec<(String, Delivery)>,
}

impl Reports {
    /// Ends the reporters (those that write at the end, or when dropped, write now) and returns
    /// an error for every report that could not be written in full. Call it after everything
    /// else the run writes to standard output.
    pub fn finish(self) -> Vec<String> {
        drop(self.reporter);
        let _ = output::stdout().flush();
        self.destinations
            .iter()
            .filter_map(|(name, delivery)| {
                let error = delivery.take_failure()?;
                Some(format!("cannot write {name}: {error}"))
            })
            .collect()
    }
}

/// The reporters the command line asks for: `--format` on standard output, each `--report-*`
/// file, and GitHub annotations when running in GitHub Actions; all behind the redaction of
/// `--secret` values. An error names a report file that cannot be written.
///
/// `updating`: `--update` rewrites specs in place, so the terminal shows a failed test whose every
/// failure has a fix as `UPDATE`, not `FAIL`.
pub fn build(args: &ReportArgs, verbose: bool, updating: bool) -> Result<Reports, String> {
    let mut destinations = vec![(
        "the report on standard output".to_string(),
        output::stdout_delivery(),
    )];
    let mut reporters: Vec<Box<dyn Reporter + Send>> = vec![match args.format {
        ReportFormat::Human => Box::new(
            human::HumanReporter::new(output::stdout(), Palette::for_stdout(), verbose)
                .updating(updating),
        ),
        ReportFormat::Tap => Box::new(tap::TapReporter::new(output::stdout())),
        ReportFormat::Json => Box::new(json::JsonReporter::new(output::stdout())),
        ReportFormat::Junit => Box::new(junit::JunitReporter::new(
            junit::JunitTarget::Stdout,
            output::stdout_delivery(),
        )),
    }];
    if let Some(path) = &args.report_junit {
        let target = junit::JunitTarget::file(path).map_err(|error| cannot_write(path, &error))?;
        let delivery = Delivery::default();
        destinations.push((report_name(path), delivery.clone()));
        reporters.push(Box::new(junit::JunitReporter::new(target, delivery)));
    }
    if let Some(path) = &args.report_tap {
        let (file, delivery) = create(path)?;
        destinations.push((report_name(path), delivery));
        reporters.push(Box::new(tap::TapReporter::new(file)));
    }
    if let Some(path) = &args.report_json {
        let (file, delivery) = create(path)?;
        destinations.push((report_name(path), delivery));
        reporters.push(Box::new(json::JsonReporter::new(file)));
    }
    if github::enabled() {
        // Annotations go where GitHub reads them without breaking the format on standard output:
        // XML and JSON Lines stay parseable, so there they go to standard error (the runner reads
        // workflow commands from both).
        let annotations: Box<dyn Write + Send> = match args.format {
            ReportFormat::Human | ReportFormat::Tap => Box::new(output::stdout()),
            ReportFormat::Json | ReportFormat::Junit => Box::new(std::io::stderr()),
        };
        reporters.push(Box::new(github::GithubReporter::new(annotations)));
    }
    let mut secrets = redact::Secrets::default();
    for (_, value) in &args.secrets {
        secrets.add(value);
    }
    Ok(Reports {
        reporter: Box::new(redact::Redacting::new(
            fanout::Fanout::new(reporters),
            secrets,
        )),
        destinations,
    })
}

/// A report file, created (with its directory) before the run, written as tests finish; the
/// delivery keeps the first write that failed.
fn create(path: &Path) -> Result<(BufWriter<Checked<File>>, Delivery), String> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| cannot_write(path, &error))?;
    }
    let file = File::create(path).map_err(|error| cannot_write(path, &error))?;
    let delivery = Delivery::default();
    Ok((
        BufWriter::new(Checked::new(file, delivery.clone())),
        delivery,
    ))
}

fn report_name(path: &Path) -> String {
    format!("the report `{}`", path.display())
}

fn cannot_write(path: &Path, error: &std::io::Error) -> String {
    format!("cannot write {}: {error}", report_name(path))
}

/// How a test ended, told the same way by every report: a test with any error-class failure is
/// an error, one with only assertion failures has failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed,
    Error,
}

pub fn status(outcome: &TestOutcome) -> Status {
    if outcome.passed() {
        Status::Passed
    } else if outcome
        .failures
        .iter()
        .any(|f| f.class == FailureClass::Error)
    {
        Status::Error
    } else {
        Status::Failed
    }
}

/// The failure whose message stands for the test: the first one of the class that decided its
/// status.
pub fn leading_failure(outcome: &TestOutcome) -> Option<&Failure> {
    let class = match status(outcome) {
        Status::Passed => return None,
        Status::Failed => FailureClass::Assertion,
        Status::Error => FailureClass::Error,
    };
    outcome.failures.iter().find(|f| f.class == class)
}

/// Every failure of a test rendered as the terminal shows it, without colour, a blank line
/// between two.
pub fn render_failures(outcome: &TestOutcome) -> String {
    outcome
        .failures
        .iter()
        .map(|failure| human::render_failure(outcome, failure, &Palette::plain()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1 test`, `2 tests`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
