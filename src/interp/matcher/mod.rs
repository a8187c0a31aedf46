//! The block matcher: a state machine that takes observed items one at a time and walks an
//! `expect … { }` block (items, repetitions, `until`, `any order`, `...`, `end`), so items are
//! matched as they arrive and nothing is buffered.
//!
//! Repetitions are greedy and never backtrack: at an optional repetition the matcher tries the
//! next item against the body, and leaves the repetition only if that first item does not fit.
//! `until` is the way to stop at a marker item.

use std::time::Duration;

use crate::ast::{AbortWhen, Control, Entry, EntryKind, ItemLine, ItemPattern, Quantifier};
use crate::duration::format_duration;
use crate::pattern::{Captures, ItemView, match_item};
use crate::render::{render_item_line, render_item_pattern, render_where};
use crate::source::Span;
use any_order::AnyOrderState;
pub use binding::Bind;
use binding::bind;
pub use outcome::{AfterEnd, FailureKind, Fed, MatchFailure, Terminal};
pub use remainder::{Absorbs, Expected, Order};
pub use where_groups::belongs_to;
use where_groups::{SplitState, route};

mod any_order;
mod binding;
mod ending;
mod outcome;
mod remainder;
mod where_groups;

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
                        let mut late = None;
                        let bound = bind(stop, binder, &mut late)?;
                        if match_item(bound, view, captures).is_ok() {
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
                    let mut late = None;
                    let bound = bind(&line.pattern, binder, &mut late)?;
                    match match_item(bound, view, captures) {
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

    fn advance(&mut self) {
        if let Some(top) = self.stack.last_mut() {
            top.index += 1;
        }
        self.normalize();
    }
}

#[cfg(test)]
mod tests;
