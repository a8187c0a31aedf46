//! Reporters: pure consumers of run events. The runner emits events; each reporter renders them
//! for one audience: the terminal ([`human`]), CI systems ([`junit`], [`tap`], [`json`]) and
//! GitHub Actions ([`github`]), and people reading a page ([`html`]). [`build`] puts together the ones the command line asks for,
//! behind [`redact::Redacting`], so that no report shows a secret.

mod credentials;
pub mod fanout;
pub mod file;
#[cfg(test)]
mod fixtures;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod paths;
pub mod redact;
mod secret_finder;
mod secret_forms;
mod spec_literals;
pub mod tap;
mod yaml;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use crate::cli::{ReportArgs, ReportFormat};
use crate::outcome::{Failure, FailureClass, TestOutcome};
use crate::output::{self, Checked, Delivery};
use crate::stop_signals::{StopSignal, StopSignals};
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
    destinations: Vec<Destination>,
}

/// Where one report goes.
struct Destination {
    /// As an error names it: `the report `run.jsonl``.
    name: String,
    delivery: Delivery,
    /// The end of a report file's writing, which its own thread does (see [`file`]).
    written: Option<file::Written>,
}

impl Destination {
    fn new(name: String, delivery: Delivery, written: Option<file::Written>) -> Destination {
        Destination {
            name,
            delivery,
            written,
        }
    }
}

/// How the writing of the reports ended.
pub struct Finished {
    /// One for every report that could not be written in full.
    pub errors: Vec<String>,
    /// The stop signal that ended the wait for a report file's writing.
    pub stopped: Option<StopSignal>,
}

impl Reports {
    /// Ends the reporters (those that write at the end, or when dropped, write now), waits until
    /// every report file is written, and returns an error for every report that could not be
    /// written in full. Call it after everything else the run writes to standard output.
    ///
    /// A report file waits for its reader when that is a named pipe: a stop signal ends the wait
    /// (each report file not written by then is an error) and is returned.
    pub async fn finish(self, signals: Option<&mut StopSignals>) -> Finished {
        let Reports {
            reporter,
            mut destinations,
        } = self;
        drop(reporter);
        let _ = output::stdout().flush();
        let all_written = async {
            for destination in &mut destinations {
                if let Some(written) = &mut destination.written {
                    written.wait().await;
                }
            }
        };
        let stopped = match signals {
            Some(signals) => tokio::select! {
                biased;
                () = all_written => None,
                signal = signals.recv() => Some(signal),
            },
            None => {
                all_written.await;
                None
            }
        };
        let errors = destinations
            .iter_mut()
            .filter_map(|destination| {
                let unfinished = destination
                    .written
                    .as_mut()
                    .is_some_and(|written| !written.is_done());
                if let Some(signal) = stopped
                    && unfinished
                {
                    return Some(format!(
                        "cannot write {}: stopped by {} before it was written in full",
                        destination.name,
                        signal.name()
                    ));
                }
                let error = destination.delivery.take_failure()?;
                Some(format!("cannot write {}: {error}", destination.name))
            })
            .collect();
        Finished { errors, stopped }
    }
}

/// The reporters the command line asks for: `--format` on standard output, each `--report-*`
/// file, and GitHub annotations when running in GitHub Actions; all behind the redaction of
/// `--secret` values. An error names a report file that cannot be written.
///
/// `updating`: `--update` rewrites specs in place, so the terminal shows a failed test whose every
/// failure has a fix as `UPDATE`, not `FAIL`.
///
/// `sources`: the specs and configs of the run, which no report may be written over.
pub fn build(
    args: &ReportArgs,
    verbose: bool,
    updating: bool,
    sources: &[&Path],
) -> Result<Reports, String> {
    let files = [
        ("--report-junit", &args.report_junit),
        ("--report-tap", &args.report_tap),
        ("--report-json", &args.report_json),
        ("--report-html", &args.report_html),
    ];
    let named: Vec<paths::Named<'_>> = files
        .iter()
        .filter_map(|(option, path)| Some((*option, path.as_deref()?)))
        .collect();
    paths::check_distinct(&named, sources, "a spec or config file of the run")?;
    let mut destinations = vec![Destination::new(
        "the report on standard output".to_string(),
        output::stdout_delivery(),
        None,
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
        let delivery = Delivery::default();
        let (target, written) = junit::JunitTarget::file(path, &delivery)
            .map_err(|error| cannot_write(path, &error))?;
        destinations.push(Destination::new(
            report_name(path),
            delivery.clone(),
            written,
        ));
        reporters.push(Box::new(junit::JunitReporter::new(target, delivery)));
    }
    if let Some(path) = &args.report_tap {
        let (file, destination) = create(path)?;
        destinations.push(destination);
        reporters.push(Box::new(tap::TapReporter::new(file)));
    }
    if let Some(path) = &args.report_json {
        let (file, destination) = create(path)?;
        destinations.push(destination);
        reporters.push(Box::new(json::JsonReporter::new(file)));
    }
    if let Some(path) = &args.report_html {
        let (file, destination) = create(path)?;
        destinations.push(destination);
        // The page draws each stream's arrivals: from now on, streams keep them.
        crate::interp::timeline::keep_timelines();
        reporters.push(Box::new(html::HtmlReporter::new(file)));
    }
    if github::enabled() {
        // Annotations go where GitHub reads them without breaking the format on standard output:
        // XML and JSON Lines stay parseable, so there they go to standard error (the runner reads
        // workflow commands from both). There standard error carries a report, and is checked
        // as a report file is.
        let annotations: Box<dyn Write + Send> = match args.format {
            ReportFormat::Human | ReportFormat::Tap => Box::new(output::stdout()),
            ReportFormat::Json | ReportFormat::Junit => {
                let delivery = Delivery::default();
                destinations.push(Destination::new(
                    "the GitHub annotations on standard error".to_string(),
                    delivery.clone(),
                    None,
                ));
                Box::new(Checked::new(std::io::stderr(), delivery))
            }
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

/// A report file, created (with its directory) before the run, written as tests finish by a
/// thread of its own; the delivery keeps the first write that failed.
fn create(path: &Path) -> Result<(BufWriter<file::Spool>, Destination), String> {
    file::create_parents(path).map_err(|error| cannot_write(path, &error))?;
    let delivery = Delivery::default();
    let (spool, written) = file::open(path)
        .and_then(|file| file::spool(Checked::new(file, delivery.clone())))
        .map_err(|error| cannot_write(path, &error))?;
    let destination = Destination::new(report_name(path), delivery, Some(written));
    Ok((BufWriter::new(spool), destination))
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

/// What a test's streams and barriers measured, as `run -v` shows them under the test: a
/// stream's figures, then a line per barrier. Empty for a test that read no stream and passed no
/// barrier.
pub fn render_figures(outcome: &TestOutcome, palette: &Palette) -> String {
    let streams = outcome
        .streams
        .iter()
        .map(|stream| human::render_stream(outcome, stream, palette));
    let barriers = outcome
        .barriers
        .iter()
        .map(|barrier| human::render_barrier(outcome, barrier, palette));
    streams.chain(barriers).collect()
}

/// `1 test`, `2 tests`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
