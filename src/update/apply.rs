//! Writes the fixes of a run back to the spec files: every edit of a file at once, bottom-up, each
//! refused when the text it replaces changed since the run, through a temporary file and a
//! rename, so a file is never half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::UpdateMode;
use super::pending::pending_path;
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
}

struct Edit {
    span: Span,
    text: String,
    line: usize,
}

/// Applies every fix of `outcomes` in `mode` (already resolved: never `Auto`).
pub fn apply(outcomes: &[TestOutcome], mode: UpdateMode) -> UpdateReport {
    let mut report = UpdateReport::default();
    let mut by_file: BTreeMap<PathBuf, (Arc<SourceFile>, Vec<Edit>)> = BTreeMap::new();
    for outcome in outcomes {
        for failure in &outcome.failures {
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
                    if entry.1.iter().any(|edit| edit.span == *span) {
                        continue;
                    }
                    entry.1.push(Edit {
                        span: *span,
                        text: text.clone(),
                        line,
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
        let count = edits.len();
        match write_file(&path, &original, edits, mode) {
            Ok((written, refused)) => {
                report.written += written;
                report.not_written += refused.len();
                for line in refused {
                    report.lines.push(format!(
                        "not updated: {}:{line}: the spec changed there since the run",
                        path.display()
                    ));
                }
                if written > 0 {
                    let what = crate::report::plural(written, "expectation");
                    report.lines.push(match mode {
                        UpdateMode::Pending => format!(
                            "pending: {} ({what}; accept with `streamspec review`)",
                            pending_path(&path).display()
                        ),
                        _ => format!("updated: {} ({what})", path.display()),
                    });
                }
            }
            Err(message) => {
                report.not_written += count;
                report
                    .lines
                    .push(format!("not updated: {}: {message}", path.display()));
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

/// Applies the edits to the file's current text; `(written, lines of refused edits)`.
fn write_file(
    path: &Path,
    original: &SourceFile,
    mut edits: Vec<Edit>,
    mode: UpdateMode,
) -> Result<(usize, Vec<usize>), String> {
    let bytes = crate::spec_file::read(path).map_err(|error| format!("cannot read it: {error}"))?;
    let current = String::from_utf8(bytes).map_err(|_| "it is no longer UTF-8 text".to_string())?;
    // Spans count from after a byte order mark, as the parser read the file.
    let (bom, mut text) = match current.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest.to_string()),
        None => ("", current.clone()),
    };
    // Bottom-up, so each edit's offsets still hold when it is applied.
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.span.start));
    let mut refused = Vec::new();
    let mut written = 0;
    let mut floor = usize::MAX;
    for edit in edits {
        let was = original.text.get(edit.span.start..edit.span.end);
        let now = text.get(edit.span.start..edit.span.end);
        if was.is_none() || was != now || edit.span.end > floor {
            refused.push(edit.line);
            continue;
        }
        text.replace_range(edit.span.start..edit.span.end, &edit.text);
        floor = edit.span.start;
        written += 1;
    }
    refused.sort_unstable();
    if written == 0 {
        return Ok((0, refused));
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
    Ok((written, refused))
}

/// Writes `text` to `target` atomically, with the permissions of `spec`. A read-only spec is
/// refused: a rename would replace it anyway.
pub fn write_atomically(spec: &Path, target: &Path, text: &str) -> Result<(), String> {
    let metadata = std::fs::metadata(spec).map_err(|error| format!("cannot read it: {error}"))?;
    if metadata.permissions().readonly() {
        return Err("the file is read-only".to_string());
    }
    crate::atomic_write::write_atomically(target, text, spec)
        .map_err(|error| format!("cannot write it: {error}"))
}
