//! The rewrite of an item block for `--update`: lines before the failure stay as written, and
//! from the failing line on, the expected lines are lined up with what the stream sent — lines
//! whose pattern fits an observed item stay as written, the others give way to the observed
//! items rendered in spec syntax (keeping their timing bounds), and the observed ending closes
//! the block.

use similar::{Algorithm, DiffTag, capture_diff_slices};

use crate::ast::{Control, Entry, EntryKind};
use crate::duration::format_duration;
use crate::line_break;
use crate::source::{SourceFile, Span};

/// The widest a rewritten one-line block may be (from its indentation) to stay on one line.
const ONE_LINE_WIDTH: usize = 80;

/// How observed items relate to the block's item lines.
pub trait Lining {
    /// Whether observed item `o` fits the pattern of entry `e`.
    fn fits(&self, e: usize, o: usize) -> bool;
    /// Observed item `o` written in the shape of entry `e`'s pattern, if it has that shape.
    fn shaped(&self, e: usize, o: usize) -> Option<String>;
}

/// One thing the stream did after the lines that stay: an item, or how it ended.
pub enum Observed {
    /// The item as a spec line (as `update::observed::Writer::item` writes it).
    Item(String),
    End,
    Dropped,
}

/// The edit that makes the block expect what was observed: the span to replace and its text.
///
/// `first` is the index of the top-level entry from which the block is rewritten (the one that
/// failed, or `entries.len()` for an empty block). `lining.fits(e, o)` says whether observed
/// item `o` fits the pattern of entry `e` (an item line), and `lining.shaped(e, o)` writes item
/// `o` in the shape of that line (see `update::shape`).
///
/// The lines written end with LF (those kept as written, with the file's own breaks): the
/// writer puts every line break of an edit in the file's line endings (see `update::apply`).
pub fn rewrite(
    file: &SourceFile,
    block_span: Span,
    entries: &[Entry],
    first: usize,
    observed: &[Observed],
    lining: &dyn Lining,
) -> Result<(Span, String), String> {
    let region = &entries[first.min(entries.len())..];
    let action = region
        .iter()
        .find(|e| matches!(e.kind, EntryKind::Control(_)) && !is_rule(&e.kind));
    if let Some(action) = action.map(|e| e.span) {
        let line = file.line_col(action.start).line;
        return Err(format!(
            "the block has a client action on line {line} after the failing line; update it by hand"
        ));
    }
    let text = &file.text;
    let block_indent = indent_of(text, block_span.start);
    // Rewrite from the failing line's start when it begins a line of its own; otherwise (an
    // empty or one-line block) the whole block is written out, one line per entry.
    let from_line = region
        .first()
        .map(|entry| line_break::line_start(text, entry.span.start))
        .filter(|&start| text[start..region[0].span.start].trim().is_empty());
    let (replace_from, kept_before) = match from_line {
        Some(start) => (start, &entries[..0]),
        None => (block_span.start, &entries[..first.min(entries.len())]),
    };
    let indent = match from_line {
        Some(start) => text[start..region[0].span.start].to_string(),
        None => format!("{block_indent}  "),
    };

    let mut lines: Vec<String> = Vec::new();
    let mut previous_end = kept_before
        .first()
        .map(|e| line_break::line_start(text, e.span.start))
        .unwrap_or(replace_from);
    for entry in kept_before {
        lines.extend(comments_between(text, previous_end, entry.span.start));
        lines.push(entry_text(text, entry));
        previous_end = entry.span.end;
    }
    if from_line.is_some() {
        previous_end = replace_from;
    }

    // The lines that take part in lining up: item lines, endings, and the structures (which
    // are replaced by the items they stood for). Rules such as `ignore` are kept, first.
    let aligned: Vec<usize> = (0..region.len())
        .filter(|&i| !is_rule(&region[i].kind))
        .collect();
    for entry in region.iter().filter(|e| is_rule(&e.kind)) {
        lines.push(entry_text(text, entry));
    }
    let expected_tokens: Vec<usize> = (0..aligned.len()).collect();
    let mut observed_tokens = Vec::with_capacity(observed.len());
    let mut next = 0;
    for (o, seen) in observed.iter().enumerate() {
        let found = (next..aligned.len()).find(|&a| {
            let entry = &region[aligned[a]];
            match (seen, &entry.kind) {
                (Observed::Item(_), EntryKind::Item(_)) => lining.fits(first + aligned[a], o),
                (Observed::End, EntryKind::End) | (Observed::Dropped, EntryKind::Dropped) => true,
                _ => false,
            }
        });
        match found {
            Some(a) => {
                observed_tokens.push(a);
                next = a + 1;
            }
            None => observed_tokens.push(aligned.len() + o),
        }
    }
    let observed_line = |o: usize| match &observed[o] {
        Observed::Item(text) => text.clone(),
        Observed::End => "end".to_string(),
        Observed::Dropped => "dropped".to_string(),
    };
    // New items are written in the shape of the item line they replace, or else of the item
    // line before them: a matcher the author wrote for a volatile value stays a matcher.
    let is_item = |e: usize| entries[e].item_line().is_some();
    let mut template = (0..first.min(entries.len())).rev().find(|&e| is_item(e));
    for op in capture_diff_slices(Algorithm::Patience, &expected_tokens, &observed_tokens) {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                for a in old {
                    let entry = &region[aligned[a]];
                    lines.extend(comments_between(text, previous_end, entry.span.start));
                    lines.push(entry_text(text, entry));
                    previous_end = entry.span.end;
                    if is_item(first + aligned[a]) {
                        template = Some(first + aligned[a]);
                    }
                }
            }
            _ => {
                let old: Vec<usize> = old.collect();
                for &a in &old {
                    let entry = &region[aligned[a]];
                    lines.extend(comments_between(text, previous_end, entry.span.start));
                    previous_end = entry.span.end;
                }
                // `3 times { line }` where the items that came in its place all fit the line:
                // only the count changes; where they all take one shape of the line, they are
                // that many times of it.
                if let [a] = old[..]
                    && is_counted_repetition(&region[aligned[a]])
                    && new
                        .clone()
                        .all(|o| matches!(observed[o], Observed::Item(_)))
                {
                    let e = first + aligned[a];
                    template = Some(e);
                    if new.clone().all(|o| lining.fits(e, o)) {
                        lines.push(recount(text, &region[aligned[a]], new.len()));
                        continue;
                    }
                    let shapes: Vec<Option<String>> =
                        new.clone().map(|o| lining.shaped(e, o)).collect();
                    if let Some(Some(shape)) = shapes.first()
                        && shapes.iter().all(|s| s.as_ref() == Some(shape))
                    {
                        lines.push(format!("{} times {{ {shape} }}", new.len()));
                        continue;
                    }
                }
                for slot in slots(&old, new, |a| &region[aligned[a]].kind, observed) {
                    let (o, paired) = match slot {
                        Slot::Skip(a) => {
                            lines.push(entry_text(text, &region[aligned[a]]));
                            continue;
                        }
                        Slot::Observed(o, paired) => (o, paired),
                    };
                    let Observed::Item(rendered) = &observed[o] else {
                        lines.push(observed_line(o));
                        continue;
                    };
                    let paired = paired.map(|a| first + aligned[a]).filter(|&e| is_item(e));
                    let mut line = paired
                        .or(template)
                        .and_then(|e| lining.shaped(e, o))
                        .unwrap_or_else(|| rendered.clone());
                    // Timing bounds are budgets, not snapshots: a replaced line keeps its own,
                    // and its comment.
                    if let Some(e) = paired
                        && let EntryKind::Item(item) = &entries[e].kind
                    {
                        if let Some(within) = &item.within {
                            line.push_str(&format!("  within {}", format_duration(within.value)));
                        }
                        if let Some(after) = &item.after {
                            line.push_str(&format!("  after {}", format_duration(after.value)));
                        }
                        line.push_str(trailing_comment(text, &entries[e]));
                    }
                    if paired.is_some() {
                        template = paired;
                    }
                    lines.push(line);
                }
            }
        }
    }
    // Comments after the last entry, before the closing brace.
    let close = block_span.end.saturating_sub(1);
    lines.extend(comments_between(text, previous_end, close));

    // A one-line block stays on one line when it still fits.
    let one_line = format!("{{ {} }}", lines.join("; "));
    if from_line.is_none()
        && !entries.is_empty()
        && !line_break::has_break(&text[block_span.start..block_span.end])
        && !lines
            .iter()
            .any(|line| line.is_empty() || line.contains('#'))
        && block_indent.len() + one_line.len() <= ONE_LINE_WIDTH
    {
        return Ok((Span::new(replace_from, block_span.end), one_line));
    }
    let mut out = String::new();
    if from_line.is_none() {
        out.push_str("{\n");
    }
    for line in &lines {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&indent);
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&block_indent);
    out.push('}');
    Ok((Span::new(replace_from, block_span.end), out))
}

/// `3 times { line }`: exactly N of one item line.
pub fn is_counted_repetition(entry: &Entry) -> bool {
    matches!(&entry.kind, EntryKind::Repeat { quantifier, .. } if quantifier.max == Some(quantifier.min))
        && entry.item_line().is_some()
}

/// Where an observed item goes in a stretch of the block being replaced.
enum Slot {
    /// Observed item `o`, in the place of expected line `a` (an index into the aligned lines)
    /// when there is one.
    Observed(usize, Option<usize>),
    /// The `...` at aligned line `a`, kept as written.
    Skip(usize),
}

/// The observed items `new` in place of the expected lines `old`, pairing them by position.
/// A `...` among the old lines stays and takes the items between the lines before it (paired
/// with the first items) and the lines after it (paired with the last).
fn slots<'e>(
    old: &[usize],
    new: std::ops::Range<usize>,
    kind: impl Fn(usize) -> &'e EntryKind,
    observed: &[Observed],
) -> Vec<Slot> {
    let skip = old.iter().position(|&a| matches!(kind(a), EntryKind::Skip));
    if let Some(at) = skip {
        let after = old.len() - at - 1;
        let new: Vec<usize> = new.clone().collect();
        if new.len() >= at + after {
            let middle = &new[at..new.len() - after];
            if middle
                .iter()
                .all(|&o| matches!(observed[o], Observed::Item(_)))
            {
                let mut slots: Vec<Slot> = new[..at]
                    .iter()
                    .zip(old)
                    .map(|(&o, &a)| Slot::Observed(o, Some(a)))
                    .collect();
                slots.push(Slot::Skip(old[at]));
                slots.extend(
                    new[new.len() - after..]
                        .iter()
                        .zip(&old[at + 1..])
                        .map(|(&o, &a)| Slot::Observed(o, Some(a))),
                );
                return slots;
            }
        }
    }
    new.enumerate()
        .map(|(position, o)| Slot::Observed(o, old.get(position).copied()))
        .collect()
}

/// A counted repetition as written, with `count` for its count.
fn recount(text: &str, entry: &Entry, count: usize) -> String {
    let written = entry_text(text, entry);
    // The quantifier is a number here, and `times` the first word after it.
    match written.find("times") {
        Some(times) => format!("{count} {}", &written[times..]),
        None => written,
    }
}

/// Entries that are rules for the whole block, not points in it.
fn is_rule(kind: &EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Ignore(_)
            | EntryKind::All(_)
            | EntryKind::FirstWithin(_)
            | EntryKind::Control(Control::Pace(_) | Control::Abort(Some(_)))
    )
}

/// An entry as written, with a comment that follows it on its line.
fn entry_text(text: &str, entry: &Entry) -> String {
    format!(
        "{}{}",
        &text[entry.span.start..entry.span.end],
        trailing_comment(text, entry)
    )
}

/// The comment after an entry on its line, with the spaces before it; empty when there is none.
fn trailing_comment<'t>(text: &'t str, entry: &Entry) -> &'t str {
    let rest = &text[entry.span.end..line_break::line_end(text, entry.span.end)];
    if rest.trim_start().starts_with('#') {
        rest.trim_end()
    } else {
        ""
    }
}

/// Comment lines (and single blank lines between them) from `from` to `to`, without indentation.
fn comments_between(text: &str, from: usize, to: usize) -> Vec<String> {
    if from >= to {
        return Vec::new();
    }
    // Skip the rest of the line `from` is on: a trailing comment there belongs to its entry.
    let line_end = line_break::line_end(text, from);
    let start = line_end + line_break::break_len(text, line_end).unwrap_or(0);
    let end = line_break::line_start(text, to);
    if start >= end {
        return Vec::new();
    }
    line_break::lines(&text[start..end])
        .map(str::trim)
        .filter(|line| line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The whitespace that starts the line `offset` is on.
fn indent_of(text: &str, offset: usize) -> String {
    let start = line_break::line_start(text, offset);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Expectation, StepKind};

    /// Rewrites the first block of `text` from entry `first`, with items that fit the lines
    /// whose text is in `fitting`.
    fn rewritten(text: &str, first: usize, observed: &[Observed], fitting: &[usize]) -> String {
        let file = SourceFile::new("a.stream", text);
        let spec = crate::syntax::parse(&file).expect("the spec parses");
        let block = spec.tests[0]
            .steps
            .iter()
            .find_map(|step| match &step.kind {
                StepKind::Expect(Expectation::Stream(block)) => Some(block.clone()),
                _ => None,
            })
            .expect("a block");
        struct Fitting<'a>(&'a [usize]);
        impl Lining for Fitting<'_> {
            fn fits(&self, e: usize, o: usize) -> bool {
                self.0.get(o) == Some(&e)
            }
            fn shaped(&self, _: usize, _: usize) -> Option<String> {
                None
            }
        }
        let (span, new) = rewrite(
            &file,
            block.block_span,
            &block.entries,
            first,
            observed,
            &Fitting(fitting),
        )
        .expect("a rewrite");
        let mut out = file.text.clone();
        out.replace_range(span.start..span.end, &new);
        out
    }

    #[test]
    fn a_one_line_block_stays_on_one_line_while_it_fits() {
        let text = "test \"t\" {\n  GET http://x/\n  expect lines { \"a\" }\n}\n";
        let out = rewritten(
            text,
            1,
            &[Observed::Item("\"c\"".into()), Observed::End],
            &[],
        );
        assert_eq!(
            out,
            "test \"t\" {\n  GET http://x/\n  expect lines { \"a\"; \"c\"; end }\n}\n"
        );
        let long = format!("\"{}\"", "c".repeat(80));
        let out = rewritten(text, 1, &[Observed::Item(long.clone())], &[]);
        assert_eq!(
            out,
            format!(
                "test \"t\" {{\n  GET http://x/\n  expect lines {{\n    \"a\"\n    {long}\n  }}\n}}\n"
            )
        );
    }

    #[test]
    fn a_failed_repetition_gives_way_to_the_items_and_later_lines_that_fit_stay() {
        let text = "test \"t\" {\n  GET http://x/\n  expect lines {\n    2 times { \"a\" }\n    /b/   # kept\n    end\n  }\n}\n";
        let out = rewritten(
            text,
            0,
            &[
                Observed::Item("\"a\"".into()),
                Observed::Item("\"b\"".into()),
                Observed::End,
            ],
            &[usize::MAX, 1],
        );
        assert_eq!(
            out,
            "test \"t\" {\n  GET http://x/\n  expect lines {\n    \"a\"\n    /b/   # kept\n    end\n  }\n}\n"
        );
    }
}
