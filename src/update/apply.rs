//! Writes the fixes of a run back to the spec files: every edit of a file at once, bottom-up, each
//! refused when the text it replaces changed since the run, under a lock on the file (so that
//! another update of it waits, and its fixes land too), through a temporary file and a rename,
//! so a file is never half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::UpdateMode;
use super::pending::pending_path;
use super::rebase::rebase;
use crate::line_break::LineEnding;
use crate::outcome::{Fix, TestOutcome};
use crate::source::{SourceFile, Span};

/// What the update did, for the lines printed after the summary.
#[derive(Debug, Default)]
pub struct UpdateReport {
    /// One line per file written (or that would be written) and per fix that was not.
    pub lines: Vec<String>,
    /// Failures whose fix was written.
    pub written: usize,
    /// Failures that could not be updated (no fix, refused, or a file that could not be written).
    pub not_written: usize,
    /// The pending files written (`--update=pending`).
    pub pending_written: Vec<PathBuf>,
}

/// One replacement in a file, and the failures (`(outcome, failure)` indices) it fixes: runs of
/// one test (`--repeat`) fix the same span.
struct Edit {
    span: Span,
    text: String,
    line: usize,
    fixes: Vec<(usize, usize)>,
}

/// Why a fix of a file was not written, for the failures it was for.
const CHANGED_SINCE: &str = "the spec changed there since the run";

/// Applies every fix of `outcomes` in `mode` (already resolved: never `Auto`). A fix that could
/// not be written becomes a [`Fix::Cannot`] with the reason, so that only the tests whose every
/// fix was written count as updated.
pub fn apply(outcomes: &mut [TestOutcome], mode: UpdateMode) -> UpdateReport {
    let mut report = UpdateReport::default();
    let mut by_file: BTreeMap<PathBuf, (Arc<SourceFile>, Vec<Edit>)> = BTreeMap::new();
    for (o, outcome) in outcomes.iter().enumerate() {
        for (f, failure) in outcome.failures.iter().enumerate() {
            let line = failure
                .span
                .map_or(0, |span| outcome.file.line_col(span.start).line);
            let place = format!("{}:{line}", outcome.file.path.display());
            match failure.fix.as_deref() {
                Some(Fix::Replace { span, text }) => {
                    let entry = by_file
                        .entry(outcome.file.path.clone())
                        .or_insert_with(|| (Arc::clone(&outcome.file), Vec::new()));
                    // Runs of one test (`--repeat`) fix the same span: the first run's fix holds.
                    if let Some(edit) = entry.1.iter_mut().find(|edit| edit.span == *span) {
                        edit.fixes.push((o, f));
                        continue;
                    }
                    entry.1.push(Edit {
                        span: *span,
                        text: text.clone(),
                        line,
                        fixes: vec![(o, f)],
                    });
                }
                Some(Fix::Cannot(reason)) => {
                    report.not_written += 1;
                    report.lines.push(format!("not updated: {place}: {reason}"));
                }
                None => {
                    report.not_written += 1;
                    report.lines.push(format!(
                        "not updated: {place}: {}",
                        no_fix_reason(&failure.message)
                    ));
                }
            }
        }
    }
    if mode == UpdateMode::Never {
        let count: usize = by_file.values().map(|(_, edits)| edits.len()).sum();
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
        return report;
    }
    for (path, (original, edits)) in by_file {
        let (refused, failed) = match write_file(&path, &original, &edits, mode) {
            Ok(refused) => (refused, None),
            Err(message) => ((0..edits.len()).collect(), Some(message)),
        };
        let written = edits.len() - refused.len();
        report.written += written;
        report.not_written += refused.len();
        if written > 0 {
            if mode == UpdateMode::Pending {
                report.pending_written.push(pending_path(&path));
            }
            let what = crate::report::plural(written, "expectation");
            report.lines.push(match mode {
                UpdateMode::Pending => format!(
                    "pending: {} ({what}; accept with `streamspec review`)",
                    pending_path(&path).display()
                ),
                _ => format!("updated: {} ({what})", path.display()),
            });
        }
        match &failed {
            Some(message) => report
                .lines
                .push(format!("not updated: {}: {message}", path.display())),
            None => {
                let mut lines: Vec<usize> = refused.iter().map(|&e| edits[e].line).collect();
                lines.sort_unstable();
                for line in lines {
                    report.lines.push(format!(
                        "not updated: {}:{line}: {CHANGED_SINCE}",
                        path.display()
                    ));
                }
            }
        }
        let reason = failed.as_deref().unwrap_or(CHANGED_SINCE);
        for &e in &refused {
            for &(o, f) in &edits[e].fixes {
                outcomes[o].failures[f].fix = Some(Box::new(Fix::Cannot(reason.to_string())));
            }
        }
    }
    // What was written first, then what was not.
    report
        .lines
        .sort_by_key(|line| line.starts_with("not updated"));
    report
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

/// Applies the edits to the file's current text, under a lock on the file so that another
/// update of it waits; the indices of the edits refused because their text changed since the
/// run (a change elsewhere in the file moves them, see [`rebase`]).
fn write_file(
    path: &Path,
    original: &SourceFile,
    edits: &[Edit],
    mode: UpdateMode,
) -> Result<Vec<usize>, String> {
    let _lock =
        crate::atomic_write::lock(path).map_err(|error| format!("cannot lock it: {error}"))?;
    let bytes = crate::spec_file::read(path).map_err(|error| format!("cannot read it: {error}"))?;
    let current = String::from_utf8(bytes).map_err(|_| "it is no longer UTF-8 text".to_string())?;
    // Spans count from after a byte order mark, as the parser read the file.
    let (bom, mut text) = match current.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest.to_string()),
        None => ("", current.clone()),
    };
    // New lines end as the file's lines do.
    let ending = LineEnding::of(&text);
    let mut refused = Vec::new();
    let mut placed: Vec<(Span, usize)> = Vec::new();
    for (e, edit) in edits.iter().enumerate() {
        match rebase(&original.text, &text, edit.span) {
            Some(span) => placed.push((span, e)),
            None => refused.push(e),
        }
    }
    // Bottom-up, so each edit's offsets still hold when it is applied.
    placed.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut floor = usize::MAX;
    let mut written = 0;
    for (span, e) in placed {
        if span.end > floor {
            refused.push(e);
            continue;
        }
        text.replace_range(span.start..span.end, &ending.apply(&edits[e].text));
        floor = span.start;
        written += 1;
    }
    if written == 0 {
        return Ok(refused);
    }
    // An observed item may nest deeper than a spec may hold: what is written must still parse.
    if let Err(errors) = crate::syntax::parse(&SourceFile::new(path, text.as_str())) {
        let reason = errors.first().map_or("", |error| error.message.as_str());
        return Err(format!("the updated spec would not be valid: {reason}"));
    }
    let target = match mode {
        UpdateMode::Pending => pending_path(path),
        _ => path.to_path_buf(),
    };
    write_atomically(path, &target, &format!("{bom}{text}"))?;
    Ok(refused)
}

/// Writes `text` to `target` atomically, with the permissions of `spec`. A read-only spec is
/// refused, and said to be in so many words.
pub fn write_atomically(spec: &Path, target: &Path, text: &str) -> Result<(), String> {
    crate::atomic_write::refuse_read_only(spec).map_err(|error| error.to_string())?;
    crate::atomic_write::write_atomically(target, text, spec)
        .map_err(|error| format!("cannot write it: {error}"))
}
