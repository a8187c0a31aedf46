//! `repeat` and `parallel`: steps run several times one after another, and branches run at the
//! same time on the test's task, each with its own connections, current request, named streams
//! and captures, joined at the end of the `parallel`. Structured: a branch's streams are closed
//! when it ends, and when one branch fails the others are dropped (cancelled) with theirs.

use std::collections::HashMap;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;

use super::*;
use crate::interp::barrier::{Barriers, Blocked};

/// Where a branch instance stands in its `parallel`: for its barriers and its name in reports.
pub(super) struct BranchPlace {
    pub barriers: Arc<Barriers>,
    pub index: usize,
}

impl<'a> TestRun<'a> {
    /// The steps of a `repeat` body, a branch or a test, boxed: they may hold a `parallel` or
    /// `repeat` whose steps run through here again.
    pub(super) fn run_boxed<'s>(
        &'s mut self,
        steps: &'s [Step],
    ) -> BoxFuture<'s, Result<(), Failure>> {
        Box::pin(self.run_steps(steps))
    }

    /// `repeat N as i { … }`: the steps N times, with `i` from 1 to N.
    pub(super) async fn run_repeat(&mut self, repeat: &RepeatSteps) -> Result<(), Failure> {
        let outer = self.repeated.clone();
        if repeat.count.value > 1 {
            self.repeated
                .get_or_insert_with(|| format!("it is inside `repeat {}`", repeat.count.value));
        }
        let result = self.repeat_steps(repeat).await;
        self.repeated = outer;
        result
    }

    async fn repeat_steps(&mut self, repeat: &RepeatSteps) -> Result<(), Failure> {
        for number in 1..=repeat.count.value {
            if let Some(index) = &repeat.index {
                self.scope.set_local(&index.value, Value::from(number));
            }
            self.run_boxed(&repeat.steps).await?;
            // The iteration's last request goes out with this iteration's variables.
            self.park_current().await?;
        }
        Ok(())
    }

    /// `barrier NAME`: waits for the other branch instances that have it.
    pub(super) async fn pass_barrier(&mut self, name: &Ident) -> Result<(), Failure> {
        let Some(place) = &self.place else {
            return Ok(());
        };
        match place
            .barriers
            .wait(&name.value, place.index, self.deadline)
            .await
        {
            Ok(()) => Ok(()),
            Err(Blocked::Broken(who)) => Err(Failure::error(
                format!(
                    "barrier `{}` cannot be passed: branch {who} ended without reaching it",
                    name.value
                ),
                name.span,
                "waiting here",
            )),
            Err(Blocked::TimedOut) => Err(Failure::error(
                format!(
                    "the test timed out after {} at barrier `{}`",
                    format_duration(self.timeout),
                    name.value
                ),
                name.span,
                "still waiting for other branches here",
            )),
        }
    }

    /// A branch instance's own run: the test's variables and captures so far, nothing else.
    fn branch_run(&self, label: String, place: BranchPlace, branch: &Branch) -> TestRun<'a> {
        let repeated = match &branch.times {
            Some(times) if times.value > 1 && self.repeated.is_none() => Some(format!(
                "it runs in each of the {} instances of branch `{}`",
                times.value, branch.name.value
            )),
            _ => self.repeated.clone(),
        };
        TestRun {
            settings: self.settings,
            scope: self.scope.clone(),
            spec: self.spec,
            deadline: self.deadline,
            timeout: self.timeout,
            exchange: None,
            call: None,
            socket: None,
            soft_failures: Vec::new(),
            connections: 0,
            started: self.started,
            earlier: None,
            streams: Vec::new(),
            checks_ids: self.checks_ids,
            named: Vec::new(),
            named_exchanges: Vec::new(),
            closed: Vec::new(),
            framing: Arc::clone(&self.framing),
            compared: Arc::clone(&self.compared),
            fed: Arc::clone(&self.fed),
            branch: Some(match &self.branch {
                Some(outer) => format!("{outer}/{label}"),
                None => label,
            }),
            place: Some(place),
            branches: Vec::new(),
            barriers: Vec::new(),
            branch_spans: HashMap::new(),
            repeated,
        }
    }

    /// `parallel { branch … }`: every instance of every branch at once, joined here.
    pub(super) async fn run_parallel(&mut self, parallel: &Parallel) -> Result<(), Failure> {
        let mut instances: Vec<(&Branch, String)> = Vec::new();
        for branch in &parallel.branches {
            for number in 1..=branch.instances() {
                let label = match branch.times {
                    Some(_) => format!("{}[{number}]", branch.name.value),
                    None => branch.name.value.clone(),
                };
                instances.push((branch, label));
            }
        }
        let barriers = Arc::new(Barriers::new(&instances));
        let before = self.scope.capture_lengths();
        let started = Instant::now();
        // The runs stay in `self.branches` while their futures borrow them.
        let mut runs = Vec::with_capacity(instances.len());
        for (index, (branch, label)) in instances.iter().enumerate() {
            let place = BranchPlace {
                barriers: Arc::clone(&barriers),
                index,
            };
            let mut run = self.branch_run(label.clone(), place, branch);
            if let (Some(name), Some(_)) = (&branch.index, &branch.times) {
                let number = instances[..=index]
                    .iter()
                    .filter(|(b, _)| std::ptr::eq(*b, *branch))
                    .count();
                run.scope.set_local(&name.value, Value::from(number));
            } else if let Some(name) = &branch.index {
                run.scope.set_local(&name.value, Value::from(1));
            }
            runs.push(run);
        }
        self.branches = runs;
        let mut pending: FuturesUnordered<_> = self
            .branches
            .iter_mut()
            .zip(&instances)
            .enumerate()
            .map(|(index, (run, (branch, _)))| async move {
                let result = run.run_branch(&branch.steps).await;
                (index, result, Instant::now())
            })
            .collect();
        let mut ended_at: Vec<Option<Instant>> = vec![None; instances.len()];
        let mut failed: Option<(usize, Failure)> = None;
        while let Some((index, result, ended)) = pending.next().await {
            barriers.left(index);
            ended_at[index] = Some(ended);
            if let Err(failure) = result {
                // Joined with the rest of what it did, then the others are cancelled.
                failed = Some((index, failure));
                break;
            }
        }
        // Dropping their futures cancels the branches still running; their runs, not joined
        // below, go with their connections and streams.
        drop(pending);
        let waiting = match failed {
            Some(_) => barriers.waiting(),
            None => Vec::new(),
        };
        let runs = std::mem::take(&mut self.branches);
        for (index, run) in runs.into_iter().enumerate() {
            let Some(ended) = ended_at[index] else {
                continue;
            };
            let (branch, label) = &instances[index];
            self.join_branch(run, branch, label, &before);
            let span = self
                .branch_spans
                .entry(branch.name.value.clone())
                .or_insert((started, ended));
            span.1 = span.1.max(ended);
        }
        self.barriers.extend(barriers.reports(self.branch.as_ref()));
        match failed {
            Some((index, failure)) => {
                let mut failure = in_branch(failure, &instances[index].1);
                for (name, _, labels) in waiting {
                    failure.notes.push(format!(
                        "cancelled while waiting at `barrier {name}`: {}",
                        listed(&labels)
                    ));
                }
                Err(failure)
            }
            None => Ok(()),
        }
    }

    /// A branch instance's steps, then the end of its streams (whatever happened).
    async fn run_branch(&mut self, steps: &[Step]) -> Result<(), Failure> {
        let result = self.run_boxed(steps).await;
        self.finish_scope(result).await
    }

    /// What a finished branch instance leaves to the test: its failures that did not stop it,
    /// its figures, and its captures as `branch.name`.
    fn join_branch(
        &mut self,
        mut run: TestRun<'a>,
        branch: &Branch,
        label: &str,
        before: &HashMap<String, usize>,
    ) {
        // A branch that failed did not report its last exchange (one that passed did).
        run.report_unread_exchange();
        for failure in run.soft_failures.drain(..) {
            self.soft_failures.push(in_branch(failure, label));
        }
        self.streams.append(&mut run.streams);
        self.closed.append(&mut run.closed);
        self.barriers.append(&mut run.barriers);
        for (name, values) in run.scope.captured_since(before) {
            self.scope
                .extend_capture(format!("{}.{name}", branch.name.value), values);
        }
        if let Some(stats) = &run.earlier {
            self.count_earlier(stats);
        }
        for (name, span) in run.branch_spans {
            let entry = self.branch_spans.entry(name).or_insert(span);
            entry.0 = entry.0.min(span.0);
            entry.1 = entry.1.max(span.1);
        }
        self.connections = self.connections.saturating_add(run.connections);
    }
}

/// Branch labels for a note: the first few, and how many more.
fn listed(labels: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = labels
        .iter()
        .take(SHOWN)
        .map(|label| format!("branch {label}"))
        .collect::<Vec<_>>()
        .join(", ");
    if labels.len() > SHOWN {
        text.push_str(&format!(" and {} more", labels.len() - SHOWN));
    }
    text
}

/// A failure inside a branch says which instance it was in.
fn in_branch(mut failure: Failure, label: &str) -> Failure {
    failure.message = format!("branch {label}: {}", failure.message);
    failure
}
