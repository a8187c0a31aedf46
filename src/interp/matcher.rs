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
use crate::pattern::json::{match_json, render_value_short};
use crate::pattern::{Captures, ItemView, Mismatch, match_item};
use crate::render::{render_item_line, render_item_pattern, render_where};
use crate::source::Span;
use crate::transport::item::Item;

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
        }
    }

    /// Whether this ending is a clean one (`end`) rather than a failure (`dropped`).
    pub fn is_clean(&self) -> bool {
        matches!(self, Terminal::End | Terminal::Refused(_))
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
        mismatch: Mismatch,
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

/// The group an item belongs to: the first whose key has the group's value.
fn route(groups: &[WhereGroup], view: &ItemView<'_>) -> Result<usize, String> {
    let json = view
        .json()
        .map_err(|reason| format!("an item with {reason}"))?;
    let mut found = None;
    for (index, group) in groups.iter().enumerate() {
        let selected = jsonpath_rust::query::js_path_process(&group.query, json)
            .ok()
            .and_then(|refs| refs.into_iter().next().map(|r| r.val().clone()));
        let Some(value) = selected else {
            continue;
        };
        if match_json(&group.value, &value, &mut Vec::new()).is_ok() {
            return Ok(index);
        }
        found.get_or_insert_with(|| format!("{} {}", group.key.value, render_value_short(&value)));
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
                            mismatch,
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
                                    mismatch,
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
                    Terminal::End | Terminal::Refused(_) => self.advance(),
                    Terminal::Dropped(_) | Terminal::Status(_) => {
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
                    Terminal::Dropped(_) | Terminal::Status(_) => self.advance(),
                    Terminal::End | Terminal::Refused(_) => {
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

    /// What is still expected from the current position, one line per item, for the diff:
    /// the rest of the current iteration, the required repetitions left, then what follows.
    pub fn remainder(&self, limit: usize) -> Vec<Expected<'p>> {
        let mut out = Vec::new();
        for (depth, frame) in self.stack.iter().enumerate().rev() {
            let is_top = depth + 1 == self.stack.len();
            let start = if is_top { frame.index } else { frame.index + 1 };
            let rest = &frame.entries[start.min(frame.entries.len())..];
            match (frame.kind, frame.owner.map(|o| &o.kind)) {
                (
                    FrameKind::Repeat {
                        quantifier,
                        iteration,
                    },
                    _,
                ) => {
                    // At an optional boundary nothing of the current iteration is required.
                    let at_boundary = is_top && frame.index == 0;
                    let current_required = !(at_boundary && iteration >= quantifier.min);
                    if current_required {
                        push_entries(rest, &mut out, limit);
                    }
                    let done = iteration + u64::from(current_required);
                    for _ in done..quantifier.min {
                        if out.len() >= limit {
                            break;
                        }
                        push_entries(frame.entries, &mut out, limit);
                    }
                    if quantifier
                        .max
                        .is_none_or(|max| max > done.max(quantifier.min))
                    {
                        out.push(Expected::more_of(
                            frame.entries,
                            quantifier.max.map(|m| m - done.max(quantifier.min)),
                        ));
                    }
                }
                (FrameKind::Until { .. }, Some(EntryKind::Until { stop, .. })) => {
                    push_entries(rest, &mut out, limit);
                    out.push(Expected::more_of(frame.entries, None));
                    out.push(Expected::item(render_item_pattern(stop), stop));
                }
                _ => match rest.first().map(|e| &e.kind) {
                    Some(EntryKind::AnyOrder(lines)) if is_top => {
                        for (index, line) in lines.iter().enumerate() {
                            let open = self
                                .any_order
                                .as_ref()
                                .is_none_or(|state| state.assigned[index].is_none());
                            if open {
                                out.push(Expected::item(render_item_line(line), &line.pattern));
                            }
                        }
                        push_entries(&rest[1..], &mut out, limit);
                    }
                    Some(EntryKind::Split(groups)) if is_top && self.split.is_some() => {
                        let states = self.split.iter().flat_map(|s| &s.groups);
                        for (group, (matcher, _)) in groups.iter().zip(states) {
                            let rest = matcher.remainder(limit.saturating_sub(out.len()));
                            out.extend(rest.into_iter().map(|e| e.in_group(group)));
                        }
                        push_entries(&rest[1..], &mut out, limit);
                    }
                    _ => push_entries(rest, &mut out, limit),
                },
            }
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        out
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

/// One line of the expected side of a diff.
#[derive(Debug, Clone)]
pub struct Expected<'p> {
    pub text: String,
    /// Which observed items the line stands for, so the diff can line them up with it.
    pub absorbs: Absorbs<'p>,
}

#[derive(Debug, Clone, Copy)]
pub enum Absorbs<'p> {
    /// One item that matches the pattern.
    One(&'p ItemPattern),
    /// Any number of items that match the pattern (an optional repetition).
    Many(&'p ItemPattern),
    /// Any number of any items (`...`).
    Anything,
    /// No item: how the stream ends (`end`, `dropped`), lined up with the observed ending by text.
    Ending,
}

impl<'p> Expected<'p> {
    fn item(text: String, pattern: &'p ItemPattern) -> Self {
        Expected {
            text,
            absorbs: Absorbs::One(pattern),
        }
    }

    /// The line as one of a `where` group's: the group follows as a comment.
    fn in_group(self, group: &WhereGroup) -> Self {
        Expected {
            text: format!("{}  # {}", self.text, render_where(group)),
            absorbs: self.absorbs,
        }
    }

    pub fn ending(text: &str) -> Self {
        Expected {
            text: text.to_string(),
            absorbs: Absorbs::Ending,
        }
    }

    /// `* times { … }`: more repetitions of a body, up to `max` more (unbounded when `None`).
    fn more_of(body: &'p [Entry], max: Option<u64>) -> Self {
        let text = format!(
            "{} times {{ {} }}",
            Quantifier { min: 0, max }.render(),
            first_line_text(body)
        );
        match first_pattern(body) {
            Some(pattern) => Expected {
                text,
                absorbs: Absorbs::Many(pattern),
            },
            None => Expected {
                text,
                absorbs: Absorbs::Anything,
            },
        }
    }
}

/// The pattern of the first item a body expects, if it starts with one.
fn first_pattern(entries: &[Entry]) -> Option<&ItemPattern> {
    entries.iter().find_map(|entry| match &entry.kind {
        EntryKind::Item(line) => Some(Some(&line.pattern)),
        EntryKind::Ignore(_)
        | EntryKind::All(_)
        | EntryKind::FirstWithin(_)
        | EntryKind::Control(_) => None,
        EntryKind::Repeat { body, .. } => Some(first_pattern(body)),
        EntryKind::Split(groups) => Some(groups.first().and_then(|g| first_pattern(&g.body))),
        EntryKind::Until { stop, .. } => Some(Some(stop)),
        EntryKind::AnyOrder(lines) => Some(lines.first().map(|l| &l.pattern)),
        _ => Some(None),
    })?
}

fn push_entries<'p>(entries: &'p [Entry], out: &mut Vec<Expected<'p>>, limit: usize) {
    for entry in entries {
        if out.len() >= limit {
            return;
        }
        match &entry.kind {
            EntryKind::Item(line) => {
                out.push(Expected::item(render_item_line(line), &line.pattern))
            }
            EntryKind::Repeat { quantifier, body } => {
                for _ in 0..quantifier.min {
                    if out.len() >= limit {
                        return;
                    }
                    push_entries(body, out, limit);
                }
                if quantifier.max != Some(quantifier.min) {
                    out.push(Expected::more_of(
                        body,
                        quantifier.max.map(|m| m - quantifier.min),
                    ));
                }
            }
            EntryKind::Until { stop, body } => {
                out.push(Expected::more_of(body, None));
                out.push(Expected::item(render_item_pattern(stop), stop));
            }
            EntryKind::AnyOrder(lines) => {
                for line in lines {
                    out.push(Expected::item(render_item_line(line), &line.pattern));
                }
            }
            EntryKind::Skip => out.push(Expected {
                text: "...".to_string(),
                absorbs: Absorbs::Anything,
            }),
            EntryKind::End => out.push(Expected::ending("end")),
            EntryKind::Dropped => out.push(Expected::ending("dropped")),
            EntryKind::Split(groups) => {
                for group in groups {
                    let start = out.len();
                    push_entries(&group.body, out, limit);
                    for expected in &mut out[start..] {
                        let text = std::mem::take(&mut expected.text);
                        expected.text = format!("{text}  # {}", render_where(group));
                    }
                }
            }
            EntryKind::Ignore(_)
            | EntryKind::All(_)
            | EntryKind::FirstWithin(_)
            | EntryKind::Control(_) => {}
        }
    }
}

fn first_line_text(entries: &[Entry]) -> String {
    let mut lines = Vec::new();
    push_entries(entries, &mut lines, 1);
    lines.pop().map(|line| line.text).unwrap_or_default()
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
mod tests {
    use super::*;
    use crate::ast::{Expectation, StepKind};
    use crate::source::SourceFile;
    use crate::transport::item::Item;

    /// The entries of the first `expect lines { … }` block of a one-test spec.
    fn block(body: &str) -> Vec<Entry> {
        block_of("lines", body)
    }

    fn block_of(kind: &str, body: &str) -> Vec<Entry> {
        let text =
            format!("test \"t\" {{\n  GET http://x/\n  expect {kind} {{\n{body}\n  }}\n}}\n");
        let file = SourceFile::new("t.stream", text);
        let spec = match crate::syntax::parse(&file) {
            Ok(spec) => spec,
            Err(errors) => panic!(
                "{:?}",
                errors.iter().map(|e| &e.message).collect::<Vec<_>>()
            ),
        };
        spec.tests[0]
            .steps
            .iter()
            .find_map(|step| match &step.kind {
                StepKind::Expect(Expectation::Stream(block)) => Some(block.entries.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Feeds lines at 10 ms intervals; returns what happened to each, stopping at a failure.
    fn feed(matcher: &mut BlockMatcher<'_>, lines: &[&str]) -> Result<Vec<Fed>, FailureKind> {
        let mut fed = Vec::new();
        let mut previous = Duration::ZERO;
        for (index, line) in lines.iter().enumerate() {
            let item = Item::Line(line.to_string());
            let at = Duration::from_millis(10 * (index as u64 + 1));
            let result = matcher
                .feed(&ItemView::new(&item), at, previous, &mut Vec::new(), &())
                .map_err(|f| f.kind)?;
            previous = at;
            fed.push(result);
        }
        Ok(fed)
    }

    fn runs(body: &str, lines: &[&str], terminal: Terminal) -> Result<(), FailureKind> {
        let entries = block(body);
        let mut matcher = BlockMatcher::new(&entries);
        feed(&mut matcher, lines)?;
        matcher.finish(&terminal).map(|_| ()).map_err(|f| f.kind)
    }

    #[test]
    fn exact_sequence_then_end() {
        assert_eq!(
            runs("\"a\"\n\"b\"\nend", &["a", "b"], Terminal::End),
            Ok(())
        );
        assert!(matches!(
            runs("\"a\"\n\"b\"\nend", &["a", "c"], Terminal::End),
            Err(FailureKind::Mismatch { .. })
        ));
        assert!(matches!(
            runs("\"a\"\nend", &["a", "b"], Terminal::End),
            Err(FailureKind::ExpectedTerminal { .. })
        ));
        assert!(matches!(
            runs("\"a\"\n\"b\"\nend", &["a"], Terminal::End),
            Err(FailureKind::EndedEarly { .. })
        ));
        assert!(matches!(
            runs("\"a\"\nend", &["a"], Terminal::Dropped("reset".into())),
            Err(FailureKind::WrongTerminal { .. })
        ));
        assert_eq!(
            runs("\"a\"\ndropped", &["a"], Terminal::Dropped("reset".into())),
            Ok(())
        );
    }

    #[test]
    fn optional_repetition_gives_way_to_what_follows() {
        let body = "* times { /x/ }\n\"end-marker\"\nend";
        assert_eq!(
            runs(body, &["x1", "x2", "end-marker"], Terminal::End),
            Ok(())
        );
        assert_eq!(runs(body, &["end-marker"], Terminal::End), Ok(()));
        let body = "2..3 times { \"a\" }\n\"b\"";
        assert_eq!(runs(body, &["a", "a", "b"], Terminal::End), Ok(()));
        assert_eq!(runs(body, &["a", "a", "a", "b"], Terminal::End), Ok(()));
        assert!(runs(body, &["a", "b"], Terminal::End).is_err());
        assert!(runs(body, &["a", "a", "a", "a"], Terminal::End).is_err());
    }

    #[test]
    fn repetitions_are_greedy_and_never_backtrack() {
        // `_` also matches the marker, so the repetition takes it and the marker is missing.
        let body = "* times { _ }\n\"done\"\nend";
        assert!(matches!(
            runs(body, &["a", "done"], Terminal::End),
            Err(FailureKind::EndedEarly { .. })
        ));
        // `until` is the way to stop at a marker.
        let body = "until \"done\" { _ }\nend";
        assert_eq!(runs(body, &["a", "b", "done"], Terminal::End), Ok(()));
    }

    #[test]
    fn multi_item_bodies_repeat_as_a_whole() {
        let body = "2 times {\n\"start\"\n\"stop\"\n}\nend";
        assert_eq!(
            runs(body, &["start", "stop", "start", "stop"], Terminal::End),
            Ok(())
        );
        assert!(runs(body, &["start", "stop", "start"], Terminal::End).is_err());
        // Nested optional repetitions leave in turn when an item fits neither.
        let body = "* times {\n* times { \"a\" }\n\"b\"\n}\n\"c\"";
        assert_eq!(
            runs(body, &["a", "a", "b", "b", "c"], Terminal::End),
            Ok(())
        );
    }

    #[test]
    fn any_order_finds_an_assignment_for_overlapping_patterns() {
        let body = "any order {\n_\n\"a\"\n}\nend";
        // `a` first takes `_`; `b` fits only `_`, so `a` moves over to `"a"`.
        assert_eq!(runs(body, &["a", "b"], Terminal::End), Ok(()));
        assert!(matches!(
            runs("any order {\n\"a\"\n\"b\"\n}", &["a", "a"], Terminal::End),
            Err(FailureKind::NoneInAnyOrder { .. })
        ));
    }

    #[test]
    fn any_order_captures_follow_the_final_assignment() {
        let entries = block("any order {\n/\\d+/ -> n\n\"42\"\n}");
        let mut matcher = BlockMatcher::new(&entries);
        let mut all = Vec::new();
        for line in ["42", "84"] {
            let item = Item::Line(line.to_string());
            let mut captures = Vec::new();
            let fed = matcher.feed(
                &ItemView::new(&item),
                Duration::ZERO,
                Duration::ZERO,
                &mut captures,
                &(),
            );
            assert!(fed.is_ok());
            all.extend(captures);
        }
        assert_eq!(all, [("n".to_string(), serde_json::json!("84"))]);
    }

    #[test]
    fn skip_ignore_and_completion() {
        assert_eq!(
            runs("...\n\"x\"\nend", &["a", "b", "x"], Terminal::End),
            Ok(())
        );
        assert_eq!(
            runs(
                "ignore \"ping\"\n\"a\"\n\"b\"\nend",
                &["ping", "a", "ping", "b"],
                Terminal::End
            ),
            Ok(())
        );
        // Without `end`, the block is complete once its last item matched.
        let entries = block("\"a\"");
        let mut matcher = BlockMatcher::new(&entries);
        assert!(!matcher.is_complete());
        assert_eq!(feed(&mut matcher, &["a"]).map(|f| f.len()), Ok(1));
        assert!(matcher.is_complete());
    }

    #[test]
    fn timing_bounds_are_checked_on_arrival() {
        // Items arrive 10 ms apart in `feed`.
        assert_eq!(
            runs("\"a\"\n\"b\" within 50ms", &["a", "b"], Terminal::End),
            Ok(())
        );
        assert!(matches!(
            runs("\"a\"\n\"b\" within 5ms", &["a", "b"], Terminal::End),
            Err(FailureKind::Timing { .. })
        ));
        assert!(matches!(
            runs("\"a\"\n\"b\" after 20ms", &["a", "b"], Terminal::End),
            Err(FailureKind::Timing { .. })
        ));
        assert!(matches!(
            runs("first within 5ms\n\"a\"", &["a"], Terminal::End),
            Err(FailureKind::Timing { .. })
        ));
    }

    #[test]
    fn controls_are_handed_out_at_their_position() {
        let entries = block("\"a\"\npace 10ms\n\"b\"\nabort");
        let mut matcher = BlockMatcher::new(&entries);
        assert!(matcher.take_action().is_none());
        assert!(feed(&mut matcher, &["a"]).is_ok());
        assert!(matches!(matcher.take_action(), Some((Control::Pace(_), _))));
        assert!(matcher.take_action().is_none());
    }

    /// Feeds NDJSON values (as text) to an `expect ndjson` block, then the ending.
    fn runs_json(body: &str, values: &[&str], terminal: Terminal) -> Result<(), FailureKind> {
        let entries = block_of("ndjson", body);
        let mut matcher = BlockMatcher::new(&entries);
        let mut previous = Duration::ZERO;
        for (index, text) in values.iter().enumerate() {
            let item = Item::Json(serde_json::from_str(text).unwrap_or_default());
            let at = Duration::from_millis(10 * (index as u64 + 1));
            matcher
                .feed(&ItemView::new(&item), at, previous, &mut Vec::new(), &())
                .map_err(|f| f.kind)?;
            previous = at;
        }
        matcher.finish(&terminal).map(|_| ()).map_err(|f| f.kind)
    }

    const TWO_KEYS: &str =
        "where k == \"a\" { { \"n\": 1 }\n{ \"n\": 2 } }\nwhere k == \"b\" { { \"n\": 1 } }\nend";

    #[test]
    fn where_groups_keep_the_order_of_each_key_only() {
        let a1 = r#"{"k":"a","n":1}"#;
        let a2 = r#"{"k":"a","n":2}"#;
        let b1 = r#"{"k":"b","n":1}"#;
        assert_eq!(runs_json(TWO_KEYS, &[a1, b1, a2], Terminal::End), Ok(()));
        assert_eq!(runs_json(TWO_KEYS, &[b1, a1, a2], Terminal::End), Ok(()));
        assert!(matches!(
            runs_json(TWO_KEYS, &[a2, a1, b1], Terminal::End),
            Err(FailureKind::Mismatch { .. })
        ));
        assert!(matches!(
            runs_json(TWO_KEYS, &[a1, r#"{"k":"c","n":1}"#], Terminal::End),
            Err(FailureKind::NoGroup { found, .. }) if found == "k \"c\""
        ));
        assert!(matches!(
            runs_json(TWO_KEYS, &[b1, b1], Terminal::End),
            Err(FailureKind::GroupComplete { .. })
        ));
        assert!(matches!(
            runs_json(TWO_KEYS, &[a1, b1], Terminal::End),
            Err(FailureKind::EndedEarly { .. })
        ));
        // Once every group has its items, what follows takes the next item.
        let body = "where k == \"a\" { { \"n\": 1 } }\n{ \"done\": true }\nend";
        assert_eq!(
            runs_json(body, &[a1, r#"{"done":true}"#], Terminal::End),
            Ok(())
        );
    }

    #[test]
    fn where_group_timing_is_measured_within_the_group() {
        // `b` arrives between the two `a`s: `a`'s bound runs from its own previous item.
        let body =
            "where k == \"a\" { { \"n\": 1 }\n{ \"n\": 2 } within 15ms }\nwhere k == \"b\" { _ }";
        let a1 = r#"{"k":"a","n":1}"#;
        let a2 = r#"{"k":"a","n":2}"#;
        let b1 = r#"{"k":"b","n":1}"#;
        assert!(matches!(
            runs_json(body, &[a1, b1, a2], Terminal::End),
            Err(FailureKind::Timing { .. })
        ));
        assert_eq!(runs_json(body, &[b1, a1, a2], Terminal::End), Ok(()));
    }

    #[test]
    fn all_patterns_check_every_item() {
        let body = "all { \"n\": 0..5 }\n* times { _ }\nend";
        assert_eq!(
            runs_json(body, &[r#"{"n":1}"#, r#"{"n":5}"#], Terminal::End),
            Ok(())
        );
        assert!(matches!(
            runs_json(body, &[r#"{"n":1}"#, r#"{"n":7}"#], Terminal::End),
            Err(FailureKind::Mismatch { expected, .. }) if expected == "all { \"n\": 0..5 }"
        ));
    }

    #[test]
    fn remainder_lists_what_is_still_expected() {
        let entries = block("\"a\"\n3 times { \"b\" }\nend");
        let mut matcher = BlockMatcher::new(&entries);
        assert!(feed(&mut matcher, &["a", "b"]).is_ok());
        let texts: Vec<String> = matcher.remainder(10).into_iter().map(|e| e.text).collect();
        assert_eq!(texts, ["\"b\"", "\"b\"", "end"]);
    }
}
