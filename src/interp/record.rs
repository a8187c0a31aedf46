//! What a block records for `--update`: the items it took, each with the top-level line that
//! took it, so that when it fails the block can be rewritten from the failing line on with what
//! the stream really sent (see `update::block`).

use std::time::Duration;

use crate::ast::{Entry, EntryKind, ItemPattern};
use crate::interp::matcher::{FailureKind, Fed, MatchFailure, Terminal};
use crate::outcome::Fix;
use crate::pattern::{ItemView, match_item};
use crate::source::{SourceFile, Span};
use crate::transport::item::Item;
use crate::update::block::{Lining, Observed, is_counted_repetition, rewrite};
use crate::update::observed::Writer;
use crate::update::redactions::Redactions;
use crate::update::shape::shaped;

/// The most items an update records from one block: a longer stream is not a snapshot.
pub const RECORD_LIMIT: usize = 10_000;

/// Where a block's text is, for rewriting it.
#[derive(Clone, Copy)]
pub struct BlockUpdate<'a> {
    pub file: &'a SourceFile,
    /// The braces of `expect … { }`; `None` for `expect message <line>`, a single line.
    pub block_span: Option<Span>,
    /// What the config redacts (`[update] redact`).
    pub redactions: &'a Redactions,
}

impl<'a> BlockUpdate<'a> {
    /// With `--update`, where the block at `block_span` of `spec` is written, so that its
    /// failures can carry their rewrite; `None` on a plain run.
    pub fn of(
        settings: &'a crate::interp::RunSettings,
        spec: &'a crate::ast::Spec,
        block_span: Option<Span>,
    ) -> Option<BlockUpdate<'a>> {
        settings.record.then_some(BlockUpdate {
            file: &spec.file,
            block_span,
            redactions: &settings.redactions,
        })
    }
}

/// The items a block took, with the top-level entry that took each.
#[derive(Default)]
pub struct Recorder {
    items: Vec<(Item, usize)>,
    overflow: bool,
    last_owner: usize,
}

impl Recorder {
    /// An item the matcher took: `fed` says by which line.
    pub fn took(&mut self, entries: &[Entry], item: &Item, fed: &Fed) {
        let owner = match fed {
            Fed::Matched(span) => top_level(entries, *span).unwrap_or(self.last_owner),
            // `...` took it: the skip comes before the line that matches next.
            Fed::Skipped => self.last_owner + 1,
            Fed::Ignored | Fed::Done => return,
        };
        self.last_owner = self.last_owner.max(owner);
        self.push(item.clone(), owner);
    }

    /// An item read after the failure (owned by no line yet).
    pub fn push(&mut self, item: Item, owner: usize) {
        if self.items.len() >= RECORD_LIMIT {
            self.overflow = true;
            return;
        }
        self.items.push((item, owner));
    }

    /// How many items the entries from the one holding `failed_at` on took before it failed.
    pub fn taken_from(&self, entries: &[Entry], failed_at: Span) -> usize {
        let first = top_level(entries, failed_at).unwrap_or(self.last_owner);
        self.items
            .iter()
            .filter(|(_, owner)| *owner >= first)
            .count()
    }
}

/// How many items the block stands for from the entry holding `failed_at` on, when it does
/// not expect the stream's ending (a prefix of the stream) and every entry stands for a known
/// number of items; else `None` (then the update reads to the end).
pub fn items_wanted(entries: &[Entry], failed_at: Span) -> Option<usize> {
    let first = top_level(entries, failed_at)?;
    let mut wanted = 0;
    for entry in &entries[first..] {
        wanted += match &entry.kind {
            EntryKind::Item(_) => 1,
            EntryKind::Repeat { quantifier, body }
                if quantifier.max == Some(quantifier.min)
                    && body.iter().all(|e| matches!(e.kind, EntryKind::Item(_))) =>
            {
                body.len()
                    .checked_mul(usize::try_from(quantifier.min).ok()?)?
            }
            EntryKind::AnyOrder(lines) => lines.len(),
            kind if kind.is_declaration() => 0,
            _ => return None,
        };
    }
    Some(wanted)
}

/// The top-level entry whose text holds `span`.
fn top_level(entries: &[Entry], span: Span) -> Option<usize> {
    entries
        .iter()
        .position(|e| e.span.start <= span.start && span.start < e.span.end.max(e.span.start + 1))
}

/// Whether a failure of this kind is a snapshot: timing bounds are budgets, never rewritten.
pub fn is_snapshot(failure: &MatchFailure) -> bool {
    !matches!(
        failure.kind,
        FailureKind::Timing { .. }
            | FailureKind::NothingWithin { .. }
            | FailureKind::Unbound { .. }
    )
}

/// The fix of a failed (or empty) block: `failed_at` is the failing expectation's span (`None`
/// for an empty block); `after` holds the items read after the failure, `ending` how the
/// stream ended (`None` when reading stopped at the deadline).
pub fn block_fix(
    update: BlockUpdate<'_>,
    entries: &[Entry],
    failed_at: Option<Span>,
    recorder: Recorder,
    after: Vec<(Item, Duration)>,
    ending: Option<&Terminal>,
) -> Fix {
    let writer = Writer::new(update.redactions);
    if recorder.overflow || after.len() > RECORD_LIMIT {
        return Fix::Cannot(format!(
            "the stream sent more than {RECORD_LIMIT} items; --update records at most that many"
        ));
    }
    let Some(block_span) = update.block_span else {
        // `expect message <line>`: the reply that came instead.
        return match (entries.first(), after.first()) {
            (
                Some(Entry {
                    kind: EntryKind::Item(line),
                    ..
                }),
                Some((item, _)),
            ) => Fix::Replace {
                span: line.pattern.span,
                text: shaped(&update.file.text, &line.pattern, item, &writer)
                    .unwrap_or_else(|| writer.item(item)),
            },
            _ => Fix::Cannot("no reply came to record".to_string()),
        };
    };
    let mut first = match failed_at {
        None => entries.len(),
        Some(span) => top_level(entries, span).unwrap_or(recorder.last_owner),
    };
    // More items than `3 times { line }` took, that fit its line: the rewrite starts at the
    // repetition, so that its count changes rather than lines being added after it.
    let next_item = recorder
        .items
        .iter()
        .find(|(_, owner)| *owner >= first)
        .map(|(item, _)| item)
        .or(after.first().map(|(item, _)| item));
    if let Some(before) = first.checked_sub(1)
        && first < entries.len()
        && is_counted_repetition(&entries[before])
        && let (Some(line), Some(item)) = (entries[before].item_line(), next_item)
        && fits(&line.pattern, item)
    {
        first = before;
    }
    let mut items: Vec<Item> = recorder
        .items
        .into_iter()
        .filter(|(_, owner)| *owner >= first)
        .map(|(item, _)| item)
        .collect();
    items.extend(after.into_iter().map(|(item, _)| item));
    let mut observed: Vec<Observed> = items
        .iter()
        .map(|item| Observed::Item(writer.item(item)))
        .collect();
    match ending {
        Some(terminal) if terminal.is_clean() => observed.push(Observed::End),
        Some(_) => observed.push(Observed::Dropped),
        None => {}
    }
    let lining = RecordedItems {
        text: &update.file.text,
        entries,
        items: &items,
        writer,
    };
    match rewrite(update.file, block_span, entries, first, &observed, &lining) {
        Ok((span, text)) => Fix::Replace { span, text },
        Err(reason) => Fix::Cannot(reason),
    }
}

/// The items recorded from the failing line on, lined up against the block's item lines.
struct RecordedItems<'a> {
    text: &'a str,
    entries: &'a [Entry],
    items: &'a [Item],
    writer: Writer<'a>,
}

impl RecordedItems<'_> {
    fn pair(&self, e: usize, o: usize) -> Option<(&ItemPattern, &Item)> {
        let line = self.entries.get(e)?.item_line()?;
        Some((&line.pattern, self.items.get(o)?))
    }
}

impl Lining for RecordedItems<'_> {
    fn fits(&self, e: usize, o: usize) -> bool {
        self.pair(e, o)
            .is_some_and(|(pattern, item)| fits(pattern, item))
    }

    fn shaped(&self, e: usize, o: usize) -> Option<String> {
        let (pattern, item) = self.pair(e, o)?;
        shaped(self.text, pattern, item, &self.writer)
    }
}

/// Whether `item` matches `pattern` (captures aside).
fn fits(pattern: &ItemPattern, item: &Item) -> bool {
    match_item(pattern, &ItemView::new(item), &mut Vec::new()).is_ok()
}
