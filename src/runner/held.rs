//! `--update`: finished outcomes held back, in planned order, until every run of their spec file
//! has finished and the file's fixes are written. What the report then says of a fix (`UPDATE`)
//! is true, and each file is written once, however many of its tests failed.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::outcome::TestOutcome;

/// The outcomes of one group's runs not reported yet, by spec (its index in the group).
#[derive(Debug, Default)]
pub struct Held {
    /// Runs of each spec not finished yet.
    left: HashMap<usize, usize>,
    /// Finished outcomes not reported yet, in planned order, each with its spec.
    queue: VecDeque<(usize, TestOutcome)>,
    /// Specs whose fixes are written: their outcomes may be reported.
    written: HashSet<usize>,
}

impl Held {
    /// `runs`: the spec of each planned run.
    pub fn new(runs: impl IntoIterator<Item = usize>) -> Held {
        let mut held = Held::default();
        for spec in runs {
            *held.left.entry(spec).or_default() += 1;
        }
        held
    }

    /// Takes a finished outcome (in planned order); `true` when it was the last run of its spec
    /// to finish: its fixes can be written.
    pub fn push(&mut self, spec: usize, outcome: TestOutcome) -> bool {
        self.queue.push_back((spec, outcome));
        let left = self.left.entry(spec).or_default();
        *left = left.saturating_sub(1);
        *left == 0
    }

    /// The held outcomes of a spec, to write its fixes.
    pub fn outcomes_of(&mut self, spec: usize) -> Vec<&mut TestOutcome> {
        self.queue
            .iter_mut()
            .filter(|(of, _)| *of == spec)
            .map(|(_, outcome)| outcome)
            .collect()
    }

    pub fn mark_written(&mut self, spec: usize) {
        self.written.insert(spec);
    }

    /// The specs with held outcomes whose fixes are not written yet (a run stopped early never
    /// finishes some of their runs), in planned order.
    pub fn unwritten(&self) -> Vec<usize> {
        let mut specs: Vec<usize> = Vec::new();
        for (spec, _) in &self.queue {
            if !self.written.contains(spec) && !specs.contains(spec) {
                specs.push(*spec);
            }
        }
        specs
    }

    /// The outcomes that may be reported now, in order: those up to the first whose spec is
    /// not written yet.
    pub fn ready(&mut self) -> Vec<TestOutcome> {
        let mut ready = Vec::new();
        while let Some((spec, _)) = self.queue.front() {
            if !self.written.contains(spec) {
                break;
            }
            if let Some((_, outcome)) = self.queue.pop_front() {
                ready.push(outcome);
            }
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::source::{SourceFile, Span};

    fn outcome(name: &str) -> TestOutcome {
        TestOutcome {
            file: SourceFile::new("a.stream", ""),
            name: name.to_string(),
            span: Span::default(),
            duration: Duration::ZERO,
            failures: Vec::new(),
            streams: Vec::new(),
            barriers: Vec::new(),
            tokens: None,
            tokens_counted: false,
        }
    }

    fn names(outcomes: Vec<TestOutcome>) -> Vec<String> {
        outcomes.into_iter().map(|outcome| outcome.name).collect()
    }

    #[test]
    fn outcomes_wait_in_order_for_their_spec_to_be_written() {
        // Spec 0 has two runs, spec 1 two.
        let mut held = Held::new([0, 0, 1, 1]);
        assert!(!held.push(0, outcome("a")));
        assert!(held.ready().is_empty());
        assert!(held.push(0, outcome("b")));
        assert_eq!(held.outcomes_of(0).len(), 2);
        held.mark_written(0);
        assert!(!held.push(1, outcome("c")));
        assert_eq!(names(held.ready()), ["a", "b"]);
        // The run stops before spec 1's second run: its first waits until it is written.
        assert_eq!(held.unwritten(), [1]);
        held.mark_written(1);
        assert_eq!(names(held.ready()), ["c"]);
        assert!(held.unwritten().is_empty());
    }
}
