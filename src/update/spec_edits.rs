//! Writing one spec file's fixes: under the spec's lock, the file is read as it is now (or, with
//! `--update=pending`, the pending file that gathers the fixes of earlier runs too), each fix is
//! placed in it, and it is written back whole.
//!
//! Where a fix goes: its span points into the text the run parsed; what anyone changed since
//! (another update, an editor) is found by lining the texts up ([`rebase`]). A fix whose lines
//! changed is refused, unless the change is that same fix (another update wrote it first: it is
//! there, nothing to do) or, in a pending file, an earlier pending fix of the same lines (the
//! newer observation replaces it).

use std::path::Path;
use std::time::SystemTime;

use super::UpdateMode;
use super::pending::pending_path;
use super::rebase::{changed_region, rebase};
use crate::line_break::LineEnding;
use crate::source::{SourceFile, Span};

/// Why a fix was not written when its lines changed since the run.
pub const CHANGED_SINCE: &str = "the spec changed there since the run";

/// A fix of one test: the span of the parsed text it replaces, and the text.
#[derive(Debug, Clone, Copy)]
pub struct SpecFix<'a> {
    pub span: Span,
    pub text: &'a str,
}

/// Where one fix goes in the file now.
enum Placement {
    /// Replace this span of the file with this text.
    Replace(Span, String),
    /// The file holds it already: another update wrote the same fix first.
    AlreadyThere,
    /// Its lines changed since the run: writing it would undo that.
    Changed,
}

/// Writes the fixes of one spec (`parsed`, the text the run read), under its lock, in `mode`
/// (`InPlace` or `Pending`). For each fix, `None` when it is in the file now, or why it is not
/// (its lines changed since the run, or it would make the spec invalid); an error when nothing
/// could be written (the message says why).
pub fn write(
    parsed: &SourceFile,
    fixes: &[SpecFix],
    mode: UpdateMode,
) -> Result<Vec<Option<String>>, String> {
    let spec = &parsed.path;
    let _lock =
        crate::atomic_write::lock(spec).map_err(|error| format!("cannot lock it: {error}"))?;
    let pending = pending_path(spec);
    // A pending file gathers the fixes of every run until it is accepted, unless the spec
    // changed after it was written (`accept` would refuse it): then it starts anew.
    let over_pending = mode == UpdateMode::Pending && is_newer(&pending, spec);
    let current = if over_pending {
        read_text(&pending)
            .map_err(|error| format!("cannot read {}: {error}", pending.display()))?
    } else {
        read_text(spec).map_err(|error| format!("cannot read it: {error}"))?
    };
    // Spans count from after a byte order mark, as the parser read the file.
    let (bom, now) = match current.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", current.as_str()),
    };
    // New lines end as the file's lines do.
    let ending = LineEnding::of(now);
    let mut not_written = vec![None; fixes.len()];
    let mut placed = Vec::new();
    for (index, fix) in fixes.iter().enumerate() {
        let text = ending.apply(fix.text);
        match place(&parsed.text, now, fix.span, &text, over_pending) {
            Placement::Replace(span, replacement) => placed.push((span, replacement, index)),
            Placement::AlreadyThere => {}
            Placement::Changed => not_written[index] = Some(CHANGED_SINCE.to_string()),
        }
    }
    // Bottom-up, so each replacement's offsets still hold when it is made; one that overlaps
    // another (two fixes of lines an earlier pending fix joined) waits for a later run.
    placed.sort_by_key(|(span, ..)| std::cmp::Reverse(span.start));
    let mut floor = usize::MAX;
    placed.retain(|(span, _, index)| {
        if span.end > floor {
            not_written[*index] = Some(CHANGED_SINCE.to_string());
            return false;
        }
        floor = span.start;
        true
    });
    if placed.is_empty() {
        return Ok(not_written);
    }
    let mut updated = replaced(now, &placed);
    // An observed item may nest deeper than a spec may hold: what is written must still parse.
    // A fix that makes the spec invalid on its own is left out, and the others are written.
    if invalid(spec, &updated).is_err() {
        let alone: Vec<Option<String>> = placed
            .iter()
            .map(|one| invalid(spec, &replaced(now, std::slice::from_ref(one))).err())
            .collect();
        let mut kept = Vec::new();
        for (one, invalid_alone) in placed.into_iter().zip(alone) {
            match invalid_alone {
                Some(reason) => not_written[one.2] = Some(reason),
                None => kept.push(one),
            }
        }
        updated = replaced(now, &kept);
        // Valid one by one but not together: none is written.
        if let Err(together) = invalid(spec, &updated) {
            for (_, _, index) in &kept {
                not_written[*index] = Some(together.clone());
            }
            kept.clear();
        }
        if kept.is_empty() {
            return Ok(not_written);
        }
    }
    let target = if mode == UpdateMode::Pending {
        &pending
    } else {
        spec
    };
    super::apply::write_atomically(spec, target, &format!("{bom}{updated}"))?;
    Ok(not_written)
}

/// `now` with the replacements made (they are apart, and sorted from the bottom up).
fn replaced(now: &str, placed: &[(Span, String, usize)]) -> String {
    let mut text = now.to_string();
    for (span, replacement, _) in placed {
        text.replace_range(span.start..span.end, replacement);
    }
    text
}

/// Why `text` would not be a valid spec, if it would not.
fn invalid(spec: &Path, text: &str) -> Result<(), String> {
    match crate::syntax::parse(&SourceFile::new(spec, text)) {
        Ok(_) => Ok(()),
        Err(errors) => {
            let reason = errors.first().map_or("", |error| error.message.as_str());
            Err(format!("the updated spec would not be valid: {reason}"))
        }
    }
}

/// Where `fix` (as `text`, in the file's line endings) goes in the file's text `now`, `parsed`
/// being the text the run read.
fn place(parsed: &str, now: &str, fix: Span, text: &str, over_pending: bool) -> Placement {
    if let Some(span) = rebase(parsed, now, fix) {
        return Placement::Replace(span, text.to_string());
    }
    // Another update wrote this very fix since: it is there.
    let mut fixed = parsed.to_string();
    fixed.replace_range(fix.start..fix.end, text);
    if rebase(&fixed, now, Span::new(fix.start, fix.start + text.len())).is_some() {
        return Placement::AlreadyThere;
    }
    // A pending file's lines changed by an earlier pending fix of the same expectation: the
    // newer observation replaces it, with the parsed lines around the span.
    if over_pending && let Some((in_parsed, in_now)) = changed_region(parsed, now, fix) {
        let replacement = format!(
            "{}{text}{}",
            &parsed[in_parsed.start..fix.start],
            &parsed[fix.end..in_parsed.end]
        );
        return Placement::Replace(in_now, replacement);
    }
    Placement::Changed
}

/// A file's text, read as a spec is (a regular file, at most 10 MiB, UTF-8).
fn read_text(path: &Path) -> Result<String, String> {
    let bytes = crate::spec_file::read(path)?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
}

/// Whether `path` exists and was modified no earlier than `than`.
fn is_newer(path: &Path, than: &Path) -> bool {
    let modified =
        |path: &Path| -> Option<SystemTime> { std::fs::metadata(path).ok()?.modified().ok() };
    match (modified(path), modified(than)) {
        (Some(path), Some(than)) => path >= than,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(placement: Placement) -> Option<(Span, String)> {
        match placement {
            Placement::Replace(span, text) => Some((span, text)),
            _ => None,
        }
    }

    #[test]
    fn a_fix_moves_with_its_lines_is_found_already_there_or_replaces_a_pending_one() {
        let parsed = "a\nx: 1\nb\n";
        let fix = Span::new(5, 6);
        // Lines added above move it.
        let now = "new\na\nx: 1\nb\n";
        assert_eq!(
            placed(place(parsed, now, fix, "2", false)),
            Some((Span::new(9, 10), "2".to_string()))
        );
        // Another update wrote the same fix: nothing to do.
        let now = "a\nx: 2\nb\n";
        assert!(matches!(
            place(parsed, now, fix, "2", false),
            Placement::AlreadyThere
        ));
        // Its line changed otherwise: refused in a spec, replaced (whole lines) in a pending file.
        let now = "a\nx: 3\ny: 3\nb\n";
        assert!(matches!(
            place(parsed, now, fix, "2", false),
            Placement::Changed
        ));
        assert_eq!(
            placed(place(parsed, now, fix, "2", true)),
            Some((Span::new(2, 12), "x: 2\n".to_string()))
        );
    }
}
