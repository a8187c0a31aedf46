//! The entries of an item block: what may follow `end`, `dropped`, `disconnect` and `abort`;
//! that `ignore`, `first within`, `abort after` and `all` stand at the top; what `...`,
//! repetitions and `where` groups may hold; and the variables and captures of each pattern, in
//! the order the block reads them.

use super::vars::pattern_captures;
use super::{Checker, TestState};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::interpolate::Context;
use crate::source::Span;

impl Checker {
    /// Checks a block's entries. `top` is the block itself (not a repetition inside it).
    pub(super) fn block(&mut self, entries: &[Entry], top: bool, state: &mut TestState) {
        // After `end`, `dropped` or `disconnect` the connection is closed: only `wait` and
        // `reconnect` may follow. After a plain `abort`, nothing may.
        let mut closed: Option<&'static str> = None;
        let mut aborted = false;
        let mut first_within: Option<Span> = None;
        let mut abort_rule: Option<Span> = None;
        for (index, entry) in entries.iter().enumerate() {
            if aborted {
                self.error(
                    entry.span,
                    "nothing can follow `abort` in a block",
                    "the connection is dropped by then",
                );
                break;
            }
            let allowed_when_closed = matches!(
                entry.kind,
                EntryKind::Control(Control::Wait(_) | Control::Reconnect(_))
            );
            if let Some(word) = closed
                && !allowed_when_closed
            {
                self.diagnostics.push(
                    Diagnostic::error(format!("nothing can follow `{word}` but `reconnect`"))
                        .at(&self.file, entry.span, "the connection is closed here")
                        .help("write `reconnect` to open the stream again (a `wait` may come before it)"),
                );
                break;
            }
            match &entry.kind {
                EntryKind::Item(line) => self.pattern_vars(&line.pattern, state),
                EntryKind::Repeat { body, .. } => self.block(body, false, state),
                EntryKind::Until { stop, body } => {
                    self.pattern_vars(stop, state);
                    self.block(body, false, state);
                }
                EntryKind::AnyOrder(lines) => {
                    if lines.is_empty() {
                        self.error(entry.span, "`any order` is empty", "put items inside");
                    }
                    for line in lines {
                        self.pattern_vars(&line.pattern, state);
                    }
                }
                EntryKind::Skip => {
                    let followed = entries[index + 1..].iter().any(|e| {
                        !matches!(
                            e.kind,
                            EntryKind::Ignore(_)
                                | EntryKind::FirstWithin(_)
                                | EntryKind::Control(_)
                        )
                    });
                    if !followed {
                        self.error(
                            entry.span,
                            "`...` needs something after it to skip to",
                            "nothing follows",
                        );
                    }
                    if matches!(
                        entries.get(index + 1).map(|e| &e.kind),
                        Some(EntryKind::Skip)
                    ) {
                        self.error(entry.span, "`...` twice in a row", "one is enough");
                    }
                }
                EntryKind::End | EntryKind::Dropped => {
                    let word = if matches!(entry.kind, EntryKind::End) {
                        "end"
                    } else {
                        "dropped"
                    };
                    let reconnects = matches!(
                        entries[index + 1..]
                            .iter()
                            .find(|e| !matches!(e.kind, EntryKind::Control(Control::Wait(_))))
                            .map(|e| &e.kind),
                        Some(EntryKind::Control(Control::Reconnect(_)))
                    );
                    if !top && !reconnects {
                        self.error(
                            entry.span,
                            format!("`{word}` cannot be repeated"),
                            "put it after the repetition, or `reconnect` after it",
                        );
                    }
                    closed = Some(word);
                }
                EntryKind::Ignore(pattern) => {
                    if !top {
                        self.error(
                            entry.span,
                            "`ignore` applies to the whole block",
                            "put it at the top of the block",
                        );
                    }
                    if !pattern_captures(pattern).is_empty() {
                        self.error(
                            entry.span,
                            "an `ignore` pattern cannot capture",
                            "ignored items are dropped",
                        );
                    }
                    self.pattern_vars(pattern, state);
                }
                EntryKind::FirstWithin(_) => {
                    if !top {
                        self.error(
                            entry.span,
                            "`first within` applies to the whole block",
                            "put it at the top of the block",
                        );
                    }
                    if first_within.is_some() {
                        self.error(entry.span, "`first within` is given twice", "keep one");
                    }
                    first_within = Some(entry.span);
                }
                EntryKind::Control(control) => match control {
                    Control::Abort(None) => aborted = true,
                    Control::Abort(Some(_)) => {
                        if !top {
                            self.error(
                                entry.span,
                                "`abort after …` applies to the whole block",
                                "put it at the top of the block",
                            );
                        }
                        if abort_rule.is_some() {
                            self.error(entry.span, "`abort after …` is given twice", "keep one");
                        }
                        abort_rule = Some(entry.span);
                    }
                    Control::Wait(_) | Control::Pace(_) => {}
                    Control::Disconnect | Control::Reconnect(_) if state.grpc.is_some() => {
                        self.error(
                            entry.span,
                            format!(
                                "`{}` is for HTTP streams, and this is a gRPC call",
                                control.keyword()
                            ),
                            "a gRPC call does not reconnect; `abort` cancels it",
                        );
                    }
                    Control::Disconnect => closed = Some("disconnect"),
                    Control::Reconnect(options) => {
                        closed = None;
                        for (_, value) in &options.headers {
                            self.template(value, &state.captures);
                            self.look_alikes(value, Context::Value, &state.captures);
                        }
                        for (_, value) in &options.query {
                            self.template(value, &state.captures);
                            self.look_alikes(value, Context::Url, &state.captures);
                        }
                    }
                    Control::Send(_) | Control::Close(_) if state.socket.is_some() => {
                        self.socket_control(control, entry.span, state)
                    }
                    Control::Send(_) | Control::Close(_) => {
                        self.request_stream(control, entry.span, state)
                    }
                },
                EntryKind::All(pattern) => {
                    if !top {
                        self.error(
                            entry.span,
                            "`all` applies to the whole block",
                            "put it at the top of the block, or of a `where` group",
                        );
                    }
                    if !pattern_captures(pattern).is_empty() {
                        self.error(
                            entry.span,
                            "an `all` pattern cannot capture",
                            "it checks every item; capture in the item lines",
                        );
                    }
                    self.pattern_vars(pattern, state);
                }
                EntryKind::Split(groups) => {
                    if matches!(state.stream, Some(StreamKind::Chunks)) {
                        self.error(
                            entry.span,
                            "`where` needs JSON items, and chunks are bytes",
                            "read the stream as `sse`, `ndjson` or `lines` of JSON",
                        );
                    }
                    for group in groups {
                        self.json_vars(&group.value, &state.captures.clone());
                        if group.body.is_empty() {
                            self.error(
                                group.span,
                                "this `where` group expects nothing",
                                "put the items of this key inside",
                            );
                        }
                        for inner in &group.body {
                            let (word, why) = match &inner.kind {
                                EntryKind::End => {
                                    ("end", "how the stream ends goes after the groups")
                                }
                                EntryKind::Dropped => {
                                    ("dropped", "how the stream ends goes after the groups")
                                }
                                EntryKind::Control(control) => (
                                    control.keyword(),
                                    "client actions go before or after the groups",
                                ),
                                EntryKind::Split(_) => ("where", "`where` groups do not nest"),
                                _ => continue,
                            };
                            self.error(
                                inner.span,
                                format!("`{word}` cannot go in a `where` group"),
                                why,
                            );
                        }
                        self.block(&group.body, true, state);
                    }
                }
            }
        }
    }
}
