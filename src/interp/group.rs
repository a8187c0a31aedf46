//! Checks across streams: the figures of a group (every stream opened under one name, or every
//! stream of a branch's instances) for `expect count in NAME …`, and `expect same items in
//! NAME`, which compares what each stream of a group received, in bounded memory.

use std::hash::{Hash, Hasher};
use std::time::Instant;

use crate::ast::{Aggregate, AggregateKind, Ident, ItemPattern};
use crate::interp::aggregate;
use crate::interp::stats::StreamStats;
use crate::outcome::Failure;
use crate::pattern::{ItemView, match_item};
use crate::render::render_item;
use crate::report::plural;
use crate::transport::item::Item;

/// Items of a stream kept as text for `expect same items`, to show where two streams part: the
/// first this many, up to [`LOGGED_BYTES`]. Past that only a count and a running hash are kept,
/// so memory does not grow with the stream.
pub const LOGGED_ITEMS: usize = 1_000;
pub const LOGGED_BYTES: usize = 64 * 1024;

/// What a stream of an `expect same items` group received, in order.
#[derive(Debug, Clone, Default)]
pub struct ItemLog {
    /// `where PATTERN`: only the items that match it are logged. Boxed: a pattern is about
    /// 500 bytes, and every named stream of a compared name carries a log.
    only: Option<Box<ItemPattern>>,
    count: u64,
    hash: u64,
    first: Vec<String>,
    first_bytes: usize,
}

impl ItemLog {
    pub fn new(only: Option<ItemPattern>) -> ItemLog {
        ItemLog {
            only: only.map(Box::new),
            ..ItemLog::default()
        }
    }

    pub fn push(&mut self, item: &Item) {
        if let Some(only) = &self.only
            && match_item(only, &ItemView::new(item), &mut Vec::new()).is_err()
        {
            return;
        }
        let text = render_item(item);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash.hash(&mut hasher);
        text.hash(&mut hasher);
        self.hash = hasher.finish();
        self.count += 1;
        // Only a prefix of the stream is kept as text: once one item does not fit, no later
        // one is kept, so position N of the text is item N of the stream.
        if self.first.len() as u64 + 1 == self.count
            && self.first.len() < LOGGED_ITEMS
            && self.first_bytes + text.len() <= LOGGED_BYTES
        {
            self.first_bytes += text.len();
            self.first.push(text);
        }
    }

    fn same_as(&self, other: &ItemLog) -> bool {
        self.count == other.count && self.hash == other.hash
    }
}

/// A stream of the test, closed: its figures for group checks and where it came from.
#[derive(Debug, Clone)]
pub struct ClosedStream {
    /// The name it was opened under (`feed`); `None` for a stream without one.
    pub name: Option<String>,
    /// `feed[2]` when the name was opened more than once, else the name.
    pub label: String,
    /// The branch instance that opened it, outermost first (`room/reader[3]`).
    pub branch: Option<String>,
    pub stats: StreamStats,
    pub log: Option<ItemLog>,
    pub opened_at: Instant,
    pub closed_at: Instant,
}

impl ClosedStream {
    /// Whether the stream belongs to group `name`: opened under that name, or inside an
    /// instance of the branch of that name.
    pub fn in_group(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
            || self.branch.as_deref().is_some_and(|branch| {
                branch.split('/').any(|part| {
                    part == name
                        || part
                            .strip_prefix(name)
                            .is_some_and(|rest| rest.starts_with('['))
                })
            })
    }

    /// The label with its branch, as reports name it: `feed[2] (branch reader[3])`.
    pub fn describe(&self) -> String {
        match &self.branch {
            Some(branch) => format!("`{}` (branch {branch})", self.label),
            None => format!("`{}`", self.label),
        }
    }
}

/// `expect count in NAME …` and the other aggregates over a group: counts and bytes add up,
/// ttfb and first item are the slowest stream's, the duration runs from the first stream's
/// request to the last one's end (or the branch's span), gaps are pooled.
pub fn check_group_aggregate(
    streams: &[&ClosedStream],
    branch_span: Option<(Instant, Instant)>,
    aggregate: &Aggregate,
    group: &Ident,
) -> Result<(), Failure> {
    let Some((first, rest)) = streams.split_first() else {
        return Err(Failure::error(
            format!("no stream of `{}` was opened", group.value),
            group.span,
            "nothing to measure",
        ));
    };
    let mut all = first.stats.clone();
    let mut opened = first.opened_at;
    let mut closed = first.closed_at;
    for stream in rest {
        all.absorb(&stream.stats);
        all.ttfb = all.ttfb.max(stream.stats.ttfb);
        all.first_item = match (all.first_item, stream.stats.first_item) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        opened = opened.min(stream.opened_at);
        closed = closed.max(stream.closed_at);
    }
    // Ids are each stream's own order: every stream of the group must keep it.
    if let AggregateKind::Ids(_) = &aggregate.kind {
        for stream in streams {
            aggregate::check_stats(&stream.stats, aggregate)
                .map_err(|failure| failure.note(format!("in stream {}", stream.describe())))?;
        }
        return Ok(());
    }
    let (from, to) = branch_span.unwrap_or((opened, closed));
    all.duration = Some(to.saturating_duration_since(from));
    if matches!(aggregate.kind, AggregateKind::Duration(_)) && branch_span.is_none() {
        all.duration = Some(closed.saturating_duration_since(opened));
    }
    aggregate::check_stats(&all, aggregate).map_err(|failure| {
        failure.note(format!(
            "measured over {} of `{}`",
            plural(streams.len(), "stream"),
            group.value
        ))
    })
}

/// `expect same items in NAME`: every stream of the group received what the first did, in the
/// same order.
pub fn check_same_items(streams: &[&ClosedStream], group: &Ident) -> Result<(), Failure> {
    let logged: Vec<(&ClosedStream, &ItemLog)> = streams
        .iter()
        .filter_map(|stream| stream.log.as_ref().map(|log| (*stream, log)))
        .collect();
    let Some(((reference, expected), others)) = logged.split_first() else {
        return Err(Failure::error(
            format!("no stream of `{}` was opened", group.value),
            group.span,
            "nothing to compare",
        ));
    };
    if others.is_empty() {
        return Err(Failure::error(
            format!("only one stream was opened as `{}`", group.value),
            group.span,
            "nothing to compare it with",
        ));
    }
    let Some((stream, log)) = others.iter().find(|(_, log)| !log.same_as(expected)) else {
        return Ok(());
    };
    // Where they part among the items kept as text: a different item, or one ran out.
    let kept_whole = |log: &ItemLog| log.count as usize == log.first.len();
    let parted = expected
        .first
        .iter()
        .zip(&log.first)
        .position(|(a, b)| a != b)
        .or_else(|| {
            let shorter = expected.first.len().min(log.first.len());
            (expected.first.len() != log.first.len() && (kept_whole(expected) || kept_whole(log)))
                .then_some(shorter)
        });
    let mut failure = Failure::assertion(
        format!(
            "the streams of `{}` did not all receive the same items",
            group.value
        ),
        group.span,
        format!(
            "{} got {}, {} got {}",
            reference.describe(),
            plural(expected.count as usize, "item"),
            stream.describe(),
            plural(log.count as usize, "item")
        ),
    );
    let shown = |items: &[String], at: usize| {
        items
            .get(at)
            .map_or("nothing more".to_string(), |text| format!("`{text}`"))
    };
    failure.notes.push(match parted {
        Some(at) => format!(
            "they part at item {}: {} got {}, {} got {}",
            at + 1,
            reference.describe(),
            shown(&expected.first, at),
            stream.describe(),
            shown(&log.first, at)
        ),
        None => format!(
            "the first {} are the same; they part after that (only the first are kept as text)",
            plural(expected.first.len().min(log.first.len()), "item")
        ),
    });
    Err(failure)
}
