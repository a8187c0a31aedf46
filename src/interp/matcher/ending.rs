//! The end of a stream: whether the block accepts it where it is, and what follows it.

use super::remainder::first_line_text;
use super::where_groups::SplitState;
use super::{AfterEnd, BlockMatcher, FailureKind, Frame, FrameKind, MatchFailure, Terminal};
use crate::ast::{Control, Entry, EntryKind};
use crate::render::{render_item_line, render_item_pattern};
use crate::source::Span;

impl BlockMatcher<'_> {
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
