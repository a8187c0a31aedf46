//! Reporters: pure consumers of run events. The runner emits events; each reporter renders them
//! for one audience (today the terminal; JUnit, TAP and JSON come later).

pub mod human;

use std::time::Duration;

use crate::outcome::TestOutcome;

/// Totals of a finished run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub duration: Duration,
}

pub trait Reporter {
    fn run_started(&mut self, tests: usize, files: usize);
    fn test_finished(&mut self, outcome: &TestOutcome);
    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]);
}

/// `1 test`, `2 tests`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
