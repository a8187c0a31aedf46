//! `repeat` and `parallel`: the counts they take, the branches a `parallel` needs, where a
//! `barrier` may stand and whether anything waits at it, and which captures a branch and the
//! steps after a `parallel` see (a branch starts with a copy of the test's; after the join, its
//! own are written `{{branch.name}}`).

use super::flow::{Relation, dotted, frame, relation};
use super::{Checker, TestState};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::source::Span;

impl Checker {
    pub(super) fn repeat(&mut self, repeat: &RepeatSteps, state: &mut TestState) {
        let count = &repeat.count;
        if count.value == 0 {
            self.error(count.span, "a `repeat` of zero times", "runs nothing");
        } else if count.value > MAX_REPEAT {
            self.error(
                count.span,
                format!("a `repeat` runs its steps at most {MAX_REPEAT} times"),
                "more than that",
            );
        }
        let index_added = repeat
            .index
            .as_ref()
            .is_some_and(|index| state.captures.insert(index.value.clone()));
        self.flow.repeats += 1;
        let before = self.diagnostics.len();
        self.steps(&repeat.steps, state);
        // Steps before the body's first request act on the exchange the previous time round
        // left (the first time, the one before the `repeat`): a second look finds what they do
        // to it twice. Inside a second look a `repeat` looks once, so that nested ones do not
        // double the work at every level.
        let carried = !matches!(
            repeat.steps.first().map(|step| &step.kind),
            Some(StepKind::Request(_) | StepKind::Grpc(_) | StepKind::Ws(_))
        );
        if count.value > 1 && carried && !self.flow.second_look {
            self.flow.second_look = true;
            let first_look = self.diagnostics.len();
            self.steps(&repeat.steps, state);
            self.flow.second_look = false;
            let again: Vec<Diagnostic> = self.diagnostics.drain(first_look..).collect();
            for diagnostic in again {
                if !self.diagnostics[before..]
                    .iter()
                    .any(|seen| same_diagnostic(seen, &diagnostic))
                {
                    self.diagnostics.push(diagnostic);
                }
            }
        }
        self.flow.repeats -= 1;
        if index_added && let Some(index) = &repeat.index {
            state.captures.remove(&index.value);
        }
    }

    pub(super) fn parallel(&mut self, parallel: &Parallel, span: Span, state: &mut TestState) {
        let keyword = Span::new(span.start, span.start + "parallel".len());
        if parallel.branches.is_empty() {
            let diagnostic = Diagnostic::error("this `parallel` has no branches")
                .at(&self.file, keyword, "nothing to run")
                .help("a branch looks like `branch name { GET http://… }`");
            self.diagnostics.push(diagnostic);
        }
        let instances = parallel
            .branches
            .iter()
            .map(Branch::instances)
            .fold(0u64, u64::saturating_add);
        if instances > MAX_BRANCHES {
            self.error(
                keyword,
                format!("a `parallel` starts at most {MAX_BRANCHES} branch instances"),
                format!("this one starts {instances}"),
            );
        }
        self.branch_names(parallel);
        self.barriers(parallel);
        self.branch_streams(parallel);
        for (number, branch) in parallel.branches.iter().enumerate() {
            if let Some(times) = &branch.times
                && times.value == 0
            {
                self.error(times.span, "a branch of zero times", "runs nothing");
            }
            // A branch starts afresh, with a copy of the test's variables and captures.
            let mut inner = TestState {
                captures: state.captures.clone(),
                ..TestState::default()
            };
            if let Some(index) = &branch.index {
                inner.captures.insert(index.value.clone());
            }
            let repeats_around = std::mem::take(&mut self.flow.repeats);
            self.flow.path.push(frame(parallel, number, branch));
            self.steps(&branch.steps, &mut inner);
            let branch_path = self.flow.path.clone();
            self.flow.path.pop();
            self.flow.repeats = repeats_around;
            // After the join, what the branch captured is known by the branch's name.
            let here = self.flow.path.len();
            let joined: Vec<String> = self
                .flow
                .captures
                .iter()
                .filter(|site| site.path.starts_with(&branch_path))
                .map(|site| dotted(&site.path[here..], &site.name))
                .collect();
            state.captures.extend(joined);
        }
    }

    fn branch_names(&mut self, parallel: &Parallel) {
        for (number, branch) in parallel.branches.iter().enumerate() {
            let earlier = &parallel.branches[..number];
            if let Some(first) = earlier.iter().find(|b| b.name.value == branch.name.value) {
                let line = self.file.line_col(first.name.span.start).line;
                self.error(
                    branch.name.span,
                    format!(
                        "branch name `{}` is used twice in this `parallel`",
                        branch.name.value
                    ),
                    format!("also the name of the branch on line {line}"),
                );
            }
        }
    }

    /// `barrier NAME` as a step: inside a branch, and not in a `repeat` of it. Whether another
    /// branch waits there is seen from the `parallel` (see [`Checker::barriers`]).
    pub(super) fn barrier(&mut self, span: Span) {
        if !self.flow.in_branch() {
            let diagnostic = Diagnostic::error("`barrier` goes inside a `branch`")
                .at(&self.file, span, "no branches run alongside here")
                .help("a barrier makes the branches of a `parallel` wait for each other");
            self.diagnostics.push(diagnostic);
        } else if self.flow.repeats > 0 {
            let diagnostic = Diagnostic::error("`barrier` cannot go inside a `repeat`")
                .at(
                    &self.file,
                    span,
                    "a barrier is passed once per branch instance",
                )
                .help("put it before or after the `repeat`");
            self.diagnostics.push(diagnostic);
        }
    }

    /// The barriers of a `parallel`: each passed once per branch instance, by more than one
    /// instance, and in the same order by every branch that passes two of them (otherwise the
    /// branches would wait for each other forever).
    fn barriers(&mut self, parallel: &Parallel) {
        let passed: Vec<Vec<(&Ident, Span)>> = parallel
            .branches
            .iter()
            .map(|branch| own_barriers(&branch.steps))
            .collect();
        for list in &passed {
            for (at, (name, span)) in list.iter().enumerate() {
                if let Some((_, first)) = list[..at].iter().find(|(n, _)| n.value == name.value) {
                    let line = self.file.line_col(first.start).line;
                    let diagnostic = Diagnostic::error(format!(
                        "this branch passes `barrier {}` twice",
                        name.value
                    ))
                    .at(&self.file, *span, format!("also on line {line}"))
                    .help("a barrier is passed once per branch instance");
                    self.diagnostics.push(diagnostic);
                }
            }
        }
        for (number, list) in passed.iter().enumerate() {
            for (name, span) in first_passes(list) {
                let waiting: u64 = parallel
                    .branches
                    .iter()
                    .zip(&passed)
                    .filter(|(_, other)| other.iter().any(|(n, _)| n.value == name.value))
                    .map(|(branch, _)| branch.instances())
                    .fold(0, u64::saturating_add);
                if waiting == 1 {
                    let diagnostic = Diagnostic::error(format!(
                        "only one branch instance reaches `barrier {}`",
                        name.value
                    ))
                    .at(&self.file, span, "no other branch waits here")
                    .help(format!(
                        "put `barrier {}` in another branch of this `parallel` as well",
                        name.value
                    ));
                    self.diagnostics.push(diagnostic);
                }
            }
            for (other, earlier) in parallel.branches.iter().zip(&passed).take(number) {
                let shared =
                    |of: &[(&Ident, Span)], with: &[(&Ident, Span)]| -> Vec<(String, Span)> {
                        first_passes(of)
                            .into_iter()
                            .filter(|(name, _)| with.iter().any(|(n, _)| n.value == name.value))
                            .map(|(name, span)| (name.value.clone(), span))
                            .collect()
                    };
                let mine = shared(list, earlier);
                let theirs = shared(earlier, list);
                let crossed = mine.iter().zip(&theirs).find(|((a, _), (b, _))| a != b);
                if let Some(((first, span), (second, _))) = crossed {
                    let diagnostic = Diagnostic::error(format!(
                        "`barrier {first}` comes before `barrier {second}` here, and after it in branch `{}`",
                        other.name.value
                    ))
                    .at(&self.file, *span, "the branches would wait for each other forever")
                    .help("pass the barriers in the same order in every branch");
                    self.diagnostics.push(diagnostic);
                    break;
                }
            }
        }
    }

    /// `timeout` sets the test's deadline: once, at the test's own level.
    pub(super) fn timeout_in_body(&mut self, span: Span) -> bool {
        self.test_step_in_a_body(
            span,
            "`timeout` sets the test's deadline, and goes outside `repeat` and `parallel`",
        )
    }

    /// A step of the whole test found in the body of a `repeat` or a branch: `message` says so,
    /// and `true`.
    pub(super) fn test_step_in_a_body(&mut self, span: Span, message: &str) -> bool {
        let inside = match self.flow.path.last() {
            Some(frame) => format!("inside branch `{}`", frame.name),
            None if self.flow.repeats > 0 => "inside a `repeat`".to_string(),
            None => return false,
        };
        self.error(span, message, inside);
        true
    }

    /// Why a capture is not known here when the test makes it elsewhere: in a branch running at
    /// the same time, or in a branch joined before (then it is written `b.x`, as a placeholder
    /// `{{b.x}}` when `braces`); or why an `as i` is not known out of its braces.
    pub(super) fn capture_help(&self, name: &str, used: Span, braces: bool) -> Option<String> {
        let braced = |written: String| match braces {
            true => format!("{{{{{written}}}}}"),
            false => written,
        };
        // `inner.x` where branch `inner` is nested in branch `outer`: here it is `outer.inner.x`.
        let (_, last) = name.rsplit_once('.').unwrap_or(("", name));
        for site in self.flow.captures.iter().filter(|site| site.name == last) {
            if let Relation::Elsewhere(frames) = relation(&self.flow.path, &site.path)
                && site.span.start < used.start
                && last != name
            {
                let written = dotted(frames, last);
                if written.ends_with(&format!(".{name}")) {
                    let line = self.file.line_col(site.span.start).line;
                    return Some(format!(
                        "`{last}` is captured on line {line}, in branch `{}`; here it is written `{}`",
                        frames[frames.len() - 1].name,
                        braced(written)
                    ));
                }
            }
        }
        for site in self.flow.captures.iter().filter(|site| site.name == name) {
            let line = self.file.line_col(site.span.start).line;
            match relation(&self.flow.path, &site.path) {
                Relation::Concurrent(frame) => {
                    return Some(format!(
                        "`{name}` is captured in branch `{}` on line {line}, which runs at the same time as this one; a branch sees the captures made before its `parallel`, and its own",
                        frame.name
                    ));
                }
                Relation::Elsewhere(frames) if site.span.start < used.start => {
                    return Some(format!(
                        "`{name}` is captured in branch `{}` on line {line}; after the `parallel`, write `{}`",
                        frames[0].name,
                        braced(dotted(frames, name))
                    ));
                }
                _ => {}
            }
        }
        let outside = |body: Span| !(body.start <= used.start && used.start < body.end);
        let index = self
            .flow
            .indexes
            .iter()
            .find(|index| index.name == name && outside(index.body))?;
        let line = self.file.line_col(index.span.start).line;
        Some(match &index.branch {
            Some(branch) => format!(
                "`{name}` numbers the instances of branch `{branch}` on line {line}, and is known only inside its braces"
            ),
            None => format!(
                "`{name}` counts the times round the `repeat` on line {line}, and is known only inside its braces"
            ),
        })
    }
}

/// The barriers a branch passes itself, in order: not those of a `parallel` nested in it (they
/// belong to that one), nor those in a `repeat` (an error of their own).
fn own_barriers(steps: &[Step]) -> Vec<(&Ident, Span)> {
    steps
        .iter()
        .filter_map(|step| match &step.kind {
            StepKind::Barrier(name) => Some((name, step.span)),
            _ => None,
        })
        .collect()
}

/// Each barrier at the first place it is passed.
fn first_passes<'a>(list: &[(&'a Ident, Span)]) -> Vec<(&'a Ident, Span)> {
    let mut out: Vec<(&Ident, Span)> = Vec::new();
    for (name, span) in list {
        if !out.iter().any(|(n, _)| n.value == name.value) {
            out.push((name, *span));
        }
    }
    out
}

/// The same diagnostic twice: the second look at a `repeat` finds most things again.
fn same_diagnostic(a: &Diagnostic, b: &Diagnostic) -> bool {
    let label = |d: &Diagnostic| d.label.as_ref().map(|l| (l.span, l.text.clone()));
    a.severity == b.severity && a.message == b.message && label(a) == label(b) && a.notes == b.notes
}
