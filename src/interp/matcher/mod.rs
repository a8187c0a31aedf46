//! The block matcher: a state machine that takes observed items one at a time and walks an
//! `expect … { }` block (items, repetitions, `until`, `any order`, `...`, `end`), so items are
//! matched as they arrive and nothing is buffered.
//!
//! Repetitions are greedy and never backtrack: at an optional repetition the matcher tries the
//! next item against the body, and leaves the repetition only if that first item does not fit.
//! `until` is the way to stop at a marker item.

use std::time::Duration;

use crate::ast::{
    AbortWhen, Control, Entry, EntryKind, ItemLine, ItemPattern, Quantifier, WhereGroup,
};
use crate::duration::format_duration;
use crate::pattern::json::{match_json_shaped, render_value_short};
use crate::pattern::{Captures, ItemView, Mismatch, match_item};
use crate::render::{render_item_line, render_item_pattern, render_where};
use crate::source::Span;
use crate::transport::grpc::shape::Shape;
use crate::transport::item::Item;
use remainder::first_line_text;
pub use remainder::{Absorbs, Expected, Order};

mod remainder;

/// How a stream ended, as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// The server closed the stream cleanly.
    End,
    /// The connection broke; the text says how.
    Dropped(String),
    /// A reconnection was answered `204 No Content`: an EventSource closes for good, cleanly,
    /// so this counts as `end`. The text says what the server answered.
    Refused(String),
    /// A gRPC call ended with a status other than OK (`INTERNAL "boom"`): counts as `dropped`.
    Status(String),
    /// A WebSocket's server sent its close frame (`close 1000 "done"`): a normal closure (or the
    /// answer to the client's own close) is a clean `end`, any other code counts as `dropped`.
    Closed { clean: bool, frame: String },
}

impl Terminal {
    pub fn describe(&self) -> String {
        self.describe_after(None)
    }

    /// `the stream ended after 2 items`, `the connection was dropped before any item: reset`.
    pub fn describe_after(&self, items: Option<u64>) -> String {
        let when = match items {
            None => String::new(),
            Some(0) => " before any item".to_string(),
            Some(1) => " after 1 item".to_string(),
            Some(n) => format!(" after {n} items"),
        };
        match self {
            Terminal::End => format!("the stream ended{when}"),
            Terminal::Dropped(reason) => format!("the connection was dropped{when}: {reason}"),
            Terminal::Refused(reason) => {
                format!("the stream ended{when}: the reconnection was refused ({reason})")
            }
            Terminal::Status(status) => format!("the call ended{when} with status {status}"),
            Terminal::Closed { frame, .. } => {
                format!("the server closed the WebSocket{when} with {frame}")
            }
        }
    }

    /// Whether this ending is a clean one (`end`) rather than a failure (`dropped`).
    pub fn is_clean(&self) -> bool {
        matches!(
            self,
            Terminal::End | Terminal::Refused(_) | Terminal::Closed { clean: true, .. }
        )
    }
}

/// Binds the variables of a pattern that uses a capture its own block makes (one marked
/// `late`), as the pattern is about to be matched. The error says which variable is not set.
pub trait Bind {
    fn bind(&self, pattern: &ItemPattern) -> Result<ItemPattern, String>;
}

/// For matching without variables: a late pattern stays as it is.
impl Bind for () {
    fn bind(&self, pattern: &ItemPattern) -> Result<ItemPattern, String> {
        Ok(pattern.clone())
    }
}

/// What follows a stream's ending that the block accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterEnd {
    /// Nothing: the block is done.
    Done,
    /// Client actions (`wait`, `reconnect`) at the current position: take them next.
    Actions,
}

/// What happened to one fed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// It matched an expected item (the line's span), or the stop pattern of an `until`.
    Matched(Span),
    /// `...` passed over it.
    Skipped,
    /// An `ignore` pattern dropped it.
    Ignored,
    /// The block was already complete; the item is not part of it.
    Done,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchFailure {
    /// The expectation that failed.
    pub span: Span,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FailureKind {
    /// The item did not match the expected pattern.
    Mismatch {
        expected: String,
        mismatch: Box<Mismatch>,
    },
    /// In `any order`, the item matched none of the patterns still open.
    NoneInAnyOrder { open: Vec<String> },
    /// An item came where the stream should have ended (or dropped).
    ExpectedTerminal { expected: &'static str },
    /// A timing bound was broken by an item that came too late or too early.
    Timing { bound: String, measured: Duration },
    /// No item came before a timing bound ran out.
    NothingWithin { bound: String, waited: Duration },
    /// The stream ended (or dropped) while an item was still expected.
    EndedEarly {
        terminal: Terminal,
        expected: String,
    },
    /// The stream ended one way where the spec said the other.
    WrongTerminal {
        expected: &'static str,
        terminal: Terminal,
    },
    /// A pattern uses a variable that is still not set when its item arrives.
    Unbound { message: String },
    /// The item's key has a value no `where` group takes (`found` says which, or why none).
    NoGroup { groups: Vec<String>, found: String },
    /// An item for a `where` group that already had all its items.
    GroupComplete { group: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FrameKind {
    Root,
    Repeat {
        quantifier: Quantifier,
        iteration: u64,
    },
    Until {
        iteration: u64,
    },
}

#[derive(Debug, Clone)]
struct Frame<'p> {
    /// The entry that owns this frame (a repetition or `until`); `None` for the block itself.
    owner: Option<&'p Entry>,
    entries: &'p [Entry],
    index: usize,
    kind: FrameKind,
}

/// Matching state for one `any order` group in progress.
#[derive(Debug, Clone, Default)]
struct AnyOrderState {
    /// For each pattern of the group, the index (in `seen`) of the item assigned to it.
    assigned: Vec<Option<usize>>,
    /// The items seen so far in the group, each as the set of patterns it matches.
    seen: Vec<Vec<usize>>,
    /// The items themselves: an item may move to another pattern when a later one arrives, so
    /// captures are taken only once the group is complete.
    items: Vec<Item>,
}

/// Matching state for consecutive `where` groups in progress: one matcher per group, each with
/// the time of its own previous item (a group's `within` is measured between its own items).
#[derive(Clone)]
struct SplitState<'p> {
    groups: Vec<(BlockMatcher<'p>, Option<Duration>)>,
}

impl<'p> SplitState<'p> {
    fn new(groups: &'p [WhereGroup]) -> Self {
        SplitState {
            groups: groups
                .iter()
                .map(|group| (BlockMatcher::new(&group.body), None))
                .collect(),
        }
    }

    fn is_complete(&self) -> bool {
        self.groups.iter().all(|(matcher, _)| matcher.is_complete())
    }

    /// Whether every group could stop here: nothing it still requires is missing.
    fn could_stop(&self) -> bool {
        self.groups
            .iter()
            .all(|(matcher, _)| matcher.clone().finish(&Terminal::End).is_ok())
    }
}

/// The value of a group's key in an item, if the item has one, with its shape on a gRPC reply.
fn key_value(
    group: &WhereGroup,
    json: &serde_json::Value,
    shape: Option<&Shape>,
) -> Option<(serde_json::Value, Option<Shape>)> {
    crate::pattern::path::select_refs(&group.query, json, shape)
        .into_iter()
        .next()
        .map(|(value, shape)| (value.clone(), shape))
}

/// Whether the key's value matches the group's.
fn key_matches(group: &WhereGroup, (value, shape): &(serde_json::Value, Option<Shape>)) -> bool {
    match_json_shaped(&group.value, value, shape.as_ref(), &mut Vec::new()).is_ok()
}

/// Whether an item's key has the group's value.
pub fn belongs_to(group: &WhereGroup, view: &ItemView<'_>) -> bool {
    view.json()
        .ok()
        .and_then(|json| key_value(group, json, view.shape()))
        .is_some_and(|key| key_matches(group, &key))
}

/// The group an item belongs to: the first whose key has the group's value.
fn route(groups: &[WhereGroup], view: &ItemView<'_>) -> Result<usize, String> {
    let json = view
        .json()
        .map_err(|reason| format!("an item with {reason}"))?;
    let mut found = None;
    for (index, group) in groups.iter().enumerate() {
        let Some(key) = key_value(group, json, view.shape()) else {
            continue;
        };
        if key_matches(group, &key) {
            return Ok(index);
        }
        found.get_or_insert_with(|| format!("{} {}", group.key.value, render_value_short(&key.0)));
    }
    Err(found.unwrap_or_else(|| {
        let keys: Vec<&str> = groups.iter().map(|g| g.key.value.as_str()).collect();
        format!("an item without `{}`", keys[0])
    }))
}

#[derive(Clone)]
pub struct BlockMatcher<'p> {
    stack: Vec<Frame<'p>>,
    ignores: Vec<&'p ItemPattern>,
    /// `all` patterns: every item the block takes must match them too.
    alls: Vec<&'p ItemPattern>,
    split: Option<Box<SplitState<'p>>>,
    first_within: Option<(Duration, Span)>,
    abort_rule: Option<(AbortWhen, Span)>,
    skipping: bool,
    /// Stack depths at which an optional repetition was entered on trial: if the first item tried
    /// inside does not fit, the repetition is left instead of failing.
    trials: Vec<usize>,
    any_order: Option<AnyOrderState>,
    consumed: u64,
    scratch: Captures,
}

impl<'p> BlockMatcher<'p> {
    pub fn new(entries: &'p [Entry]) -> Self {
        let mut ignores = Vec::new();
        let mut alls = Vec::new();
        let mut first_within = None;
        let mut abort_rule = None;
        for entry in entries {
            match &entry.kind {
                EntryKind::Ignore(pattern) => ignores.push(pattern),
                EntryKind::All(pattern) => alls.push(pattern),
                EntryKind::FirstWithin(duration) => first_within = Some((*duration, entry.span)),
                EntryKind::Control(Control::Abort(Some(when))) => {
                    abort_rule = Some((*when, entry.span))
                }
                _ => {}
            }
        }
        let mut matcher = BlockMatcher {
            stack: vec![Frame {
                owner: None,
                entries,
                index: 0,
                kind: FrameKind::Root,
            }],
            ignores,
            alls,
            split: None,
            first_within,
            abort_rule,
            skipping: false,
            trials: Vec::new(),
            any_order: None,
            consumed: 0,
            scratch: Vec::new(),
        };
        matcher.normalize();
        matcher
    }

    /// Items consumed by the block so far (matched or skipped, not ignored).
    /// The block's top-level entries.
    pub fn entries(&self) -> &'p [Entry] {
        self.stack[0].entries
    }

    /// Whether an `ignore` of the block drops this item.
    pub fn ignores(&mut self, view: &ItemView<'_>) -> bool {
        for pattern in &self.ignores {
            self.scratch.clear();
            if match_item(pattern, view, &mut self.scratch).is_ok() {
                return true;
            }
        }
        false
    }

    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// A client action written at the current position (`abort`, `wait`, `pace`, `disconnect`,
    /// `reconnect`), with its span, to be run by the caller before the next item is read. Each is
    /// returned once.
    pub fn take_action(&mut self) -> Option<(&'p Control, Span)> {
        let top = self.stack.last_mut()?;
        let entry = top.entries.get(top.index)?;
        if let EntryKind::Control(control) = &entry.kind {
            top.index += 1;
            self.normalize();
            return Some((control, entry.span));
        }
        None
    }

    /// `abort after 3 items` / `abort after 500ms`, if the block says so.
    pub fn abort_rule(&self) -> Option<(AbortWhen, Span)> {
        self.abort_rule
    }

    /// Whether the current expectation comes right after a repetition with no fixed count, which
    /// may have taken items meant for it (repetitions are greedy).
    pub fn after_open_repetition(&self) -> bool {
        let Some(top) = self.stack.last() else {
            return false;
        };
        top.index > 0
            && matches!(
                &top.entries[top.index - 1].kind,
                EntryKind::Repeat { quantifier, .. } if quantifier.max != Some(quantifier.min)
            )
    }

    /// Whether every expectation of the block is met and no more items are needed.
    pub fn is_complete(&self) -> bool {
        self.stack.len() == 1 && self.stack[0].index >= self.stack[0].entries.len()
    }

    /// The latest time (since the request) the next item may arrive, if a bound says so, with the
    /// bound's span and wording.
    pub fn deadline(&self, previous: Duration) -> Option<(Duration, Span, String)> {
        if self.consumed == 0
            && let Some((bound, span)) = self.first_within
        {
            return Some((
                bound,
                span,
                format!("first within {}", format_duration(bound)),
            ));
        }
        if let (Some(split), Some(top)) = (&self.split, self.stack.last())
            && matches!(
                top.entries.get(top.index).map(|e| &e.kind),
                Some(EntryKind::Split(_))
            )
        {
            return split
                .groups
                .iter()
                .filter_map(|(matcher, last)| matcher.deadline(last.unwrap_or(previous)))
                .min_by_key(|(at, ..)| *at);
        }
        let line = self.next_required_line()?;
        let within = line.within.as_ref()?;
        Some((
            previous.saturating_add(within.value),
            within.span,
            format!("within {}", format_duration(within.value)),
        ))
    }

    /// The item line the next item must match, when that is certain.
    fn next_required_line(&self) -> Option<&'p ItemLine> {
        let top = self.stack.last()?;
        if let FrameKind::Repeat {
            quantifier,
            iteration,
        } = top.kind
            && top.index == 0
            && iteration >= quantifier.min
        {
            return None;
        }
        if matches!(top.kind, FrameKind::Until { .. }) && top.index == 0 {
            return None;
        }
        match &top.entries.get(top.index)?.kind {
            EntryKind::Item(line) if !self.skipping => Some(line),
            EntryKind::Repeat { quantifier, body } if quantifier.min > 0 && !self.skipping => {
                match &body.first()?.kind {
                    EntryKind::Item(line) => Some(line),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Advances past declarations, completes finished iterations and leaves finished repetitions.
    fn normalize(&mut self) {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return;
            };
            while let Some(entry) = top.entries.get(top.index) {
                if entry.kind.is_declaration() {
                    top.index += 1;
                } else {
                    break;
                }
            }
            if top.index < top.entries.len() {
                return;
            }
            match &mut top.kind {
                FrameKind::Root => return,
                FrameKind::Repeat {
                    quantifier,
                    iteration,
                } => {
                    *iteration += 1;
                    top.index = 0;
                    if quantifier.max == Some(*iteration) {
                        self.leave_frame();
                        continue;
                    }
                    return;
                }
                FrameKind::Until { iteration } => {
                    *iteration += 1;
                    top.index = 0;
                    return;
                }
            }
        }
    }

    /// Pops the top frame and moves its parent past the entry that owned it.
    fn leave_frame(&mut self) {
        self.stack.pop();
        if let Some(parent) = self.stack.last_mut() {
            parent.index += 1;
        }
    }

    /// Takes one item. `at` is when it arrived and `previous` when the previous item did (or the
    /// request was sent), both measured from the request. Captures of a match go to `captures`.
    pub fn feed(
        &mut self,
        view: &ItemView<'_>,
        at: Duration,
        previous: Duration,
        captures: &mut Captures,
        binder: &dyn Bind,
    ) -> Result<Fed, MatchFailure> {
        for pattern in &self.ignores {
            self.scratch.clear();
            if match_item(pattern, view, &mut self.scratch).is_ok() {
                return Ok(Fed::Ignored);
            }
        }
        if !self.is_complete() {
            for pattern in &self.alls {
                self.scratch.clear();
                if let Err(mismatch) = match_item(pattern, view, &mut self.scratch) {
                    return Err(MatchFailure {
                        span: pattern.span,
                        kind: FailureKind::Mismatch {
                            expected: format!("all {}", render_item_pattern(pattern)),
                            mismatch: Box::new(mismatch),
                        },
                    });
                }
            }
        }
        loop {
            let depth = self.stack.len();
            let Some(top) = self.stack.last() else {
                return Ok(Fed::Done);
            };
            match top.kind {
                FrameKind::Repeat {
                    quantifier,
                    iteration,
                } if top.index == 0
                    && iteration >= quantifier.min
                    && self.trials.last() != Some(&depth) =>
                {
                    // An optional iteration: enter it on trial.
                    self.trials.push(depth);
                }
                FrameKind::Until { .. } if top.index == 0 => {
                    if let Some(EntryKind::Until { stop, .. }) = top.owner.map(|o| &o.kind) {
                        let start = captures.len();
                        let bound = bind(stop, binder)?;
                        if match_item(bound.as_ref(), view, captures).is_ok() {
                            let span = stop.span;
                            self.leave_frame();
                            return Ok(self.consumed_as(Fed::Matched(span)));
                        }
                        captures.truncate(start);
                    }
                }
                _ => {}
            }
            let top = self
                .stack
                .last_mut()
                .unwrap_or_else(|| unreachable!("checked above"));
            let Some(entry) = top.entries.get(top.index) else {
                // Only the root frame can be at its end here: the block is complete.
                return Ok(Fed::Done);
            };
            match &entry.kind {
                EntryKind::Ignore(_)
                | EntryKind::All(_)
                | EntryKind::FirstWithin(_)
                | EntryKind::Control(_) => {
                    top.index += 1;
                }
                EntryKind::Skip => {
                    self.skipping = true;
                    top.index += 1;
                }
                EntryKind::Split(groups) => {
                    let started = self.split.is_some();
                    let group = match route(groups, view) {
                        Ok(group) => group,
                        Err(found) => {
                            if started && self.split.as_ref().is_some_and(|s| s.could_stop()) {
                                // The groups are done with: the item belongs to what follows.
                                self.split = None;
                                self.advance();
                                continue;
                            }
                            if !started && self.retreat_from_trial() {
                                continue;
                            }
                            if self.skipping && !started {
                                return Ok(self.consumed_as(Fed::Skipped));
                            }
                            return Err(MatchFailure {
                                span: entry.span,
                                kind: FailureKind::NoGroup {
                                    groups: groups
                                        .iter()
                                        .map(|g| {
                                            format!(
                                                "{} {}",
                                                g.key.value,
                                                crate::render::render_json_pattern(&g.value)
                                            )
                                        })
                                        .collect(),
                                    found,
                                },
                            });
                        }
                    };
                    self.check_first_within(at)?;
                    let split = self
                        .split
                        .get_or_insert_with(|| Box::new(SplitState::new(groups)));
                    let (matcher, last) = &mut split.groups[group];
                    let fed = matcher.feed(view, at, last.unwrap_or(previous), captures, binder)?;
                    match fed {
                        Fed::Ignored => return Ok(Fed::Ignored),
                        Fed::Done => {
                            if split.could_stop() {
                                self.split = None;
                                self.advance();
                                continue;
                            }
                            return Err(MatchFailure {
                                span: groups[group].span,
                                kind: FailureKind::GroupComplete {
                                    group: render_where(&groups[group]),
                                },
                            });
                        }
                        _ => {
                            *last = Some(at);
                            if split.is_complete() {
                                self.split = None;
                                self.advance();
                            }
                            return Ok(self.consumed_as(fed));
                        }
                    }
                }
                EntryKind::Repeat { quantifier, body } => {
                    let quantifier = *quantifier;
                    self.stack.push(Frame {
                        owner: Some(entry),
                        entries: body,
                        index: 0,
                        kind: FrameKind::Repeat {
                            quantifier,
                            iteration: 0,
                        },
                    });
                }
                EntryKind::Until { body, .. } => {
                    self.stack.push(Frame {
                        owner: Some(entry),
                        entries: body,
                        index: 0,
                        kind: FrameKind::Until { iteration: 0 },
                    });
                }
                EntryKind::Item(line) => {
                    let start = captures.len();
                    let bound = bind(&line.pattern, binder)?;
                    match match_item(bound.as_ref(), view, captures) {
                        Ok(()) => {
                            self.check_timing(line, at, previous)?;
                            let top = self.stack.last_mut().unwrap_or_else(|| unreachable!());
                            top.index += 1;
                            self.normalize();
                            return Ok(self.consumed_as(Fed::Matched(line.span)));
                        }
                        Err(mismatch) => {
                            captures.truncate(start);
                            if self.retreat_from_trial() {
                                continue;
                            }
                            if self.skipping {
                                return Ok(self.consumed_as(Fed::Skipped));
                            }
                            return Err(MatchFailure {
                                span: line.span,
                                kind: FailureKind::Mismatch {
                                    expected: render_item_line(line),
                                    mismatch: Box::new(mismatch),
                                },
                            });
                        }
                    }
                }
                EntryKind::AnyOrder(lines) => match self.feed_any_order(lines, view, captures) {
                    Some(matched) => {
                        if matched {
                            self.check_first_within(at)?;
                            let top = self.stack.last_mut().unwrap_or_else(|| unreachable!());
                            top.index += 1;
                            self.any_order = None;
                            self.normalize();
                        }
                        return Ok(self.consumed_as(Fed::Matched(entry.span)));
                    }
                    None => {
                        if self.retreat_from_trial() {
                            continue;
                        }
                        if self.skipping && self.any_order.is_none() {
                            return Ok(self.consumed_as(Fed::Skipped));
                        }
                        let open = self.open_any_order(lines);
                        return Err(MatchFailure {
                            span: entry.span,
                            kind: FailureKind::NoneInAnyOrder { open },
                        });
                    }
                },
                EntryKind::End | EntryKind::Dropped => {
                    if self.retreat_from_trial() {
                        continue;
                    }
                    if self.skipping {
                        return Ok(self.consumed_as(Fed::Skipped));
                    }
                    let expected = if matches!(entry.kind, EntryKind::End) {
                        "the stream to end"
                    } else {
                        "the connection to drop"
                    };
                    return Err(MatchFailure {
                        span: entry.span,
                        kind: FailureKind::ExpectedTerminal { expected },
                    });
                }
            }
        }
    }

    fn consumed_as(&mut self, fed: Fed) -> Fed {
        self.consumed += 1;
        if matches!(fed, Fed::Matched(_)) {
            self.skipping = false;
            self.trials.clear();
        }
        fed
    }

    /// When the failed item was the first tried inside an optional repetition, leave that
    /// repetition instead: the item belongs to what follows it.
    fn retreat_from_trial(&mut self) -> bool {
        let Some(depth) = self.trials.pop() else {
            return false;
        };
        self.stack.truncate(depth);
        self.any_order = None;
        self.leave_frame();
        self.normalize();
        true
    }

    fn check_first_within(&self, at: Duration) -> Result<(), MatchFailure> {
        if self.consumed == 0
            && let Some((bound, span)) = self.first_within
            && at > bound
        {
            return Err(MatchFailure {
                span,
                kind: FailureKind::Timing {
                    bound: format!("first within {}", format_duration(bound)),
                    measured: at,
                },
            });
        }
        Ok(())
    }

    fn check_timing(
        &self,
        line: &ItemLine,
        at: Duration,
        previous: Duration,
    ) -> Result<(), MatchFailure> {
        self.check_first_within(at)?;
        let since = at.saturating_sub(previous);
        if let Some(within) = &line.within
            && since > within.value
        {
            return Err(MatchFailure {
                span: within.span,
                kind: FailureKind::Timing {
                    bound: format!("within {}", format_duration(within.value)),
                    measured: since,
                },
            });
        }
        if let Some(after) = &line.after
            && since < after.value
        {
            return Err(MatchFailure {
                span: after.span,
                kind: FailureKind::Timing {
                    bound: format!("after {}", format_duration(after.value)),
                    measured: since,
                },
            });
        }
        Ok(())
    }

    /// Assigns the item to a pattern of the group, re-arranging earlier assignments if needed
    /// (bipartite matching, so overlapping patterns are handled). `Some(true)` when the group is
    /// now complete, `Some(false)` when it needs more, `None` when the item fits no open pattern.
    fn feed_any_order(
        &mut self,
        lines: &[ItemLine],
        view: &ItemView<'_>,
        captures: &mut Captures,
    ) -> Option<bool> {
        let state = self.any_order.get_or_insert_with(|| AnyOrderState {
            assigned: vec![None; lines.len()],
            seen: Vec::new(),
            items: Vec::new(),
        });
        let mut fits = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            self.scratch.clear();
            if match_item(&line.pattern, view, &mut self.scratch).is_ok() {
                fits.push(index);
            }
        }
        if fits.is_empty() {
            return None;
        }
        let item = state.seen.len();
        state.seen.push(fits);
        let mut visited = vec![false; lines.len()];
        if !augment(item, &state.seen, &mut state.assigned, &mut visited) {
            state.seen.pop();
            return None;
        }
        state.items.push(view.item.clone());
        if !state.assigned.iter().all(Option::is_some) {
            return Some(false);
        }
        for (pattern, item) in state.assigned.iter().enumerate() {
            if let Some(item) = item.and_then(|index| state.items.get(index)) {
                let _ = match_item(&lines[pattern].pattern, &ItemView::new(item), captures);
            }
        }
        Some(true)
    }

    fn open_any_order(&self, lines: &[ItemLine]) -> Vec<String> {
        lines
            .iter()
            .enumerate()
            .filter(|(index, _)| {
                self.any_order
                    .as_ref()
                    .is_none_or(|state| state.assigned[*index].is_none())
            })
            .map(|(_, line)| render_item_line(line))
            .collect()
    }

    /// The stream has ended: checks that nothing else was required before the block's end, or
    /// before the client actions that follow the ending (`reconnect`, `wait`).
    pub fn finish(&mut self, terminal: &Terminal) -> Result<AfterEnd, MatchFailure> {
        loop {
            let Some(top) = self.stack.last() else {
                return Ok(AfterEnd::Done);
            };
            match top.kind {
                FrameKind::Repeat {
                    quantifier,
                    iteration,
                } if top.index == 0
                    && iteration >= quantifier.min
                    && !takes_ending(top.entries, terminal) =>
                {
                    self.leave_frame();
                    self.normalize();
                    continue;
                }
                FrameKind::Until { .. } if top.index == 0 => {
                    let (span, expected) = match top.owner.map(|o| &o.kind) {
                        Some(EntryKind::Until { stop, .. }) => {
                            (stop.span, render_item_pattern(stop))
                        }
                        _ => (Span::default(), String::new()),
                    };
                    return Err(MatchFailure {
                        span,
                        kind: FailureKind::EndedEarly {
                            terminal: terminal.clone(),
                            expected,
                        },
                    });
                }
                _ => {}
            }
            let Some(entry) = top.entries.get(top.index) else {
                return Ok(AfterEnd::Done);
            };
            let entry_span = entry.span;
            let ended_early = |expected: String| MatchFailure {
                span: entry_span,
                kind: FailureKind::EndedEarly {
                    terminal: terminal.clone(),
                    expected,
                },
            };
            match &entry.kind {
                // The caller runs these next, on a closed connection.
                EntryKind::Control(Control::Reconnect(_) | Control::Wait(_)) => {
                    return Ok(AfterEnd::Actions);
                }
                EntryKind::Split(groups) => {
                    let split = self
                        .split
                        .get_or_insert_with(|| Box::new(SplitState::new(groups)));
                    for (matcher, _) in &mut split.groups {
                        matcher.finish(terminal)?;
                    }
                    self.split = None;
                    self.advance();
                }
                EntryKind::Ignore(_)
                | EntryKind::All(_)
                | EntryKind::FirstWithin(_)
                | EntryKind::Control(_)
                | EntryKind::Skip => self.advance(),
                // A repetition whose body takes the ending (`3 times { end; reconnect }`) is
                // entered; an optional one that does not is passed over; a required one that
                // does not wanted an item.
                EntryKind::Repeat { quantifier, body } => {
                    if takes_ending(body, terminal) {
                        let quantifier = *quantifier;
                        self.stack.push(Frame {
                            owner: Some(entry),
                            entries: body,
                            index: 0,
                            kind: FrameKind::Repeat {
                                quantifier,
                                iteration: 0,
                            },
                        });
                        self.normalize();
                    } else if quantifier.min == 0 {
                        self.advance();
                    } else {
                        return Err(ended_early(first_line_text(body)));
                    }
                }
                EntryKind::Until { stop, .. } => {
                    return Err(ended_early(render_item_pattern(stop)));
                }
                EntryKind::Item(line) => return Err(ended_early(render_item_line(line))),
                EntryKind::AnyOrder(lines) => {
                    let open = self.open_any_order(lines);
                    return Err(ended_early(open.join(", ")));
                }
                EntryKind::End => match terminal {
                    _ if terminal.is_clean() => self.advance(),
                    _ => {
                        return Err(MatchFailure {
                            span: entry_span,
                            kind: FailureKind::WrongTerminal {
                                expected: "a clean end",
                                terminal: terminal.clone(),
                            },
                        });
                    }
                },
                EntryKind::Dropped => match terminal {
                    _ if !terminal.is_clean() => self.advance(),
                    _ => {
                        return Err(MatchFailure {
                            span: entry_span,
                            kind: FailureKind::WrongTerminal {
                                expected: "a dropped connection",
                                terminal: terminal.clone(),
                            },
                        });
                    }
                },
            }
        }
    }

    fn advance(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            top.index += 1;
        }
        self.normalize();
    }
}

/// Whether a repetition's body starts with the ending the stream just had (`end; reconnect`).
fn takes_ending(body: &[Entry], terminal: &Terminal) -> bool {
    match body
        .iter()
        .find(|e| !e.kind.is_declaration())
        .map(|e| &e.kind)
    {
        Some(EntryKind::End) => terminal.is_clean(),
        Some(EntryKind::Dropped) => !terminal.is_clean(),
        _ => false,
    }
}

/// The pattern to match: a late one bound now, any other as it is.
fn bind<'a>(
    pattern: &'a ItemPattern,
    binder: &dyn Bind,
) -> Result<std::borrow::Cow<'a, ItemPattern>, MatchFailure> {
    if !pattern.late {
        return Ok(std::borrow::Cow::Borrowed(pattern));
    }
    binder
        .bind(pattern)
        .map(std::borrow::Cow::Owned)
        .map_err(|message| MatchFailure {
            span: pattern.span,
            kind: FailureKind::Unbound { message },
        })
}

/// Kuhn's augmenting path: tries to give `item` a pattern, moving earlier items if needed.
fn augment(
    item: usize,
    seen: &[Vec<usize>],
    assigned: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    for &pattern in &seen[item] {
        if visited[pattern] {
            continue;
        }
        visited[pattern] = true;
        let free = match assigned[pattern] {
            None => true,
            Some(other) => augment(other, seen, assigned, visited),
        };
        if free {
            assigned[pattern] = Some(item);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
