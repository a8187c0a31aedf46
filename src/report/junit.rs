//! The JUnit XML reporter (quick-junit): one `<testsuite>` per spec file, one `<testcase>` per
//! test. A test whose service answered differently than the spec says gets a `<failure>`; one
//! that got no usable answer (a refused connection, a broken stream) gets an `<error>`. The
//! element's text is the rendered failure (location, source line, caret, diff), as the terminal
//! shows it without colour. A test that read streams or passed barriers carries their figures in
//! its `<system-out>`, as `run -v` shows them without colour.
//!
//! The XML is written once, when the run ends (or the reporter is dropped without an end, so the
//! file is always a whole document); a regular file is replaced atomically, and a failure to write
//! it is kept in its [`Delivery`] for the run's end to report.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use tempfile::NamedTempFile;

use super::file::{Spool, Written};
use super::{Reporter, Status, Summary, leading_failure, render_failures, render_figures, status};
use crate::outcome::TestOutcome;
use crate::output::{self, Checked, Delivery};
use crate::style::Palette;

/// Where the XML goes.
pub enum JunitTarget {
    Stdout,
    /// A temporary file next to the destination, renamed over it at the end.
    File {
        temp: NamedTempFile,
        path: PathBuf,
    },
    /// Something other than a regular file (a device such as `/dev/stdout`, a named pipe): written
    /// in place, since a rename would replace it with a regular file, by a thread of its own (see
    /// [`super::file`]).
    Special(Spool),
}

impl JunitTarget {
    /// Prepares a file target now, so that an unwritable place is reported before the run. A
    /// special file's writing ends with the returned [`Written`]; `delivery` keeps its error.
    pub fn file(
        path: &Path,
        delivery: &Delivery,
    ) -> std::io::Result<(JunitTarget, Option<Written>)> {
        let existing = std::fs::metadata(path);
        if existing.as_ref().is_ok_and(|meta| !meta.is_file()) {
            // A directory fails here, as it should.
            let file = Checked::new(super::file::open(path)?, delivery.clone());
            let (spool, written) = super::file::spool(file)?;
            return Ok((JunitTarget::Special(spool), Some(written)));
        }
        // A symbolic link to a report stays one: the file it points to is replaced.
        let path = match existing {
            Ok(_) => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            Err(_) => path.to_path_buf(),
        };
        let path = path.as_path();
        super::file::create_parents(path)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".streamspec-junit-")
            .tempfile_in(dir)?;
        let target = JunitTarget::File {
            temp,
            path: path.to_path_buf(),
        };
        Ok((target, None))
    }
}

pub struct JunitReporter {
    /// Taken when the report is written.
    target: Option<JunitTarget>,
    /// Keeps the error, should the report not be written in full.
    delivery: Delivery,
    /// One per spec file, in the order their first test finished: (path, cases, total time).
    suites: Vec<(String, Vec<TestCase>, Duration)>,
    duration: Duration,
}

impl JunitReporter {
    pub fn new(target: JunitTarget, delivery: Delivery) -> Self {
        JunitReporter {
            target: Some(target),
            delivery,
            suites: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    fn report(&self) -> Report {
        let mut report = Report::new("streamspec");
        report.set_time(self.duration);
        for (name, cases, time) in &self.suites {
            let mut suite = TestSuite::new(name.as_str());
            suite.set_time(*time);
            suite.add_test_cases(cases.iter().cloned());
            report.add_test_suite(suite);
        }
        report
    }

    fn write(&mut self) {
        let Some(target) = self.target.take() else {
            return;
        };
        let written = self
            .report()
            .to_string()
            .map_err(std::io::Error::other)
            .and_then(|xml| write_to(target, &xml));
        if let Err(error) = written {
            self.delivery.record(&error);
        }
    }
}

/// Writes the whole document to its target.
fn write_to(target: JunitTarget, xml: &str) -> std::io::Result<()> {
    match target {
        JunitTarget::Stdout => {
            let mut stdout = output::stdout();
            stdout.write_all(xml.as_bytes())?;
            stdout.flush()
        }
        // Its thread writes it, and keeps the error.
        JunitTarget::Special(mut spool) => spool.write_all(xml.as_bytes()),
        JunitTarget::File { mut temp, path } => {
            // Through the `File`: the temporary file's own errors name its random path.
            temp.as_file_mut().write_all(xml.as_bytes())?;
            temp.as_file_mut().flush()?;
            // A temporary file is private (0600); the report is an ordinary file.
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
            temp.persist(&path).map(|_| ()).map_err(|e| e.error)
        }
    }
}

fn test_case(outcome: &TestOutcome) -> TestCase {
    let status = match (status(outcome), leading_failure(outcome)) {
        (Status::Passed, _) | (_, None) => TestCaseStatus::success(),
        (status, Some(failure)) => {
            let kind = if status == Status::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut non_success = TestCaseStatus::non_success(kind);
            non_success.set_message(failure.message.as_str());
            non_success.set_description(render_failures(outcome));
            non_success
        }
    };
    let file = outcome.file.path.display().to_string();
    let mut case = TestCase::new(outcome.name.as_str(), status);
    case.set_classname(file.as_str());
    case.set_time(outcome.duration);
    // `file` and `line` as pytest writes them, for CI systems that link a test to its source.
    case.extra.insert("file".into(), file.into());
    let line = outcome.file.line_col(outcome.span.start).line;
    case.extra.insert("line".into(), line.to_string().into());
    // Always, not only with `-v`: a CI dashboard reads the report after the run.
    let figures = render_figures(outcome, &Palette::plain());
    if !figures.is_empty() {
        case.set_system_out(figures);
    }
    case
}

impl Reporter for JunitReporter {
    fn run_started(&mut self, _tests: usize, _files: usize) {}

    fn test_finished(&mut self, outcome: &TestOutcome) {
        let file = outcome.file.path.display().to_string();
        let case = test_case(outcome);
        match self.suites.iter_mut().find(|(name, _, _)| *name == file) {
            Some((_, cases, time)) => {
                cases.push(case);
                *time += outcome.duration;
            }
            None => self.suites.push((file, vec![case], outcome.duration)),
        }
    }

    fn run_finished(&mut self, summary: &Summary, _outcomes: &[TestOutcome]) {
        self.duration = summary.duration;
        self.write();
    }
}

impl Drop for JunitReporter {
    /// A run that stops without a summary (a service that did not start) still leaves a valid
    /// report, with the tests that ran.
    fn drop(&mut self) {
        self.write();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Failure;
    use crate::report::fixtures::{parallel_outcome, span_of};

    /// The XML the reporter writes for a run of `outcome` alone, its times set to zero.
    fn xml_of(outcome: &TestOutcome) -> String {
        let mut reporter = JunitReporter::new(JunitTarget::Stdout, Delivery::default());
        reporter.test_finished(&TestOutcome {
            duration: Duration::ZERO,
            ..outcome.clone()
        });
        // Written here, not to the test's standard output when dropped.
        reporter.target = None;
        reporter.report().to_string().expect("the XML")
    }

    /// [`parallel_outcome`]'s figures as `run -v` shows them, escaped in XML.
    const PARALLEL_FIGURES: &str =
        "         sse feed[1] on line 6 (branch reader[1]): 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
         sse feed[2] on line 6 (branch reader[2]): 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
         sse on line 11: 2 items, 40 bytes, 1 connection
           ttfb 2ms · first item 3ms · duration 10ms
         barrier go on line 5: 3 branches released within 0.40ms
";

    #[test]
    fn a_test_case_carries_its_streams_and_barriers_as_run_v_shows_them() {
        assert_eq!(
            xml_of(&parallel_outcome()),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="streamspec" tests="1" skipped="0" failures="0" errors="0" time="0.000">
    <testsuite name="a.stream" tests="1" skipped="0" errors="0" failures="0" time="0.000">
        <testcase name="readers see one feed" classname="a.stream" time="0.000" file="a.stream" line="1">
            <system-out>{PARALLEL_FIGURES}</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#
            )
        );
    }

    #[test]
    fn a_failing_test_case_keeps_its_failure_and_carries_its_figures_after_it() {
        let mut outcome = parallel_outcome();
        let span = span_of(&outcome.file, "expect sse { end }", 0);
        outcome.failures = vec![Failure::error("the stream broke", span, "reading this")];
        assert_eq!(
            xml_of(&outcome),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="streamspec" tests="1" skipped="0" failures="0" errors="1" time="0.000">
    <testsuite name="a.stream" tests="1" skipped="0" errors="1" failures="0" time="0.000">
        <testcase name="readers see one feed" classname="a.stream" time="0.000" file="a.stream" line="1">
            <error message="the stream broke">error: the stream broke
  --&gt; a.stream:11:3
   |
11 |   expect sse {{ end }}
   |   ^^^^^^^^^^^^^^^^^^ reading this
</error>
            <system-out>{PARALLEL_FIGURES}</system-out>
        </testcase>
    </testsuite>
</testsuites>
"#
            )
        );
    }

    #[test]
    fn a_test_case_without_streams_or_barriers_has_no_system_out() {
        let mut outcome = parallel_outcome();
        outcome.streams = Vec::new();
        outcome.barriers = Vec::new();
        assert_eq!(
            xml_of(&outcome),
            r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="streamspec" tests="1" skipped="0" failures="0" errors="0" time="0.000">
    <testsuite name="a.stream" tests="1" skipped="0" errors="0" failures="0" time="0.000">
        <testcase name="readers see one feed" classname="a.stream" time="0.000" file="a.stream" line="1"/>
    </testsuite>
</testsuites>
"#
        );
    }
}
