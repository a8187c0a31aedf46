//! Sends every run event to several reporters, in order: the format on standard output, the
//! report files, the GitHub annotations.

use super::{Reporter, Summary};
use crate::outcome::TestOutcome;

pub struct Fanout {
    reporters: Vec<Box<dyn Reporter + Send>>,
}

impl Fanout {
    pub fn new(reporters: Vec<Box<dyn Reporter + Send>>) -> Self {
        Fanout { reporters }
    }
}

impl Reporter for Fanout {
    fn run_started(&mut self, tests: usize, files: usize) {
        for reporter in &mut self.reporters {
            reporter.run_started(tests, files);
        }
    }

    fn test_finished(&mut self, outcome: &TestOutcome) {
        for reporter in &mut self.reporters {
            reporter.test_finished(outcome);
        }
    }

    fn run_finished(&mut self, summary: &Summary, outcomes: &[TestOutcome]) {
        for reporter in &mut self.reporters {
            reporter.run_finished(summary, outcomes);
        }
    }

    fn add_secrets(&mut self, values: &[String]) {
        for reporter in &mut self.reporters {
            reporter.add_secrets(values);
        }
    }
}
