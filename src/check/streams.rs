//! Named streams (`GET … as NAME`, `grpc … as NAME`): which streams a `from NAME` block may hold
//! (those its own sequence opened: a sibling branch's run at the same time, a joined branch's
//! are closed, and a branch may not hold its parent's), that one name is read with one kind of
//! block, which names `in NAME` and `expect same items in NAME` may measure, and streams that
//! nothing ever holds.

use std::collections::HashSet;

use super::flow::{Opened, ReadAs, Relation, relation};
use super::{Checker, GrpcState, TestState};
use crate::ast::*;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::Span;

impl Checker {
    /// A request or call with `as NAME` is a stream of its sequence from here: its index among
    /// the test's streams, to follow what reads it.
    pub(super) fn open_stream(&mut self, name: Option<&Ident>, grpc: bool) -> Option<usize> {
        let name = name?;
        self.flow.streams.push(Opened {
            name: name.value.clone(),
            span: name.span,
            path: self.flow.path.clone(),
            grpc,
            socket: false,
            held: false,
        });
        Some(self.flow.streams.len() - 1)
    }

    /// `expect KIND from NAME { … }`: holds the stream NAME, whatever the current request is,
    /// and leaves the current request's state as it was.
    pub(super) fn held_block(&mut self, block: &StreamBlock, name: &Ident, state: &mut TestState) {
        let kind = block.kind.value;
        let (grpc, socket) = match self.stream_to_hold(name) {
            Some(index) => {
                let opened = &self.flow.streams[index];
                let (grpc, socket) = (opened.grpc, opened.socket);
                if self.held_kind_fits(block, name, index) {
                    self.read_as(index, kind, block.kind.span);
                }
                (grpc, socket)
            }
            None => (kind == StreamKind::Messages, kind == StreamKind::Socket),
        };
        if kind != StreamKind::Messages {
            self.empty_block(block);
        }
        let mut held = TestState {
            has_request: true,
            sent: true,
            stream: Some(kind),
            grpc: grpc.then(GrpcState::default),
            socket: socket.then(super::socket::SocketState::default),
            captures: std::mem::take(&mut state.captures),
            ..TestState::default()
        };
        self.block(&block.entries, true, &mut held);
        state.captures = held.captures;
    }

    /// The stream a `from NAME` holds (the latest of that name in this sequence), or why it
    /// holds none.
    fn stream_to_hold(&mut self, name: &Ident) -> Option<usize> {
        let mut here = None;
        let mut elsewhere = None;
        for (index, opened) in self.flow.streams.iter_mut().enumerate() {
            if opened.name != name.value {
                continue;
            }
            // Named, even wrongly: not a stream nothing refers to.
            opened.held = true;
            match relation(&self.flow.path, &opened.path) {
                Relation::Here => here = Some(index),
                _ => elsewhere = Some(index),
            }
        }
        if here.is_some() {
            return here;
        }
        let n = &name.value;
        let diagnostic = match elsewhere {
            Some(index) => {
                let opened = &self.flow.streams[index];
                let line = self.file.line_col(opened.span.start).line;
                match relation(&self.flow.path, &opened.path) {
                    Relation::Concurrent(frame) => Diagnostic::error(format!(
                        "`{n}` is opened in branch `{}`, which runs at the same time as this one",
                        frame.name
                    ))
                    .at(&self.file, name.span, "not opened in this branch")
                    .help(format!(
                        "a branch holds only the streams it opens; after the `parallel`, check them with `expect same items in {n}` or `expect count in {n} …`"
                    )),
                    Relation::Elsewhere(frames) => Diagnostic::error(format!(
                        "stream `{n}` is closed by now"
                    ))
                    .at(
                        &self.file,
                        name.span,
                        format!("opened in branch `{}` on line {line}", frames[0].name),
                    )
                    .help(format!(
                        "streams are closed at the end of the branch that opened them; after the `parallel`, check them with `expect same items in {n}` or `expect count in {n} …`"
                    )),
                    Relation::Outside | Relation::Here => Diagnostic::error(format!(
                        "a branch cannot hold `{n}`, which is opened outside it"
                    ))
                    .at(
                        &self.file,
                        name.span,
                        format!("opened on line {line}, before the `parallel`"),
                    )
                    .help(
                        "several instances of the branch would hold it at once; hold it before or after the `parallel`, or open a stream in this branch",
                    ),
                }
            }
            None => {
                let visible: Vec<&str> = self
                    .flow
                    .streams
                    .iter()
                    .filter(|opened| {
                        matches!(relation(&self.flow.path, &opened.path), Relation::Here)
                    })
                    .map(|opened| opened.name.as_str())
                    .collect();
                let later = self
                    .flow
                    .openings
                    .iter()
                    .find(|site| site.name == *n && site.span.start > name.span.start);
                let diagnostic = Diagnostic::error(format!(
                    "no stream is opened as `{n}` before this line"
                ))
                .at(&self.file, name.span, "not opened");
                match (did_you_mean(n, visible.iter().copied()), later) {
                    (Some(suggestion), _) => {
                        diagnostic.help(format!("did you mean `{suggestion}`?"))
                    }
                    (None, Some(site)) => {
                        let line = self.file.line_col(site.span.start).line;
                        diagnostic.help(format!(
                            "`{n}` is opened on line {line}; a stream can be held only after the request that opens it"
                        ))
                    }
                    (None, None) => diagnostic.help(format!(
                        "name a request `GET … as {n}`, or a call `grpc … as {n}`"
                    )),
                }
            }
        };
        self.diagnostics.push(diagnostic);
        None
    }

    /// `expect messages from` holds a gRPC call, the other blocks an HTTP stream.
    fn held_kind_fits(&mut self, block: &StreamBlock, name: &Ident, index: usize) -> bool {
        let opened = &self.flow.streams[index];
        let line = self.file.line_col(opened.span.start).line;
        let n = &name.value;
        // The keyword (the span of `messages` runs to the end of its block).
        let start = block.kind.span.start;
        let keyword = Span::new(start, start + block.kind.value.keyword().len());
        if opened.socket || block.kind.value == StreamKind::Socket {
            // `messages` after a WebSocket's name is lowered as a WebSocket's block.
            if opened.socket && block.kind.value == StreamKind::Socket {
                return true;
            }
            let diagnostic = Diagnostic::error(format!(
                "`expect {}` does not fit `{n}`",
                block.kind.value.keyword()
            ))
            .at(
                &self.file,
                keyword,
                format!("`{n}` is opened on line {line}"),
            )
            .help(if opened.socket {
                format!("a WebSocket's messages are read with `expect messages from {n} {{ … }}`")
            } else {
                format!("`{n}` is not a WebSocket")
            });
            self.diagnostics.push(diagnostic);
            return false;
        }
        let messages = block.kind.value == StreamKind::Messages;
        let diagnostic = match (messages, opened.grpc) {
            (true, false) => Diagnostic::error(format!(
                "`expect messages` is for gRPC calls, and `{n}` is an HTTP request"
            ))
            .at(&self.file, keyword, format!("`{n}` is opened on line {line}"))
            .help(format!(
                "an HTTP response's items are read with `expect sse|ndjson|lines|chunks from {n} {{ … }}`"
            )),
            (false, true) => Diagnostic::error(format!(
                "`expect {}` is for HTTP responses, and `{n}` is a gRPC call",
                block.kind.value.keyword()
            ))
            .at(&self.file, keyword, format!("`{n}` is opened on line {line}"))
            .help(format!(
                "a gRPC call's replies are read with `expect messages from {n} {{ … }}`"
            )),
            _ => return true,
        };
        self.diagnostics.push(diagnostic);
        false
    }

    /// A block of `kind` reads the stream at `index`: the streams of its name are framed as the
    /// first block that reads them, so every block reading them must be of that kind.
    pub(super) fn read_as(&mut self, index: usize, kind: StreamKind, span: Span) {
        let opened = &self.flow.streams[index];
        let first = self
            .flow
            .read_as
            .iter()
            .find(|read| read.name == opened.name && read.path == opened.path);
        match first {
            Some(first) if first.kind != kind => {
                let line = self.file.line_col(first.span.start).line;
                let (name, first_kind) = (&opened.name, first.kind.keyword());
                let diagnostic = Diagnostic::error(format!(
                    "`{name}` is read as `{first_kind}` on line {line}, and here as `{}`",
                    kind.keyword()
                ))
                .at(&self.file, span, "another kind of block")
                .help(format!(
                    "a stream's items are framed by the first block that reads it: read `{name}` as `{first_kind}` here too"
                ));
                self.diagnostics.push(diagnostic);
            }
            Some(_) => {}
            None => {
                let read = ReadAs {
                    path: opened.path.clone(),
                    name: opened.name.clone(),
                    kind,
                    span,
                };
                self.flow.read_as.push(read);
            }
        }
    }

    /// `expect same items in NAME`, and the measures that take `in NAME`.
    pub(super) fn grouped_aggregate(&mut self, aggregate: &Aggregate, group: &Ident) {
        let measure = match &aggregate.kind {
            AggregateKind::Retry(_) => Some("`expect retry`".to_string()),
            AggregateKind::Distinct(name) => Some(format!("`expect {} distinct`", name.value)),
            AggregateKind::Capture { name, function, .. } => Some(format!(
                "`expect {} {}`",
                name.value,
                function.value.keyword()
            )),
            _ => None,
        };
        if let Some(measure) = measure {
            let capture = matches!(
                aggregate.kind,
                AggregateKind::Distinct(_) | AggregateKind::Capture { .. }
            );
            let diagnostic = Diagnostic::error(format!(
                "`in {}` does not go with {measure}",
                group.value
            ))
            .at(&self.file, group.span, "not measured over a group of streams")
            .help(if capture {
                "captures belong to the test, not to a stream; a branch's captures are written `branch.name` after its `parallel`"
            } else {
                "`in NAME` goes with count, bytes, connections, ttfb, duration, first item, reconnect delay, gaps and ids"
            });
            self.diagnostics.push(diagnostic);
            return;
        }
        if aggregate.whole_test {
            let diagnostic = Diagnostic::error(format!(
                "`expect test …` and `in {}` do not go together",
                group.value
            ))
            .at(
                &self.file,
                group.span,
                format!("measures the streams named `{}`", group.value),
            )
            .help("`expect test …` measures every stream of the test; keep one of them");
            self.diagnostics.push(diagnostic);
            return;
        }
        self.group_name(group);
    }

    /// The NAME of `in NAME`: streams opened in this sequence, or in branches joined before, or
    /// the instances of a branch joined before.
    pub(super) fn group_name(&mut self, name: &Ident) {
        let n = &name.value;
        let mut measurable: HashSet<String> = HashSet::new();
        let mut problem: Option<Diagnostic> = None;
        for opened in self.flow.streams.iter_mut() {
            let relation = relation(&self.flow.path, &opened.path);
            if matches!(relation, Relation::Here | Relation::Elsewhere(_)) {
                measurable.insert(opened.name.clone());
            }
            if opened.name != *n {
                continue;
            }
            opened.held = true;
            let line = self.file.line_col(opened.span.start).line;
            problem = match relation {
                Relation::Here | Relation::Elsewhere(_) => return,
                Relation::Concurrent(frame) => Some(
                    Diagnostic::error(format!(
                        "`{n}` is opened in branch `{}`, which runs at the same time as this one",
                        frame.name
                    ))
                    .at(&self.file, name.span, "not opened in this branch")
                    .help("measure it after the `parallel`"),
                ),
                Relation::Outside => Some(
                    Diagnostic::error(format!("`{n}` is opened outside this branch"))
                        .at(
                            &self.file,
                            name.span,
                            format!("opened on line {line}, before the `parallel`"),
                        )
                        .help("measure it before or after the `parallel`"),
                ),
            };
        }
        for site in &self.flow.branches {
            let relation = relation(&self.flow.path, &site.path);
            let joined =
                matches!(relation, Relation::Elsewhere(_)) && site.span.start < name.span.start;
            if joined {
                measurable.insert(site.name.clone());
            }
            if site.name != *n {
                continue;
            }
            match relation {
                _ if joined => return,
                Relation::Elsewhere(_) => {}
                _ => {
                    problem = Some(
                        Diagnostic::error(format!("branch `{n}` is not joined yet here"))
                            .at(&self.file, name.span, "still running")
                            .help("measure a branch after its `parallel`"),
                    );
                }
            }
        }
        let diagnostic = problem.unwrap_or_else(|| {
            let diagnostic = Diagnostic::error(format!(
                "no stream or branch is named `{n}` before this line"
            ))
            .at(&self.file, name.span, "unknown name");
            match did_you_mean(n, measurable.iter().map(String::as_str)) {
                Some(suggestion) => diagnostic.help(format!("did you mean `{suggestion}`?")),
                None => diagnostic.help(format!(
                    "name a stream `GET … as {n}`, or a branch `branch {n} {{ … }}`"
                )),
            }
        });
        self.diagnostics.push(diagnostic);
    }

    /// A stream opened in a branch must not take the name of a branch of the same `parallel`:
    /// `in NAME` and `expect same items in NAME` could not tell the two apart. (Streams of one
    /// name opened in several branches are one group, as when opened in a `repeat`.)
    pub(super) fn branch_streams(&mut self, parallel: &Parallel) {
        for branch in &parallel.branches {
            let mut mine: Vec<&Ident> = Vec::new();
            openings(&branch.steps, &mut mine);
            let mut reported: Vec<&str> = Vec::new();
            for name in mine {
                let Some(named) = parallel
                    .branches
                    .iter()
                    .find(|other| other.name.value == name.value)
                else {
                    continue;
                };
                if reported.contains(&name.value.as_str()) {
                    continue;
                }
                reported.push(&name.value);
                let line = self.file.line_col(named.name.span.start).line;
                let diagnostic = Diagnostic::error(format!(
                    "stream `{}` has the name of a branch",
                    name.value
                ))
                .at(
                    &self.file,
                    name.span,
                    format!("also the name of the branch on line {line}"),
                )
                .help("`in NAME` and `expect same items in NAME` could not tell them apart: give the stream a name of its own");
                self.diagnostics.push(diagnostic);
            }
        }
    }

    /// At the end of a test: a stream nothing holds is only read in the background.
    pub(super) fn unheld_streams(&mut self) {
        let mut warned: Vec<usize> = Vec::new();
        for (index, opened) in self.flow.streams.iter().enumerate() {
            let group = |other: &Opened| other.name == opened.name && other.path == opened.path;
            let first = self.flow.streams.iter().position(group);
            if first != Some(index)
                || self
                    .flow
                    .streams
                    .iter()
                    .filter(|o| group(o))
                    .any(|o| o.held)
            {
                continue;
            }
            warned.push(index);
        }
        for index in warned {
            let opened = &self.flow.streams[index];
            let name = &opened.name;
            let kinds = if opened.grpc || opened.socket {
                "messages"
            } else {
                "sse|ndjson|lines|chunks"
            };
            let diagnostic = Diagnostic::warning(format!(
                "stream `{name}` is read in the background but never held against a block"
            ))
            .at(&self.file, opened.span, "never held")
            .help(format!(
                "its figures appear in `-v`; hold it with `expect {kinds} from {name} {{ … }}`"
            ));
            self.diagnostics.push(diagnostic);
        }
    }
}

/// Every `as NAME` in these steps, in their bodies included.
fn openings<'a>(steps: &'a [Step], out: &mut Vec<&'a Ident>) {
    for step in steps {
        match &step.kind {
            StepKind::Request(Request {
                name: Some(name), ..
            })
            | StepKind::Grpc(GrpcCall {
                name: Some(name), ..
            }) => out.push(name),
            StepKind::Repeat(repeat) => openings(&repeat.steps, out),
            StepKind::Parallel(parallel) => {
                for branch in &parallel.branches {
                    openings(&branch.steps, out);
                }
            }
            _ => {}
        }
    }
}
