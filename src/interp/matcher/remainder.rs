//! What a block still expects, from where the matcher is: the expected side of a failure's
//! diff, one line per item, each with the observed items it can stand for.

use super::{BlockMatcher, FrameKind};
use crate::ast::{Entry, EntryKind, ItemPattern, Quantifier, WhereGroup};
use crate::render::{render_item_line, render_item_pattern, render_where};
use crate::source::Span;

impl<'p> BlockMatcher<'p> {
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
                        let set = rest[0].span;
                        for (index, line) in lines.iter().enumerate() {
                            let open = self
                                .any_order
                                .as_ref()
                                .is_none_or(|state| state.assigned[index].is_none());
                            if open {
                                out.push(
                                    Expected::item(render_item_line(line), &line.pattern)
                                        .in_any_order(set),
                                );
                            }
                        }
                        push_entries(&rest[1..], &mut out, limit);
                    }
                    Some(EntryKind::Split(groups)) if is_top && self.split.is_some() => {
                        let states = self.split.iter().flat_map(|s| &s.groups);
                        let split = rest[0].span;
                        for (group, (matcher, _)) in groups.iter().zip(states) {
                            let rest = matcher.remainder(limit.saturating_sub(out.len()));
                            out.extend(rest.into_iter().map(|e| e.in_group(split, group)));
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

/// One line of the expected side of a diff.
#[derive(Debug, Clone)]
pub struct Expected<'p> {
    pub text: String,
    /// Which observed items the line stands for, so the diff can line them up with it.
    pub absorbs: Absorbs<'p>,
    /// Whether the block fixes where the line stands among the others.
    pub order: Order<'p>,
}

/// Where the block leaves the order of expected lines open, so the diff can put them in the
/// order the items came.
#[derive(Debug, Clone, Copy)]
pub enum Order<'p> {
    /// The line stands where the block has it.
    Fixed,
    /// A line of a `where` group: in its group's order, interleaved with the lines of the other
    /// groups of the same entry (at `split`) any way.
    Group { split: Span, group: &'p WhereGroup },
    /// One of the lines of the `any order` at `set`, in any order among them.
    Any { set: Span },
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
            order: Order::Fixed,
        }
    }

    /// The line as one of a `where` group's (of the entry at `split`): the group follows as a
    /// comment.
    fn in_group(self, split: Span, group: &'p WhereGroup) -> Self {
        Expected {
            text: format!("{}  # {}", self.text, render_where(group)),
            absorbs: self.absorbs,
            order: Order::Group { split, group },
        }
    }

    /// The line as one of the `any order` at `set`.
    fn in_any_order(self, set: Span) -> Self {
        Expected {
            order: Order::Any { set },
            ..self
        }
    }

    pub fn ending(text: &str) -> Self {
        Expected {
            text: text.to_string(),
            absorbs: Absorbs::Ending,
            order: Order::Fixed,
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
                order: Order::Fixed,
            },
            None => Expected {
                text,
                absorbs: Absorbs::Anything,
                order: Order::Fixed,
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
                    out.push(
                        Expected::item(render_item_line(line), &line.pattern)
                            .in_any_order(entry.span),
                    );
                }
            }
            EntryKind::Skip => out.push(Expected {
                text: "...".to_string(),
                absorbs: Absorbs::Anything,
                order: Order::Fixed,
            }),
            EntryKind::End => out.push(Expected::ending("end")),
            EntryKind::Dropped => out.push(Expected::ending("dropped")),
            EntryKind::Split(groups) => {
                for group in groups {
                    let start = out.len();
                    push_entries(&group.body, out, limit);
                    let lines: Vec<Expected<'p>> = out.drain(start..).collect();
                    out.extend(lines.into_iter().map(|e| e.in_group(entry.span, group)));
                }
            }
            EntryKind::Ignore(_)
            | EntryKind::All(_)
            | EntryKind::FirstWithin(_)
            | EntryKind::Control(_) => {}
        }
    }
}

pub(super) fn first_line_text(entries: &[Entry]) -> String {
    let mut lines = Vec::new();
    push_entries(entries, &mut lines, 1);
    lines.pop().map(|line| line.text).unwrap_or_default()
}
