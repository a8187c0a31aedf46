//! Where the checker stands in a test's `repeat`s and `parallel` branches, and how another place
//! of the test relates to it: the same sequence, one around it, a branch running at the same
//! time, or a branch already joined. Also what the test opens and captures where, found before
//! its steps are checked, so an error can say where a name it misses is set.

use crate::ast::*;
use crate::source::Span;

use super::vars::step_captures;

/// One branch the checker is inside: which `parallel` (by where its braces start) and which of
/// its branches.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    pub parallel: usize,
    pub branch: usize,
    pub name: String,
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.parallel == other.parallel && self.branch == other.branch
    }
}

/// The branches around a place, outermost first; empty at the test's own level.
pub(super) type Path = Vec<Frame>;

/// How a place (`there`) relates to where the checker stands (`here`).
pub(super) enum Relation<'a> {
    /// The same sequence of steps (a `repeat` does not start a new one).
    Here,
    /// A sequence around this one: the test's, or a branch this one is nested in.
    Outside,
    /// A branch of the same `parallel` as one around here: it runs at the same time.
    Concurrent(&'a Frame),
    /// Inside branches of a `parallel` that is not around here: outermost first.
    Elsewhere(&'a [Frame]),
}

pub(super) fn relation<'a>(here: &[Frame], there: &'a [Frame]) -> Relation<'a> {
    let common = here.iter().zip(there).take_while(|(a, b)| a == b).count();
    match (here.get(common), there.get(common)) {
        (None, None) => Relation::Here,
        (Some(_), None) => Relation::Outside,
        (Some(mine), Some(theirs)) if mine.parallel == theirs.parallel => {
            Relation::Concurrent(theirs)
        }
        (_, Some(_)) => Relation::Elsewhere(&there[common..]),
    }
}

/// `a.b.x`: how a name made inside these branches is written outside them.
pub(super) fn dotted(frames: &[Frame], name: &str) -> String {
    let mut out = String::new();
    for frame in frames {
        out.push_str(&frame.name);
        out.push('.');
    }
    out.push_str(name);
    out
}

/// A name set somewhere in the test, with the branches around it.
pub(super) struct Site {
    pub name: String,
    pub span: Span,
    pub path: Path,
}

/// `as i` of a `repeat` or a `branch`: known only between its braces.
pub(super) struct IndexSite {
    pub name: String,
    pub span: Span,
    pub body: Span,
    /// The branch it numbers the instances of, or `None` for a `repeat`.
    pub branch: Option<String>,
}

/// Where the checker stands in the test being checked, and what the test holds.
#[derive(Default)]
pub(super) struct Flow {
    /// The branches around the step being checked.
    pub path: Path,
    /// The `repeat`s around the step being checked, inside the innermost branch.
    pub repeats: usize,
    /// The steps of a `repeat` are being looked at a second time (see [`Checker::repeat`]).
    ///
    /// [`Checker::repeat`]: super::Checker::repeat
    pub second_look: bool,
    /// Every capture of the test, in the order of the file.
    pub captures: Vec<Site>,
    /// Every `as NAME` of a request or a call in the test.
    pub openings: Vec<Site>,
    /// Every branch of the test, each with the branches around it and itself.
    pub branches: Vec<Site>,
    pub indexes: Vec<IndexSite>,
    /// Every stream opened so far in the test, in order: a name opened again makes a group.
    pub streams: Vec<Opened>,
    /// The kind of block that first read each stream name, by the sequence that opens it.
    pub read_as: Vec<ReadAs>,
}

/// A stream opened (`GET … as NAME`, `grpc … as NAME`) at a step checked so far.
pub(super) struct Opened {
    pub name: String,
    pub span: Span,
    pub path: Path,
    pub grpc: bool,
    /// A WebSocket (`ws … as NAME`).
    pub socket: bool,
    /// A block (or another reading step) held it while it was the current request, a block
    /// held it with `from`, or a group check measures it.
    pub held: bool,
}

/// How the streams of one name in one sequence are framed: as the first block reading them.
pub(super) struct ReadAs {
    pub path: Path,
    pub name: String,
    pub kind: StreamKind,
    pub span: Span,
}

impl Flow {
    pub fn for_test(test: &Test) -> Flow {
        let mut flow = Flow::default();
        let mut path = Vec::new();
        flow.survey(&test.steps, &mut path);
        flow
    }

    fn survey(&mut self, steps: &[Step], path: &mut Path) {
        for step in steps {
            match &step.kind {
                StepKind::Repeat(repeat) => {
                    if let Some(index) = &repeat.index {
                        self.indexes.push(IndexSite {
                            name: index.value.clone(),
                            span: index.span,
                            body: repeat.block_span,
                            branch: None,
                        });
                    }
                    self.survey(&repeat.steps, path);
                }
                StepKind::Parallel(parallel) => {
                    for (number, branch) in parallel.branches.iter().enumerate() {
                        if let Some(index) = &branch.index {
                            self.indexes.push(IndexSite {
                                name: index.value.clone(),
                                span: index.span,
                                body: branch.block_span,
                                branch: Some(branch.name.value.clone()),
                            });
                        }
                        path.push(frame(parallel, number, branch));
                        self.branches.push(site(&branch.name, path));
                        self.survey(&branch.steps, path);
                        path.pop();
                    }
                }
                StepKind::Request(Request {
                    name: Some(name), ..
                })
                | StepKind::Grpc(GrpcCall {
                    name: Some(name), ..
                }) => self.openings.push(site(name, path)),
                _ => {
                    let mut captures = Vec::new();
                    step_captures(step, &mut captures);
                    self.captures
                        .extend(captures.into_iter().map(|name| site(name, path)));
                }
            }
        }
    }

    pub fn in_branch(&self) -> bool {
        !self.path.is_empty()
    }
}

/// Whether these steps send a request or start a call, in their bodies included.
pub(super) fn sends_request(steps: &[Step]) -> bool {
    steps.iter().any(|step| match &step.kind {
        StepKind::Request(_) | StepKind::Grpc(_) | StepKind::Ws(_) => true,
        StepKind::Repeat(repeat) => sends_request(&repeat.steps),
        StepKind::Parallel(parallel) => parallel
            .branches
            .iter()
            .any(|branch| sends_request(&branch.steps)),
        _ => false,
    })
}

pub(super) fn frame(parallel: &Parallel, number: usize, branch: &Branch) -> Frame {
    Frame {
        parallel: parallel.block_span.start,
        branch: number,
        name: branch.name.value.clone(),
    }
}

fn site(name: &Ident, path: &[Frame]) -> Site {
    Site {
        name: name.value.clone(),
        span: name.span,
        path: path.to_vec(),
    }
}
