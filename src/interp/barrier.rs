//! `barrier NAME` inside the branches of a `parallel`: every branch instance that has the
//! barrier waits until all of them are there, then all go on at once. A participant that ends
//! without reaching it breaks the barrier, and the ones waiting fail at once, naming it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::watch;

use crate::ast::{Branch, Step, StepKind};
use crate::outcome::BarrierReport;
use crate::source::Span;

/// The barriers of one `parallel`.
pub(super) struct Barriers {
    by_name: HashMap<String, Barrier>,
    /// The label of each branch instance (`reader[3]`), by its index in the `parallel`.
    labels: Vec<String>,
}

struct Barrier {
    span: Span,
    /// Which branch instances wait here.
    participants: Vec<bool>,
    state: Mutex<State>,
    status: watch::Sender<Status>,
}

#[derive(Default)]
struct State {
    arrived: Vec<bool>,
    count: usize,
    /// When each released participant went on.
    woke: Vec<Instant>,
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Waiting,
    Released,
    /// This branch instance ended without reaching the barrier.
    Broken(usize),
}

/// Why a branch could not pass a barrier.
pub(super) enum Blocked {
    /// A participant ended or failed first: its label.
    Broken(String),
    TimedOut,
}

impl Barriers {
    /// The barriers of `parallel`, given the branch each instance runs (in instance order).
    pub(super) fn new(instances: &[(&Branch, String)]) -> Barriers {
        let mut by_name: HashMap<String, Barrier> = HashMap::new();
        for (index, (branch, _)) in instances.iter().enumerate() {
            let mut names = Vec::new();
            barriers_in(&branch.steps, &mut names);
            for (name, span) in names {
                let barrier = by_name.entry(name).or_insert_with(|| Barrier {
                    span,
                    participants: vec![false; instances.len()],
                    state: Mutex::new(State {
                        arrived: vec![false; instances.len()],
                        ..State::default()
                    }),
                    status: watch::channel(Status::Waiting).0,
                });
                barrier.participants[index] = true;
            }
        }
        Barriers {
            by_name,
            labels: instances.iter().map(|(_, label)| label.clone()).collect(),
        }
    }

    /// Branch instance `me` is at barrier `name`: waits for the others, until `deadline`.
    pub(super) async fn wait(
        &self,
        name: &str,
        me: usize,
        deadline: Instant,
    ) -> Result<(), Blocked> {
        let Some(barrier) = self.by_name.get(name) else {
            return Ok(());
        };
        let mut status = barrier.status.subscribe();
        {
            let mut state = barrier
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !state.arrived[me] {
                state.arrived[me] = true;
                state.count += 1;
            }
            let wanted = barrier.participants.iter().filter(|p| **p).count();
            if state.count == wanted {
                barrier.status.send_if_modified(|status| {
                    let waiting = *status == Status::Waiting;
                    if waiting {
                        *status = Status::Released;
                    }
                    waiting
                });
            }
        }
        let outcome = tokio::time::timeout_at(
            deadline.into(),
            status.wait_for(|status| *status != Status::Waiting),
        )
        .await
        .map(|status| status.map(|status| status.clone()));
        let now = Instant::now();
        match outcome {
            // The sender lives as long as the barriers: it cannot be gone.
            Err(_) | Ok(Err(_)) | Ok(Ok(Status::Waiting)) => Err(Blocked::TimedOut),
            Ok(Ok(Status::Broken(who))) => Err(Blocked::Broken(self.labels[who].clone())),
            Ok(Ok(Status::Released)) => {
                barrier
                    .state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .woke
                    .push(now);
                // Branches share the test's task: letting the others wake before this one goes
                // on keeps the first from running its next step while they wait.
                tokio::task::yield_now().await;
                Ok(())
            }
        }
    }

    /// Branch instance `me` ended (passed or failed): the barriers it did not reach are broken.
    pub(super) fn left(&self, me: usize) {
        for barrier in self.by_name.values() {
            if !barrier.participants[me] {
                continue;
            }
            let arrived = barrier
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .arrived[me];
            if !arrived {
                barrier.status.send_if_modified(|status| {
                    let waiting = *status == Status::Waiting;
                    if waiting {
                        *status = Status::Broken(me);
                    }
                    waiting
                });
            }
        }
    }

    /// The barriers not released yet, each with the branch instances waiting there: what a
    /// failure in another branch cancels.
    pub(super) fn waiting(&self) -> Vec<(String, Span, Vec<String>)> {
        let mut waiting: Vec<(String, Span, Vec<String>)> = self
            .by_name
            .iter()
            .filter(|(_, barrier)| *barrier.status.borrow() != Status::Released)
            .filter_map(|(name, barrier)| {
                let state = barrier
                    .state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let labels: Vec<String> = state
                    .arrived
                    .iter()
                    .enumerate()
                    .filter(|(_, arrived)| **arrived)
                    .map(|(index, _)| self.labels[index].clone())
                    .collect();
                (!labels.is_empty()).then(|| (name.clone(), barrier.span, labels))
            })
            .collect();
        waiting.sort_by_key(|(_, span, _)| span.start);
        waiting
    }

    /// How tightly each barrier that was released let its branches go, in the order of the
    /// spec.
    pub(super) fn reports(&self, branch: Option<&String>) -> Vec<BarrierReport> {
        let mut reports: Vec<BarrierReport> = self
            .by_name
            .iter()
            .filter_map(|(name, barrier)| {
                let state = barrier
                    .state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let first = state.woke.iter().min()?;
                let last = state.woke.iter().max()?;
                Some(BarrierReport {
                    name: name.clone(),
                    span: barrier.span,
                    branches: state.woke.len(),
                    spread: last.saturating_duration_since(*first),
                    branch: branch.cloned(),
                })
            })
            .collect();
        reports.sort_by_key(|report| report.span.start);
        reports
    }
}

/// The barriers a branch's steps reach, outside nested `parallel`s (those are theirs).
fn barriers_in(steps: &[Step], out: &mut Vec<(String, Span)>) {
    for step in steps {
        match &step.kind {
            StepKind::Barrier(name) if !out.iter().any(|(n, _)| *n == name.value) => {
                out.push((name.value.clone(), step.span));
            }
            StepKind::Repeat(repeat) => barriers_in(&repeat.steps, out),
            _ => {}
        }
    }
}
