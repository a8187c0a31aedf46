//! Which test runs next: at most `jobs` at once, a `@serial` test alone, and never two
//! repetitions of one test at the same time. Pure bookkeeping, so it is tested without a network.

use std::collections::HashSet;

/// What the scheduler needs to know of a queued run.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// Runs of one test (its repetitions) share a key.
    pub test: usize,
    /// Runs with no other test running at the same time.
    pub serial: bool,
}

/// The queue of a group's runs, in order.
#[derive(Debug)]
pub struct Scheduler {
    jobs: Vec<Job>,
    /// Indexes into `jobs` not started yet, in order.
    waiting: Vec<usize>,
    running: usize,
    running_serial: bool,
    running_tests: HashSet<usize>,
    limit: usize,
}

impl Scheduler {
    pub fn new(jobs: Vec<Job>, limit: usize) -> Scheduler {
        Scheduler {
            waiting: (0..jobs.len()).collect(),
            jobs,
            running: 0,
            running_serial: false,
            running_tests: HashSet::new(),
            limit: limit.max(1),
        }
    }

    /// The next run to start now, if one may; call until `None`.
    ///
    /// Runs start in order, except that a repetition whose test is still running lets the runs
    /// after it go first. A `@serial` run is a barrier: it waits until nothing runs, and nothing
    /// after it starts before it has finished.
    pub fn start_next(&mut self) -> Option<usize> {
        if self.running >= self.limit || self.running_serial {
            return None;
        }
        for position in 0..self.waiting.len() {
            let index = self.waiting[position];
            let job = self.jobs[index];
            if job.serial {
                if self.running > 0 {
                    return None;
                }
            } else if self.running_tests.contains(&job.test) {
                continue;
            }
            self.waiting.remove(position);
            self.running += 1;
            self.running_serial = job.serial;
            self.running_tests.insert(job.test);
            return Some(index);
        }
        None
    }

    /// A started run is over.
    pub fn finished(&mut self, index: usize) {
        let job = self.jobs[index];
        self.running -= 1;
        if job.serial {
            self.running_serial = false;
        }
        self.running_tests.remove(&job.test);
    }

    /// Forgets the runs not started (`--fail-fast`); returns how many there were.
    pub fn cancel_waiting(&mut self) -> usize {
        let count = self.waiting.len();
        self.waiting.clear();
        count
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub fn running(&self) -> usize {
        self.running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(spec: &[(usize, bool)]) -> Vec<Job> {
        spec.iter()
            .map(|&(test, serial)| Job { test, serial })
            .collect()
    }

    fn start_all(scheduler: &mut Scheduler) -> Vec<usize> {
        std::iter::from_fn(|| scheduler.start_next()).collect()
    }

    #[test]
    fn at_most_the_limit_run_at_once() {
        let mut scheduler = Scheduler::new(jobs(&[(0, false), (1, false), (2, false)]), 2);
        assert_eq!(start_all(&mut scheduler), [0, 1]);
        scheduler.finished(1);
        assert_eq!(start_all(&mut scheduler), [2]);
        scheduler.finished(0);
        scheduler.finished(2);
        assert!(start_all(&mut scheduler).is_empty());
        assert_eq!((scheduler.running(), scheduler.waiting()), (0, 0));
    }

    #[test]
    fn a_serial_test_runs_alone_and_in_its_place() {
        let mut scheduler =
            Scheduler::new(jobs(&[(0, false), (1, true), (2, false), (3, false)]), 4);
        // The serial one waits for 0, and 2 and 3 wait behind it.
        assert_eq!(start_all(&mut scheduler), [0]);
        scheduler.finished(0);
        assert_eq!(start_all(&mut scheduler), [1]);
        scheduler.finished(1);
        assert_eq!(start_all(&mut scheduler), [2, 3]);
    }

    #[test]
    fn repetitions_of_a_test_never_overlap() {
        // Test 0 three times, then test 1 twice, two at a time.
        let mut scheduler = Scheduler::new(
            jobs(&[(0, false), (0, false), (0, false), (1, false), (1, false)]),
            2,
        );
        assert_eq!(start_all(&mut scheduler), [0, 3]);
        scheduler.finished(3);
        assert_eq!(start_all(&mut scheduler), [4]);
        scheduler.finished(0);
        assert_eq!(start_all(&mut scheduler), [1]);
        scheduler.finished(4);
        assert!(start_all(&mut scheduler).is_empty());
    }

    #[test]
    fn cancelling_forgets_the_waiting_runs() {
        let mut scheduler = Scheduler::new(jobs(&[(0, false), (1, false), (2, false)]), 1);
        assert_eq!(start_all(&mut scheduler), [0]);
        assert_eq!(scheduler.cancel_waiting(), 2);
        scheduler.finished(0);
        assert!(start_all(&mut scheduler).is_empty());
    }
}
