//! Writes the fixes of a run back to the spec files, a file at a time once its tests have run,
//! before they are reported: the line that says a test was updated (`UPDATE`, the summary's
//! count) is only printed once its fixes are in the file, and a fix that could not be written
//! (refused, a file that could not be written) never counts as written. How one file is
//! written is [`super::spec_edits`]'s business.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::UpdateMode;
use super::pending::pending_path;
use super::spec_edits::{self, SpecFix};
use crate::outcome::{Fix, TestOutcome};
use crate::report::redact::Secrets;
use crate::source::Span;

/// What the update did, for the lines printed after the summary.
#[derive(Debug, Default)]
pub struct UpdateReport {
    /// One line per file written (or that would be written) and per fix that was not.
    pub lines: Vec<String>,
    /// Failures that could not be updated (no fix, refused, or a file that could not be written).
    pub not_written: usize,
    /// The pending files written (`--update=pending`).
    pub pending_written: Vec<PathBuf>,
}

/// Writes each spec file's fixes before its tests are reported ([`SpecWriter::write`]), then
/// says what it did ([`SpecWriter::finish`]).
#[derive(Debug)]
pub struct SpecWriter {
    /// Already resolved: never `Auto`.
    mode: UpdateMode,
    /// Values never written into a spec (`--secret`); the configs' are the run's to give.
    secrets: Secrets,
    /// The expectations fixed in each spec file written, by path.
    expectations: BTreeMap<PathBuf, usize>,
    /// `never`: the fixes not written, each expectation once (`--repeat` fixes one many times).
    unwritten: BTreeSet<(PathBuf, usize, usize)>,
    /// The `not updated:` lines, in the order they came up, each once.
    not_updated: Vec<String>,
    shown: HashSet<String>,
    not_written: usize,
}

impl SpecWriter {
    /// `mode` is resolved (not `Auto`); `secrets` are never written into a spec.
    pub fn new(mode: UpdateMode, secrets: Secrets) -> SpecWriter {
        SpecWriter {
            mode,
            secrets,
            expectations: BTreeMap::new(),
            unwritten: BTreeSet::new(),
            not_updated: Vec::new(),
            shown: HashSet::new(),
            not_written: 0,
        }
    }

    /// Whether fixes are written at all (not in mode `never`): then outcomes wait for
    /// [`SpecWriter::write`] before they are reported.
    pub fn writes(&self) -> bool {
        self.mode != UpdateMode::Never
    }

    /// Writes the fixes of the finished runs of one spec file (every run of it, but for a run
    /// stopped early), before they are reported. A fix that could not be written becomes a
    /// [`Fix::Cannot`] with the reason, so that only a test whose every fix was written counts
    /// as updated. `run_secrets`: those the configs name.
    pub fn write(&mut self, outcomes: &mut [&mut TestOutcome], run_secrets: &Secrets) {
        let Some(first) = outcomes.first() else {
            return;
        };
        let parsed = Arc::clone(&first.file);
        let path = parsed.path.clone();
        // Each expectation fixed, once: runs of one test (`--repeat`) fix the same span, and
        // the first run's fix holds.
        let mut fixes: Vec<Expectation> = Vec::new();
        for (o, outcome) in outcomes.iter_mut().enumerate() {
            // A fix that would write a secret into a spec is refused, as every report shows it.
            run_secrets.guard_fixes(outcome);
            self.secrets.guard_fixes(outcome);
            for (f, failure) in outcome.failures.iter().enumerate() {
                let line = failure
                    .span
                    .map_or(0, |span| parsed.line_col(span.start).line);
                match failure.fix.as_deref() {
                    Some(Fix::Replace { span, text }) => {
                        let at = FailureAt {
                            outcome: o,
                            failure: f,
                            line,
                        };
                        match fixes.iter_mut().find(|fixed| fixed.span == *span) {
                            Some(fixed) => fixed.failures.push(at),
                            None => fixes.push(Expectation {
                                span: *span,
                                text: text.clone(),
                                failures: vec![at],
                            }),
                        }
                    }
                    Some(Fix::Cannot(reason)) => {
                        self.not_written += 1;
                        self.say(format!("not updated: {}:{line}: {reason}", path.display()));
                    }
                    None => {
                        self.not_written += 1;
                        self.say(format!(
                            "not updated: {}:{line}: {}",
                            path.display(),
                            no_fix_reason(&failure.message)
                        ));
                    }
                }
            }
        }
        if fixes.is_empty() {
            return;
        }
        if self.mode == UpdateMode::Never {
            for fixed in &fixes {
                let span = fixed.span;
                self.unwritten.insert((path.clone(), span.start, span.end));
            }
            return;
        }
        let spec_fixes: Vec<SpecFix> = fixes
            .iter()
            .map(|fixed| SpecFix {
                span: fixed.span,
                text: &fixed.text,
            })
            .collect();
        let written = spec_edits::write(&parsed, &spec_fixes, self.mode);
        for (position, fixed) in fixes.iter().enumerate() {
            // Why this fix is not in the file, and whether that is the file's doing (no line).
            let (reason, whole_file) = match &written {
                Ok(not_written) => match &not_written[position] {
                    None => {
                        *self.expectations.entry(path.clone()).or_default() += 1;
                        continue;
                    }
                    Some(reason) => (reason, false),
                },
                Err(message) => (message, true),
            };
            for at in &fixed.failures {
                self.say(if whole_file {
                    format!("not updated: {}: {reason}", path.display())
                } else {
                    format!("not updated: {}:{}: {reason}", path.display(), at.line)
                });
                self.not_written += 1;
                outcomes[at.outcome].failures[at.failure].fix =
                    Some(Box::new(Fix::Cannot(reason.clone())));
            }
        }
    }

    /// What was written, then what was not: the lines printed after the summary.
    pub fn finish(self) -> UpdateReport {
        let mut report = UpdateReport {
            not_written: self.not_written,
            ..UpdateReport::default()
        };
        for (path, &count) in &self.expectations {
            let what = crate::report::plural(count, "expectation");
            report.lines.push(match self.mode {
                UpdateMode::Pending => {
                    report.pending_written.push(pending_path(path));
                    format!(
                        "pending: {} ({what}; accept with `streamspec review`)",
                        pending_path(path).display()
                    )
                }
                _ => format!("updated: {} ({what})", path.display()),
            });
        }
        report.lines.extend(self.not_updated);
        let count = self.unwritten.len();
        if count > 0 {
            report.not_written += count;
            report.lines.push(format!(
                "not updated: {} (update mode `never`{})",
                crate::report::plural(count, "expectation"),
                if super::running_in_ci() {
                    ", the default when CI is set; use --update=in-place to write anyway"
                } else {
                    ""
                }
            ));
        }
        report
    }

    /// Adds a `not updated:` line, unless it was said already (a file that cannot be written
    /// fails every test's fixes for the same reason).
    fn say(&mut self, line: String) {
        if self.shown.insert(line.clone()) {
            self.not_updated.push(line);
        }
    }
}

/// An expectation of a spec that failures fix, and those failures.
struct Expectation {
    span: Span,
    /// The first failure's fix.
    text: String,
    failures: Vec<FailureAt>,
}

/// A failure among the outcomes written together, and the line it is on.
struct FailureAt {
    outcome: usize,
    failure: usize,
    line: usize,
}

/// Why a failure carries no fix, from what kind of failure it is.
fn no_fix_reason(message: &str) -> &'static str {
    let timing = [
        "timing bound",
        "expected ttfb",
        "expected duration",
        "expected gaps",
        "expected test duration",
    ];
    if timing.iter().any(|t| message.starts_with(t)) || message.contains("timed out") {
        "timing bounds are budgets, not snapshots: they are never rewritten"
    } else {
        "this kind of failure is not a snapshot that --update can rewrite"
    }
}

/// Writes `text` to `target` atomically, with the permissions of `spec`. A read-only spec is
/// refused, and said to be in so many words.
pub fn write_atomically(spec: &Path, target: &Path, text: &str) -> Result<(), String> {
    crate::atomic_write::refuse_read_only(spec).map_err(|error| error.to_string())?;
    crate::atomic_write::write_atomically(target, text, spec)
        .map_err(|error| format!("cannot write it: {error}"))
}
