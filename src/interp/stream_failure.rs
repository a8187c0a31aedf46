//! What a block shows when it fails: the items kept for context as they pass, the few read on
//! after a failure, the rendered failure with its diff, and, with `--update`, the rest of the
//! stream read to rewrite the block.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::ast::{Entry, EntryKind, Spanned, StreamKind};
use crate::diff::focus::Focus;
use crate::diff::{self, ContextLine, ObservedLine};
use crate::duration::format_measured;
use crate::interp::matcher::{
    Absorbs, BlockMatcher, Expected, FailureKind, MatchFailure, Terminal,
};
use crate::interp::record::{self, BlockUpdate, Recorder};
use crate::interp::stream::{
    CONTEXT_ITEMS, EXPECTED_LINES, Next, RECENT_ITEMS, Reader, TRAILING_ITEMS, TRAILING_TIME,
    half_way,
};
use crate::interp::unreadable::{unreadable, unusable};
use crate::outcome::{Failure, FailureClass, Fix};
use crate::pattern::ItemView;
use crate::saturating_time::SaturatingAdd;
use crate::transport::item::Item;

/// Set for a load run: a failed block reads nothing more for its diff. A load measures the
/// server, and the time a run spends reading on (up to [`TRAILING_TIME`]) would count in the
/// stream's duration and the iteration's, and hold the user back from its next iteration.
static NO_READING_ON: AtomicBool = AtomicBool::new(false);

/// From now on in this process, a failed block's diff shows only what had been read (a load).
pub fn stop_reading_at_failures() {
    NO_READING_ON.store(true, Ordering::Relaxed);
}

/// The last items that passed, and the connection events among them (a drop, a reconnection),
/// for the diff's context and the abort report. Bounded: the oldest go first.
#[derive(Default)]
pub(super) struct Recent {
    seen: VecDeque<Seen>,
}

pub(super) enum Seen {
    Item(Item, Duration),
    /// A line about the connection, such as `dropped` or `reconnect`, shown between items.
    Event(String),
}

impl Recent {
    /// Keeps `seen`; returns what it pushed out, once the ring is full, for its buffers to be
    /// reused.
    pub(super) fn push(&mut self, seen: Seen) -> Option<Seen> {
        let oldest = if self.seen.len() == RECENT_ITEMS {
            self.seen.pop_front()
        } else {
            None
        };
        self.seen.push_back(seen);
        oldest
    }

    pub(super) fn items(&self) -> impl Iterator<Item = (&Item, &Duration)> {
        self.seen.iter().filter_map(|seen| match seen {
            Seen::Item(item, at) => Some((item, at)),
            Seen::Event(_) => None,
        })
    }

    /// The last `count` items, with the events among them, as diff context lines.
    pub(super) fn lines(&self, count: usize) -> (Vec<ContextLine<'_>>, u64) {
        let mut lines = Vec::new();
        let mut items = 0;
        for seen in self.seen.iter().rev() {
            match seen {
                Seen::Item(item, at) if items < count => {
                    items += 1;
                    lines.push(ContextLine::Item { item, at: *at });
                }
                Seen::Item(..) => break,
                Seen::Event(text) => lines.push(ContextLine::Event(text.clone())),
            }
        }
        lines.reverse();
        (lines, items as u64)
    }
}

/// The diff when an item came where the stream should have ended: `before` items came earlier.
pub fn item_instead_of_end(before: u64, item: &Item, at: Duration) -> diff::Diff {
    diff::build(
        &Focus::none(),
        before,
        Vec::new(),
        &[Expected::ending("end")],
        &[ObservedLine::Item { item, at }],
        true,
        true,
    )
}

pub(super) fn terminal_line(terminal: &Terminal) -> ObservedLine<'static> {
    ObservedLine::Terminal {
        text: terminal_text(terminal),
    }
}

/// How a connection ended, as a spec line with a comment on why.
pub(super) fn terminal_text(terminal: &Terminal) -> String {
    match terminal {
        Terminal::End => "end".to_string(),
        Terminal::Dropped(reason) => format!("dropped  # {reason}"),
        Terminal::Refused(reason) => format!("end  # the reconnection was refused: {reason}"),
        Terminal::Status(status) => format!("dropped  # status {status}"),
        Terminal::Closed { clean: true, frame } => format!("end  # {frame}"),
        Terminal::Closed {
            clean: false,
            frame,
        } => format!("dropped  # {frame}"),
    }
}

/// What is done with each item read past a failure: `--update` counts it in the stream's
/// figures ([`PastFailure::Counted`]: the block is rewritten from the whole stream); otherwise it
/// was read for the diff, and only the HTML report's timeline draws it.
pub(super) type SeenItem<'a> = dyn FnMut(&Item, Duration, PastFailure) + Send + 'a;

/// How an item read past a failure is taken (see [`SeenItem`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PastFailure {
    Counted,
    ForTheDiff,
}

/// Reads a few more items after a failure, so the diff shows what the stream went on to do:
/// as many as the block still expects (or up to a bound when it expects an open number, or an
/// ending), for a short while.
///
/// `recording` (`--update`): where the block is, the items it took, and the stream's kind (for
/// an item that cannot be read). `seen` is told of each item read past the failure.
#[allow(clippy::too_many_arguments)]
pub(super) async fn failure_with_diff(
    failure: MatchFailure,
    matcher: &mut BlockMatcher<'_>,
    reader: &mut Reader<'_>,
    context: Recent,
    first: Option<(Item, Duration)>,
    deadline: Instant,
    recording: Option<(BlockUpdate<'_>, Recorder, &Spanned<StreamKind>)>,
    seen: &mut SeenItem<'_>,
) -> Failure {
    if let Some((update, recorder, kind)) = recording
        && record::is_snapshot(&failure)
    {
        // `--update`: read to the end, show the diff's share, and rewrite from all of it.
        let entries = matcher.entries();
        let (after, ending) = {
            // A block that does not expect the ending is a prefix: read only as many items as
            // it stands for, or (when that is not a fixed number) for half the time left.
            let expects_ending = matches!(
                entries.last().map(|e| &e.kind),
                Some(EntryKind::End | EntryKind::Dropped)
            );
            let (until, limit) = if expects_ending {
                (deadline, None)
            } else {
                let wanted = record::items_wanted(entries, failure.span);
                let taken = recorder.taken_from(entries, failure.span);
                (half_way(deadline), wanted.map(|w| w.saturating_sub(taken)))
            };
            let read = read_rest(
                reader,
                matcher,
                first.into_iter().collect(),
                until,
                seen,
                limit,
                kind,
            )
            .await;
            match read {
                Ok(read) => read,
                Err(unreadable) => return unreadable,
            }
        };
        let shown = TRAILING_ITEMS.min(after.len());
        let cut_short = ending.is_none() || after.len() > shown;
        let mut trailing: Vec<ObservedLine<'_>> = after[..shown]
            .iter()
            .map(|(item, at)| ObservedLine::Item { item, at: *at })
            .collect();
        if let (Some(terminal), false) = (&ending, cut_short) {
            trailing.push(terminal_line(terminal));
        }
        let span = failure.span;
        let mut rendered = render_failure(failure, matcher, context, trailing, cut_short);
        let fix = record::block_fix(
            update,
            entries,
            Some(span),
            recorder,
            after.clone(),
            ending.as_ref(),
        );
        rendered.fix = Some(Box::new(fix));
        return rendered;
    }
    let expected = matcher.remainder(EXPECTED_LINES);
    let open_ended = expected
        .iter()
        .any(|e| !matches!(e.absorbs, Absorbs::One(_)));
    let wanted = if open_ended {
        TRAILING_ITEMS
    } else {
        expected.len().clamp(1, TRAILING_ITEMS)
    };
    // The items read, each with whether an `ignore` of the block drops it; those are shown as
    // such, and do not count towards what is wanted (up to as many again).
    let mut items: Vec<(Item, Duration, bool)> = first
        .into_iter()
        .map(|(item, at)| (item, at, false))
        .collect();
    let mut terminal = None;
    let reading_on = if NO_READING_ON.load(Ordering::Relaxed) {
        // What had come already is still shown: a read that finds nothing waits no longer.
        Duration::ZERO
    } else {
        TRAILING_TIME
    };
    let stop_at = deadline.min(Instant::now().saturating_add(reading_on));
    let mut cut_short = true;
    let taken = |items: &[(Item, Duration, bool)]| items.iter().filter(|i| !i.2).count();
    // One read past what is wanted: if the stream ends right there, the ending is shown too.
    while taken(&items) <= wanted && items.len() <= 2 * wanted {
        match reader.next(stop_at).await {
            Ok(Next::Item(item, at)) => {
                let ignored = matcher.ignores(&ItemView::new(&item));
                if !ignored {
                    seen(&item, at, PastFailure::ForTheDiff);
                }
                if !ignored && taken(&items) == wanted {
                    break;
                }
                items.push((item, at, ignored));
            }
            Ok(Next::Ended(end)) => {
                terminal = Some(end);
                cut_short = false;
                break;
            }
            Ok(Next::TimedOut) | Err(_) => break,
        }
    }
    let mut trailing: Vec<ObservedLine<'_>> = items
        .iter()
        .map(|(item, at, ignored)| match ignored {
            true => ObservedLine::Ignored { item, at: *at },
            false => ObservedLine::Item { item, at: *at },
        })
        .collect();
    if let Some(terminal) = &terminal {
        trailing.push(terminal_line(terminal));
    }
    render_failure(failure, matcher, context, trailing, cut_short)
}

/// The diff when not even the response head came in time: everything is still expected.
pub fn nothing_arrived(entries: &[Entry]) -> diff::Diff {
    build_diff(&BlockMatcher::new(entries), Recent::default(), &[], true)
}

pub(super) fn build_diff(
    matcher: &BlockMatcher<'_>,
    context: Recent,
    trailing: &[ObservedLine<'_>],
    cut_short: bool,
) -> diff::Diff {
    let (context, shown) = context.lines(CONTEXT_ITEMS);
    let before = matcher.consumed().saturating_sub(shown);
    let expected = matcher.remainder(EXPECTED_LINES);
    // Observed items after the failure start with the item that failed (or came too late).
    let failed_first = matches!(trailing.first(), Some(ObservedLine::Item { .. }));
    diff::build(
        &Focus::of_block(matcher.entries()),
        before,
        context,
        &expected,
        trailing,
        failed_first,
        cut_short,
    )
}

/// Turns a matcher failure into a test failure: the message, the caret's label, and the diff.
pub(super) fn render_failure(
    failure: MatchFailure,
    matcher: &BlockMatcher<'_>,
    context: Recent,
    trailing: Vec<ObservedLine<'_>>,
    cut_short: bool,
) -> Failure {
    let position = matcher.consumed() + 1;
    let (message, label) = match &failure.kind {
        FailureKind::Mismatch { mismatch, .. } => (
            format!("item {position} does not match"),
            mismatch.to_string(),
        ),
        FailureKind::NoneInAnyOrder { open } => (
            format!("item {position} matches none of the items still expected in `any order`"),
            format!("still expected: {}", open.join(", ")),
        ),
        FailureKind::ExpectedTerminal { expected } => (
            format!("expected {expected}, but item {position} arrived"),
            format!("expected {expected} here"),
        ),
        FailureKind::Timing { bound, measured } if bound.starts_with("first") => (
            format!("timing bound `{bound}` broken"),
            format!("the first item came after {}", format_measured(*measured)),
        ),
        FailureKind::Timing { bound, measured } => (
            format!("timing bound `{bound}` broken"),
            format!(
                "item {position} came {} after the previous one",
                format_measured(*measured)
            ),
        ),
        FailureKind::Unbound { message } => (message.clone(), "used here".to_string()),
        FailureKind::NothingWithin { bound, waited } => (
            format!("timing bound `{bound}` broken"),
            format!("no item arrived in {}", format_measured(*waited)),
        ),
        FailureKind::EndedEarly { terminal, expected } => (
            terminal.describe_after(Some(matcher.consumed())),
            format!("still expected `{expected}`"),
        ),
        FailureKind::WrongTerminal { expected, terminal } => (
            format!("expected {expected}, but {}", terminal.describe()),
            format!("expected {expected}"),
        ),
        FailureKind::NoGroup { groups, found } => (
            format!("item {position} belongs to no `where` group: {found}"),
            format!("the groups are for {}", groups.join(", ")),
        ),
        FailureKind::GroupComplete { group } => (
            format!("item {position} is one more for `{group}`, which already had all its items"),
            "this group is complete".to_string(),
        ),
    };
    let class = match failure.kind {
        FailureKind::EndedEarly {
            terminal: Terminal::Dropped(_),
            ..
        } => FailureClass::Error,
        _ => FailureClass::Assertion,
    };
    let mut notes = Vec::new();
    // A required item that an earlier repetition already took: the greedy trap.
    if let FailureKind::EndedEarly { .. } = &failure.kind
        && matcher.after_open_repetition()
    {
        let swallowed =
            matcher
                .remainder(1)
                .first()
                .is_some_and(|expected| match expected.absorbs {
                    Absorbs::One(pattern) => context.items().any(|(item, _)| {
                        crate::pattern::match_item(pattern, &ItemView::new(item), &mut Vec::new())
                            .is_ok()
                    }),
                    _ => false,
                });
        if swallowed {
            notes.push("help: an earlier item matched this, but the repetition before it took that item (repetitions are greedy); end the repetition with `until <pattern> { … }`".to_string());
        }
    }
    let diff = build_diff(matcher, context, &trailing, cut_short);
    Failure {
        class,
        message,
        span: Some(failure.span),
        label,
        notes,
        diff: Some(Box::new(diff)),
        fix: None,
    }
}

/// `--update`: reads the rest of the stream (to its end, `limit` items, or the record limit),
/// leaving out what the block's `ignore`s drop. `None` as the ending when it did not end.
///
/// `seen` counts each item read in the stream's figures, so that `expect count` and the other
/// aggregates of an update run see the whole stream. An item the block could not have taken
/// (over the size limit, not a valid item) fails the test as it would in any run, and then
/// nothing is recorded: the failure, with a fix that says so.
pub(super) async fn read_rest(
    reader: &mut Reader<'_>,
    matcher: &mut BlockMatcher<'_>,
    mut items: Vec<(Item, Duration)>,
    deadline: Instant,
    seen: &mut SeenItem<'_>,
    limit: Option<usize>,
    kind: &Spanned<StreamKind>,
) -> Result<(Vec<(Item, Duration)>, Option<Terminal>), Failure> {
    let limit = limit.unwrap_or(usize::MAX).min(record::RECORD_LIMIT + 1);
    let not_recorded = |failure: Failure| {
        failure.with_fix(Fix::Cannot(
            "the stream could not be read whole (see the error), so nothing from it was written"
                .to_string(),
        ))
    };
    while items.len() < limit {
        let position = matcher.consumed() + items.len() as u64 + 1;
        match reader.next(deadline).await {
            Ok(Next::Item(item, at)) => {
                if let Some(failure) = unusable(&item, position, kind) {
                    return Err(not_recorded(failure));
                }
                if !matcher.ignores(&ItemView::new(&item)) {
                    seen(&item, at, PastFailure::Counted);
                    items.push((item, at));
                }
            }
            Ok(Next::Ended(end)) => return Ok((items, Some(end))),
            Ok(Next::TimedOut) => break,
            Err(error) => return Err(not_recorded(unreadable(error, position, kind))),
        }
    }
    Ok((items, None))
}
